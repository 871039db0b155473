/**
 * The request ID on the proxy's own answers, through a running proxy on both planes and for
 * Upgrade requests: 404, 503 (no endpoint), 502 (a pod that refuses connections), 403 (allowlist),
 * 301 (permanent-redirect), 413 all carry X-Request-ID, the client's when sane or a new one, and
 * the access-log line names the same ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { IngressServer } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, table } from './backends.js';
import { planeRequest, statusOf, type Plane } from './plane-request.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
let server: IngressServer;
let httpPort = 0;
const logged: { path?: string; status?: number; requestId?: string }[] = [];

/** A loopback port nothing listens on (a pod that refuses connections). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logged.push(JSON.parse(line));
      done();
    },
  });
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: null,
    proxy: { logger: pino({ name: 'access' }, sink) },
  });
  const refused = await closedPort();
  server.setTable(
    table([
      loopbackService('gone', [refused]),
      loopbackService('empty', [refused], false),
      {
        ingresses: [
          ingress('gone', { rules: [rule('gone.test', { path: '/', svc: 'gone' })] }),
          ingress('empty', { rules: [rule('empty.test', { path: '/', svc: 'empty' })] }),
          ingress(
            'closed',
            { rules: [rule('closed.test', { path: '/', svc: 'gone' })] },
            { annotations: { [nginx('whitelist-source-range')]: '10.0.0.0/8' } },
          ),
          ingress(
            'moved',
            { rules: [rule('moved.test', { path: '/', svc: 'gone' })] },
            { annotations: { [nginx('permanent-redirect')]: 'https://elsewhere.test/' } },
          ),
          ingress(
            'small',
            { rules: [rule('small.test', { path: '/', svc: 'gone' })] },
            { annotations: { [nginx('proxy-body-size')]: '1' } },
          ),
        ],
      },
    ]),
  );
  ({ httpPort } = await server.listen());
});

afterAll(async () => {
  await server?.close();
});

const idOf = (text: string): string | undefined => /\r\nx-request-id: ([^\r]*)\r\n/i.exec(text)?.[1];

/** The log line of the request to `path` (each test uses its own path). */
async function loggedFor(path: string): Promise<{ status?: number; requestId?: string } | undefined> {
  for (let i = 0; i < 50; i++) {
    const line = logged.find((l) => l.path === path);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

describe.each(['fast', 'node'] as Plane[])('own answers on the %s path', (plane) => {
  it.each([
    ['no rule', 'nowhere.test', 404],
    ['no ready endpoint', 'empty.test', 503],
    ['a pod that refuses connections', 'gone.test', 502],
    ['a client outside the allowlist', 'closed.test', 403],
    ['permanent-redirect', 'moved.test', 301],
  ])('%s: a new ID in the answer and the log', async (_what, host, status) => {
    const path = `/${plane}-${status}`;
    const text = await planeRequest(httpPort, plane, host, path);
    expect(statusOf(text)).toBe(status);
    const id = idOf(text);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const line = await loggedFor(path);
    expect(line?.status).toBe(status);
    expect(line?.requestId).toBe(id);
  });

  it('the client`s sane ID is answered and logged; an insane one replaced', async () => {
    const mine = await planeRequest(httpPort, plane, 'nowhere.test', `/${plane}-mine`, {
      'X-Request-ID': 'trace-7/xyz',
    });
    expect(idOf(mine)).toBe('trace-7/xyz');
    expect((await loggedFor(`/${plane}-mine`))?.requestId).toBe('trace-7/xyz');
    const insane = await planeRequest(httpPort, plane, 'nowhere.test', `/${plane}-insane`, {
      'X-Request-ID': 'x'.repeat(201),
    });
    expect(idOf(insane)).toMatch(/^[0-9a-f]{32}$/);
  });
});

it('413 for a body over proxy-body-size carries one too', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const sock = connect(httpPort, '127.0.0.1');
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(out));
    sock.write('POST /big HTTP/1.1\r\nHost: small.test\r\nContent-Length: 5\r\n\r\nhello');
  });
  expect(statusOf(text)).toBe(413);
  const id = idOf(text);
  expect(id).toMatch(/^[0-9a-f]{32}$/);
  expect((await loggedFor('/big'))?.requestId).toBe(id);
});

describe('Upgrade requests', () => {
  const upgrade = (host: string, path: string, extra = ''): Promise<string> =>
    new Promise((resolve, reject) => {
      const sock = connect(httpPort, '127.0.0.1');
      let out = '';
      sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
      sock.on('error', reject);
      sock.on('close', () => resolve(out));
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
      );
    });

  it('404 without a rule, 502 from a pod that refuses: the ID answered and logged', async () => {
    for (const [host, path, status] of [
      ['nowhere.test', '/ws-404', 404],
      ['gone.test', '/ws-502', 502],
    ] as const) {
      const text = await upgrade(host, path);
      expect(statusOf(text)).toBe(status);
      const id = idOf(text);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      const line = await loggedFor(path);
      expect(line?.status).toBe(status);
      expect(line?.requestId).toBe(id);
    }
  });

  it('the client`s ID on a 502 of the tunnel', async () => {
    const text = await upgrade('gone.test', '/ws-mine', 'X-Request-ID: ws-trace-1\r\n');
    expect(statusOf(text)).toBe(502);
    expect(idOf(text)).toBe('ws-trace-1');
    expect((await loggedFor('/ws-mine'))?.requestId).toBe('ws-trace-1');
  });
});
