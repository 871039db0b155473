/**
 * PROXY protocol on a running proxy: curl's --haproxy-protocol (a real client, v1) and raw v2 headers
 * over TCP, on plain HTTP (fast path and Node path) and HTTPS (HTTP/1.1 and HTTP/2), with an echo pod
 * recording the headers it received and the access log recording the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import http2 from 'node:http2';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import pino from 'pino';
import { encodeV1, encodeV2, IngressServer, ProxyMetrics, type ProxyAddress } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const v4 = (address: string, port: number): ProxyAddress => ({ address, port, family: 'IPv4' });
const v6 = (address: string, port: number): ProxyAddress => ({ address, port, family: 'IPv6' });

let echo: Echo;
let server: IngressServer;
let plain: IngressServer;
let httpPort = 0;
let httpsPort = 0;
let plainPort = 0;
const metrics = new ProxyMetrics();
const accessLog: { client?: string; path?: string }[] = [];

function curl(args: string[]): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8' }, (e, out, err) =>
      resolve({ out, err, code: typeof e?.code === 'number' ? e.code : 0 }),
    );
  });
}

/** Connects, writes `prefix`, then (over TLS when asked) one request; the raw answer and whether it closed. */
function rawRequest(
  port: number,
  prefix: Buffer,
  request: string,
  tls = false,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const done = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => done(false), 5_000);
    sock.on('error', () => done(true));
    sock.on('connect', () => {
      sock.write(prefix);
      let stream: Socket = sock;
      if (tls) stream = tlsConnect({ socket: sock, rejectUnauthorized: false, servername: 'p.example.com' });
      stream.on('error', () => done(true));
      stream.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (/\r\n\r\n[\s\S]*\}$/.test(text)) done(false);
      });
      stream.on('close', () => done(true));
      stream.write(request);
    });
  });
}

/** The headers the echo pod received, from its JSON answer. */
function podHeaders(text: string): Record<string, string> {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body.slice(body.indexOf('{'))) as { headers: Record<string, string> }).headers;
}

const GET = 'GET /who HTTP/1.1\r\nHost: p.example.com\r\nConnection: close\r\n\r\n';

beforeAll(async () => {
  if (spawnSync('curl', ['--version']).error) throw new Error('this test needs curl (Debian package curl)');
  echo = await startEcho('echo');
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        accessLog.push(JSON.parse(chunk.toString()) as { client?: string; path?: string });
        cb();
      },
    }),
  );
  const routes = table([
    loopbackService('echo', [echo.port]),
    { ingresses: [ingress('pp', { rules: [rule('p.example.com', { path: '/', svc: 'echo' })] })] },
  ]);
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    headersTimeout: 800,
    timeoutCheckInterval: 100,
    proxyProtocol: { http: true, https: true },
    proxy: { logger, metrics },
  });
  server.setTable(routes);
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
  // The same proxy without the option: a header there is not expected and is a bad request.
  plain = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: null });
  plain.setTable(routes);
  ({ httpPort: plainPort } = await plain.listen());
});

afterAll(async () => {
  await server?.close();
  await plain?.close();
  if (echo) await stopAll([echo]);
});

describe('curl --haproxy-protocol (v1 from a real client)', () => {
  it('is served over HTTP and HTTPS, with the address curl announced', async () => {
    for (const url of [`http://p.example.com:${httpPort}/curl`, `https://p.example.com:${httpsPort}/curl`]) {
      const port = new URL(url).port;
      const r = await curl(['-k', '--haproxy-protocol', '--resolve', `p.example.com:${port}:127.0.0.1`, url]);
      expect(r.err).toBe('');
      const got = JSON.parse(r.out) as { headers: Record<string, string> };
      expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(got.headers['x-real-ip']).toBe('127.0.0.1');
    }
  });

  it('without the header, curl gets no answer: the connection is closed', async () => {
    const before = (await metrics.registry.getSingleMetricAsString('portico_ingress_connection_errors_total'))
      .length;
    const r = await curl([
      '--resolve',
      `p.example.com:${httpPort}:127.0.0.1`,
      `http://p.example.com:${httpPort}/no-header`,
    ]);
    expect(r.code).toBe(52); // CURLE_GOT_NOTHING
    const tls = await curl([
      '-k',
      '--resolve',
      `p.example.com:${httpsPort}:127.0.0.1`,
      `https://p.example.com:${httpsPort}/no-header`,
    ]);
    expect(tls.code).not.toBe(0);
    const text = await metrics.registry.getSingleMetricAsString('portico_ingress_connection_errors_total');
    expect(text.length).toBeGreaterThan(before);
    expect(text).toMatch(/reason="proxy_protocol"\} [2-9]/);
  });
});

describe('raw v2 header', () => {
  const client = v4('203.0.113.7', 40000);
  const header = encodeV2(
    { source: client, destination: v4('198.51.100.1', 80) },
    Buffer.from([4, 0, 2, 0, 0]),
  );

  it('fast path: the pod sees the header source in X-Forwarded-For, X-Real-IP', async () => {
    const r = await rawRequest(httpPort, header, GET);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    const h = podHeaders(r.text);
    expect(h['x-forwarded-for']).toBe('203.0.113.7');
    expect(h['x-real-ip']).toBe('203.0.113.7');
    expect(accessLog.some((l) => l.path === '/who' && l.client === '203.0.113.7')).toBe(true);
  });

  it('Node path (a chunked upload is handed over): same client address', async () => {
    const req =
      'POST /chunked HTTP/1.1\r\nHost: p.example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      '2\r\nhi\r\n0\r\n\r\n';
    const r = await rawRequest(httpPort, encodeV1(v6('2001:db8::42', 1234), v6('2001:db8::1', 80)), req);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(podHeaders(r.text)['x-forwarded-for']).toBe('2001:db8::42');
  });

  it('HTTPS, HTTP/1.1: the header comes before the TLS handshake', async () => {
    const r = await rawRequest(httpsPort, header, GET, true);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    const h = podHeaders(r.text);
    expect(h['x-forwarded-for']).toBe('203.0.113.7');
    expect(h['x-forwarded-proto']).toBe('https');
  });

  it('HTTPS, HTTP/2: the session has the header source', async () => {
    const session = http2.connect(`https://p.example.com:${httpsPort}`, {
      createConnection: () => {
        const sock = connect(httpsPort, '127.0.0.1');
        sock.write(header);
        return tlsConnect({
          socket: sock,
          rejectUnauthorized: false,
          servername: 'p.example.com',
          ALPNProtocols: ['h2'],
        });
      },
    });
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/h2', ':authority': 'p.example.com' });
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => resolve(text));
      req.on('error', reject);
    });
    session.close();
    expect((JSON.parse(body) as { headers: Record<string, string> }).headers['x-forwarded-for']).toBe(
      '203.0.113.7',
    );
  });

  it('LOCAL (a health check of the load balancer): served with the connection address', async () => {
    const r = await rawRequest(httpPort, encodeV2(undefined), GET);
    expect(podHeaders(r.text)['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('the header split over many writes is still read', async () => {
    const r = await new Promise<string>((resolve) => {
      const sock = connect(httpPort, '127.0.0.1');
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
      sock.on('close', () => resolve(text));
      const bytes = Buffer.concat([header, Buffer.from(GET)]);
      let at = 0;
      const next = (): void => {
        if (at >= bytes.length) return;
        sock.write(bytes.subarray(at, at + 3));
        at += 3;
        setTimeout(next, 1);
      };
      sock.on('connect', next);
    });
    expect(podHeaders(r)['x-forwarded-for']).toBe('203.0.113.7');
  });

  it.each([
    ['a request without a header', Buffer.alloc(0)],
    ['a malformed v1 header', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n')],
    [
      'a v2 header with a bad version',
      Buffer.concat([header.subarray(0, 12), Buffer.from([0x31]), header.subarray(13)]),
    ],
  ])('%s: closed without an answer', async (_name, prefix) => {
    const seen = echo.seen.length;
    const r = await rawRequest(httpPort, prefix, GET);
    expect(r).toEqual({ text: '', closed: true });
    expect(echo.seen.length).toBe(seen);
  });

  it('a connection that sends part of a header and stops is closed at the deadline', async () => {
    const started = Date.now();
    const r = await rawRequest(httpPort, header.subarray(0, 10), '');
    expect(r.closed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  });

  it('on a listener without the option, a header is a bad request (400), never an address', async () => {
    const r = await rawRequest(plainPort, encodeV1(client, v4('198.51.100.1', 80)), GET);
    expect(r.text).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe('shutdown', () => {
  it('does not wait for connections that never sent their header', async () => {
    const s = new IngressServer({
      host: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      headersTimeout: 10_000,
      proxyProtocol: { http: true, https: true },
    });
    const ports = await s.listen();
    const silent = [connect(ports.httpPort, '127.0.0.1'), connect(ports.httpsPort!, '127.0.0.1')];
    const closed = silent.map((sock) => new Promise((resolve) => sock.on('close', resolve)));
    for (const sock of silent) sock.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await Promise.all(closed);
  });
});
