/**
 * The request-side annotations (route-policy.ts) through a running proxy, against real backends on
 * loopback, on the fast path and on the Node path (a chunked request is handed to Node's server):
 * rewrite-target with use-regex and capture groups, app-root, permanent/temporal redirects,
 * server-alias, source ranges (PROXY-less peer and a trusted proxy's X-Forwarded-For) and CORS
 * (preflight answered by the proxy, headers on the pod's response). A few checks with real curl.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { IngressServer, ProxyMetrics, selfSignedPair } from '@portico/ingress';
import { ingress, rule, tlsSecret } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const run = promisify(execFile);

let web: Echo;
let api: Echo;
let server: IngressServer;
let metrics: ProxyMetrics;
let httpPort = 0;
let httpsPort = 0;

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  /** The echo's JSON: which pod, and the URL it was sent. */
  pod?: string;
  url?: string;
  sentHeaders?: Record<string, string>;
  raw: string;
}

/** One request on a fresh connection; `node` sends it chunked so that Node's server serves it. */
function request(
  plane: 'fast' | 'node',
  host: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const method = opts.method ?? 'GET';
  const extra = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const head =
    plane === 'fast'
      ? `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`
      : `${method === 'GET' ? 'POST' : method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const sock = connect(httpPort, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(parse(text)));
    sock.write(head);
  });
}

function parse(text: string): Answer {
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const answer: Answer = { status, headers, raw: text };
  if (headers['content-type'] === 'application/json') {
    const json = JSON.parse(
      body.includes('{') ? body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1) : '{}',
    );
    answer.pod = json.name;
    answer.url = json.url;
    answer.sentHeaders = json.headers;
  }
  return answer;
}

beforeAll(async () => {
  web = await startEcho('web');
  api = await startEcho('api');
  metrics = new ProxyMetrics();
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    // The tests' client is 127.0.0.1; as a trusted proxy its X-Forwarded-For names the client.
    proxy: { trustedProxies: ['127.0.0.1/32'], metrics },
  });
  const pair = selfSignedPair('h2.example.com');
  server.setTable(
    table([
      { secrets: [tlsSecret('h2', pair.cert, pair.key)] },
      loopbackService('web', [web.port]),
      loopbackService('api', [api.port]),
      {
        ingresses: [
          ingress(
            'rewrite',
            {
              rules: [
                rule('rw.example.com', {
                  path: '/something(/|$)(.*)',
                  type: 'ImplementationSpecific',
                  svc: 'api',
                }),
              ],
            },
            { annotations: { [nginx('use-regex')]: 'true', [nginx('rewrite-target')]: '/$2' } },
          ),
          // Same host, another Ingress, no annotation: its path is a regex too (use-regex is per host).
          ingress('plain-on-regex-host', {
            rules: [
              rule('rw.example.com', { path: '/v[0-9]+/', type: 'ImplementationSpecific', svc: 'web' }),
            ],
          }),
          ingress(
            'root-rewrite',
            { rules: [rule('root.example.com', { path: '/app', svc: 'api' })] },
            { annotations: { [nginx('rewrite-target')]: '/' } },
          ),
          ingress(
            'app-root',
            { rules: [rule('ar.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('app-root')]: '/app1' } },
          ),
          ingress(
            'moved',
            { rules: [rule('old.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('permanent-redirect')]: 'https://new.example.com/landing' } },
          ),
          ingress(
            'moved-308',
            { rules: [rule('old308.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: {
                [nginx('permanent-redirect')]: 'https://new.example.com/',
                [nginx('permanent-redirect-code')]: '308',
              },
            },
          ),
          ingress(
            'temporal',
            { rules: [rule('tmp.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: {
                [nginx('temporal-redirect')]: 'https://maintenance.example.com/',
                [nginx('permanent-redirect')]: 'https://ignored.example.com/',
              },
            },
          ),
          ingress(
            'injected',
            { rules: [rule('inj.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('permanent-redirect')]: 'https://x.example.com/\r\nset-cookie: a=b' } },
          ),
          ingress(
            'aliased',
            { rules: [rule('main.example.com', { path: '/', svc: 'api' })] },
            { annotations: { [nginx('server-alias')]: 'alias.example.com, www.main.example.com' } },
          ),
          ingress(
            'office-only',
            { rules: [rule('office.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('whitelist-source-range')]: '10.0.0.0/8, 2001:db8::/32' } },
          ),
          ingress(
            'local-only',
            { rules: [rule('local.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('allowlist-source-range')]: '127.0.0.1' } },
          ),
          ingress(
            'denied',
            { rules: [rule('deny.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('denylist-source-range')]: '192.0.2.0/24' } },
          ),
          ingress(
            'typo',
            { rules: [rule('typo.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('allowlist-source-range')]: '127.0.0.1, 10.0.0.0/33' } },
          ),
          ingress(
            'cors-any',
            { rules: [rule('cors.example.com', { path: '/', svc: 'api' })] },
            { annotations: { [nginx('enable-cors')]: 'true' } },
          ),
          ingress(
            'cors-list',
            { rules: [rule('corsl.example.com', { path: '/', svc: 'api' })] },
            {
              annotations: {
                [nginx('enable-cors')]: 'true',
                [nginx('cors-allow-origin')]: 'https://app.example.com, https://*.example.org',
                [nginx('cors-allow-methods')]: 'GET, POST',
                [nginx('cors-allow-headers')]: 'X-Token',
                [nginx('cors-expose-headers')]: 'X-Trace',
                [nginx('cors-allow-credentials')]: 'false',
                [nginx('cors-max-age')]: '600',
              },
            },
          ),
          ingress('plain', { rules: [rule('plain.example.com', { path: '/', svc: 'web' })] }),
          ingress(
            'h2',
            {
              tls: [{ hosts: ['h2.example.com'], secretName: 'h2' }],
              rules: [
                rule('h2.example.com', { path: '/api(/|$)(.*)', type: 'ImplementationSpecific', svc: 'api' }),
              ],
            },
            {
              annotations: {
                [nginx('rewrite-target')]: '/v2/$2',
                [nginx('enable-cors')]: 'true',
                [nginx('cors-allow-origin')]: 'https://app.example.com',
                [nginx('denylist-source-range')]: '192.0.2.0/24',
              },
            },
          ),
        ],
      },
    ]),
  );
  ({ httpPort, httpsPort } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  await stopAll([web, api].filter(Boolean));
});

describe.each(['fast', 'node'] as const)('%s path', (plane) => {
  describe('rewrite-target, use-regex, app-root', () => {
    it('capture groups: /something/new?q=1 reaches the pod as /new?q=1', async () => {
      const a = await request(plane, 'rw.example.com', '/something/new/x?q=1');
      expect(a).toMatchObject({ status: 200, pod: 'api', url: '/new/x?q=1' });
      expect((await request(plane, 'rw.example.com', '/something')).url).toBe('/');
    });

    it('regex paths are case-insensitive and prefix-anchored, as nginx ~* "^path"', async () => {
      expect(await request(plane, 'rw.example.com', '/SOMETHING/a')).toMatchObject({ pod: 'api', url: '/a' });
      expect((await request(plane, 'rw.example.com', '/x/something/a')).status).toBe(404);
    });

    it("another Ingress's path on the same host is a regex too, forwarded unchanged", async () => {
      expect(await request(plane, 'rw.example.com', '/v2/items')).toMatchObject({
        status: 200,
        pod: 'web',
        url: '/v2/items',
      });
      expect((await request(plane, 'rw.example.com', '/vx/items')).status).toBe(404);
    });

    it('rewrite-target "/" replaces the whole path (ingress-nginx semantics)', async () => {
      expect(await request(plane, 'root.example.com', '/app/deep/page?x=1')).toMatchObject({
        pod: 'api',
        url: '/?x=1',
      });
    });

    it('app-root redirects / with 302 and leaves other paths alone', async () => {
      const a = await request(plane, 'ar.example.com', '/');
      expect(a.status).toBe(302);
      expect(a.headers.location).toBe('http://ar.example.com/app1');
      expect(await request(plane, 'ar.example.com', '/app1/x')).toMatchObject({
        status: 200,
        url: '/app1/x',
      });
    });
  });

  describe('permanent-redirect, temporal-redirect, server-alias', () => {
    it('permanent-redirect answers 301 with the URL as written', async () => {
      const a = await request(plane, 'old.example.com', '/any/path');
      expect(a.status).toBe(301);
      expect(a.headers.location).toBe('https://new.example.com/landing');
      expect((await request(plane, 'old308.example.com', '/')).status).toBe(308);
    });

    it('temporal-redirect answers 302 and wins over permanent-redirect', async () => {
      const a = await request(plane, 'tmp.example.com', '/');
      expect(a.status).toBe(302);
      expect(a.headers.location).toBe('https://maintenance.example.com/');
    });

    it('a URL with CR/LF is refused: no redirect, no injected header, the route is served', async () => {
      const a = await request(plane, 'inj.example.com', '/');
      expect(a).toMatchObject({ status: 200, pod: 'web' });
      expect(a.headers['set-cookie']).toBeUndefined();
    });

    it('server-alias hosts are served like the main host', async () => {
      for (const host of ['alias.example.com', 'www.main.example.com', 'main.example.com'])
        expect(await request(plane, host, '/x')).toMatchObject({ status: 200, pod: 'api' });
    });
  });

  describe('source ranges', () => {
    it('a client outside the allowlist gets 403; one inside (via a trusted proxy) is served', async () => {
      expect((await request(plane, 'office.example.com', '/')).status).toBe(403);
      const via = { 'X-Forwarded-For': '10.1.2.3' };
      expect(await request(plane, 'office.example.com', '/', { headers: via })).toMatchObject({
        status: 200,
        pod: 'web',
      });
      const v6 = { 'X-Forwarded-For': '2001:db8::7' };
      expect((await request(plane, 'office.example.com', '/', { headers: v6 })).status).toBe(200);
    });

    it('a single-address allowlist takes the peer itself', async () => {
      expect((await request(plane, 'local.example.com', '/')).status).toBe(200);
    });

    it('the denylist refuses its clients, others are served', async () => {
      expect((await request(plane, 'deny.example.com', '/')).status).toBe(200);
      const via = { 'X-Forwarded-For': '192.0.2.9' };
      expect((await request(plane, 'deny.example.com', '/', { headers: via })).status).toBe(403);
    });

    it('an allowlist with a bad CIDR fails closed: everyone gets 403', async () => {
      expect((await request(plane, 'typo.example.com', '/')).status).toBe(403);
    });
  });

  describe('CORS', () => {
    it('origin *: the preflight is answered by the proxy (204, ingress-nginx defaults)', async () => {
      const before = api.seen.length;
      const a = await request(plane, 'cors.example.com', '/x', {
        method: 'OPTIONS',
        headers: { Origin: 'https://anyone.example' },
      });
      expect(a.status).toBe(204);
      expect(a.headers).toMatchObject({
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
        'access-control-max-age': '1728000',
      });
      expect(a.headers['content-length']).toBeUndefined();
      expect(api.seen.length).toBe(before);
    });

    it('origin *: a normal response carries the headers', async () => {
      const a = await request(plane, 'cors.example.com', '/x');
      expect(a).toMatchObject({ status: 200, pod: 'api' });
      expect(a.headers['access-control-allow-origin']).toBe('*');
    });

    it('an origin list: allowed origins are echoed, wildcards take one label, others get nothing', async () => {
      const ok = await request(plane, 'corsl.example.com', '/', {
        headers: { Origin: 'https://app.example.com' },
      });
      expect(ok.headers).toMatchObject({
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'X-Token',
        'access-control-expose-headers': 'X-Trace',
        'access-control-max-age': '600',
      });
      expect(ok.headers['access-control-allow-credentials']).toBeUndefined();
      const wild = await request(plane, 'corsl.example.com', '/', {
        method: 'OPTIONS',
        headers: { Origin: 'https://eu.example.org' },
      });
      expect(wild.status).toBe(204);
      expect(wild.headers['access-control-allow-origin']).toBe('https://eu.example.org');
      for (const origin of [
        'https://a.b.example.org',
        'https://evil-app.example.com',
        'https://app.example.com.evil',
      ]) {
        const no = await request(plane, 'corsl.example.com', '/', { headers: { Origin: origin } });
        expect(no.status).toBe(200);
        expect(no.headers['access-control-allow-origin']).toBeUndefined();
      }
      // A preflight from an origin not allowed is the pod's to answer.
      const other = await request(plane, 'corsl.example.com', '/', {
        method: 'OPTIONS',
        headers: { Origin: 'https://other.example' },
      });
      expect(other).toMatchObject({ status: 200, pod: 'api' });
    });
  });

  it('a route without annotations gets none of this', async () => {
    const a = await request(plane, 'plain.example.com', '/a?b=c', {
      headers: { Origin: 'https://x.example' },
    });
    expect(a).toMatchObject({ status: 200, pod: 'web', url: '/a?b=c' });
    expect(a.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('with real curl', () => {
  const curl = async (...args: string[]): Promise<string> =>
    (await run('curl', ['-s', '-i', '--max-time', '5', ...args])).stdout;

  it('a preflight gets 204 and the CORS headers; the rewrite reaches the pod', async () => {
    const base = `http://127.0.0.1:${httpPort}`;
    const preflight = await curl(
      '-X',
      'OPTIONS',
      '-H',
      'Host: cors.example.com',
      '-H',
      'Origin: https://a.example',
      `${base}/p`,
    );
    expect(preflight).toMatch(/^HTTP\/1\.1 204 /);
    expect(preflight).toMatch(/\r\naccess-control-allow-origin: \*\r\n/i);
    const rewritten = await curl('-H', 'Host: rw.example.com', `${base}/something/abc`);
    expect(rewritten).toContain('"url":"/abc"');
  });

  it('HTTP/2 over TLS (the Node path): rewrite, CORS preflight and headers, denylist', async () => {
    const h2 = (...args: string[]) =>
      curl('-k', '--http2', '--resolve', `h2.example.com:${httpsPort}:127.0.0.1`, ...args);
    const url = `https://h2.example.com:${httpsPort}/api/items?x=1`;
    const origin = ['-H', 'Origin: https://app.example.com'];
    const ok = await h2(...origin, url);
    expect(ok).toMatch(/^HTTP\/2 200/);
    expect(ok).toContain('"url":"/v2/items?x=1"');
    expect(ok).toMatch(/\r\naccess-control-allow-origin: https:\/\/app\.example\.com\r\n/);
    const preflight = await h2('-X', 'OPTIONS', ...origin, url);
    expect(preflight).toMatch(/^HTTP\/2 204/);
    expect(preflight).toMatch(/\r\naccess-control-allow-methods: GET, PUT, POST, DELETE, PATCH, OPTIONS\r\n/);
    const denied = await h2('-H', 'X-Forwarded-For: 192.0.2.5', url);
    expect(denied).toMatch(/^HTTP\/2 403/);
  });

  it('the policy actions are counted per Ingress', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /portico_ingress_policy_actions_total\{ingress="default\/cors-any",action="cors_preflight"\} [1-9]/,
    );
    expect(text).toMatch(
      /portico_ingress_policy_actions_total\{ingress="default\/office-only",action="source_denied"\} [1-9]/,
    );
    expect(text).toMatch(
      /portico_ingress_policy_actions_total\{ingress="default\/rewrite",action="rewrite"\} [1-9]/,
    );
  });
});

describe("source ranges behind PROXY protocol: the header's source is the client", () => {
  let proxied: IngressServer;
  let port = 0;

  beforeAll(async () => {
    proxied = new IngressServer({
      host: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      proxyProtocol: { http: true },
    });
    proxied.setTable(
      table([
        loopbackService('web', [web.port]),
        {
          ingresses: [
            ingress(
              'office',
              { rules: [rule('office.example.com', { path: '/', svc: 'web' })] },
              { annotations: { [nginx('allowlist-source-range')]: '203.0.113.0/24' } },
            ),
          ],
        },
      ]),
    );
    ({ httpPort: port } = await proxied.listen());
  });

  afterAll(async () => {
    await proxied?.close();
  });

  /** A v1 header naming `source`, then one request (chunked for the Node path). */
  const viaProxy = (source: string, plane: 'fast' | 'node'): Promise<number> =>
    new Promise((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
      sock.on('error', reject);
      sock.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      const request =
        plane === 'fast'
          ? 'GET / HTTP/1.1\r\nHost: office.example.com\r\nConnection: close\r\n\r\n'
          : 'POST / HTTP/1.1\r\nHost: office.example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n';
      sock.write(`PROXY TCP4 ${source} 127.0.0.1 40000 80\r\n${request}`);
    });

  it.each(['fast', 'node'] as const)('%s path: allowed source served, other source 403', async (plane) => {
    expect(await viaProxy('203.0.113.7', plane)).toBe(200);
    expect(await viaProxy('198.51.100.7', plane)).toBe(403);
  });
});
