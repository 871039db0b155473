// Real sockets on loopback: the native TTL-reporting UDP socket and two BFD sessions over it.
import dgram from 'node:dgram';
import { UdpTtlSocket, type UdpTtlMessage } from '@portico/native';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BfdSession,
  type BfdSessionOptions,
  BfdState,
  UdpBfdNetwork,
  decodeControlPacket,
  encodeControlPacket,
} from '../src/bfd/index.js';
import { controlPacket } from '../src/testing.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Polls `predicate` every 20 ms, at most `timeoutMs`. */
async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 20 + 1; i++) {
    if (predicate()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function open(address: string, port: number, inbox?: UdpTtlMessage[]): UdpTtlSocket {
  const socket = new UdpTtlSocket({ address, port, onMessage: inbox ? (m) => inbox.push(m) : undefined });
  cleanup.push(() => socket.close());
  return socket;
}

/** A free UDP port on both loopback addresses used here (the kernel picks, we release it). */
function freePort(): number {
  const probe = new UdpTtlSocket({ address: '127.0.0.1', port: 0 });
  const port = probe.localPort;
  probe.close();
  return port;
}

describe('UdpTtlSocket (native)', () => {
  test('sends with TTL 255 and reports the TTL of what it receives, IPv4 and IPv6', async () => {
    for (const address of ['127.0.0.1', '::1']) {
      const inbox: UdpTtlMessage[] = [];
      const receiver = open(address, 0, inbox);
      const sender = open(address, 0);
      sender.send(Buffer.from('hello'), address, receiver.localPort);
      const plain = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
      cleanup.push(() => plain.close());
      await new Promise<void>((resolve, reject) =>
        plain.send(Buffer.from('plain'), receiver.localPort, address, (e) => (e ? reject(e) : resolve())),
      );
      await waitFor('two datagrams', () => inbox.length === 2, 2000);
      const byText = Object.fromEntries(inbox.map((m) => [m.data.toString(), m]));
      expect(byText.hello).toMatchObject({ ttl: 255, address, port: sender.localPort });
      // Node's dgram leaves the system default (64), which GTSM must see through.
      expect(byText.plain?.ttl).toBe(64);
    }
  });

  test('reports bind conflicts with the errno name and refuses use after close', () => {
    const first = open('127.0.0.1', 0);
    let error: NodeJS.ErrnoException | undefined;
    try {
      open('127.0.0.1', first.localPort);
    } catch (e) {
      error = e as NodeJS.ErrnoException;
    }
    expect(error?.code).toBe('EADDRINUSE');
    first.close();
    expect(() => first.send(Buffer.from('x'), '127.0.0.1', 9)).toThrow(/closed/);
    expect(() => first.close()).not.toThrow();
    expect(() => new UdpTtlSocket({ address: 'not-an-ip', port: 0 })).toThrow(/invalid IP/);
  });

  test('a closed receiving socket frees its port at once', () => {
    const first = open('127.0.0.1', 0, []);
    const port = first.localPort;
    first.close();
    const again = open('127.0.0.1', port, []);
    expect(again.localPort).toBe(port);
  });
});

/** 127.0.0.1 to 127.0.0.2 at 100 ms, multiplier 3. */
function towardsPeer(network: UdpBfdNetwork): BfdSessionOptions {
  return {
    localAddress: '127.0.0.1',
    peerAddress: '127.0.0.2',
    desiredMinTxMs: 100,
    requiredMinRxMs: 100,
    detectMultiplier: 3,
    network,
  };
}

describe('BFD over loopback UDP', () => {
  test('a session sends to the control port from 49152-65535 with TTL 255 (RFC 5881 sections 4, 5)', async () => {
    const controlPort = freePort();
    const inbox: UdpTtlMessage[] = [];
    open('127.0.0.2', controlPort, inbox);
    const session = new BfdSession(towardsPeer(new UdpBfdNetwork({ controlPort })));
    cleanup.push(() => session.stop({ silent: true }));
    session.start();
    await waitFor('the first packet', () => inbox.length >= 1, 2000);
    const [first] = inbox;
    expect(first!.ttl).toBe(255);
    expect(first!.port).toBeGreaterThanOrEqual(49152);
    expect(first!.port).toBeLessThanOrEqual(65535);
    const decoded = decodeControlPacket(first!.data);
    expect(decoded.ok && decoded.packet.state).toBe(BfdState.Down);
  });

  test('a session to the same peer can start while the previous one sends its AdminDowns', async () => {
    const controlPort = freePort();
    const options = towardsPeer(new UdpBfdNetwork({ controlPort }));
    const first = new BfdSession(options);
    cleanup.push(() => first.stop({ silent: true }));
    first.start();
    const stopping = first.stop();
    const second = new BfdSession(options);
    cleanup.push(() => second.stop({ silent: true }));
    expect(() => second.start()).not.toThrow();
    await stopping;
  });

  test('two sessions come Up, ignore a TTL 64 packet, and detect a silent peer', async () => {
    const controlPort = freePort();
    const network = new UdpBfdNetwork({ controlPort });
    const registry = new Registry();
    const options = { desiredMinTxMs: 100, requiredMinRxMs: 100, detectMultiplier: 3, network };
    const a = new BfdSession({ localAddress: '127.0.0.1', peerAddress: '127.0.0.2', registry, ...options });
    const b = new BfdSession({ localAddress: '127.0.0.2', peerAddress: '127.0.0.1', ...options });
    cleanup.push(
      () => a.stop({ silent: true }),
      () => b.stop({ silent: true }),
    );
    const downs: number[] = [];
    a.on('down', (event) => downs.push(event.diagnostic));
    a.start();
    b.start();
    await waitFor('both Up', () => a.state === 'Up' && b.state === 'Up', 6000);
    await waitFor('agreed 100 ms', () => a.detectionTimeMs === 300, 3000);

    // RFC 5881 section 5: a valid "I am Down" from the right peer, but with TTL 64, is dropped.
    const spoof = dgram.createSocket('udp4');
    cleanup.push(() => spoof.close());
    await new Promise<void>((resolve) => spoof.bind(0, '127.0.0.2', resolve));
    const down = encodeControlPacket(
      controlPacket({ myDiscriminator: b.localDiscriminator, yourDiscriminator: a.localDiscriminator }),
    );
    await new Promise<void>((resolve, reject) =>
      spoof.send(down, controlPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
    const dropped = async () =>
      (await registry.getSingleMetric('portico_bfd_control_packets_dropped_total')!.get()).values.find(
        (v) => v.labels.reason === 'ttl',
      )?.value ?? 0;
    const deadline = Date.now() + 2000;
    while ((await dropped()) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await dropped()).toBe(1);
    expect(a.state).toBe('Up');

    // b goes silent: a must notice within its detection time (300 ms), well under a second.
    const silentAt = Date.now();
    await b.stop({ silent: true });
    await waitFor('a Down', () => a.state === 'Down', 3000);
    const elapsed = Date.now() - silentAt;
    expect(downs).toEqual([1]);
    expect(elapsed).toBeLessThan(1000);
  });
});
