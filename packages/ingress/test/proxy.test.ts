import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { Pool, request } from 'undici';
import { IngressServer, ProxyMetrics } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

/** Sends raw bytes, returns everything the proxy answered until it closed (bounded by a timer). */
function raw(port: number, data: string | string[], gapMs = 0, limitMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(out);
    }, limitMs);
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    sock.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    const parts = Array.isArray(data) ? data : [data];
    let i = 0;
    const next = () => {
      if (i >= parts.length || sock.destroyed) return;
      sock.write(parts[i++]!);
      if (gapMs) setTimeout(next, gapMs);
      else next();
    };
    sock.on('connect', next);
  });
}

let echos: Echo[] = [];
let server: IngressServer;
let port = 0;
let base = '';
let deadPort = 0;
const metrics = new ProxyMetrics();

beforeAll(async () => {
  echos = await Promise.all(['a', 'b', ...Array.from({ length: 10 }, (_, i) => `pod${i}`)].map(startEcho));
  const [a, b] = echos;
  // A port with nothing listening: bind then close.
  const tmp = await startEcho('tmp');
  deadPort = tmp.port;
  await stopAll([tmp]);
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: null,
    headersTimeout: 1_000,
    requestTimeout: 3_000,
    timeoutCheckInterval: 200,
    maxHeaderSize: 8 * 1024,
    proxy: { maxBodyBytes: 64 * 1024, upstreamHeadersTimeout: 1_000, httpsPort: 8443, metrics },
  });
  server.setTable(
    table([
      loopbackService('svc-a', [a!.port]),
      loopbackService('svc-b', [b!.port]),
      loopbackService(
        'pods',
        echos.slice(2).map((e) => e.port),
      ),
      loopbackService('empty', []),
      loopbackService('dead', [deadPort]),
      loopbackService('half', [deadPort, a!.port]),
      {
        ingresses: [
          ingress('main', {
            tls: [{ hosts: ['secure.example.com'] }],
            rules: [
              rule(
                'a.example.com',
                { path: '/', svc: 'svc-a' },
                { path: '/b', svc: 'svc-b' },
                { path: '/exact', type: 'Exact', svc: 'svc-b' },
              ),
              rule('lb.example.com', { path: '/', svc: 'pods' }),
              rule('empty.example.com', { path: '/', svc: 'empty' }),
              rule('dead.example.com', { path: '/', svc: 'dead' }),
              rule('half.example.com', { path: '/', svc: 'half' }),
              rule('secure.example.com', { path: '/', svc: 'svc-a' }),
            ],
          }),
        ],
      },
    ]),
  );
  ({ httpPort: port } = await server.listen());
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.close();
  await stopAll(echos);
});

async function get(path: string, host: string, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, { headers: { host, ...headers } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

describe('routing and pass-through', () => {
  it('routes by host and path, passing Host, request-target, method and User-Agent unchanged', async () => {
    const r = await get('/sub-path?q=1&x=%2F', 'a.example.com', { 'user-agent': 'conformance/1' });
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ name: 'a', method: 'GET', url: '/sub-path?q=1&x=%2F', httpVersion: '1.1' });
    expect(body.headers.host).toBe('a.example.com');
    expect(body.headers['user-agent']).toBe('conformance/1');
    expect((await get('/b/c', 'a.example.com')).json().name).toBe('b');
    expect((await get('/exact', 'a.example.com')).json().name).toBe('b');
    expect((await get('/exact/', 'a.example.com')).json().name).toBe('a');
  });

  it('adds X-Forwarded-* (client values are replaced) and strips hop-by-hop headers', async () => {
    const r = await get('/', 'a.example.com:' + port, {
      'x-forwarded-for': '203.0.113.9',
      'x-kept': 'yes',
    });
    const h = r.json().headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`a.example.com:${port}`);
    expect(h['x-kept']).toBe('yes');
    // Response side: Server added, Content-Length kept (not chunked), Date present, hop headers gone.
    expect(r.headers.server).toBe('portico');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.headers.date).toBeDefined();
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-hop']).toBeUndefined();
  });

  it('drops headers named by Connection and the fixed hop-by-hop set (RFC 9110 §7.6.1)', async () => {
    const out = await raw(
      port,
      'GET / HTTP/1.1\r\nHost: a.example.com\r\nConnection: close, X-Secret\r\nX-Secret: hop\r\nTE: trailers\r\n' +
        'Keep-Alive: timeout=9\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    const h = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)).headers;
    expect(h['x-kept']).toBe('yes');
    for (const name of ['x-secret', 'te', 'keep-alive', 'proxy-connection']) expect(h[name]).toBeUndefined();
  });

  it('accepts absolute-form request targets, routing on their authority', async () => {
    const out = await raw(
      port,
      'GET http://a.example.com/b/x?y=1 HTTP/1.1\r\nHost: ignored.example.com\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    expect(out).toContain('"name":"b"');
    expect(out).toContain('"url":"/b/x?y=1"');
    // The authority of the target replaces the Host header on the way to the pod.
    expect(out).toContain('"host":"a.example.com"');
    expect(out).not.toContain('ignored.example.com"');
  });

  it('answers 404 with no matching rule, 503 with no ready endpoint, 502 when the pod refuses, 504 on timeout', async () => {
    expect((await get('/', 'nobody.example.com')).status).toBe(404);
    const r503 = await get('/', 'empty.example.com');
    expect(r503.status).toBe(503);
    expect(r503.headers.server).toBe('portico');
    expect((await get('/', 'dead.example.com')).status).toBe(502);
    expect((await get('/slow?ms=2500', 'a.example.com')).status).toBe(504);
  });

  it('redirects plain HTTP for TLS hosts to HTTPS with 308, keeping host and path', async () => {
    const r = await get('/p?q=1', 'secure.example.com');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('https://secure.example.com:8443/p?q=1');
  });
});

describe('load balancing and ejection', () => {
  it('balances per request: 100 keep-alive requests on one connection reach all 10 pods', async () => {
    const pool = new Pool(base, { connections: 1 });
    try {
      const names = new Set<string>();
      for (let i = 0; i < 100; i++) {
        const res = await pool.request({ path: '/', method: 'GET', headers: { host: 'lb.example.com' } });
        names.add(JSON.parse(await res.body.text()).name);
      }
      expect([...names].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `pod${i}`).sort());
    } finally {
      await pool.close();
    }
  });

  it('retries a refused connection on another endpoint and ejects the failing one', async () => {
    for (let i = 0; i < 8; i++) {
      const r = await get('/', 'half.example.com');
      expect(r.status).toBe(200);
      expect(r.json().name).toBe('a');
    }
    expect(server.proxy.balancer.isEjected(`http://127.0.0.1:${deadPort}`)).toBe(true);
  });
});

describe('bodies and limits', () => {
  it('streams request and response bodies both ways', async () => {
    const payload = Buffer.alloc(60 * 1024, 'x');
    const res = await request(`${base}/body`, {
      method: 'POST',
      body: payload,
      headers: { host: 'a.example.com' },
    });
    const got = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(got.equals(payload)).toBe(true);
  });

  it('rejects a declared Content-Length above the limit with 413', async () => {
    const out = await raw(
      port,
      `POST /body HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: ${1024 * 1024}\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1.1 413/);
  });

  it('rejects a chunked body that grows above the limit with 413', async () => {
    const chunk = Buffer.alloc(16 * 1024, 'y');
    const body = Readable.from(
      (async function* () {
        for (let i = 0; i < 8; i++) yield chunk;
      })(),
    );
    const res = await request(`${base}/body`, {
      method: 'POST',
      body,
      headers: { host: 'a.example.com' },
    }).catch((e: Error) => e);
    // Either we read the 413 or the proxy closed the connection mid-upload: never a 200.
    if (res instanceof Error) expect(res.message).toMatch(/closed|reset|socket|other side/i);
    else {
      expect(res.statusCode).toBe(413);
      await res.body.dump();
    }
  });

  it('rejects oversized headers with 431', async () => {
    const out = await raw(
      port,
      `GET / HTTP/1.1\r\nHost: a.example.com\r\nX-Big: ${'z'.repeat(10_000)}\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1.1 431/);
  });

  it('answers 408 to a client that sends its headers too slowly', async () => {
    const parts = 'GET / HTTP/1.1\r\nHost: a.example.com\r\nX-Slow: 1\r\n'.split('');
    const started = Date.now();
    const out = await raw(port, parts, 150, 8_000);
    expect(out).toMatch(/^HTTP\/1.1 408/);
    expect(Date.now() - started).toBeLessThan(7_000);
  });
});

describe('request smuggling (RFC 9112 §6.3)', () => {
  const before = () => echos[0]!.seen.length;
  const cases: [string, string][] = [
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a.example.com\r\n\r\n',
    ],
    [
      'two different Content-Lengths',
      'POST / HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabcGET /smuggled HTTP/1.1\r\nHost: a.example.com\r\n\r\n',
    ],
    [
      'Transfer-Encoding not ending in chunked',
      'POST / HTTP/1.1\r\nHost: a.example.com\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    ],
    [
      'obfuscated Transfer-Encoding',
      'POST / HTTP/1.1\r\nHost: a.example.com\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
    ],
  ];
  it.each(cases)('%s -> 400, nothing reaches the pod', async (_n, payload) => {
    const n = before();
    const out = await raw(port, payload);
    expect(out).toMatch(/^HTTP\/1.1 400/);
    expect(out).not.toContain('"name"');
    expect(echos[0]!.seen.length).toBe(n);
  });
});

describe('WebSocket upgrade', () => {
  it('pipes the upgraded connection both ways', async () => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout, got ${JSON.stringify(got)}`)), 5_000);
      sock.on('data', (d) => {
        got += d.toString();
        if (got.includes('\r\n\r\n') && !got.includes('ping-pong') && got.startsWith('HTTP/1.1 101'))
          sock.write('ping-pong');
        if (got.endsWith('ping-pong')) {
          clearTimeout(timer);
          resolve();
        }
      });
      sock.on('error', reject);
    });
    sock.write(
      'GET /ws HTTP/1.1\r\nHost: a.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    try {
      await done;
    } finally {
      sock.destroy();
    }
    expect(got).toMatch(/^HTTP\/1.1 101/);
    const seen = echos[0]!.seen.at(-1)!;
    expect(seen.url).toBe('/ws');
    expect(seen.headers.upgrade).toBe('websocket');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });
});

describe('metrics', () => {
  it('counts requests by status, Ingress and backend, with latency histograms and upstream errors', async () => {
    await get('/', 'nobody.example.com');
    const before = await metrics.registry.getSingleMetricAsString('portico_ingress_requests_total');
    const count = (text: string, labels: string) =>
      Number(new RegExp(`portico_ingress_requests_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const okLabels = 'status="200",ingress="default/main",service="default/svc-b:80"';
    for (let i = 0; i < 3; i++) expect((await get('/b', 'a.example.com')).status).toBe(200);
    const after = await metrics.registry.metrics();
    expect(count(after, okLabels) - count(before, okLabels)).toBe(3);
    expect(count(after, 'status="404",ingress="",service=""')).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(
      /portico_ingress_request_duration_seconds_bucket\{ingress="default\/main",service="default\/svc-b:80",le="\+Inf"\} \d+/,
    );
    expect(after).toMatch(
      /portico_ingress_upstream_errors_total\{service="default\/dead:80",reason="connect"\} [1-9]/,
    );
  });
});
