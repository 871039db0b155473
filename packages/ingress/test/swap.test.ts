import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool, request } from 'undici';
import { IngressServer, type RouteTable } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

let echos: Echo[] = [];
let server: IngressServer;
let base = '';

/** 2,000 filler Ingresses plus one rule for swap.example.com pointing at `svc`. */
function tableFor(svc: string, version: number, ports: number[]): RouteTable {
  const filler = Array.from({ length: 2_000 }, (_, i) =>
    ingress(`f${i}`, { rules: [rule(`f${i % 200}.example.com`, { path: `/f/${i}`, svc: 'svc-a' })] }),
  );
  return table(
    [
      loopbackService('svc-a', [ports[0]!]),
      loopbackService('svc-b', [ports[1]!]),
      { ingresses: [...filler, ingress('swap', { rules: [rule('swap.example.com', { path: '/', svc })] })] },
    ],
    version,
  );
}

beforeAll(async () => {
  echos = await Promise.all(['a', 'b'].map(startEcho));
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: null });
  server.setTable(
    tableFor(
      'svc-a',
      1,
      echos.map((e) => e.port),
    ),
  );
  base = `http://127.0.0.1:${(await server.listen()).httpPort}`;
});

afterAll(async () => {
  await server?.close();
  await stopAll(echos);
});

describe('routing table swaps under load', () => {
  it('swaps 50 tables while 8 keep-alive clients run: zero failed requests, both routes served', async () => {
    const ports = echos.map((e) => e.port);
    const tables = Array.from({ length: 50 }, (_, i) => tableFor(i % 2 ? 'svc-a' : 'svc-b', i + 2, ports));
    const pool = new Pool(base, { connections: 8 });
    let running = true;
    const failures: string[] = [];
    const names = new Map<string, number>();
    let total = 0;
    const client = async () => {
      while (running) {
        try {
          const res = await pool.request({
            path: '/x',
            method: 'GET',
            headers: { host: 'swap.example.com' },
          });
          const text = await res.body.text();
          total++;
          if (res.statusCode !== 200) failures.push(`${res.statusCode} ${text}`);
          else {
            const name = JSON.parse(text).name as string;
            names.set(name, (names.get(name) ?? 0) + 1);
          }
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    const swapTimes: number[] = [];
    for (const t of tables) {
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      server.setTable(t);
      swapTimes.push(performance.now() - t0);
    }
    await new Promise((r) => setTimeout(r, 50));
    running = false;
    await Promise.all(clients);
    await pool.close();
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThan(100);
    expect(names.get('a')).toBeGreaterThan(0);
    expect(names.get('b')).toBeGreaterThan(0);
    // Loose bound (shared CI machine): indexing a 2,000-rule table is a few ms.
    expect(Math.max(...swapTimes)).toBeLessThan(1_000);
  });

  it('serves the new route to the very next request after setTable', async () => {
    const ports = echos.map((e) => e.port);
    for (const [svc, name] of [
      ['svc-b', 'b'],
      ['svc-a', 'a'],
      ['svc-b', 'b'],
    ] as const) {
      server.setTable(tableFor(svc, 100, ports));
      const res = await request(`${base}/`, { headers: { host: 'swap.example.com' } });
      expect(((await res.body.json()) as { name: string }).name).toBe(name);
    }
  });
});
