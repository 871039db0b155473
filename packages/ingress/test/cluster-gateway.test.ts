/**
 * Gateway listeners in the production process model: the primary compiles the Gateway API objects
 * and sends the table to two real node:cluster workers over IPC; every worker serves the listener
 * port on its own SO_REUSEPORT socket beside the Ingress port, follows each new table, and counts
 * the Gateway requests in the metrics the primary sums.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { ClusterRegistry, selfSignedPair, WorkerPool, gatewayApi } from '@portico/ingress';
import { service, slice } from './fixtures.js';
import { startEcho, stopAll, table, type Echo } from './backends.js';

let echos: Echo[] = [];
let pool: WorkerPool;
let sink: gatewayApi.GatewayTableSink;
let ingressPort = 0;
let gatewayPort = 0;
let version = 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function until(what: string, fn: () => Promise<boolean> | boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The compiled Gateway table: one HTTP listener on gatewayPort, app.example.com to `svc`. */
function gatewayTable(svc: string): gatewayApi.GatewayTable {
  const compiled = gatewayApi.compileGateways({
    gatewayClasses: [
      { metadata: { name: 'portico' }, spec: { controllerName: gatewayApi.GATEWAY_CONTROLLER_NAME } },
    ],
    gateways: [
      {
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          gatewayClassName: 'portico',
          listeners: [{ name: 'http', port: gatewayPort, protocol: 'HTTP' }],
        },
      },
    ],
    httpRoutes: [
      {
        metadata: { name: 'app', namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'web' }],
          hostnames: ['app.example.com'],
          rules: [{ backendRefs: [{ name: svc, port: 80 }] }],
        },
      },
    ],
    referenceGrants: [],
    namespaces: [],
    services: echos.map((e) => service(`svc-${e.name}`, 80)),
    endpointSlices: echos.map((e) => slice(`svc-${e.name}`, e.port, ['127.0.0.1'])),
    secrets: [],
  });
  expect(compiled.listeners).toHaveLength(1);
  return {
    version: ++version,
    listeners: compiled.listeners,
    backends: [...compiled.backends].map(([key, endpoints]) => ({ key, endpoints })),
  };
}

async function who(port: number, host: string): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/`, { headers: { host }, reset: true }).catch(
    () => undefined,
  );
  if (!res) return '';
  const text = await res.body.text();
  return res.statusCode === 200 ? (JSON.parse(text).name as string) : String(res.statusCode);
}

beforeAll(async () => {
  echos = await Promise.all(['a', 'b'].map(startEcho));
  ingressPort = await freePort();
  gatewayPort = await freePort();
  pool = new WorkerPool({
    count: 2,
    config: {
      host: '127.0.0.1',
      httpPort: ingressPort,
      httpsPort: null,
      defaultCert: selfSignedPair(),
      accessLog: false,
      proxy: {},
      gatewayAddress: '127.0.0.1',
    },
    logger: pino({ level: 'silent' }),
    exec: fileURLToPath(new URL('./cluster-worker.mjs', import.meta.url)),
    execArgv: ['--experimental-transform-types', '--no-warnings'],
  });
  sink = pool.gatewaySink();
  pool.publish(table([], 1));
  await until('both workers listening', () => pool.ready(), 30_000);
});

afterAll(async () => {
  await pool?.stop();
  await stopAll(echos);
});

describe('Gateway listeners in cluster workers', () => {
  it('are served by every worker, and follow each new table', async () => {
    sink.publish(gatewayTable('svc-a'));
    // Resolves only once both workers report the table served.
    await sink.settled();
    expect(sink.failedPorts()).toBe(0);
    // New connections are spread by the kernel over the workers' sockets: ask many times.
    for (let i = 0; i < 20; i++) expect(await who(gatewayPort, 'app.example.com')).toBe('a');
    expect(await who(gatewayPort, 'other.example.com')).toBe('404');

    sink.publish(gatewayTable('svc-b'));
    await sink.settled();
    for (let i = 0; i < 20; i++) expect(await who(gatewayPort, 'app.example.com')).toBe('b');
  });

  it('count Gateway requests in the metrics summed over the workers', async () => {
    const text = await new ClusterRegistry(new Registry()).metrics();
    const count = (svc: string) =>
      Number(
        new RegExp(
          `portico_ingress_requests_total\\{status="200",ingress="default/app",service="default/${svc}:80"\\} (\\d+)`,
        ).exec(text)?.[1],
      );
    expect(count('svc-a')).toBe(20);
    expect(count('svc-b')).toBe(20);
  });

  it('a worker started later gets the latest Gateway table', async () => {
    const before = pool.restarts;
    // Kill one worker: the pool starts a new one, which must serve the current listener too.
    const { default: cluster } = await import('node:cluster');
    const victim = Object.values(cluster.workers ?? {})[0]!;
    victim.process.kill('SIGKILL');
    await until('a replacement worker', () => pool.restarts > before && pool.ready(), 30_000);
    await sink.settled();
    for (let i = 0; i < 20; i++) expect(await who(gatewayPort, 'app.example.com')).toBe('b');
  });

  it('drain when the pool stops: a Gateway request in flight in a worker finishes, then the port refuses', async () => {
    const echo = echos.find((e) => e.name === 'b')!;
    const path = '/slow?ms=800&drain=1';
    const inFlight = request(`http://127.0.0.1:${gatewayPort}${path}`, {
      headers: { host: 'app.example.com' },
    }).then(async (res) => ({
      status: res.statusCode,
      name: JSON.parse(await res.body.text()).name as string,
    }));
    await until('the slow request at the backend', () => echo.seen.some((r) => r.url === path));
    const started = performance.now();
    const stopping = pool.stop(10_000);
    expect(await inFlight).toEqual({ status: 200, name: 'b' });
    await stopping;
    // Waited for the request, not for the whole grace.
    expect(performance.now() - started).toBeLessThan(5_000);
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(gatewayPort, '127.0.0.1');
      s.on('connect', () => (s.destroy(), resolve(false)));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    expect(refused).toBe(true);
  });
});
