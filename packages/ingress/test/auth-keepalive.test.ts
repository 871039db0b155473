/**
 * auth-keepalive, auth-keepalive-requests, auth-keepalive-timeout and auth-keepalive-share-vars:
 * the connections to a real auth server on loopback, counted on its side, directly through
 * ForwardAuth and through a running proxy with curl; the annotations' bad values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  ForwardAuth,
  IngressServer,
  ProxyMetrics,
  readIngressAnnotations,
  selfSignedPair,
  type AuthRequest,
  type ForwardAuthPolicy,
} from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

let auth: http.Server;
let authUrl = '';
/** Every connection the auth server accepted, in order. */
const sockets: Socket[] = [];
const requestIds: (string | undefined)[] = [];
let web: Echo;
let server: IngressServer;
let httpPort = 0;
const metrics = new ProxyMetrics();
const opened = async () =>
  (await metrics.registry.getSingleMetric('portico_ingress_forward_auth_connections_total')!.get()).values[0]
    ?.value ?? 0;

beforeAll(async () => {
  auth = http.createServer((req, res) => {
    requestIds.push(req.headers['x-request-id'] as string | undefined);
    const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => res.writeHead(200).end('ok'), delay);
  });
  auth.on('connection', (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
  authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}/auth`;
  web = await startEcho('web');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { metrics } });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        ingresses: [
          ingress(
            'kept',
            { rules: [rule('k.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: {
                [nginx('auth-url')]: `${authUrl}?for=kept`,
                [nginx('auth-keepalive')]: '4',
                [nginx('auth-keepalive-requests')]: '2',
              },
            },
          ),
          ingress(
            'closed',
            { rules: [rule('n.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('auth-url')]: `${authUrl}?for=closed`, [nginx('auth-keepalive')]: '0' } },
          ),
        ],
      },
    ]),
  );
  ({ httpPort } = (await server.listen()) as { httpPort: number });
});

afterAll(async () => {
  await server?.close();
  auth?.closeAllConnections();
  await new Promise((r) => auth?.close(r));
  if (web) await stopAll([web]);
});

const request: AuthRequest = {
  method: 'GET',
  scheme: 'http',
  host: 'a.example.com',
  uri: '/',
  rawHeaders: [],
  client: '192.0.2.1',
  requestId: 'the-request',
};

function policy(
  keepalive?: Partial<NonNullable<ForwardAuthPolicy['keepalive']>>,
  query = '',
): ForwardAuthPolicy {
  return keepalive === undefined
    ? { url: authUrl + query }
    : {
        url: authUrl + query,
        keepalive: { connections: 0, requests: 1000, timeoutSeconds: 60, shareVars: false, ...keepalive },
      };
}

/** ForwardAuths of the tests, closed at the end (closing one closes its kept connections). */
const made: ForwardAuth[] = [];
afterAll(() => Promise.all(made.map((fa) => fa.close())));

/** Runs `fn` with a ForwardAuth of its own: the connections the auth server got, and how many are open. */
async function counting(
  fn: (fa: ForwardAuth) => Promise<void>,
): Promise<{ opened: number; open: () => number }> {
  const first = sockets.length;
  const fa = new ForwardAuth();
  made.push(fa);
  await fn(fa);
  const mine = sockets.slice(first);
  return { opened: mine.length, open: () => mine.filter((s) => !s.destroyed).length };
}

async function sequential(fa: ForwardAuth, p: ForwardAuthPolicy, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await fa.check(p, request)).allowed).toBe(true);
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connections to the auth service', () => {
  it('without auth-keepalive*: Portico`s default pool (undici`s) reuses connections', async () => {
    const c = await counting((fa) => sequential(fa, policy(), 10));
    // undici's pool may open a second connection while the first finishes its answer; never more.
    expect(c.opened).toBeLessThanOrEqual(2);
  });

  it('auth-keepalive: 0: a new connection per subrequest, closed after it', async () => {
    const c = await counting((fa) => sequential(fa, policy({ connections: 0 }), 4));
    expect(c.opened).toBe(4);
    await settle(100);
    expect(c.open()).toBe(0);
  });

  it('auth-keepalive: 2: sequential subrequests share one connection', async () => {
    const c = await counting((fa) => sequential(fa, policy({ connections: 2 }), 6));
    expect(c.opened).toBe(1);
    expect(c.open()).toBe(1);
  });

  it('auth-keepalive: 2 with 5 subrequests at once: 5 connections, 2 kept idle afterwards (nginx`s keepalive N)', async () => {
    const p = policy({ connections: 2 }, '?delay=150');
    const c = await counting(async (fa) => {
      const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => fa.check(p, request)));
      expect(outcomes.every((o) => o.allowed)).toBe(true);
    });
    expect(c.opened).toBe(5);
    await settle(150);
    expect(c.open()).toBe(2);
  });

  it('auth-keepalive-requests: 3: a connection is closed after 3 subrequests', async () => {
    const c = await counting((fa) => sequential(fa, policy({ connections: 2, requests: 3 }), 7));
    expect(c.opened).toBe(3);
    await settle(100);
    expect(c.open()).toBe(1);
  });

  it('auth-keepalive-timeout: 1: an idle connection is closed after a second', async () => {
    const p = policy({ connections: 2, timeoutSeconds: 1 });
    const c = await counting(async (fa) => {
      await sequential(fa, p, 1);
      await settle(400);
      expect(sockets.at(-1)!.destroyed).toBe(false);
      await settle(900);
      expect(sockets.at(-1)!.destroyed).toBe(true);
      await sequential(fa, p, 1);
    });
    expect(c.opened).toBe(2);
  });

  it('auth-keepalive-share-vars: the auth service sees the request`s X-Request-ID only when true (or sent by the client)', async () => {
    const fa = new ForwardAuth();
    await fa.check(policy({ connections: 2 }), request);
    const own = requestIds.at(-1);
    expect(own).toMatch(/^[0-9a-f]{32}$/);
    await fa.check(policy({ connections: 2, shareVars: true }), request);
    expect(requestIds.at(-1)).toBe('the-request');
    await fa.check(policy({ connections: 2 }), { ...request, rawHeaders: ['X-Request-ID', 'the-request'] });
    expect(requestIds.at(-1)).toBe('the-request');
    // Without keep-alive the subrequest is nginx's auth_request, which shares the request's variables.
    await fa.check(policy(), request);
    expect(requestIds.at(-1)).toBe('the-request');
    await fa.close();
  });
});

it('an https auth service is spoken to over TLS; one whose certificate does not verify answers 500', async () => {
  const tlsAuth = https.createServer(selfSignedPair('auth.portico.invalid'), (_req, res) => res.end('ok'));
  let connections = 0;
  tlsAuth.on('connection', () => connections++);
  await new Promise<void>((r) => tlsAuth.listen(0, '127.0.0.1', r));
  const fa = new ForwardAuth();
  made.push(fa);
  const url = `https://127.0.0.1:${(tlsAuth.address() as AddressInfo).port}/auth`;
  for (const keepalive of [undefined, { connections: 2, requests: 10, timeoutSeconds: 5, shareVars: false }])
    expect(await fa.check(keepalive ? { url, keepalive } : { url }, request)).toEqual({
      allowed: false,
      status: 500,
      headers: {},
    });
  expect(connections).toBe(2);
  tlsAuth.close();
});

function curl(host: string): Promise<number> {
  const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `${host}:${httpPort}:127.0.0.1`];
  return new Promise((resolve, reject) =>
    execFile('curl', [...args, `http://${host}:${httpPort}/`], (err, out) =>
      err ? reject(err) : resolve(Number(out)),
    ),
  );
}

describe('through the proxy', () => {
  it('auth-keepalive: 4 with auth-keepalive-requests: 2: 6 requests, 3 connections to the auth service, counted', async () => {
    const first = sockets.length;
    const before = await opened();
    for (let i = 0; i < 6; i++) expect(await curl('k.example.com')).toBe(200);
    expect(sockets.length - first).toBe(3);
    expect((await opened()) - before).toBe(3);
  });

  it('auth-keepalive: 0: one connection per request', async () => {
    const first = sockets.length;
    for (let i = 0; i < 3; i++) expect(await curl('n.example.com')).toBe(200);
    expect(sockets.length - first).toBe(3);
  });
});

describe('annotations', () => {
  const url = { [nginx('auth-url')]: 'http://auth.example.com/check' };

  it('defaults as ingress-nginx: 0 connections, 1000 requests, 60 s, share-vars off', () => {
    const r = readIngressAnnotations({ ...url, [nginx('auth-keepalive')]: '8' });
    expect(r.policy.forwardAuth?.keepalive).toEqual({
      connections: 8,
      requests: 1000,
      timeoutSeconds: 60,
      shareVars: false,
    });
    expect(r.bad).toEqual([]);
    expect(readIngressAnnotations(url).policy.forwardAuth?.keepalive).toBeUndefined();
  });

  it.each([
    [{ [nginx('auth-keepalive')]: 'many' }, 'auth-keepalive', 'many', 0, undefined],
    [{ [nginx('auth-keepalive')]: '-1' }, 'auth-keepalive', '-1', 0, 'off'],
    [
      { [nginx('auth-keepalive')]: '4', [nginx('auth-keepalive-requests')]: '0' },
      'auth-keepalive-requests',
      '0',
      0,
      'off',
    ],
    [
      { [nginx('auth-keepalive')]: '4', [nginx('auth-keepalive-timeout')]: '-5' },
      'auth-keepalive-timeout',
      '-5',
      0,
      'off',
    ],
    [
      { [nginx('auth-keepalive')]: '4', [nginx('auth-keepalive-timeout')]: '1m' },
      'auth-keepalive-timeout',
      '1m',
      4,
      undefined,
    ],
    [
      { [nginx('auth-keepalive')]: '4', [nginx('auth-keepalive-share-vars')]: 'yes' },
      'auth-keepalive-share-vars',
      'yes',
      4,
      undefined,
    ],
  ])('%j: %s=%j reported, %i connections kept', (annotations, name, value, connections, consequence) => {
    const r = readIngressAnnotations({ ...url, ...annotations });
    expect(r.policy.forwardAuth?.keepalive?.connections).toBe(connections);
    expect(r.bad).toHaveLength(1);
    expect(r.bad[0]).toMatchObject({ annotation: nginx(name), value });
    if (consequence === undefined) expect(r.bad[0]!.consequence).toBeUndefined();
    else expect(r.bad[0]!.consequence).toMatch(/auth-keepalive is off/);
    // The route still authenticates: only keep-alive is affected.
    expect(r.policy.forwardAuth?.denied).toBeUndefined();
  });

  it('a $variable in the auth-url`s host turns keep-alive off, as ingress-nginx', () => {
    const r = readIngressAnnotations({
      [nginx('auth-url')]: 'https://$host/oauth2/auth',
      [nginx('auth-keepalive')]: '4',
    });
    expect(r.policy.forwardAuth?.keepalive?.connections).toBe(0);
    expect(r.bad).toMatchObject([{ annotation: nginx('auth-keepalive'), value: '4' }]);
    // $host in the path only is fine.
    const ok = readIngressAnnotations({
      [nginx('auth-url')]: 'https://auth.example.com/oauth2/auth?for=$host',
      [nginx('auth-keepalive')]: '4',
    });
    expect(ok.policy.forwardAuth?.keepalive?.connections).toBe(4);
    expect(ok.bad).toEqual([]);
  });
});
