/**
 * Cookie affinity through a running proxy, on the fast path (plain GET), the Node path (a
 * chunked POST handed to Node's server) and for HTTP/2 clients: the first response sets the cookie, later requests with
 * it reach the same pod, the value does not reveal the pod's address, an unknown value or a
 * removed endpoint gets a new pod and cookie, and routes without the annotation stay round-robin.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressServer, ProxyMetrics, readIngressAnnotations, type RouteTable } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { planeRequest, podOf, type Plane } from './plane-request.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

let pods: Echo[] = [];
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;
const metrics = new ProxyMetrics();

/** portico_ingress_affinity_cookies_total of the web backend. */
async function cookiesSet(): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString('portico_ingress_affinity_cookies_total');
  return Number(/service="default\/web:80"\} (\d+)/.exec(text)?.[1] ?? 0);
}

async function request(
  host: string,
  path: string,
  plane: Plane,
  cookie?: string,
): Promise<{ pod?: string; setCookie?: string }> {
  const text = await planeRequest(
    httpPort,
    plane,
    host,
    path,
    cookie ? { Cookie: `other=1; ${cookie}` } : {},
  );
  const pod = podOf(text);
  const setCookie = /\r\nset-cookie: ([^\r]*)/i.exec(text)?.[1];
  return { ...(pod ? { pod } : {}), ...(setCookie ? { setCookie } : {}) };
}

function tableOf(ports: number[]): RouteTable {
  return table([
    loopbackService('web', ports),
    {
      ingresses: [
        ingress(
          'sticky',
          { rules: [rule('s.test', { path: '/', svc: 'web' }, { path: '/app', svc: 'web' })] },
          {
            annotations: {
              [nginx('affinity')]: 'cookie',
              [nginx('session-cookie-name')]: 'SID',
              [nginx('session-cookie-max-age')]: '60',
              [nginx('session-cookie-samesite')]: 'Lax',
            },
          },
        ),
        ingress('plain', { rules: [rule('p.test', { path: '/', svc: 'web' })] }),
      ],
    },
  ]);
}

beforeAll(async () => {
  pods = [await startEcho('a'), await startEcho('b'), await startEcho('c')];
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { metrics } });
  server.setTable(tableOf(pods.map((p) => p.port)));
  const ports = await server.listen();
  httpPort = ports.httpPort;
  httpsPort = ports.httpsPort!;
});

afterAll(async () => {
  await server?.close();
  await stopAll(pods);
});

describe.each(['fast', 'node'] as const)('%s path', (plane) => {
  it('sets the cookie once, then keeps the client on its pod', async () => {
    const before = await cookiesSet();
    const first = await request('s.test', '/', plane);
    expect(first.setCookie).toMatch(/^SID=[0-9a-f]{32}; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax$/);
    const cookie = first.setCookie!.split(';')[0]!;
    for (let i = 0; i < 9; i++)
      expect(await request('s.test', '/', plane, cookie)).toEqual({ pod: first.pod });
    // The value names the pod without revealing it.
    const owner = pods.find((p) => p.name === first.pod)!;
    expect(cookie).not.toContain('127.0.0.1');
    expect(cookie).not.toContain(String(owner.port));
    expect((await cookiesSet()) - before).toBe(1);
  });

  it('an unknown cookie value gets a pod and a new cookie', async () => {
    const r = await request('s.test', '/', plane, 'SID=0123456789abcdef0123456789abcdef');
    expect(r.setCookie).toMatch(/^SID=[0-9a-f]{32};/);
    expect(r.setCookie).not.toContain('0123456789abcdef0123456789abcdef');
  });

  it("the cookie's path is the rule's path", async () => {
    expect((await request('s.test', '/app/x', plane)).setCookie).toMatch(/; Path=\/app;/);
  });

  it('a route without affinity stays round-robin and sets no cookie', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await request('p.test', '/', plane);
      expect(r.setCookie).toBeUndefined();
      seen.add(r.pod!);
    }
    expect(seen.size).toBe(3);
  });
});

it('a removed endpoint moves the client to another pod, with a new cookie', async () => {
  const first = await request('s.test', '/', 'fast');
  const cookie = first.setCookie!.split(';')[0]!;
  server.setTable(tableOf(pods.filter((p) => p.name !== first.pod).map((p) => p.port)));
  try {
    for (const plane of ['fast', 'node'] as const) {
      const moved = await request('s.test', '/', plane, cookie);
      expect(moved.pod).not.toBe(first.pod);
      expect(moved.setCookie).toMatch(/^SID=[0-9a-f]{32};/);
      expect(moved.setCookie!.split(';')[0]).not.toBe(cookie);
    }
  } finally {
    server.setTable(tableOf(pods.map((p) => p.port)));
  }
});

describe('the family', () => {
  it('reads the cookie settings', () => {
    const read = readIngressAnnotations({
      [nginx('affinity')]: 'cookie',
      [nginx('affinity-mode')]: 'persistent',
      [nginx('session-cookie-expires')]: '172800',
      [nginx('session-cookie-path')]: '/shop',
      [nginx('session-cookie-secure')]: 'true',
      [nginx('session-cookie-samesite')]: 'None',
      [nginx('session-cookie-domain')]: '.example.com',
    });
    expect(read.bad).toEqual([]);
    expect(read.policy).toEqual({
      affinity: {
        name: 'INGRESSCOOKIE',
        expires: 172800,
        path: '/shop',
        secure: true,
        sameSite: 'None',
        domain: '.example.com',
      },
    });
  });

  it.each([
    ['affinity', 'ip_hash'],
    ['affinity-mode', 'sticky'],
    ['session-cookie-name', 'a b'],
    ['session-cookie-max-age', '1h'],
    ['session-cookie-samesite', 'Sometimes'],
    ['session-cookie-path', 'nope'],
  ])('%s: %j is refused', (name, value) => {
    const read = readIngressAnnotations({ [nginx('affinity')]: 'cookie', [nginx(name)]: value });
    expect(read.bad).toEqual([expect.objectContaining({ annotation: nginx(name), value })]);
  });
});

/** A GET from an HTTP/2 client (served by http2/pooled-exchange.ts), with `cookie` when given. */
async function h2Request(
  host: string,
  path: string,
  cookie?: string,
): Promise<{ pod?: string; setCookie?: string }> {
  const session = http2.connect(`https://127.0.0.1:${httpsPort}`, {
    rejectUnauthorized: false,
    servername: host,
  });
  session.on('error', () => undefined);
  try {
    return await new Promise((resolve, reject) => {
      const req = session.request({ ':path': path, ':authority': host, ...(cookie ? { cookie } : {}) });
      let setCookie: string | undefined;
      let body = '';
      req.on('response', (headers) => (setCookie = headers['set-cookie']?.[0]));
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const pod = podOf(body);
        resolve({ ...(pod ? { pod } : {}), ...(setCookie ? { setCookie } : {}) });
      });
      req.on('error', reject);
    });
  } finally {
    session.close();
  }
}

it('HTTP/2 clients: the cookie is set once, then the client stays on its pod', async () => {
  const first = await h2Request('s.test', '/');
  expect(first.pod).toBeDefined();
  expect(first.setCookie).toMatch(/^SID=[0-9a-f]{32}; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax$/);
  const cookie = first.setCookie!.split(';')[0]!;
  for (let i = 0; i < 9; i++) expect(await h2Request('s.test', '/', cookie)).toEqual({ pod: first.pod });
  // Without the annotation: no cookie, and the requests spread over the pods.
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 6; i++) {
    const r = await h2Request('p.test', '/');
    expect(r.setCookie).toBeUndefined();
    seen.add(r.pod);
  }
  expect(seen.size).toBeGreaterThan(1);
});
