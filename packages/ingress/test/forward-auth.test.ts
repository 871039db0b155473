/**
 * Forward auth (auth-url, auth-method, auth-response-headers, auth-signin, auth-request-redirect)
 * with a real auth server on loopback, through a running proxy on both planes (plain HTTP/1.1 is
 * handed from the fast path to Node's server; HTTPS HTTP/2 is the Node path) with real curl, and
 * WebSocket handshakes; the subrequest's headers; timeouts and bad values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import {
  ForwardAuth,
  IngressServer,
  parseAuthUrl,
  parseCacheDurations,
  readIngressAnnotations,
} from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

let web: Echo;
let auth: http.Server;
let authPort = 0;
const asked: http.IncomingMessage[] = [];
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;

beforeAll(async () => {
  web = await startEcho('web');
  auth = http.createServer((req, res) => {
    asked.push(req);
    req.resume();
    const token = req.headers['x-token'];
    if (token === 'good')
      res
        .writeHead(200, {
          'x-auth-user': 'alice',
          'x-other': 'not copied',
          'set-cookie': '_oauth2_proxy=refreshed; Path=/',
        })
        .end('ok');
    else if (token === 'plain') res.writeHead(200, { 'x-auth-user': 'bob' }).end('ok');
    else if (token === 'forbidden') res.writeHead(403).end();
    else if (token === 'boom') res.writeHead(502).end();
    else if (token === 'slow') setTimeout(() => res.writeHead(200).end(), 1500);
    else res.writeHead(401, { 'www-authenticate': 'Bearer realm="sso"' }).end();
  });
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
  authPort = (auth.address() as AddressInfo).port;
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  const authUrl = `http://127.0.0.1:${authPort}/auth?for=$host`;
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        ingresses: [
          ingress(
            'fa',
            { rules: [rule('a.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: { [nginx('auth-url')]: authUrl, [nginx('auth-response-headers')]: 'X-Auth-User' },
            },
          ),
          ingress(
            'signin',
            { rules: [rule('s.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: {
                [nginx('auth-url')]: authUrl,
                [nginx('auth-signin')]: 'https://login.example.com/oauth2/start',
              },
            },
          ),
          ingress(
            'cached',
            { rules: [rule('c.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: {
                [nginx('auth-url')]: authUrl,
                [nginx('auth-cache-key')]: '$http_x_token',
                [nginx('auth-cache-duration')]: '200 401 400ms',
              },
            },
          ),
          ingress(
            'bad',
            { rules: [rule('b.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('auth-url')]: 'http://127.0.0.1/auth";\nproxy_pass http://evil' } },
          ),
        ],
      },
    ]),
  );
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  auth?.closeAllConnections();
  await new Promise((r) => auth?.close(r));
  if (web) await stopAll([web]);
});

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function curl(plane: 'fast' | 'node', host: string, path: string, extra: string[] = []): Promise<Reply> {
  const port = plane === 'fast' ? httpPort : httpsPort;
  const url = `${plane === 'fast' ? 'http' : 'https'}://${host}:${port}${path}`;
  const args = ['-sS', '-k', '-i', '--resolve', `${host}:${port}:127.0.0.1`, ...extra];
  args.push(plane === 'fast' ? '--http1.1' : '--http2', url);
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

describe.each(['fast', 'node'] as const)('through the proxy, %s path', (plane) => {
  it('2xx: forwarded, with the listed auth response headers replacing the client`s; its cookie to the client', async () => {
    const r = await curl(plane, 'a.example.com', '/app?x=1', [
      '-H',
      'x-token: good',
      '-H',
      'X-Auth-User: mallory',
    ]);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body);
    expect(seen.headers['x-auth-user']).toBe('alice');
    expect(seen.headers['x-other']).toBeUndefined();
    expect(seen.url).toBe('/app?x=1');
    expect(r.headers['set-cookie']).toBe('_oauth2_proxy=refreshed; Path=/');
  });

  it('the subrequest: GET without body, the original URL, method, client and request ID', async () => {
    const port = plane === 'fast' ? httpPort : httpsPort;
    const r = await curl(plane, 'a.example.com', '/post?y=2', ['-H', 'x-token: good', '-d', 'payload=1']);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body);
    const sub = asked.at(-1)!;
    expect(sub.method).toBe('GET');
    expect(sub.url).toBe('/auth?for=a.example.com');
    expect(sub.headers).toMatchObject({
      'x-original-url': `${plane === 'fast' ? 'http' : 'https'}://a.example.com:${port}/post?y=2`,
      'x-original-method': 'POST',
      'x-sent-from': 'nginx-ingress-controller',
      'x-real-ip': '127.0.0.1',
      'x-forwarded-for': '127.0.0.1',
      'x-auth-request-redirect': '/post?y=2',
      'x-token': 'good',
      'x-request-id': seen.headers['x-request-id'],
    });
    expect(sub.headers['content-length']).toBeUndefined();
    // The body still reaches the pod, after the subrequest.
    expect(seen.method).toBe('POST');
    expect(web.seen.at(-1)!.headers['content-length']).toBe('9');
  });

  it('401: returned with the auth service`s WWW-Authenticate; the pod never asked', async () => {
    const before = web.seen.length;
    const r = await curl(plane, 'a.example.com', '/');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="sso"');
    expect(web.seen.length).toBe(before);
  });

  it('403 returned; any other answer is 500', async () => {
    expect((await curl(plane, 'a.example.com', '/', ['-H', 'x-token: forbidden'])).status).toBe(403);
    expect((await curl(plane, 'a.example.com', '/', ['-H', 'x-token: boom'])).status).toBe(500);
  });

  it('auth-signin: a 401 becomes a 302 to the sign-in page with rd= the original URL', async () => {
    const port = plane === 'fast' ? httpPort : httpsPort;
    const r = await curl(plane, 's.example.com', '/deep/path?q=1');
    expect(r.status).toBe(302);
    const scheme = plane === 'fast' ? 'http' : 'https';
    expect(r.headers.location).toBe(
      `https://login.example.com/oauth2/start?rd=${scheme}://s.example.com:${port}${encodeURIComponent('/deep/path?q=1')}`,
    );
  });

  it('a bad auth-url fails closed: 503', async () => {
    const before = web.seen.length;
    expect((await curl(plane, 'b.example.com', '/', ['-H', 'x-token: good'])).status).toBe(503);
    expect(web.seen.length).toBe(before);
  });
});

it('auth-cache-key: one subrequest per key while kept; 403 (not listed) and answers setting cookies never kept', async () => {
  const calls = () => asked.filter((r) => r.url === '/auth?for=c.example.com').length;
  const token = (t: string) => ['-H', `x-token: ${t}`];
  const before = calls();
  for (let i = 0; i < 3; i++)
    expect((await curl('fast', 'c.example.com', '/', token('plain'))).status).toBe(200);
  expect(calls()).toBe(before + 1);
  expect((await curl('node', 'c.example.com', '/', token('nope'))).status).toBe(401);
  expect((await curl('node', 'c.example.com', '/', token('nope'))).status).toBe(401);
  expect(calls()).toBe(before + 2);
  expect((await curl('fast', 'c.example.com', '/', token('forbidden'))).status).toBe(403);
  expect((await curl('fast', 'c.example.com', '/', token('forbidden'))).status).toBe(403);
  expect(calls()).toBe(before + 4);
  expect((await curl('fast', 'c.example.com', '/', token('good'))).status).toBe(200);
  expect((await curl('fast', 'c.example.com', '/', token('good'))).status).toBe(200);
  expect(calls()).toBe(before + 6);
  await new Promise((r) => setTimeout(r, 500));
  expect((await curl('fast', 'c.example.com', '/', token('plain'))).status).toBe(200);
  expect(calls()).toBe(before + 7);
});

it('WebSocket handshakes are authenticated too', async () => {
  const handshake = (token: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect(httpPort, '127.0.0.1');
      let text = '';
      sock.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) sock.destroy();
      });
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
      sock.write(
        `GET /ws HTTP/1.1\r\nHost: a.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nx-token: ${token}\r\n\r\n`,
      );
    });
  expect(await handshake('nope')).toMatch(/^HTTP\/1\.1 401 /);
  expect(await handshake('good')).toMatch(/^HTTP\/1\.1 101 /);
  expect(web.seen.at(-1)!.headers['x-auth-user']).toBe('alice');
});

it('a slow auth service: 500 after the timeout', async () => {
  const fa = new ForwardAuth(200);
  const t0 = performance.now();
  const outcome = await fa.check(
    { url: `http://127.0.0.1:${authPort}/auth` },
    {
      method: 'GET',
      scheme: 'http',
      host: 'a',
      uri: '/',
      rawHeaders: ['x-token', 'slow'],
      client: '192.0.2.1',
      requestId: 'r',
    },
  );
  expect(outcome).toEqual({ allowed: false, status: 500, headers: {} });
  expect(performance.now() - t0).toBeLessThan(1000);
  await fa.close();
});

describe('annotations', () => {
  it.each([
    ['200 202 401 5m', [{ codes: [200, 202, 401], ms: 300_000 }]],
    [
      '200 1h, 401 30s',
      [
        { codes: [200], ms: 3_600_000 },
        { codes: [401], ms: 30_000 },
      ],
    ],
    ['10m', [{ codes: 'any', ms: 600_000 }]],
    ['2000 5m', undefined],
    ['200 5x', undefined],
    ['', undefined],
  ])('auth-cache-duration %j', (value, expected) => {
    expect(parseCacheDurations(value)).toEqual(expected);
  });

  it.each([
    'http://auth.example.com/oauth2/auth',
    'https://$host/oauth2/auth',
    'http://10.0.0.1:4180/auth?rd=$escaped_request_uri',
  ])('accepts %j', (url) => {
    expect(parseAuthUrl(url)).toBe(url);
  });

  it.each([
    'http://auth/x"; proxy_pass http://evil',
    'http://auth/x\nproxy_pass',
    'http://auth/$http_cookie',
    "http://auth/'x'",
    'ftp://auth/x',
    'not a url',
    '/relative',
    'http://auth/x\\y',
  ])('refuses %j', (url) => {
    expect(parseAuthUrl(url)).toBeUndefined();
  });

  it('reads the family, bad values reported, a bad auth-url denied (fails closed)', () => {
    const r = readIngressAnnotations({
      [nginx('auth-url')]: 'http://auth/x"',
      [nginx('auth-method')]: 'FETCH',
      [nginx('auth-response-headers')]: 'X-User, X-Email',
    });
    expect(r.policy.forwardAuth).toEqual({
      url: '',
      denied: 'auth-url is invalid',
      responseHeaders: ['X-User', 'X-Email'],
    });
    expect(r.bad.map((b) => b.annotation)).toEqual([nginx('auth-url'), nginx('auth-method')]);
    expect(readIngressAnnotations({}).policy.forwardAuth).toBeUndefined();
  });
});
