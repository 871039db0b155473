/**
 * Rate limits (limit-rps, limit-rpm, limit-connections, limit-burst-multiplier, limit-allowlist /
 * limit-whitelist): nginx's limit_req/limit_conn arithmetic, bounded memory under many source
 * addresses, the compile-level table with bad values, and a running proxy on both planes with the
 * client address taken from X-Forwarded-For of a trusted proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { Registry } from 'prom-client';
import {
  ConcurrentRequests,
  IngressServer,
  RateLimits,
  ProxyMetrics,
  readIngressAnnotations,
  RequestRate,
} from '@portico/ingress';
import { limitedTargets } from '../src/rate-limiter.js';
import { emptyTable, type Target } from '../src/table.js';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { eventually } from './eventually.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

describe('RequestRate (limit_req nodelay)', () => {
  it('takes burst + 1 at once, then one per 1/rate seconds; a refused request changes nothing', () => {
    const r = new RequestRate(2, 3);
    const at = (ms: number) => r.take('c', ms);
    expect([at(0), at(0), at(0), at(0), at(0)]).toEqual([true, true, true, true, false]);
    expect(at(100)).toBe(false); // 0.2 drained: excess 3 - 0.2 + 1 > 3
    expect(at(500)).toBe(true); // 1 drained
    expect(at(500)).toBe(false);
    expect(at(2500)).toBe(true);
    expect(r.take('other', 2500)).toBe(true); // per client
  });

  it('burst 0: one request, then one per second', () => {
    const r = new RequestRate(1, 0);
    expect([r.take('c', 0), r.take('c', 10), r.take('c', 999), r.take('c', 1000)]).toEqual([
      true,
      false,
      false,
      true,
    ]);
  });

  it('memory stays bounded under 200,000 source addresses, and a steady client is still limited', () => {
    const r = new RequestRate(1, 1, 1000);
    let largest = 0;
    for (let i = 0; i < 200_000; i++) {
      r.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i / 1000);
      largest = Math.max(largest, r.size);
    }
    expect(largest).toBe(1000);
    const now = 200;
    expect([r.take('victim', now), r.take('victim', now), r.take('victim', now)]).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe('ConcurrentRequests (limit_conn)', () => {
  it('counts per client, gives back, forgets idle clients', () => {
    const c = new ConcurrentRequests(2);
    expect([c.take('a'), c.take('a'), c.take('a'), c.take('b')]).toEqual([true, true, false, true]);
    c.release('a');
    expect(c.take('a')).toBe(true);
    c.release('a');
    c.release('a');
    c.release('b');
    expect(c.size).toBe(0);
  });
});

describe('RateLimits across table swaps', () => {
  const target = (rate: number) => ({
    ingress: 'default/i',
    backend: 'default/web:80',
    rateLimit: { rate, burst: 0 },
  });
  it('a new table with the same limit keeps the counters; a changed or removed one starts afresh', () => {
    const limits = new RateLimits();
    const first = target(1);
    expect(limits.zoneOf(first, first.rateLimit).rate!.take('c', 0)).toBe(true);
    const same = target(1); // the next table: new objects, same settings
    limits.retain([same]);
    expect(limits.zoneOf(same, same.rateLimit).rate!.take('c', 10)).toBe(false);
    const changed = target(2);
    limits.retain([changed]);
    expect(limits.zoneOf(changed, changed.rateLimit).rate!.take('c', 20)).toBe(true);
    limits.retain([]);
    const back = target(2);
    expect(limits.zoneOf(back, back.rateLimit).rate!.take('c', 30)).toBe(true);
  });

  it('a regex path and a canary keep their counters too (limitedTargets finds them)', () => {
    const limited = (ingress: string): Target => ({
      ingress,
      backend: 'default/web:80',
      rateLimit: { rate: 1 },
    });
    const regex = limited('default/regex');
    const canary = limited('default/canary');
    const main: Target = {
      ingress: 'default/main',
      backend: 'default/web:80',
      canary: { target: canary } as never,
    };
    const table = {
      ...emptyTable,
      hosts: [
        {
          host: 'a.example',
          exact: [],
          prefix: [],
          regex: [{ path: '/x(.*)', target: regex }],
          fallback: main,
        },
      ],
    };
    expect([...limitedTargets(table as never)].map((t) => t.ingress)).toEqual([
      'default/canary',
      'default/regex',
    ]);
  });
});

describe('annotations', () => {
  const read = (a: Record<string, string>) => readIngressAnnotations(a);

  it.each([
    ['none', {}, undefined],
    ['limit-rps', { [nginx('limit-rps')]: '10' }, { rate: 10, burst: 50 }],
    ['limit-rps 0 is no limit', { [nginx('limit-rps')]: '0' }, undefined],
    ['limit-rpm', { [nginx('limit-rpm')]: '120' }, { rate: 2, burst: 600 }],
    [
      'limit-rps with limit-burst-multiplier',
      { [nginx('limit-rps')]: '4', [nginx('limit-burst-multiplier')]: '2' },
      { rate: 4, burst: 8 },
    ],
    [
      'rps and rpm: the stricter rate',
      { [nginx('limit-rps')]: '5', [nginx('limit-rpm')]: '60' },
      { rate: 1, burst: 300 },
    ],
    ['limit-connections', { [nginx('limit-connections')]: '3' }, { connections: 3 }],
    [
      'limit-allowlist',
      { [nginx('limit-connections')]: '3', [nginx('limit-allowlist')]: '10.0.0.0/8, 192.0.2.1' },
      { connections: 3, allowlist: ['10.0.0.0/8', '192.0.2.1'] },
    ],
    [
      'limit-whitelist (the old name)',
      { [nginx('limit-rps')]: '1', [nginx('limit-whitelist')]: '::1/128' },
      { rate: 1, burst: 5, allowlist: ['::1/128'] },
    ],
  ] as [string, Record<string, string>, object | undefined][])('%s', (_n, annotations, expected) => {
    const r = read(annotations);
    expect(r.bad).toEqual([]);
    expect(r.policy.rateLimit).toEqual(expected);
  });

  it.each([
    ['limit-rps', '-1'],
    ['limit-rps', '1.5'],
    ['limit-rps', 'ten'],
    ['limit-connections', ''],
    ['limit-burst-multiplier', 'x'],
    ['limit-allowlist', '10.0.0.0/33'],
    ['limit-allowlist', 'example.com'],
  ])('%s: %j is reported, the default kept', (name, value) => {
    const r = read({ [nginx('limit-rpm')]: '60', [nginx(name)]: value });
    expect(r.bad).toEqual([expect.objectContaining({ annotation: nginx(name), value })]);
    expect(r.policy.rateLimit).toEqual({ rate: 1, burst: 300 });
  });
});

let web: Echo;
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;
const metrics = new ProxyMetrics(new Registry());

beforeAll(async () => {
  web = await startEcho('web');
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    // Loopback is a trusted proxy here: each test names its client in X-Forwarded-For.
    proxy: { trustedProxies: ['127.0.0.1'], metrics },
  });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        ingresses: [
          ingress(
            'rps',
            { rules: [rule('rps.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: {
                [nginx('limit-rpm')]: '1',
                [nginx('limit-burst-multiplier')]: '1',
                [nginx('limit-allowlist')]: '198.51.100.0/24',
              },
            },
          ),
          ingress(
            'conn',
            { rules: [rule('conn.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('limit-connections')]: '1' } },
          ),
          ingress('open', { rules: [rule('open.example.com', { path: '/', svc: 'web' })] }),
        ],
      },
    ]),
  );
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  if (web) await stopAll([web]);
});

/** Status of one request through curl from `client` (X-Forwarded-For). */
function status(plane: 'fast' | 'node', host: string, client: string, path = '/'): Promise<number> {
  const port = plane === 'fast' ? httpPort : httpsPort;
  const url = `${plane === 'fast' ? 'http' : 'https'}://${host}:${port}${path}`;
  const args = [
    '-sS',
    '-k',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--resolve',
    `${host}:${port}:127.0.0.1`,
  ];
  args.push(plane === 'fast' ? '--http1.1' : '--http2', '-H', `X-Forwarded-For: ${client}`, url);
  return new Promise((resolve, reject) =>
    execFile('curl', args, (err, out) => (err ? reject(err) : resolve(Number(out)))),
  );
}

const refusals = async (ingressName: string, reason: string) =>
  (await metrics.admissionRefusals.get()).values.find(
    (v) => v.labels.ingress === `default/${ingressName}` && v.labels.reason === reason,
  )?.value ?? 0;

describe.each([
  ['fast', '203.0.113'],
  ['node', '2001:db8::'],
] as const)('through the proxy, %s path', (plane, net) => {
  it('limit-rpm 1, burst multiplier 1: two requests, then 503 for that client only; counted', async () => {
    const client = `${net}${plane === 'fast' ? '.1' : '1'}`;
    const before = await refusals('rps', 'rate');
    expect([
      await status(plane, 'rps.example.com', client),
      await status(plane, 'rps.example.com', client),
      await status(plane, 'rps.example.com', client),
    ]).toEqual([200, 200, 503]);
    expect(await status(plane, 'rps.example.com', `${net}${plane === 'fast' ? '.2' : '2'}`)).toBe(200);
    expect(await status(plane, 'open.example.com', client)).toBe(200);
    expect(await refusals('rps', 'rate')).toBe(before + 1);
  });

  it('the allowlist is never limited', async () => {
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await status(plane, 'rps.example.com', '198.51.100.7'));
    expect(got).toEqual([200, 200, 200, 200]);
  });

  it('limit-connections 1: a second request in progress gets 503, the place is given back after', async () => {
    const client = `${net}${plane === 'fast' ? '.9' : '9'}`;
    const path = `/slow?ms=1500&c=${plane}`;
    const slow = status(plane, 'conn.example.com', client, path);
    // In progress once the pod has it (a fixed wait is too short on a loaded machine).
    await eventually(async () => web.seen.some((r) => r.url === path), 'the slow request at the pod');
    expect(await status(plane, 'conn.example.com', client)).toBe(503);
    expect(await status(plane, 'conn.example.com', `${net}${plane === 'fast' ? '.10' : '10'}`)).toBe(200);
    expect(await slow).toBe(200);
    expect(await status(plane, 'conn.example.com', client)).toBe(200);
    expect(await status(plane, 'conn.example.com', client)).toBe(200);
  });
});
