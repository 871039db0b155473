// Benchmark: Gateway API route changes live, measured like the Ingress rule changes (run.mjs).
// 10,000 HTTPRoutes on the development API server (its own process, `portico dev apiserver`, with
// the upstream CRDs from the Go module), `portico ingress --workers 2 --gateway-address 127.0.0.1`
// serving the Gateway's listener; one route's backend is flipped through the API and the time runs
// from the PUT until a fresh connection gets the new answer (API write -> watch -> 10 ms debounce
// -> compile -> IPC to the workers -> swap). 20 changes idle, then BENCH_CHANGES under `wrk -c64`
// on a stable route of the same listener; failed = wrk's non-2xx responses plus socket errors
// during those changes.
//
// BENCH_VARIANTS=name=DIR,name=DIR runs the `portico` of each checkout DIR (built with tsc -b) in
// turn, BENCH_ROUNDS times each, alternating, on the same API server and routes: an A/B in one run.
// Each change is taken apart from the proxy's debug log (`gateway change served`, where the
// variant has it): PUT -> watch event -> compiled -> sent -> served by every worker -> seen.
// Usage: npx tsc -b && node_modules/.bin/node packages/ingress/bench/gateway-changes.mjs
//   knobs: BENCH_ROUTES=10000 BENCH_CHANGES=100 BENCH_WORKERS=2 BENCH_CONNECTIONS=64
//          BENCH_VARIANTS=this=. BENCH_ROUNDS=1   (needs nginx, wrk, Go)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { ApiClient, kubeconfigCredentials } from '@portico/kube';
import { hostEndpointAddress, installGatewayApiCrds } from '@portico/dev-kube-apiserver';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const ROUTES = Number(process.env.BENCH_ROUTES ?? 10_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const VARIANTS = (process.env.BENCH_VARIANTS ?? `this=${root}`).split(',').map((v) => {
  const [name, dir] = v.split('=');
  return { name, dir: resolve(dir) };
});
const BACKEND = hostEndpointAddress();
const PORT = { backendA: 18280, backendB: 18290, gateway: 18281, http: 18282, https: 18283, metrics: 18284 };
const group = 'gateway.networking.k8s.io';

for (const cmd of ['nginx', 'wrk', 'go'])
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
  } catch {
    throw new Error(`the benchmark needs ${cmd}`);
  }

const dir = mkdtempSync(join(tmpdir(), 'portico-gateway-bench-'));
const children = [];
// portico gets SIGKILL: a benchmark need not wait for its graceful drain (its workers exit with it).
let portico;
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill(c === portico ? 'SIGKILL' : 'SIGTERM');
};
process.on('exit', cleanup);

// The backends: nginx answering a fixed body per backend (fast, so the proxy is what is measured).
const backendConf = join(dir, 'backend.conf');
writeFileSync(
  backendConf,
  `worker_processes 1; pid ${dir}/backend.pid; error_log ${dir}/backend.error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen ${BACKEND}:${PORT.backendA}; location / { default_type text/plain; return 200 "A\\n"; } }
  server { listen ${BACKEND}:${PORT.backendB}; location / { default_type text/plain; return 200 "B\\n"; } }
}
`,
);
children.push(spawn('nginx', ['-p', dir, '-c', backendConf, '-g', 'daemon off;'], { stdio: 'inherit' }));

// The API server in a process of its own: its work (10,000 objects, watches, writes) is not the
// proxy's, and must not share this process's event loop with the measuring.
const kcFile = join(dir, 'kubeconfig');
const apiServer = spawn(
  join(root, 'node_modules', '.bin', 'node'),
  [
    join(root, 'packages', 'cli', 'bin', 'portico.js'),
    'dev',
    'apiserver',
    '--port',
    '0',
    '--kubeconfig-out',
    kcFile,
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
children.push(apiServer);
for (let i = 0; !existsSync(kcFile) || readFileSync(kcFile, 'utf8') === ''; i++) {
  if (i > 600 || apiServer.exitCode !== null) throw new Error('the development API server did not start');
  await new Promise((r) => setTimeout(r, 50));
}
const kube = new ApiClient(kubeconfigCredentials(readFileSync(kcFile, 'utf8')));
await installGatewayApiCrds(kube);
const post = (path, body) => kube.request('POST', path, { body });
for (const [svc, port] of [
  ['a', PORT.backendA],
  ['b', PORT.backendB],
]) {
  await post('/api/v1/namespaces/default/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: svc },
    spec: { ports: [{ name: 'http', port: 80 }] },
  });
  await post('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-1`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port }],
    endpoints: [{ addresses: [BACKEND], conditions: { ready: true } }],
  });
}
await post(`/apis/${group}/v1/gatewayclasses`, {
  apiVersion: `${group}/v1`,
  kind: 'GatewayClass',
  metadata: { name: 'portico' },
  spec: { controllerName: 'portico.dev/gateway-controller' },
});
await post(`/apis/${group}/v1/namespaces/default/gateways`, {
  apiVersion: `${group}/v1`,
  kind: 'Gateway',
  metadata: { name: 'bench' },
  spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', port: PORT.gateway, protocol: 'HTTP' }] },
});
const routesPath = `/apis/${group}/v1/namespaces/default/httproutes`;
const routeBody = (name, host, path, svc) => ({
  apiVersion: `${group}/v1`,
  kind: 'HTTPRoute',
  metadata: { name },
  spec: {
    parentRefs: [{ name: 'bench' }],
    hostnames: [host],
    rules: [
      { matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [{ name: svc, port: 80 }] },
    ],
  },
});
await post(routesPath, routeBody('stable', 'bench.example.com', '/', 'a'));

/** Starts the proxy of one checkout; keeps its `gateway change served` lines (debug) and errors. */
function startPortico(variant) {
  portico = spawn(
    join(root, 'node_modules', '.bin', 'node'),
    [
      join(variant.dir, 'packages', 'cli', 'bin', 'portico.js'),
      'ingress',
      '--kubeconfig',
      kcFile,
      '--listen-address',
      '127.0.0.1',
      '--http-port',
      String(PORT.http),
      '--https-port',
      String(PORT.https),
      '--metrics-port',
      String(PORT.metrics),
      '--gateway-address',
      '127.0.0.1',
      '--workers',
      String(WORKERS),
      '--no-access-log',
      '--no-leader-elect',
      '--shutdown-delay',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'debug' } },
  );
  const lines = [];
  let rest = '';
  portico.stdout.on('data', (d) => {
    const text = rest + d;
    const parts = text.split('\n');
    rest = parts.pop();
    for (const l of parts) if (l.includes('gateway change served') || l.includes('"level":50')) lines.push(l);
  });
  children.push(portico);
  const exited = new Promise((r) => portico.once('exit', r));
  return { lines, exited };
}

async function metrics() {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port: PORT.metrics, path: '/metrics', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', () => resolve(''));
  });
}

/** The primary's major garbage collections so far: count and seconds. */
function majorGc(text) {
  const count = Number(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\S+)/m.exec(text)?.[1] ?? 0);
  const sum = Number(/^nodejs_gc_duration_seconds_sum\{kind="major"\} (\S+)/m.exec(text)?.[1] ?? 0);
  return { count, sum };
}

function get(host, path) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port: PORT.gateway, path, headers: { host, connection: 'close' }, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}

async function until(fn, limitMs, what) {
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    if (await fn()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`timed out: ${what}`);
}

function wrkRun(duration) {
  let child;
  const result = new Promise((resolve, reject) => {
    child = spawn('wrk', [
      '--latency',
      '-t2',
      `-c${CONNECTIONS}`,
      `-d${duration}`,
      '-H',
      'Host: bench.example.com',
      `http://127.0.0.1:${PORT.gateway}/`,
    ]);
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => {
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const errors = sock
        ? `connect ${sock[1]}, read ${sock[2]}, write ${sock[3]}, timeout ${sock[4]}`
        : 'none';
      // wrk's own request latency: what any request, the measuring one too, waits under this load.
      const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
      resolve({ non2xx, socketErrors, errors, requests, rps, p99 });
    });
  });
  return { result, stop: () => child.kill('SIGINT') };
}

// ROUTES HTTPRoutes: 1,000 hostnames, one PathPrefix rule each, all to backend a.
const routes = Array.from({ length: ROUTES }, (_, i) => ({
  i,
  host: `h${i % 1000}.example.com`,
  path: `/p${i}`,
}));
const t0 = performance.now();
let current = startPortico(VARIANTS[0]);
await until(async () => (await get('bench.example.com', '/')).body === 'A\n', 60_000, 'the Gateway listener');
for (let i = 0; i < routes.length; i += 100)
  await Promise.all(
    routes.slice(i, i + 100).map((r) => post(routesPath, routeBody(`r${r.i}`, r.host, r.path, 'a'))),
  );
const last = routes[routes.length - 1];
await until(
  async () => (await get(last.host, `${last.path}/x`)).body === 'A\n',
  300_000,
  'all routes served',
);
console.error(
  `created ${ROUTES} HTTPRoutes and served them in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
// Let the leader's first status pass (one write per route, oldest first) finish before measuring:
// each write comes back through the watch as a change to compile.
const t1 = performance.now();
await until(
  async () => ((await kube.request('GET', `${routesPath}/r${last.i}`)).status?.parents ?? []).length > 0,
  600_000,
  'the status of the last route',
);
console.error(
  `statuses of ${ROUTES} routes written in ${((performance.now() - t1) / 1000).toFixed(1)} s more`,
);
await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 5_000)));

const flipped = new Set();
let changeNo = 0;
let traces = [];
async function changes(count, withLoad) {
  const load = withLoad ? wrkRun('600s') : undefined;
  const times = [];
  for (let c = 0; c < count; c++) {
    const r = routes[(changeNo++ * 7919) % routes.length];
    const svc = flipped.has(r.i) ? 'a' : 'b';
    if (svc === 'b') flipped.add(r.i);
    else flipped.delete(r.i);
    const want = `${svc.toUpperCase()}\n`;
    const path = `${routesPath}/r${r.i}`;
    let start;
    for (;;) {
      const cur = await kube.request('GET', path);
      cur.spec.rules[0].backendRefs[0].name = svc;
      start = performance.now();
      try {
        await kube.request('PUT', path, { body: cur });
        break;
      } catch (err) {
        if (err.code !== 409) throw err; // our own status write came first: read again
      }
    }
    await until(async () => (await get(r.host, `${r.path}/x`)).body === want, 60_000, `change ${c}`);
    const seen = performance.now();
    times.push(seen - start);
    traces.push({
      route: `default/r${r.i}`,
      put: performance.timeOrigin + start,
      seen: performance.timeOrigin + seen,
    });
  }
  load?.stop();
  const under = load ? await load.result : { requests: 0, non2xx: 0, socketErrors: 0, rps: 0 };
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
  return {
    p50: q(0.5),
    p99: q(0.99),
    max: q(1),
    requests: under.requests,
    rps: under.rps,
    wrkP99: under.p99,
    failed: under.non2xx + under.socketErrors,
    breakdown: `non-2xx ${under.non2xx}; socket errors: ${under.errors ?? 'none'}`,
  };
}

/**
 * Each change of the round taken apart with the proxy's `gateway change served` lines: ms from the
 * PUT to the watch event, then the proxy's own stages, then until a fresh connection saw it.
 */
function takeApart(lines) {
  const served = lines
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    })
    .filter((o) => o?.msg === 'gateway change served');
  return traces.map((t) => {
    // The first line for this route after the PUT; the processes' clocks (performance.timeOrigin)
    // may differ by a few milliseconds.
    const s = served.find(
      (o) =>
        o.routes.some((k) => k.endsWith(` ${t.route}`)) && o.eventAt >= t.put - 20 && o.eventAt <= t.seen,
    );
    if (!s) return { total: t.seen - t.put };
    const r = (x) => Math.round(x * 10) / 10;
    return {
      total: r(t.seen - t.put),
      toEvent: r(s.eventAt - t.put),
      debounce: s.debounceMs,
      compiled: s.compiledMs,
      sent: s.sentMs,
      served: s.servedMs,
      toSeen: r(t.seen - (s.eventAt + s.servedMs)),
    };
  });
}

const results = [];
for (let round = 0; round < ROUNDS; round++)
  for (const [v, variant] of VARIANTS.entries()) {
    if (round > 0 || v > 0) {
      current = startPortico(variant);
      // Started again on the same API server: every route is compiled and served, the statuses
      // are already current.
      const last = routes[routes.length - 1];
      await until(
        async () => (await get(last.host, `${last.path}/x`)).body === (flipped.has(last.i) ? 'B\n' : 'A\n'),
        300_000,
        `${variant.name}: all routes served`,
      );
      await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 5_000)));
    }
    const load = loadavg().map((l) => l.toFixed(1));
    const gcBefore = majorGc(await metrics());
    traces = [];
    const idle = await changes(20, false);
    traces = [];
    const underLoad = await changes(CHANGES, true);
    const text = await metrics();
    const gcAfter = majorGc(text);
    const parts = takeApart(current.lines);
    const slowest = parts.sort((a, b) => b.total - a.total).slice(0, 3);
    const served = /^portico_gateway_change_seconds_sum\{stage="served"\} (\S+)/m.exec(text);
    const servedCount = /^portico_gateway_change_seconds_count\{stage="served"\} (\S+)/m.exec(text);
    results.push({
      variant: variant.name,
      round,
      loadAverageAtStart: load,
      changeIdleMs: { p50: idle.p50, max: idle.max },
      changeUnderLoadMs: { p50: underLoad.p50, p99: underLoad.p99, max: underLoad.max },
      failedDuringChanges: `${underLoad.failed}/${underLoad.requests}`,
      failedBreakdown: underLoad.breakdown,
      loadRps: underLoad.rps,
      wrkLatencyP99: underLoad.wrkP99,
      primaryMajorGcDuringChanges: {
        count: gcAfter.count - gcBefore.count,
        ms: Math.round((gcAfter.sum - gcBefore.sum) * 1000),
      },
      ...(served && servedCount
        ? { servedMeanMsAllChanges: Math.round((Number(served[1]) / Number(servedCount[1])) * 10000) / 10 }
        : {}),
      slowestUnderLoadMs: slowest,
    });
    console.error(JSON.stringify(results[results.length - 1]));
    portico.kill('SIGKILL');
    await current.exited;
    // Its workers leave when the primary's IPC channel closes: let them, before the next one binds.
    await new Promise((r) => setTimeout(r, 1_000));
  }
console.log(JSON.stringify({ routes: ROUTES, workers: WORKERS, connections: CONNECTIONS, results }, null, 2));
cleanup();
await kube.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
