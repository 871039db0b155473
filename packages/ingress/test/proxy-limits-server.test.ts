/**
 * proxy-body-size and the proxy-*-timeout annotations through a running proxy, on the fast path
 * (Content-Length bodies over plain HTTP) and the Node path (chunked bodies, which the fast path
 * hands to Node's server): 413 above a route's size, `0` unlimited, 504 when the pod answers
 * later than the route's read timeout, cannot be reached within its connect timeout, or stops
 * reading the body for its send timeout; routes without annotations keep the defaults.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { IngressServer, readIngressAnnotations } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
type Plane = 'fast' | 'node';

let web: Echo;
let server: IngressServer;
let httpPort = 0;
/** A pod that accepts connections and never reads from them (for proxy-send-timeout). */
let deaf: Server;
const deafSockets = new Set<Socket>();
/** A listener whose accept queue is full: connecting to it hangs (for proxy-connect-timeout). */
let hole: ChildProcess;
let filler: Socket;

/** One request on a fresh connection with a body of `size` bytes; the status the proxy answered. */
function request(
  host: string,
  path: string,
  plane: Plane,
  size = 0,
): Promise<{ status: number; pod?: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(httpPort, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      // The proxy may answer before it took the body: the status is all we need.
      if (/^HTTP\/1\.1 (413|504)/.test(text)) sock.destroy();
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    sock.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const pod = /"name":"(\w+)"/.exec(text)?.[1];
      resolve({ status, ...(pod ? { pod } : {}) });
    });
    const body = Buffer.alloc(size, 0x61);
    if (plane === 'fast')
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
      );
    else
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      );
    const chunk = 64 * 1024;
    for (let i = 0; i < size; i += chunk) {
      const part = body.subarray(i, i + chunk);
      if (sock.destroyed) break;
      sock.write(
        plane === 'fast'
          ? part
          : Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]),
      );
    }
    if (plane === 'node' && !sock.destroyed) sock.write('0\r\n\r\n');
  });
}

/** Starts the full-accept-queue listener (Python: Node's servers always accept) and fills it. */
async function startHole(): Promise<number> {
  hole = spawn('python3', [
    '-u',
    '-c',
    "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\nprint(s.getsockname()[1]);time.sleep(600)",
  ]);
  const port = await new Promise<number>((resolve, reject) => {
    hole.on('error', (err) =>
      reject(new Error(`python3 is needed for the connect-timeout test: ${err.message}`)),
    );
    hole.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  // The one connection its backlog holds; every later SYN is dropped and its connect hangs.
  filler = connect(port, '127.0.0.1');
  await new Promise((r) => filler.once('connect', r));
  return port;
}

beforeAll(async () => {
  web = await startEcho('web');
  deaf = createServer((s) => {
    deafSockets.add(s);
    s.pause();
  });
  await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', r));
  const deafPort = (deaf.address() as { port: number }).port;
  const holePort = await startHole();
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      loopbackService('deaf', [deafPort]),
      loopbackService('hole', [holePort]),
      {
        ingresses: [
          ingress('plain', { rules: [rule('plain.test', { path: '/', svc: 'web' })] }),
          ingress(
            'small',
            { rules: [rule('small.test', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('proxy-body-size')]: '1k' } },
          ),
          ingress(
            'unlimited',
            { rules: [rule('unlimited.test', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('proxy-body-size')]: '0' } },
          ),
          ingress(
            'impatient',
            { rules: [rule('impatient.test', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('proxy-read-timeout')]: '1' } },
          ),
          ingress(
            'deaf',
            { rules: [rule('deaf.test', { path: '/', svc: 'deaf' })] },
            { annotations: { [nginx('proxy-send-timeout')]: '1', [nginx('proxy-body-size')]: '0' } },
          ),
          ingress(
            'hole',
            { rules: [rule('hole.test', { path: '/', svc: 'hole' })] },
            { annotations: { [nginx('proxy-connect-timeout')]: '1' } },
          ),
          ingress(
            'bad',
            { rules: [rule('bad.test', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('proxy-body-size')]: '10 MB', [nginx('proxy-read-timeout')]: '1s' } },
          ),
        ],
      },
    ]),
  );
  ({ httpPort } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  await stopAll([web].filter(Boolean));
  for (const s of deafSockets) s.destroy();
  deaf?.close();
  filler?.destroy();
  hole?.kill();
});

describe.each(['fast', 'node'] as const)('%s path', (plane) => {
  it('proxy-body-size 1k: 1024 bytes pass, 1025 get 413', async () => {
    expect(await request('small.test', '/body', plane, 1024)).toMatchObject({ status: 200 });
    expect(await request('small.test', '/body', plane, 1025)).toEqual({ status: 413 });
  });

  it('proxy-body-size 0 is unlimited: 2 MiB pass where the default (1 MiB) refuses them', async () => {
    expect(await request('unlimited.test', '/body', plane, 2 * 1024 * 1024)).toMatchObject({ status: 200 });
    // (A pod that waits: one that answers at once would be cut off mid-response on the Node path.)
    expect(await request('plain.test', '/slow?ms=1000', plane, 2 * 1024 * 1024)).toEqual({ status: 413 });
  });

  it('a bad proxy-body-size keeps the default limit', async () => {
    expect(await request('bad.test', '/body', plane, 1025)).toMatchObject({ status: 200 });
    expect(await request('bad.test', '/slow?ms=1000', plane, 1024 * 1024 + 1)).toEqual({ status: 413 });
  });

  it('proxy-read-timeout 1: a pod answering after 2.5 s gets 504; without it, 200', async () => {
    const started = performance.now();
    expect(await request('impatient.test', '/slow?ms=2500', plane)).toEqual({ status: 504 });
    // The fast path checks deadlines on a sweep (every timeoutCheckInterval).
    expect(performance.now() - started).toBeLessThan(2400);
    expect(await request('plain.test', '/slow?ms=2500', plane)).toMatchObject({ status: 200, pod: 'web' });
    // A bad value ("1s": ingress-nginx takes whole seconds without unit) keeps the default.
    expect(await request('bad.test', '/slow?ms=2500', plane)).toMatchObject({ status: 200, pod: 'web' });
  }, 15_000);

  it('proxy-connect-timeout 1: a pod that cannot be reached gets 504 after about a second', async () => {
    const started = performance.now();
    expect(await request('hole.test', '/', plane)).toEqual({ status: 504 });
    const took = performance.now() - started;
    expect(took).toBeGreaterThan(900);
    expect(took).toBeLessThan(4000);
  });

  it('proxy-send-timeout 1: a pod that stops reading the body ends the request with 504', async () => {
    const started = performance.now();
    expect(await request('deaf.test', '/', plane, 48 * 1024 * 1024)).toEqual({ status: 504 });
    expect(performance.now() - started).toBeLessThan(8000);
  }, 15_000);
});

describe('the family at compile level', () => {
  it.each([
    [{ 'proxy-body-size': '8m' }, { maxBodyBytes: 8 * 1024 * 1024 }],
    [{ 'proxy-body-size': '512K' }, { maxBodyBytes: 512 * 1024 }],
    [{ 'proxy-body-size': '1g' }, { maxBodyBytes: 1024 ** 3 }],
    [{ 'proxy-body-size': '100' }, { maxBodyBytes: 100 }],
    [{ 'proxy-body-size': '0' }, { maxBodyBytes: 0 }],
    [{ 'proxy-connect-timeout': '10' }, { connectTimeoutMs: 10_000 }],
    [{ 'proxy-read-timeout': '3600' }, { readTimeoutMs: 3_600_000 }],
    [{ 'proxy-send-timeout': '120' }, { sendTimeoutMs: 120_000 }],
  ])('%j -> %j', (settings, policy) => {
    const annotations = Object.fromEntries(Object.entries(settings).map(([k, v]) => [nginx(k), v]));
    const read = readIngressAnnotations(annotations);
    expect(read.policy).toEqual(policy);
    expect(read.bad).toEqual([]);
  });

  it.each([
    ['proxy-body-size', '10 MB'],
    ['proxy-body-size', '-1'],
    ['proxy-body-size', '1t'],
    ['proxy-read-timeout', '1s'],
    ['proxy-read-timeout', '0'],
    ['proxy-connect-timeout', '-5'],
    ['proxy-send-timeout', 'soon'],
    ['proxy-send-timeout', '99999999999'],
  ])('%s: %j is refused and the default stays', (name, value) => {
    const read = readIngressAnnotations({ [nginx(name)]: value });
    expect(read.policy).toEqual({});
    expect(read.bad).toEqual([expect.objectContaining({ annotation: nginx(name), value })]);
  });

  it('portico.dev/ wins over the nginx prefix', () => {
    const read = readIngressAnnotations({
      [nginx('proxy-body-size')]: '1k',
      'portico.dev/proxy-body-size': '2k',
    });
    expect(read.policy).toEqual({ maxBodyBytes: 2048 });
  });
});
