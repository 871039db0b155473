import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  connect as netConnect,
  createServer as netCreateServer,
  type AddressInfo,
  type Socket,
} from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { selfSignedPair } from '@portico/ingress';
import { afterEach, describe, expect, it } from 'vitest';
import { owned, readIntoSharedBuffer } from '../src/http1/shared-read-buffer.js';

const pair = selfSignedPair('shared-read.portico.invalid');
const servers: Server[] = [];
const clients: Socket[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A real TLS server whose connections read into the shared buffer; `serve` gets each of them. */
async function tlsServer(
  serve: (socket: TLSSocket) => void,
  borrow?: (socket: TLSSocket, view: Buffer) => void,
): Promise<number> {
  const server = createServer({ ...pair, ALPNProtocols: ['http/1.1'] }, (socket) => {
    const lend = borrow && ((view: Buffer) => borrow(socket, view));
    if (!readIntoSharedBuffer(socket, lend)) throw new Error('the shared read buffer was not installed');
    serve(socket);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function tlsClient(port: number): Promise<TLSSocket> {
  const client = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  clients.push(client);
  await once(client, 'secureConnect');
  return client;
}

/** Waits for `done()`; fails after 5 s instead of hanging the run. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Collects a socket's 'data' until it ends. */
function collect(socket: TLSSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  return once(socket, 'end').then(() => Buffer.concat(chunks));
}

describe('readIntoSharedBuffer (accepted TLS connections)', () => {
  it('delivers every byte of connections sending at the same time, in order', async () => {
    const received: Promise<Buffer>[] = [];
    const port = await tlsServer((socket) => received.push(collect(socket)));
    const payloads = [randomBytes(700_000), randomBytes(500_000), randomBytes(300_000)];
    const senders = await Promise.all(payloads.map(() => tlsClient(port)));
    // Interleaved writes of odd sizes: reads of all three share one buffer on the server.
    const offsets = payloads.map(() => 0);
    while (offsets.some((o, i) => o < payloads[i]!.length)) {
      payloads.forEach((p, i) => {
        const size = 1 + Math.floor(Math.random() * 40_000);
        if (offsets[i]! < p.length) senders[i]!.write(p.subarray(offsets[i], offsets[i]! + size));
        offsets[i]! += size;
      });
      await sleep(0);
    }
    for (const s of senders) s.end();
    await sleep(50);
    const got = await Promise.all(received);
    expect(got.map((b) => b.length).sort()).toEqual(payloads.map((p) => p.length).sort());
    for (const p of payloads) expect(got.some((b) => b.equals(p))).toBe(true);
  });

  it('reads nothing while paused and delivers what came meanwhile, in order, on resume', async () => {
    const chunks: string[] = [];
    let server: TLSSocket | undefined;
    const port = await tlsServer((socket) => {
      server = socket;
      socket.on('data', (d: Buffer) => {
        chunks.push(d.toString());
        socket.pause();
      });
    });
    const client = await tlsClient(port);
    client.write('first');
    await until(() => chunks.length > 0, 'the first chunk');
    client.write('second ');
    client.write('third');
    await sleep(100);
    expect(chunks).toEqual(['first']);
    expect(server!.isPaused()).toBe(true);
    server!.resume();
    await until(() => {
      server!.resume();
      return chunks.join('').length >= 'firstsecond third'.length;
    }, 'the held chunks');
    expect(chunks.join('')).toBe('firstsecond third');
  });

  it('goes on through the Readable once the socket is piped (a handover to Node’s server)', async () => {
    const sink = new PassThrough();
    const parts: Buffer[] = [];
    sink.on('data', (d: Buffer) => parts.push(d));
    const port = await tlsServer((socket) => {
      const first = (d: Buffer): void => {
        // As ClientConnection.handover(): stop listening, pause, then Node's side pipes the rest.
        socket.off('data', first);
        socket.pause();
        sink.write(d);
        setTimeout(() => socket.pipe(sink), 50);
      };
      socket.on('data', first);
    });
    const client = await tlsClient(port);
    const body = randomBytes(300_000);
    client.write('head;');
    await sleep(20);
    client.end(body);
    await once(sink, 'end');
    // equals(), not toEqual(): a diff of 300 kB takes the reporter minutes.
    expect(Buffer.concat(parts).equals(Buffer.concat([Buffer.from('head;'), body]))).toBe(true);
  });

  it('lends flowing reads to a borrower where they lie in the shared buffer, uncopied', async () => {
    const lent: Buffer[] = [];
    const kept: string[] = [];
    const emitted: Buffer[] = [];
    let server: TLSSocket | undefined;
    const port = await tlsServer(
      (socket) => {
        server = socket;
        socket.on('data', (d: Buffer) => emitted.push(d));
      },
      (socket, view) => {
        lent.push(view);
        // What outlives the call is copied; the copy keeps its bytes when the next read lands.
        kept.push(owned(view).toString());
        socket.pause();
      },
    );
    const client = await tlsClient(port);
    client.write('first');
    await until(() => lent.length === 1, 'the first read');
    client.write('second');
    await sleep(50);
    expect(lent.length).toBe(1); // paused: not read
    server!.resume();
    await until(() => lent.length === 2, 'the second read');
    expect(kept).toEqual(['first', 'second']);
    expect(emitted).toEqual([]);
    // Both views are of the one shared buffer, where 'second' overwrote 'first'.
    expect(lent[0]!.buffer).toBe(lent[1]!.buffer);
    expect(lent[0]!.toString()).toBe('secon');
    const ordinary = Buffer.from('x');
    expect(owned(ordinary)).toBe(ordinary);
  });

  it('leaves a socket that already has its own read buffer as it is', async () => {
    const server = netCreateServer((s) => s.end());
    servers.push(server as unknown as Server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const own = Buffer.alloc(1024);
    const socket = netConnect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      onread: { buffer: own, callback: () => true },
    });
    clients.push(socket);
    await once(socket, 'connect');
    expect(readIntoSharedBuffer(socket)).toBe(false);
  });
});
