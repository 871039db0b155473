/**
 * The production basics through a running proxy, on both planes (HTTPS HTTP/1.1 is the fast path,
 * HTTP/2 the Node path): HSTS on HTTPS responses of TLS hosts only, the request ID generated or
 * passed through, sent to the pod and logged; and the certificate-expiry metric.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { X509Certificate } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import {
  CertificateExpiry,
  hstsValue,
  IngressServer,
  isSaneRequestId,
  newRequestId,
  selfSignedPair,
} from '@portico/ingress';
import { ingress, rule, tlsSecret } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

let web: Echo;
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;
const logged: Record<string, unknown>[] = [];
const pair = selfSignedPair('a.example.com');

beforeAll(async () => {
  web = await startEcho('web');
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logged.push(JSON.parse(line));
      done();
    },
  });
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    proxy: { logger: pino({ name: 'access' }, sink) },
  });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        secrets: [tlsSecret('a-tls', pair.cert, pair.key)],
        ingresses: [
          ingress(
            'a',
            {
              // z.example.com: a TLS host without rules (our own 404).
              tls: [{ hosts: ['a.example.com', 'z.example.com'], secretName: 'a-tls' }],
              rules: [rule('a.example.com', { path: '/', svc: 'web' })],
            },
            { annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' } },
          ),
          ingress('b', { rules: [rule('b.example.com', { path: '/', svc: 'web' })] }),
        ],
      },
    ]),
  );
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  if (web) await stopAll([web]);
});

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function curl(
  scheme: 'http' | 'https',
  version: '--http1.1' | '--http2',
  host: string,
  path: string,
  extra: string[] = [],
): Promise<Reply> {
  const port = scheme === 'http' ? httpPort : httpsPort;
  const args = ['-sS', '-k', '-i', version, '--resolve', `${host}:${port}:127.0.0.1`, ...extra];
  args.push(`${scheme}://${host}:${port}${path}`);
  return new Promise((resolve, reject) =>
    execFile('curl', args, (err, out) => {
      if (err) return reject(err);
      const [head = '', body = ''] = out.split('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0), headers, body });
    }),
  );
}

const planes = [
  ['fast', '--http1.1'],
  ['node', '--http2'],
] as const;

describe.each(planes)('HSTS, %s path', (_plane, version) => {
  it('on an HTTPS response of a TLS host: one year, includeSubDomains (ingress-nginx defaults)', async () => {
    const r = await curl('https', version, 'a.example.com', '/');
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('on our own responses for that host too (404)', async () => {
    const r = await curl('https', version, 'z.example.com', '/');
    expect(r.status).toBe(404);
    expect(r.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('not over plain HTTP, not for a host without TLS of its own', async () => {
    const plain = await curl('http', '--http1.1', 'a.example.com', '/');
    expect(plain.status).toBe(200);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    const other = await curl('https', version, 'b.example.com', '/');
    expect(other.status).toBe(200);
    expect(other.headers['strict-transport-security']).toBeUndefined();
  });
});

describe.each(planes)('request ID, %s path', (_plane, version) => {
  it('generated when the client sends none: 32 hex digits to the pod, in the log, not in the response', async () => {
    const r = await curl('https', version, 'a.example.com', '/gen');
    const id = JSON.parse(r.body).headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers['x-request-id']).toBeUndefined();
    expect(logged.find((l) => l.path === '/gen' && l.requestId === id)).toBeDefined();
  });

  it('the client`s passed through', async () => {
    const r = await curl('https', version, 'a.example.com', '/mine', ['-H', 'X-Request-ID: trace-42/abc']);
    expect(JSON.parse(r.body).headers['x-request-id']).toBe('trace-42/abc');
    expect(logged.find((l) => l.path === '/mine')?.requestId).toBe('trace-42/abc');
  });

  it('an insane one replaced (too long)', async () => {
    const r = await curl('https', version, 'a.example.com', '/long', [
      '-H',
      `X-Request-ID: ${'x'.repeat(201)}`,
    ]);
    expect(JSON.parse(r.body).headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });
});

it('request IDs: distinct, sane; the client values judged', () => {
  const ids = new Set(Array.from({ length: 2000 }, newRequestId));
  expect(ids.size).toBe(2000);
  for (const id of ids) expect(isSaneRequestId(id)).toBe(true);
  expect(isSaneRequestId('a b')).toBe(false);
  expect(isSaneRequestId('')).toBe(false);
  expect(isSaneRequestId('é')).toBe(false);
  expect(isSaneRequestId(undefined)).toBe(false);
});

it('hstsValue spells the options', () => {
  expect(hstsValue({ maxAge: 0, includeSubDomains: false, preload: false })).toBe('max-age=0');
  expect(hstsValue({ maxAge: 63072000, includeSubDomains: true, preload: true })).toBe(
    'max-age=63072000; includeSubDomains; preload',
  );
});

it('HSTS off: no header', async () => {
  const quiet = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    proxy: { hsts: undefined },
  });
  quiet.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        secrets: [tlsSecret('a-tls', pair.cert, pair.key)],
        ingresses: [
          ingress('a', {
            tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }],
            rules: [rule('a.example.com', { path: '/', svc: 'web' })],
          }),
        ],
      },
    ]),
  );
  const ports = (await quiet.listen()) as { httpsPort: number };
  try {
    const saved = httpsPort;
    httpsPort = ports.httpsPort;
    const r = await curl('https', '--http1.1', 'a.example.com', '/').finally(() => (httpsPort = saved));
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBeUndefined();
  } finally {
    await quiet.close();
  }
});

describe('certificate expiry metric', () => {
  const value = async (registry: Registry) =>
    (await registry.getSingleMetric('portico_ingress_certificate_expiry_seconds')!.get()).values.map((v) => [
      v.labels.secret,
      v.value,
    ]);

  it('notAfter per Secret as a Unix timestamp; a Secret no longer served loses its series', async () => {
    const registry = new Registry();
    const expiry = new CertificateExpiry(registry);
    const other = selfSignedPair('b.example.com');
    const notAfter = (pem: string) => Math.floor(new X509Certificate(pem).validToDate.getTime() / 1000);
    expiry.update([
      { host: 'a.example.com', id: 'default/a-tls@1', ...pair },
      { host: 'www.a.example.com', id: 'default/a-tls@1', ...pair },
      { host: 'b.example.com', id: 'shop/b-tls@7', ...other },
      { host: 'c.example.com', id: 'shop/broken@1', cert: 'not a pem', key: '' },
    ]);
    expect(await value(registry)).toEqual([
      ['default/a-tls', notAfter(pair.cert)],
      ['shop/b-tls', notAfter(other.cert)],
    ]);
    // About ten years ahead (selfSignedPair: -days 3650).
    expect(notAfter(pair.cert) - Date.now() / 1000).toBeGreaterThan(3600 * 86400);
    expiry.update([{ host: 'b.example.com', id: 'shop/b-tls@8', ...other }]);
    expect(await value(registry)).toEqual([['shop/b-tls', notAfter(other.cert)]]);
  });
});
