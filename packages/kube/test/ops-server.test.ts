import { Counter, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { startOpsServer } from '../src/index.js';

it('serves Prometheus metrics, liveness and readiness', async () => {
  const registry = new Registry();
  new Counter({ name: 'portico_test_total', help: 'a test counter', registers: [registry] }).inc(3);
  let ready = false;
  const ops = await startOpsServer({ port: 0, host: '127.0.0.1', registry, ready: () => ready });
  const get = (path: string) => fetch(`http://127.0.0.1:${ops.port}${path}`);
  try {
    const metrics = await get('/metrics');
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('portico_test_total 3');
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(503);
    ready = true;
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/nope')).status).toBe(404);
  } finally {
    await ops.close();
  }
});
