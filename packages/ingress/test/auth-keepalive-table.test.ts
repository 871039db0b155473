/**
 * The connections kept for auth-keepalive go with the last route that names their auth service
 * (and settings): through a running proxy whose table is swapped, with a real auth server on
 * loopback that sees its connections close. An Ingress still naming the same origin and settings
 * keeps them; deleting the last one, or removing its auth-keepalive, closes the idle ones at once
 * (not after auth-keepalive-timeout, 60 s here) and a busy one when its subrequest ends.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { V1Ingress } from '@kubernetes/client-node';
import { IngressServer } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

let auth: http.Server;
let authUrl = '';
/** Every connection the auth server accepted, in order. */
const sockets: Socket[] = [];
let web: Echo;
let server: IngressServer;
let httpPort = 0;
let version = 1;

beforeAll(async () => {
  auth = http.createServer((req, res) => {
    const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => res.writeHead(200).end('ok'), delay);
  });
  auth.on('connection', (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
  authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}/auth`;
  web = await startEcho('web');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  ({ httpPort } = (await server.listen()) as { httpPort: number });
});

afterAll(async () => {
  await server?.close();
  auth?.closeAllConnections();
  await new Promise((r) => auth?.close(r));
  if (web) await stopAll([web]);
});

/** An Ingress for `<name>.test` whose requests are checked by the auth server with these annotations. */
function authed(name: string, settings: Record<string, string>): V1Ingress {
  const annotations = Object.fromEntries(Object.entries(settings).map(([k, v]) => [nginx(k), v]));
  return ingress(name, { rules: [rule(`${name}.test`, { path: '/', svc: 'web' })] }, { annotations });
}

function serve(ingresses: V1Ingress[]): void {
  server.setTable(table([loopbackService('web', [web.port]), { ingresses }], ++version));
}

function get(host: string): Promise<number> {
  return new Promise((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject),
  );
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open = (from: number) => sockets.slice(from).filter((s) => !s.destroyed).length;
const keptOrigins = () => server.proxy.forwardAuth.keptOrigins;

it('kept while a route names the origin and settings; closed at once when the Ingress is deleted or its auth-keepalive removed', async () => {
  const first = sockets.length;
  const keep4 = { 'auth-keepalive': '4' };
  const one = authed('one', { 'auth-url': `${authUrl}?for=one`, ...keep4 });
  // The same origin and settings as `one` (another path): the same kept connections.
  const two = authed('two', { 'auth-url': `${authUrl}?for=two`, ...keep4 });
  const three = authed('three', { 'auth-url': authUrl, 'auth-keepalive': '2' });
  serve([one, two, three]);
  for (const host of ['one.test', 'two.test', 'three.test', 'one.test']) expect(await get(host)).toBe(200);
  expect(sockets.length - first).toBe(2);
  expect(keptOrigins()).toBe(2);

  // `one` deleted: `two` names the same auth service and settings, so its connection stays.
  serve([two, three]);
  await settle(200);
  expect(open(first)).toBe(2);
  expect(keptOrigins()).toBe(2);
  expect(await get('two.test')).toBe(200);
  expect(sockets.length - first).toBe(2);

  // `two` deleted, and `three` without auth-keepalive (Portico's default pool instead).
  serve([authed('three', { 'auth-url': authUrl })]);
  await settle(200);
  expect(open(first)).toBe(0);
  expect(keptOrigins()).toBe(0);
});

it('a subrequest in flight when its Ingress is deleted: answered, then its connection closed, not kept', async () => {
  const first = sockets.length;
  serve([authed('slow', { 'auth-url': `${authUrl}?delay=300`, 'auth-keepalive': '4' })]);
  const status = get('slow.test');
  await settle(100);
  serve([]);
  expect(await status).toBe(200);
  await settle(200);
  expect(sockets.length - first).toBe(1);
  expect(open(first)).toBe(0);
  expect(keptOrigins()).toBe(0);
});
