// Benchmark: portico ingress vs nginx (Debian package), same backend, same number of workers, in the
// same run. Measures (1) throughput and p99 with wrk, (2) with 10,000 Ingress rules, the time from a
// rule change to the change serving (portico: API write -> watch -> compile -> IPC -> swap; nginx:
// config write + reload) and failed requests under load during 100 changes.
// Usage: npm run bench -w @portico/ingress   (needs nginx, wrk; builds the CLI first)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, DiscoveryV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { compile, Router, selfSignedPair, TableState } from '@portico/ingress';
import { startDevApiServer } from '@portico/dev-apiserver';
import { hostEndpointAddress } from '@portico/dev-kube-apiserver';
import v8 from 'node:v8';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const DURATION = process.env.BENCH_DURATION ?? '10s';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const RULES = Number(process.env.BENCH_RULES ?? 10_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
// BENCH_TLS=1: the throughput rounds over HTTPS (HTTP/1.1, keep-alive) instead of plain HTTP.
const TLS = process.env.BENCH_TLS === '1';
// BENCH_H2=1: the throughput rounds over HTTP/2 (TLS, ALPN h2) with h2load from Debian's
// nghttp2-client: BENCH_CONNECTIONS / BENCH_H2_STREAMS connections, BENCH_H2_STREAMS streams each.
const H2 = process.env.BENCH_H2 === '1';
const H2_STREAMS = Number(process.env.BENCH_H2_STREAMS ?? 8);
// BENCH_ANNOTATIONS=1: the measured route carries the annotations a typical migrated Ingress has
// (body size, a timeout, CORS, an allowlist that admits the client), and nginx the directives
// ingress-nginx renders for them.
const ANNOTATIONS = process.env.BENCH_ANNOTATIONS === '1';
const benchAnnotations = ANNOTATIONS
  ? {
      'nginx.ingress.kubernetes.io/proxy-body-size': '8m',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '30',
      'nginx.ingress.kubernetes.io/enable-cors': 'true',
      'nginx.ingress.kubernetes.io/allowlist-source-range': '127.0.0.1/32,10.0.0.0/8',
    }
  : undefined;
// What ingress-nginx's template writes for those annotations (X-Request-ID is set beside the other
// proxy_set_header lines: one in a location would drop the inherited Connection "" and with it the
// keep-alive to the backend) (add_header ... always stands in for
// its more_set_headers, which Debian's nginx does not have).
const benchLocation = ANNOTATIONS
  ? `client_max_body_size 8m; proxy_read_timeout 30s;
      allow 127.0.0.1/32; allow 10.0.0.0/8; deny all;
      if ($request_method = 'OPTIONS') { return 204; }
      add_header Access-Control-Allow-Origin "*" always;
      add_header Access-Control-Allow-Credentials "true" always;
      add_header Access-Control-Allow-Methods "GET, PUT, POST, DELETE, PATCH, OPTIONS" always;
      add_header Access-Control-Allow-Headers "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization" always;
      add_header Access-Control-Max-Age 1728000 always;
      proxy_pass http://a;`
  : 'proxy_pass http://a;';
// The backend listens on the host's own interface address: the API servers refuse loopback
// EndpointSlice addresses, and both proxies reach the backend the same way.
const BACKEND = hostEndpointAddress();
// BENCH_PORT_OFFSET: added to every port below (and BENCH_COMPARE's), so that two runs can share a machine.
const OFFSET = Number(process.env.BENCH_PORT_OFFSET ?? 0);
const PORT = {
  backendA: 18180 + OFFSET,
  backendB: 18190 + OFFSET,
  portico: 18181 + OFFSET,
  porticoTls: 18443 + OFFSET,
  nginxTls: 18444 + OFFSET,
  nginxH2: 18445 + OFFSET,
  metrics: 18254 + OFFSET,
  nginx: 18182 + OFFSET,
  floor: 18186 + OFFSET,
  floorTls: 18446 + OFFSET,
};

for (const [cmd, pkg] of [
  ['nginx', 'nginx'],
  ['wrk', 'wrk'],
  ...(H2 ? [['h2load', 'nghttp2-client']] : []),
]) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
  } catch {
    throw new Error(`the benchmark needs ${cmd} (Debian package ${pkg}; scripts/setup installs it)`);
  }
}

// (0) The swap pipeline alone, in this process, at RULES rules. Median of 20 after warm-up.
function pipelineCost() {
  const ingresses = Array.from({ length: RULES }, (_, i) => ({
    metadata: { name: `r${i}`, namespace: 'default', creationTimestamp: new Date(1_700_000_000_000 + i) },
    spec: {
      ingressClassName: 'portico',
      rules: [
        {
          host: `h${i % 1000}.example.com`,
          http: {
            paths: [
              {
                path: `/p${i}`,
                pathType: 'Prefix',
                backend: { service: { name: 'a', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  }));
  const state = {
    ingresses,
    classes: [{ metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } }],
    services: [],
    endpointSlices: [],
    secrets: [],
  };
  // As the cluster primary and a worker do it: compile, diff against what workers hold, clone the
  // delta (IPC), patch and index. One rule changes backend per round.
  const samples = { compile: [], delta: [], clone: [], apply: [], total: [] };
  const primary = new TableState();
  const worker = new TableState();
  const first = compile(state, { version: 0 });
  primary.reset(first);
  worker.reset(first);
  let bytes = 0;
  for (let k = 1; k <= 25; k++) {
    const rule = ingresses[(k * 7919) % RULES].spec.rules[0].http.paths[0].backend.service;
    rule.name = rule.name === 'a' ? 'b' : 'a';
    const t0 = performance.now();
    const table = compile(state, { version: k });
    const t1 = performance.now();
    const delta = primary.advance(table);
    const t2 = performance.now();
    const buf = v8.serialize(delta);
    const copy = v8.deserialize(buf);
    const t3 = performance.now();
    worker.apply(copy);
    new Router(worker.table());
    const t4 = performance.now();
    bytes = buf.length;
    if (k <= 5) continue;
    samples.compile.push(t1 - t0);
    samples.delta.push(t2 - t1);
    samples.clone.push(t3 - t2);
    samples.apply.push(t4 - t3);
    samples.total.push(t4 - t0);
  }
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
  return { bytes, ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, med(v)])) };
}
const pipeline = pipelineCost();
console.error(`swap pipeline at ${RULES} rules (ms, median): ${JSON.stringify(pipeline)}`);

const dir = mkdtempSync(join(tmpdir(), 'portico-ingress-bench-'));
// nginx's certificate for BENCH_TLS: the kind portico makes for itself (P-256, self-signed).
const benchCert = selfSignedPair('bench.example.com');
writeFileSync(join(dir, 'tls.crt'), benchCert.cert);
writeFileSync(join(dir, 'tls.key'), benchCert.key);
const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('exit', cleanup);

function startNginx(name, body) {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, body);
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return {
    conf,
    child,
    reload: () => execFileSync('nginx', ['-p', dir, '-c', conf, '-s', 'reload'], { stdio: 'ignore' }),
  };
}

const common = (name, workers) => `worker_processes ${workers};
pid ${dir}/${name}.pid;
error_log ${dir}/${name}.error.log warn;
events { worker_connections 4096; }
`;

// The shared backend: nginx answering a fixed body (fast C backend, so the proxies are measured).
startNginx(
  'backend',
  `${common('backend', 1)}http { access_log off; keepalive_requests 1000000;
  server { listen ${BACKEND}:${PORT.backendA}; location / { default_type text/plain; return 200 "A\\n"; } }
  server { listen ${BACKEND}:${PORT.backendB}; location / { default_type text/plain; return 200 "B\\n"; } }
}
`,
);

/**
 * nginx as an ingress proxy: one server per host, one location per rule, keep-alive upstreams. It
 * sends the pod the fields Portico sends (X-Forwarded-For/-Proto/-Host/-Port, X-Real-IP and
 * X-Request-ID, as ingress-nginx does), so both proxies and the shared backend do the same work.
 */
function nginxProxyConf(rules, flipped) {
  const hosts = new Map();
  for (const r of rules) {
    if (!hosts.has(r.host)) hosts.set(r.host, []);
    hosts.get(r.host).push(`    location ${r.path}/ { proxy_pass http://${flipped.has(r.i) ? 'b' : 'a'}; }`);
  }
  const servers = [...hosts].map(
    ([h, locs]) => `  server { listen 127.0.0.1:${PORT.nginx}; server_name ${h};\n${locs.join('\n')}\n  }`,
  );
  return `${common('proxy', WORKERS)}http { access_log off; keepalive_requests 1000000;
  server_names_hash_max_size 65536; server_names_hash_bucket_size 128;
  upstream a { server ${BACKEND}:${PORT.backendA}; keepalive 128; }
  upstream b { server ${BACKEND}:${PORT.backendB}; keepalive 128; }
  proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Real-IP $remote_addr;
  proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $host;
  proxy_set_header X-Forwarded-Port $server_port; proxy_set_header X-Request-ID $request_id;
  server { listen 127.0.0.1:${PORT.nginx} default_server; return 404; }
  server { listen 127.0.0.1:${PORT.nginx}; server_name bench.example.com; location / { ${benchLocation} } }
  server { listen 127.0.0.1:${PORT.nginxTls} ssl; server_name bench.example.com;
    ssl_certificate ${dir}/tls.crt; ssl_certificate_key ${dir}/tls.key; ssl_protocols TLSv1.2 TLSv1.3;
    location / { ${benchLocation} } }
  server { listen 127.0.0.1:${PORT.nginxH2} ssl http2; server_name bench.example.com;
    ssl_certificate ${dir}/tls.crt; ssl_certificate_key ${dir}/tls.key; ssl_protocols TLSv1.2 TLSv1.3;
    location / { ${benchLocation} } }
${servers.join('\n')}
}
`;
}

// The development API server, the objects, and portico ingress with the same number of workers.
const api = await startDevApiServer({ port: 0 });
const kcFile = join(dir, 'kubeconfig');
writeFileSync(kcFile, api.kubeconfig());
const kc = new KubeConfig();
kc.loadFromString(api.kubeconfig());
const core = kc.makeApiClient(CoreV1Api);
const net = kc.makeApiClient(NetworkingV1Api);
const disc = kc.makeApiClient(DiscoveryV1Api);
await core.createNamespace({ body: { metadata: { name: 'default' } } }).catch(() => undefined);
await net.createIngressClass({
  body: { metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } },
});
for (const [svc, port] of [
  ['a', PORT.backendA],
  ['b', PORT.backendB],
]) {
  await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: svc }, spec: { ports: [{ name: 'http', port: 80 }] } },
  });
  await disc.createNamespacedEndpointSlice({
    namespace: 'default',
    body: {
      metadata: { name: `${svc}-1`, labels: { 'kubernetes.io/service-name': svc } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port }],
      endpoints: [{ addresses: [BACKEND], conditions: { ready: true } }],
    },
  });
}
const ingressBody = (name, host, path, svc) => ({
  metadata: { name, namespace: 'default' },
  spec: {
    ingressClassName: 'portico',
    rules: [
      {
        host,
        http: {
          paths: [{ path, pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }],
        },
      },
    ],
  },
});
await net.createNamespacedIngress({
  namespace: 'default',
  body: {
    ...ingressBody('bench', 'bench.example.com', '/', 'a'),
    metadata: { name: 'bench', namespace: 'default', annotations: benchAnnotations },
  },
});

// BENCH_CPU_PROF=DIR: every portico process (primary and workers) writes a V8 CPU profile into DIR
// when it exits (docs/benchmarks.md says how to read it).
const profile = process.env.BENCH_CPU_PROF
  ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}` }
  : {};
const logDir = process.env.BENCH_LOG;
/** `portico ingress` from the checkout at `tree` (its CLI built), on its own ports. */
function startPortico(tree, ports, nodeFlags = '') {
  const child = spawn(
    join(root, 'node_modules', '.bin', 'node'),
    [
      // On the command line rather than in NODE_OPTIONS, which refuses most V8 flags; cluster
      // workers inherit them.
      ...nodeFlags.split(' ').filter(Boolean),
      join(tree, 'packages', 'cli', 'bin', 'portico.js'),
      'ingress',
      '--kubeconfig',
      kcFile,
      '--listen-address',
      '127.0.0.1',
      '--http-port',
      String(ports.http),
      '--https-port',
      String(ports.https),
      '--metrics-port',
      String(ports.metrics),
      '--workers',
      String(WORKERS),
      '--no-access-log',
      '--no-leader-elect',
      '--shutdown-delay',
      '0',
    ],
    {
      // BENCH_LOG=DIR: each portico's log (its stdout, LOG_LEVEL warn, or BENCH_LOG_LEVEL) in DIR.
      stdio: ['ignore', logDir ? openSync(join(logDir, `${ports.http}.log`), 'a') : 'ignore', 'inherit'],
      env: {
        ...process.env,
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        NODE_OPTIONS: [process.env.NODE_OPTIONS, profile.NODE_OPTIONS].filter(Boolean).join(' '),
      },
    },
  );
  children.push(child);
  return child;
}
// BENCH_NODE_OPTIONS: Node and V8 flags for this checkout's portico only (to weigh a flag against
// BENCH_COMPARE).
const portico = startPortico(
  root,
  { http: PORT.portico, https: PORT.porticoTls, metrics: PORT.metrics },
  process.env.BENCH_NODE_OPTIONS ?? '',
);
// BENCH_FLOOR=1: the same rounds also run against node-floor.mjs, the least any Node relay costs
// (HTTP/1.1, plain or TLS), with the same number of workers: what is Node's share of the gap to nginx.
const floor =
  process.env.BENCH_FLOOR === '1'
    ? spawn(
        join(root, 'node_modules', '.bin', 'node'),
        [
          join(here, 'node-floor.mjs'),
          String(WORKERS),
          BACKEND,
          String(PORT.backendA),
          String(PORT.floor),
          String(PORT.floorTls),
          join(dir, 'tls.crt'),
          join(dir, 'tls.key'),
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      )
    : undefined;
if (floor) children.push(floor);
// BENCH_COMPARE=name=/path/to/checkout,...: the same rounds also run against portico built from other
// checkouts (e.g. older commits in worktrees), so regressions are measured in the same minutes; so do
// the rule changes, in BENCH_CHANGE_BLOCKS (4) alternating blocks.
const compared = (process.env.BENCH_COMPARE ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry, i) => {
    const [name, tree] = entry.split('=');
    if (!name || !tree) throw new Error(`BENCH_COMPARE: "${entry}" is not name=/path/to/checkout`);
    const ports = {
      http: 18300 + OFFSET + 10 * i,
      https: 18301 + OFFSET + 10 * i,
      metrics: 18302 + OFFSET + 10 * i,
    };
    return { name, ports, child: startPortico(tree, ports) };
  });

/**
 * One request on a connection of its own (so the kernel picks a worker anew each time). The client
 * closes it, not the server: the TIME_WAIT then stays on the client's side, whose ports Linux reuses
 * on loopback (tcp_tw_reuse 2). Closed by the server, a run's probes (a new connection every
 * millisecond while waiting for a change) left up to 22,000 server-side TIME_WAITs, which hold
 * their ports for 60 s, of the 28,232 ephemeral ports.
 */
function get(port, host, path) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers: { host, connection: 'keep-alive' }, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode, body, headers: res.headers });
        });
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

/** `annotated`: with BENCH_ANNOTATIONS, wait for them too (node-floor.mjs has none to apply). */
async function ready(port, annotated = ANNOTATIONS) {
  await until(
    async () => {
      const res = await get(port, 'bench.example.com', '/');
      // With BENCH_ANNOTATIONS the route's CORS headers show its annotations are in force.
      return res.body === 'A\n' && (!annotated || res.headers['access-control-allow-origin'] === '*');
    },
    120_000,
    `proxy on ${port}${annotated ? ' with the annotations in force' : ''}`,
  );
}

/** Runs wrk; `stop()` ends a long run early (SIGINT makes wrk print its results). */
function wrkRun(port, duration, scheme = 'http') {
  let child;
  const result = new Promise((resolve, reject) => {
    const args = [
      '-t2',
      `-c${CONNECTIONS}`,
      `-d${duration}`,
      '--latency',
      '-H',
      'Host: bench.example.com',
      `${scheme}://127.0.0.1:${port}/`,
    ];
    child = spawn('wrk', args);
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
      const p99 = p99raw ? Number(p99raw[1]) * { us: 0.001, ms: 1, s: 1000 }[p99raw[2]] : NaN;
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      resolve({ rps, p99, non2xx, socketErrors, requests, raw: out });
    });
  });
  return { result, stop: () => child.kill('SIGINT') };
}

const wrk = (port, duration = DURATION, scheme = 'http') => wrkRun(port, duration, scheme).result;

/**
 * HTTP/2 load with h2load for `duration` (`10s`): the same result shape as wrk's. p99 comes from
 * h2load's per-request log (h2load prints no percentiles).
 */
function h2load(port, duration) {
  const log = join(dir, `h2load-${port}.log`);
  const clients = Math.max(1, Math.round(CONNECTIONS / H2_STREAMS));
  const args = [
    '-t2',
    `-c${clients}`,
    `-m${H2_STREAMS}`,
    `-D${parseInt(duration, 10)}`,
    `--log-file=${log}`,
    '-H',
    ':authority: bench.example.com',
    `https://127.0.0.1:${port}/`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('h2load', args);
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => {
      const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1]);
      const done =
        /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
          out,
        );
      const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
      if (!done || !codes) return reject(new Error(`h2load printed no results:\n${out}`));
      const latencies = readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => Number(line.split('\t')[2]))
        .sort((a, b) => a - b);
      rmSync(log, { force: true });
      const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] / 1000;
      resolve({
        rps,
        p99,
        non2xx: Number(codes[2]) + Number(codes[3]) + Number(codes[4]),
        socketErrors: Number(done[3]) + Number(done[4]) + Number(done[5]),
        requests: Number(done[1]),
        raw: out,
      });
    });
  });
}

/** One round of load on `port`: wrk (HTTP/1.1, plain or TLS) or h2load (BENCH_H2). */
const load = (port, duration) => (H2 ? h2load(port, duration) : wrk(port, duration, TLS ? 'https' : 'http'));

/**
 * CPU time (ms) used so far by a process and all its descendants, in user space and in the kernel,
 * from /proc (clock ticks of 10 ms).
 */
function treeCpuMs(root) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), { ppid: Number(f[1]), user: Number(f[11]), sys: Number(f[12]) });
    } catch {
      // the process ended while we looked
    }
  }
  let user = 0;
  let sys = 0;
  const want = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of parent) {
      if (want.has(pid) || !want.has(p.ppid)) continue;
      want.add(pid);
      grew = true;
    }
  }
  for (const pid of want) {
    user += parent.get(pid)?.user ?? 0;
    sys += parent.get(pid)?.sys ?? 0;
  }
  return { user: user * 10, sys: sys * 10 };
}

const results = {};
const nginx = startNginx('proxy', nginxProxyConf([], new Set()));
await ready(PORT.nginx);
await ready(PORT.portico);
for (const c of compared) await ready(c.ports.http);
if (floor) await ready(PORT.floor, false);

// (1) Throughput and p99: alternating rounds; the median round of each proxy is reported (the
// machine is shared, single runs vary by ±30 %).
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const secure = TLS || H2;
const proxies = [
  { name: 'nginx', port: H2 ? PORT.nginxH2 : TLS ? PORT.nginxTls : PORT.nginx, pid: nginx.child.pid },
  { name: 'portico', port: secure ? PORT.porticoTls : PORT.portico, pid: portico.pid },
  ...compared.map((c) => ({ name: c.name, port: secure ? c.ports.https : c.ports.http, pid: c.child.pid })),
  ...(floor && !H2 ? [{ name: 'node-floor', port: TLS ? PORT.floorTls : PORT.floor, pid: floor.pid }] : []),
];
const runs = Object.fromEntries(proxies.map((p) => [p.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const { name, port, pid } of proxies) {
    await load(port, '2s'); // warm-up
    const cpu0 = treeCpuMs(pid);
    const r = await load(port, DURATION);
    // CPU per request: what the proxy itself costs, less sensitive than req/s to other load. The
    // kernel's share (system calls, the TCP stack) is given apart.
    const cpu1 = treeCpuMs(pid);
    r.sysUs = ((cpu1.sys - cpu0.sys) * 1000) / r.requests;
    r.cpuUs = ((cpu1.user - cpu0.user) * 1000) / r.requests + r.sysUs;
    console.error(
      `${name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.cpuUs.toFixed(1)} µs CPU/request ` +
        `(kernel ${r.sysUs.toFixed(1)}), errors ${r.non2xx + r.socketErrors}`,
    );
    // Which errors (wrk's read timeout is 2 s: a loaded machine can cause a few).
    if (r.non2xx + r.socketErrors > 0)
      console.error(`  ${(r.raw ?? '').match(/Socket errors:.*|Non-2xx.*/g)?.join('; ')}`);
    runs[name].push(r);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const { name } of proxies)
  results[name] = {
    rps: median(runs[name].map((r) => r.rps)),
    p99: median(runs[name].map((r) => r.p99)),
    cpuUs: median(runs[name].map((r) => r.cpuUs)),
  };

// BENCH_ONLY=throughput stops here (a quick look at the data plane without the 10,000 rules).
if (process.env.BENCH_ONLY === 'throughput') {
  console.log(JSON.stringify({ ...results, rpsRatio: results.portico.rps / results.nginx.rps }));
  portico.kill('SIGTERM');
  cleanup();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

// (2) 10,000 rules. Portico: create the Ingresses through the API; nginx: the same rules as locations.
const rules = Array.from({ length: RULES }, (_, i) => ({
  i,
  host: `h${i % 1000}.example.com`,
  path: `/p${i}`,
}));
const t0 = performance.now();
for (let i = 0; i < rules.length; i += 100) {
  await Promise.all(
    rules.slice(i, i + 100).map((r) =>
      net.createNamespacedIngress({
        namespace: 'default',
        body: ingressBody(`r${r.i}`, r.host, r.path, 'a'),
      }),
    ),
  );
}
const last = rules[rules.length - 1];
// Portico and the checkouts it is compared with (rule changes are measured on each, below).
const porticos = [
  { name: 'portico', port: PORT.portico },
  ...compared.map((c) => ({ name: c.name, port: c.ports.http })),
];
for (const { name, port } of porticos)
  await until(
    async () => (await get(port, last.host, `${last.path}/x`)).body === 'A\n',
    120_000,
    `${name} with all rules`,
  );
console.error(
  `created ${RULES} Ingresses and served them in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
const flipped = new Set();
writeFileSync(nginx.conf, nginxProxyConf(rules, flipped));
nginx.reload();
await until(
  async () => (await get(PORT.nginx, last.host, `${last.path}/x`)).body === 'A\n',
  120_000,
  'nginx with all rules',
);

let changeNo = 0;
async function changes(name, port, apply, count, withLoad) {
  const load = withLoad ? wrkRun(port, '600s') : undefined; // stopped below
  const times = [];
  for (let c = 0; c < count; c++) {
    const r = rules[(changeNo++ * 7919) % rules.length];
    const svc = flipped.has(r.i) ? 'a' : 'b';
    if (svc === 'b') flipped.add(r.i);
    else flipped.delete(r.i);
    const want = `${svc.toUpperCase()}\n`;
    const start = performance.now();
    await apply(r, svc);
    // What the probes answered while waiting, for the error if the change never shows.
    const answers = new Map();
    try {
      await until(
        async () => {
          const { status, body } = await get(port, r.host, `${r.path}/x`);
          const key = `${status} ${JSON.stringify(body.slice(0, 40))}`;
          answers.set(key, `${key} until ${(performance.now() - start).toFixed(0)} ms`);
          return body === want;
        },
        60_000,
        `${name} change ${c}`,
      );
    } catch (err) {
      throw new Error(
        `${err.message} (rule ${r.i} to ${svc}; answers: ${[...answers.values()].join(', ')})`,
        {
          cause: err,
        },
      );
    }
    times.push(performance.now() - start);
  }
  load?.stop();
  const under = load ? await load.result : { requests: 0, non2xx: 0, socketErrors: 0 };
  return { times, requests: under.requests, failed: under.non2xx + under.socketErrors };
}

/** Quantiles of the change times of several runs of changes(), their load's requests summed. */
function summarize(parts) {
  const times = parts.flatMap((p) => p.times).sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return {
    p50: q(0.5),
    p99: q(0.99),
    max: times[times.length - 1],
    requests: parts.reduce((n, p) => n + p.requests, 0),
    failed: parts.reduce((n, p) => n + p.failed, 0),
  };
}

const applyPortico = async (r, svc) => {
  const cur = await net.readNamespacedIngress({ namespace: 'default', name: `r${r.i}` });
  cur.spec.rules[0].http.paths[0].backend.service.name = svc;
  await net.replaceNamespacedIngress({ namespace: 'default', name: `r${r.i}`, body: cur });
};
const applyNginx = async () => {
  writeFileSync(nginx.conf, nginxProxyConf(rules, flipped));
  nginx.reload();
};
// With BENCH_COMPARE, every checkout is measured the same way, in alternating blocks of changes:
// they all watch the same API server and compile every change, whichever is being measured, and a
// slow minute of the machine falls on each of them alike instead of on one run.
const BLOCKS = compared.length > 0 ? Number(process.env.BENCH_CHANGE_BLOCKS ?? 4) : 1;
// Unmeasured: the first changes after the 10,000 creations meet processes still busy with them,
// and would fall on whichever checkout comes first.
for (const { name, port } of porticos) await changes(name, port, applyPortico, 5, false);
const idleParts = Object.fromEntries(porticos.map((p) => [p.name, []]));
const loadParts = Object.fromEntries(porticos.map((p) => [p.name, []]));
for (let b = 0; b < BLOCKS; b++)
  // Every other block in the opposite order: none is always the first after the other's load.
  for (const { name, port } of b % 2 === 0 ? porticos : [...porticos].reverse()) {
    idleParts[name].push(await changes(name, port, applyPortico, Math.ceil(20 / BLOCKS), false));
    loadParts[name].push(await changes(name, port, applyPortico, Math.ceil(CHANGES / BLOCKS), true));
  }
results.porticoIdle = summarize(idleParts.portico);
results.porticoChanges = summarize(loadParts.portico);
// nginx starts from the same rules (every rule on backend a).
flipped.clear();
await applyNginx();
await new Promise((r) => setTimeout(r, 2000));
changeNo = 0;
results.nginxIdle = summarize([await changes('nginx', PORT.nginx, applyNginx, 20, false)]);
results.nginxChanges = summarize([await changes('nginx', PORT.nginx, applyNginx, CHANGES, true)]);

const f = (n, d = 0) => n.toFixed(d);
// How summarize()'s figures are printed: idle changes, changes under load, failed requests.
const idleMs = (s) => ({ p50: f(s.p50, 1), max: f(s.max, 1) });
const loadedMs = (s) => ({ p50: f(s.p50, 1), p99: f(s.p99, 1), max: f(s.max, 1) });
const failed = (s) => `${s.failed}/${s.requests}`;
const summary = {
  workers: WORKERS,
  connections: CONNECTIONS,
  duration: DURATION,
  nginxRps: f(results.nginx.rps),
  porticoRps: f(results.portico.rps),
  throughputRatio: f(results.portico.rps / results.nginx.rps, 2),
  nginxP99ms: results.nginx.p99,
  porticoP99ms: results.portico.p99,
  p99Ratio: f(results.portico.p99 / results.nginx.p99, 2),
  nginxCpuUsPerRequest: f(results.nginx.cpuUs, 1),
  porticoCpuUsPerRequest: f(results.portico.cpuUs, 1),
  rules: RULES,
  swapPipelineMs: pipeline,
  changes: CHANGES,
  porticoChangeIdleMs: idleMs(results.porticoIdle),
  nginxReloadIdleMs: idleMs(results.nginxIdle),
  porticoChangeUnderLoadMs: loadedMs(results.porticoChanges),
  nginxReloadUnderLoadMs: loadedMs(results.nginxChanges),
  failedDuringChanges: { portico: failed(results.porticoChanges), nginx: failed(results.nginxChanges) },
  // BENCH_COMPARE: the compared checkouts' rule changes, measured in the same blocks.
  ...(compared.length > 0 && {
    comparedChanges: Object.fromEntries(
      compared.map(({ name }) => {
        const loaded = summarize(loadParts[name]);
        return [
          name,
          {
            idleMs: idleMs(summarize(idleParts[name])),
            underLoadMs: loadedMs(loaded),
            failed: failed(loaded),
          },
        ];
      }),
    ),
  }),
};
console.log(JSON.stringify(summary, null, 2));
portico.kill('SIGTERM');
cleanup();
await api.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
