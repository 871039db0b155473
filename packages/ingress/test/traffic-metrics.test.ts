/**
 * Open client connections and bytes per data plane (portico_ingress_open_connections,
 * portico_ingress_bytes_total), with real connections: a plain keep-alive connection on the fast
 * path, one the fast path hands to Node's server (a chunked upload), and an HTTP/2 connection.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { connect as http2Connect } from 'node:http2';
import { Registry } from 'prom-client';
import { IngressServer, ProxyMetrics } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { eventually } from './eventually.js';

let web: Echo;
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;
const registry = new Registry();
const metrics = new ProxyMetrics(registry);

beforeAll(async () => {
  web = await startEcho('web');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { metrics } });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      { ingresses: [ingress('i', { rules: [rule('a.example.com', { path: '/', svc: 'web' })] })] },
    ]),
  );
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  if (web) await stopAll([web]);
});

async function value(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

/** Sends `text` on a new connection and waits for `count` responses' worth of `HTTP/1.1 200`. */
function open(text: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(httpPort, '127.0.0.1');
    let got = '';
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('"name":"web"')) resolve(sock);
    });
    sock.on('error', reject);
    sock.write(text);
  });
}

it('a fast-path keep-alive connection: open while it lasts, its bytes counted when it closes', async () => {
  const request = 'GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n';
  const inBefore = await value('portico_ingress_bytes_total', { plane: 'fast', direction: 'in' });
  const outBefore = await value('portico_ingress_bytes_total', { plane: 'fast', direction: 'out' });
  const sock = await open(request);
  expect(await value('portico_ingress_open_connections', { plane: 'fast' })).toBe(1);
  sock.destroy();
  await eventually(
    async () => (await value('portico_ingress_open_connections', { plane: 'fast' })) === 0,
    'the fast connection closed',
  );
  expect((await value('portico_ingress_bytes_total', { plane: 'fast', direction: 'in' })) - inBefore).toBe(
    request.length,
  );
  expect(
    (await value('portico_ingress_bytes_total', { plane: 'fast', direction: 'out' })) - outBefore,
  ).toBeGreaterThan(100);
});

it('a connection handed to Node`s server counts under node', async () => {
  const sock = await open(
    'POST /body HTTP/1.1\r\nHost: a.example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n',
  );
  expect(await value('portico_ingress_open_connections', { plane: 'node' })).toBe(1);
  expect(await value('portico_ingress_open_connections', { plane: 'fast' })).toBe(0);
  sock.destroy();
  await eventually(
    async () => (await value('portico_ingress_open_connections', { plane: 'node' })) === 0,
    'the node connection closed',
  );
  expect(await value('portico_ingress_bytes_total', { plane: 'node', direction: 'in' })).toBeGreaterThan(100);
});

it('an HTTP/2 connection counts under node', async () => {
  const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    const req = session.request({ ':path': '/', ':authority': 'a.example.com' });
    req.on('response', () => undefined);
    req.resume();
    req.on('end', () => resolve());
    req.on('error', reject);
    req.end();
  });
  expect(await value('portico_ingress_open_connections', { plane: 'node' })).toBe(1);
  const before = await value('portico_ingress_bytes_total', { plane: 'node', direction: 'out' });
  session.close();
  await eventually(
    async () => (await value('portico_ingress_open_connections', { plane: 'node' })) === 0,
    'the node connection closed',
  );
  expect(await value('portico_ingress_bytes_total', { plane: 'node', direction: 'out' })).toBeGreaterThan(
    before,
  );
});
