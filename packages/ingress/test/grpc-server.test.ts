/**
 * backend-protocol GRPC and GRPCS through a running proxy, with real gRPC on both ends
 * (@grpc/grpc-js): the client reaches the proxy over HTTPS with ALPN h2, the proxy speaks h2c (GRPC)
 * or h2 over TLS (GRPCS) to the pod. Unary and server-streaming calls, metadata, a gRPC error
 * status passed through in the trailers, a pod that resets its stream, and an HTTP/1.1 request to
 * a GRPC route (forwarded over HTTP/2 as nginx's grpc_pass does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { IngressServer } from '@portico/ingress';
import { ingress, rule, tlsSecret } from './fixtures.js';
import { loopbackService, table } from './backends.js';
import { leaf, need, testCa } from './tls-kit.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
const raw = (b: Buffer): Buffer => b;
const METHODS = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
  chat: {
    path: '/test.Echo/Chat',
    requestStream: true,
    responseStream: true,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
  count: {
    path: '/test.Echo/Count',
    requestStream: false,
    responseStream: true,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
} as const;

let dir = '';
let ca = '';
let clearPod: grpc.Server;
let tlsPod: grpc.Server;
let resetPod: http2.Http2Server;
let silentPod: http2.Http2Server;
let server: IngressServer;
let httpsPort = 0;
let httpPort = 0;

function pod(name: string): grpc.UntypedServiceImplementation {
  return {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      const text = call.request.toString();
      if (text === 'fail') return done({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
      call.sendMetadata(new grpc.Metadata());
      done(null, Buffer.from(`${name}:${text}:${String(call.metadata.get('x-user')[0] ?? '')}`));
    },
    chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(Buffer.from(`re:${b.toString()}`)));
      call.on('end', () => call.end());
    },
    count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      for (let i = 1; i <= n; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
  };
}

async function startPod(name: string, credentials: grpc.ServerCredentials): Promise<[grpc.Server, number]> {
  const s = new grpc.Server();
  s.addService(METHODS as unknown as grpc.ServiceDefinition, pod(name));
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return [s, port];
}

const Client = grpc.makeGenericClientConstructor(METHODS as unknown as grpc.ServiceDefinition, 'Echo');

function client(host: string): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
  return new Client(`127.0.0.1:${httpsPort}`, grpc.credentials.createSsl(Buffer.from(ca)), {
    'grpc.ssl_target_name_override': host,
    'grpc.default_authority': host,
  }) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
}

function unary(host: string, text: string, metadata = new grpc.Metadata()): Promise<string> {
  const c = client(host);
  return new Promise<string>((resolve, reject) =>
    c.echo(
      Buffer.from(text),
      metadata,
      { deadline: Date.now() + 5000 },
      (err: grpc.ServiceError | null, out: Buffer) => {
        c.close();
        return err ? reject(err) : resolve(out.toString());
      },
    ),
  );
}

beforeAll(async () => {
  need('openssl');
  dir = mkdtempSync(join(tmpdir(), 'portico-grpc-'));
  ca = testCa(dir);
  const front = leaf(dir, 'front', ['grpc.test', 'grpcs.test', 'reset.test', 'silent.test']);
  const back = leaf(dir, 'back', ['pod.internal']);
  let clearPort: number;
  let tlsPort: number;
  [clearPod, clearPort] = await startPod('clear', grpc.ServerCredentials.createInsecure());
  [tlsPod, tlsPort] = await startPod(
    'tls',
    grpc.ServerCredentials.createSsl(null, [
      { private_key: Buffer.from(back.key), cert_chain: Buffer.from(back.cert) },
    ]),
  );
  // A pod that resets every stream before answering.
  resetPod = http2.createServer();
  resetPod.on('stream', (stream) => {
    stream.on('error', () => undefined); // the reset it sends itself
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  });
  await new Promise<void>((r) => resetPod.listen(0, '127.0.0.1', r));
  // A pod that never answers.
  silentPod = http2.createServer();
  silentPod.on('stream', (stream) => stream.on('error', () => undefined));
  await new Promise<void>((r) => silentPod.listen(0, '127.0.0.1', r));
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  server.setTable(
    table([
      loopbackService('clear', [clearPort]),
      loopbackService('secure', [tlsPort]),
      loopbackService('reset', [(resetPod.address() as AddressInfo).port]),
      loopbackService('silent', [(silentPod.address() as AddressInfo).port]),
      {
        secrets: [tlsSecret('front', front.cert, front.key)],
        ingresses: [
          ingress(
            'grpc',
            {
              tls: [{ hosts: ['grpc.test'], secretName: 'front' }],
              rules: [rule('grpc.test', { path: '/', svc: 'clear' })],
            },
            { annotations: { [nginx('backend-protocol')]: 'GRPC', [nginx('ssl-redirect')]: 'false' } },
          ),
          ingress(
            'grpcs',
            {
              tls: [{ hosts: ['grpcs.test'], secretName: 'front' }],
              rules: [rule('grpcs.test', { path: '/', svc: 'secure' })],
            },
            { annotations: { [nginx('backend-protocol')]: 'GRPCS' } },
          ),
          ingress(
            'silent',
            {
              tls: [{ hosts: ['silent.test'], secretName: 'front' }],
              rules: [rule('silent.test', { path: '/', svc: 'silent' })],
            },
            { annotations: { [nginx('backend-protocol')]: 'GRPC', [nginx('proxy-read-timeout')]: '1' } },
          ),
          ingress(
            'reset',
            {
              tls: [{ hosts: ['reset.test'], secretName: 'front' }],
              rules: [rule('reset.test', { path: '/', svc: 'reset' })],
            },
            { annotations: { [nginx('backend-protocol')]: 'GRPC' } },
          ),
        ],
      },
    ]),
  );
  ({ httpsPort, httpPort } = (await server.listen()) as { httpsPort: number; httpPort: number });
});

afterAll(async () => {
  await server?.close();
  clearPod?.forceShutdown();
  tlsPod?.forceShutdown();
  resetPod?.close();
  silentPod?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('GRPC (h2c to the pod)', () => {
  it('a unary call goes through, metadata included', async () => {
    const md = new grpc.Metadata();
    md.set('x-user', 'ada');
    expect(await unary('grpc.test', 'hello', md)).toBe('clear:hello:ada');
  });

  it('a server-streaming call delivers every message, in order', async () => {
    const c = client('grpc.test');
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = c.count(Buffer.from('5'), {
        deadline: Date.now() + 5000,
      }) as grpc.ClientReadableStream<Buffer>;
      call.on('data', (b: Buffer) => got.push(b.toString()));
      call.on('error', reject);
      call.on('end', resolve);
    });
    c.close();
    expect(got).toEqual(['1', '2', '3', '4', '5']);
  });

  it('a bidirectional stream: each message answered before the next is sent', async () => {
    const c = client('grpc.test');
    const call = c.chat({ deadline: Date.now() + 5000 }) as grpc.ClientDuplexStream<Buffer, Buffer>;
    const replies: string[] = [];
    for (const word of ['one', 'two', 'three']) {
      const reply = new Promise<string>((resolve) => call.once('data', (b: Buffer) => resolve(b.toString())));
      call.write(Buffer.from(word));
      // The reply arrives while the call is still open: the proxy streams both ways, buffers nothing.
      replies.push(await reply);
    }
    const ended = new Promise<void>((resolve, reject) => {
      call.on('status', (s: grpc.StatusObject) =>
        s.code === grpc.status.OK ? resolve() : reject(new Error(s.details)),
      );
    });
    call.end();
    call.resume();
    await ended;
    c.close();
    expect(replies).toEqual(['re:one', 're:two', 're:three']);
  });

  it('a gRPC error status reaches the client (grpc-status and grpc-message in the trailers)', async () => {
    await expect(unary('grpc.test', 'fail')).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: 'no such thing',
    });
  });

  it('many concurrent calls share the pooled session', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    expect(await Promise.all(texts.map((t) => unary('grpc.test', t)))).toEqual(
      texts.map((t) => `clear:${t}:`),
    );
  });

  it('a pod that resets its stream: the call fails as UNAVAILABLE (the proxy answers 502)', async () => {
    await expect(unary('reset.test', 'x')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('proxy-read-timeout: a pod that never answers ends the call after about a second (504: UNAVAILABLE)', async () => {
    const started = performance.now();
    await expect(unary('silent.test', 'x')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('an HTTP/1.1 request to the GRPC route is forwarded over HTTP/2 (the pod answers, not the proxy)', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const sock = tlsConnect({
        port: httpsPort,
        host: '127.0.0.1',
        servername: 'grpc.test',
        ca,
        ALPNProtocols: ['http/1.1'],
      });
      let out = '';
      sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
      sock.on('error', reject);
      sock.on('close', () => resolve(out));
      sock.write('GET /test.Echo/Echo HTTP/1.1\r\nHost: grpc.test\r\nConnection: close\r\n\r\n');
    });
    // grpc-js answers a GET that is no gRPC call itself; the proxy's own 502 would say `server: portico`.
    expect(text).toMatch(/^HTTP\/1\.1 (\d{3})/);
    expect(text).not.toMatch(/^HTTP\/1\.1 50[234]/);
    expect(httpPort).toBeGreaterThan(0);
  });
});

describe('GRPCS (h2 over TLS to the pod)', () => {
  it('a unary call goes through', async () => {
    expect(await unary('grpcs.test', 'hi')).toBe('tls:hi:');
  });
});
