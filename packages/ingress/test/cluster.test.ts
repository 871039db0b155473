/**
 * The production process model: real node:cluster workers with SO_REUSEPORT listeners, a full
 * table then deltas over IPC, metrics summed across workers by the primary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { ClusterRegistry, selfSignedPair, WorkerPool, type RouteTable } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

let echos: Echo[] = [];
let pool: WorkerPool;
let port = 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function routeTo(svc: string, version: number): RouteTable {
  return table(
    [
      loopbackService('svc-a', [echos[0]!.port]),
      loopbackService('svc-b', [echos[1]!.port]),
      {
        ingresses: [
          ingress('x', {
            rules: [rule('c.example.com', { svc }), rule('other.example.com', { svc: 'svc-a' })],
          }),
        ],
      },
    ],
    version,
  );
}

async function until(what: string, fn: () => Promise<boolean> | boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function who(): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/`, {
    headers: { host: 'c.example.com' },
    reset: true,
  }).catch(() => undefined);
  if (!res) return '';
  const text = await res.body.text();
  return res.statusCode === 200 ? (JSON.parse(text).name as string) : String(res.statusCode);
}

beforeAll(async () => {
  echos = await Promise.all(['a', 'b'].map(startEcho));
  port = await freePort();
  pool = new WorkerPool({
    count: 2,
    config: {
      host: '127.0.0.1',
      httpPort: port,
      httpsPort: null,
      defaultCert: selfSignedPair(),
      accessLog: false,
      proxy: {},
    },
    logger: pino({ level: 'silent' }),
    exec: fileURLToPath(new URL('./cluster-worker.mjs', import.meta.url)),
    execArgv: ['--experimental-transform-types', '--no-warnings'],
  });
  pool.publish(routeTo('svc-a', 1));
  await until('both workers listening with the first table', () => pool.ready(), 30_000);
});

afterAll(async () => {
  await pool?.stop();
  await stopAll(echos);
});

describe('cluster workers', () => {
  it('serve the first table from every worker, then follow deltas', async () => {
    expect(await who()).toBe('a');
    pool.publish(routeTo('svc-b', 2));
    await until('the delta to reach the workers', async () => (await who()) === 'b');
    // Every worker has it: new connections are spread by the kernel, so ask a few times.
    for (let i = 0; i < 10; i++) expect(await who()).toBe('b');
    pool.publish(routeTo('svc-a', 3));
    await until('the next delta', async () => (await who()) === 'a');
    for (let i = 0; i < 10; i++) expect(await who()).toBe('a');
  });

  it('sums worker metrics in the primary', async () => {
    const text = await new ClusterRegistry(new Registry()).metrics();
    const m =
      /portico_ingress_requests_total\{status="200",ingress="default\/x",service="default\/svc-a:80"\} (\d+)/.exec(
        text,
      );
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(11);
    expect(text).toMatch(/portico_ingress_table_version 3/);
  });
});
