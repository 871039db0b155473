/**
 * HTTPS redirects through a running proxy, on the fast path and the Node path: TLS hosts redirect
 * by default, `ssl-redirect: "false"` and ACME HTTP-01 challenges (a cert-manager solver Ingress)
 * are served over plain HTTP, `force-ssl-redirect` redirects a host without TLS, a bad value leaves
 * the default in force.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { IngressServer } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

let web: Echo;
let solver: Echo;
let server: IngressServer;
let httpPort = 0;

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

/** One request on a fresh connection: status line, Location, and which pod answered. */
function request(
  host: string,
  path: string,
  plane: 'fast' | 'node',
): Promise<{ status: number; location?: string; pod?: string }> {
  const head =
    plane === 'fast'
      ? `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
      : // Chunked: the fast path hands the connection to Node's server.
        `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const sock = connect(httpPort, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const location = /\r\nlocation: ([^\r]*)/i.exec(text)?.[1];
      const pod = /"name":"(\w+)"/.exec(text)?.[1];
      resolve({ status, ...(location ? { location } : {}), ...(pod ? { pod } : {}) });
    });
    sock.write(head);
  });
}

beforeAll(async () => {
  web = await startEcho('web');
  solver = await startEcho('solver');
  // The port Locations name (the listener itself picks a free one).
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { httpsPort: 8443 } });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      loopbackService('solver', [solver.port]),
      {
        ingresses: [
          ingress('secure', {
            tls: [{ hosts: ['s.example.com', 'bad.example.com'], secretName: 'missing' }],
            rules: [rule('s.example.com', { path: '/', svc: 'web' })],
          }),
          // What cert-manager's HTTP-01 solver creates: an Exact path on the same host, no TLS.
          ingress('cm-acme-http-solver-x7k2p', {
            rules: [
              rule('s.example.com', {
                path: '/.well-known/acme-challenge/tok3n',
                type: 'Exact',
                svc: 'solver',
              }),
            ],
          }),
          ingress(
            'open',
            { rules: [rule('s.example.com', { path: '/open', svc: 'web' })] },
            { annotations: { [nginx('ssl-redirect')]: 'false' } },
          ),
          ingress(
            'forced',
            { rules: [rule('f.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('force-ssl-redirect')]: 'true' } },
          ),
          ingress(
            'bad',
            { rules: [rule('bad.example.com', { path: '/', svc: 'web' })] },
            { annotations: { 'portico.dev/ssl-redirect': 'nope' } },
          ),
          ingress('plain', { rules: [rule('p.example.com', { path: '/', svc: 'web' })] }),
        ],
      },
    ]),
  );
  ({ httpPort } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  await stopAll([web, solver].filter(Boolean));
});

describe.each(['fast', 'node'] as const)('%s path', (plane) => {
  it('a TLS host redirects (308) with the path and query', async () => {
    expect(await request('s.example.com', '/cart?id=1', plane)).toEqual({
      status: 308,
      location: `https://s.example.com:8443/cart?id=1`,
    });
  });

  it('the ACME challenge of a TLS host reaches the solver over plain HTTP', async () => {
    expect(await request('s.example.com', '/.well-known/acme-challenge/tok3n', plane)).toMatchObject({
      status: 200,
      pod: 'solver',
    });
  });

  it('an unknown challenge token is not redirected either (404 from the route, not 308)', async () => {
    // Matches the secure Ingress's `/` prefix: served by web over HTTP rather than redirected.
    expect(await request('s.example.com', '/.well-known/acme-challenge/other', plane)).toMatchObject({
      status: 200,
      pod: 'web',
    });
  });

  it('ssl-redirect "false" serves its paths over plain HTTP; the host\'s other paths still redirect', async () => {
    expect(await request('s.example.com', '/open/x', plane)).toMatchObject({ status: 200, pod: 'web' });
    expect((await request('s.example.com', '/x', plane)).status).toBe(308);
  });

  it('force-ssl-redirect redirects a host without TLS', async () => {
    expect(await request('f.example.com', '/a', plane)).toEqual({
      status: 308,
      location: `https://f.example.com:8443/a`,
    });
    expect(await request('f.example.com', '/.well-known/acme-challenge/t', plane)).toMatchObject({
      status: 200,
    });
  });

  it('a bad value leaves the default (redirect) in force; a host without TLS is served', async () => {
    expect((await request('bad.example.com', '/', plane)).status).toBe(308);
    expect(await request('p.example.com', '/', plane)).toMatchObject({ status: 200, pod: 'web' });
  });
});
