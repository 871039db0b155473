/**
 * Memory benchmark: Portico's controller against MetalLB's (v0.15.2, built from the Go module
 * proxy), one after the other against the same real kube-apiserver, on this machine, in this run.
 *
 * For each controller: RSS when idle (started, synced, settled), then a burst of BENCH_SERVICES
 * LoadBalancer Services created as fast as the API server takes them: the time until every one has
 * an IP, peak RSS, the most TCP connections the process held open to the API server at once (from
 * /proc/PID/fd and /proc/net/tcp), and RSS and live heap once settled. Live heap is measured after
 * a forced collection: for Node through the inspector (opened with SIGUSR1 only after the RSS
 * readings, so it costs nothing before), for Go through pprof's `heap?gc=1` and the
 * go_memstats_heap_alloc_bytes gauge. Between the two runs the Services are deleted.
 *
 * MetalLB gets the equivalent of Portico's ConfigMap: one IPAddressPool and one L2Advertisement,
 * with its CRDs installed from the module's own config/crd/bases. Its webhook is off
 * (--webhook-mode=disabled): a bare kube-apiserver has nothing to call it.
 *
 * Run: npx tsc -b && npm run bench:memory -w @portico/controller
 *      (BENCH_SERVICES=1000 for a quick run, BENCH_SETTLE_SECONDS=N to change the settling wait)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMetallbBinaries, type KubeApiServer, startKubeApiServer } from '@portico/dev-kube-apiserver';

const count = Number(process.env.BENCH_SERVICES ?? 10_000);
const settleMs = Number(process.env.BENCH_SETTLE_SECONDS ?? 20) * 1000;
const concurrency = 64;
const namespace = 'bench';
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');
const dir = mkdtempSync(join(tmpdir(), 'portico-memory-bench-'));
const children: ChildProcess[] = [];
const stopping = new Set<ChildProcess>();
const progress = (line: string) => console.error(`[bench] ${line}`);

// ---------------------------------------------------------------- the API server, as a client

let server: KubeApiServer;
let agent: Agent;

function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${server.adminToken}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 200) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Runs `job(i)` for i in [0, n) on `concurrency` lanes, as fast as the API server answers. */
async function lanes(n: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await job(next++);
    }),
  );
}

/** How many Services in the namespace have an IP in their status. */
async function assigned(): Promise<number> {
  const list = (await api('GET', `/api/v1/namespaces/${namespace}/services`)) as {
    items: Array<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>;
  };
  return list.items.filter((s) => (s.status?.loadBalancer?.ingress ?? []).length > 0).length;
}

/** Events in the namespace, counted by reason; the Services are deleted after each run, not the Events. */
const seenEvents = new Set<string>();
async function eventsBySource(): Promise<Record<string, number>> {
  const list = (await api('GET', `/api/v1/namespaces/${namespace}/events`)) as {
    items: Array<{ metadata: { uid: string }; reason?: string; count?: number }>;
  };
  const byReason: Record<string, number> = {};
  for (const e of list.items) {
    if (seenEvents.has(e.metadata.uid)) continue;
    seenEvents.add(e.metadata.uid);
    byReason[e.reason ?? ''] = (byReason[e.reason ?? ''] ?? 0) + 1;
  }
  return byReason;
}

// ---------------------------------------------------------------- a process, from /proc

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Established TCP connections of `pid` whose remote end is the API server's port. */
function apiSockets(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed between readdir and readlink
    }
  }
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '01') continue;
      if (parseInt(f[2]!.split(':')[1]!, 16) === port && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}

/** Samples RSS and API connections every 100 ms until stopped; keeps the maxima. */
function sampler(pid: number) {
  const peak = { rssMiB: 0, sockets: 0 };
  const timer = setInterval(() => {
    try {
      peak.rssMiB = Math.max(peak.rssMiB, rssMiB(pid));
      peak.sockets = Math.max(peak.sockets, apiSockets(pid, server.port));
    } catch {
      // the process is gone; the run reports that elsewhere
    }
  }, 100);
  return { peak, stop: () => clearInterval(timer) };
}

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function gauge(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

// ---------------------------------------------------------------- live heap after a collection

/** Node: open the inspector (SIGUSR1), collect garbage, read the used heap. */
async function nodeLiveHeapMiB(child: ChildProcess, stderr: () => string): Promise<number> {
  child.kill('SIGUSR1');
  let url: string | undefined;
  await until('the inspector', () => (url = /ws:\/\/\S+/.exec(stderr())?.[0]) !== undefined, 10_000, 50);
  const ws = new WebSocket(url!);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const mine = ++id;
      ws.onmessage = (m) => {
        const reply = JSON.parse(String(m.data)) as { id?: number; result: Record<string, number> };
        if (reply.id === mine) resolve(reply.result);
      };
      ws.send(JSON.stringify({ id: mine, method }));
    });
  await call('HeapProfiler.collectGarbage');
  const { usedSize } = await call('Runtime.getHeapUsage');
  ws.close();
  return usedSize! / 2 ** 20;
}

/** Go: pprof's heap profile with gc=1 collects first; the gauge then reads live bytes. */
async function goLiveHeapMiB(port: number): Promise<number> {
  await (await fetch(`http://127.0.0.1:${port}/debug/pprof/heap?gc=1`)).arrayBuffer();
  return gauge(await metrics(port), 'go_memstats_heap_alloc_bytes')! / 2 ** 20;
}

// ---------------------------------------------------------------- one controller's run

interface Contender {
  name: string;
  start(): { child: ChildProcess; metricsPort: number; stderr: () => string };
  liveHeapMiB(child: ChildProcess, metricsPort: number, stderr: () => string): Promise<number>;
}

const round = (n: number) => Math.round(n * 10) / 10;

async function measure(c: Contender) {
  progress(`${c.name}: starting`);
  const { child, metricsPort, stderr } = c.start();
  const pid = child.pid!;
  await until(
    `${c.name}'s metrics endpoint`,
    () =>
      metrics(metricsPort).then(
        () => true,
        () => false,
      ),
    60_000,
  );
  await new Promise((r) => setTimeout(r, settleMs));
  const idleRssMiB = rssMiB(pid);
  progress(`${c.name}: idle ${round(idleRssMiB)} MiB; creating ${count} Services`);

  const watch = sampler(pid);
  const started = performance.now();
  await lanes(count, (i) =>
    api('POST', `/api/v1/namespaces/${namespace}/services`, {
      metadata: { name: `svc-${i}` },
      // 10,000 Services exceed the 2,768 node ports, as on a real cluster.
      spec: {
        type: 'LoadBalancer',
        allocateLoadBalancerNodePorts: false,
        ports: [{ port: 80, protocol: 'TCP' }],
      },
    }),
  );
  const created = performance.now();
  // MetalLB's client keeps client-go's default limit of 20 requests/s, so it needs minutes.
  await until('every Service to get an IP', async () => (await assigned()) === count, 3_600_000, 500);
  const finished = performance.now();
  progress(`${c.name}: all ${count} assigned; settling`);
  // Peak RSS includes the settling time: writing Events and status can lag the last IP.
  await new Promise((r) => setTimeout(r, settleMs));
  watch.stop();
  const settledRssMiB = rssMiB(pid);
  const liveHeapMiB = await c.liveHeapMiB(child, metricsPort, stderr);
  const events = await eventsBySource();
  stopping.add(child);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));

  progress(`${c.name}: deleting the Services`);
  await lanes(count, (i) => api('DELETE', `/api/v1/namespaces/${namespace}/services/svc-${i}`));
  return {
    idleRssMiB: round(idleRssMiB),
    createSeconds: round((created - started) / 1000),
    allAssignedSeconds: round((finished - started) / 1000),
    afterLastCreateSeconds: round((finished - created) / 1000),
    peakRssMiB: round(watch.peak.rssMiB),
    settledRssMiB: round(settledRssMiB),
    liveHeapMiB: round(liveHeapMiB),
    peakApiConnections: watch.peak.sockets,
    /** Events on the burst's Services by reason, as listed once settled: how many were written. */
    events,
  };
}

function launch(args: string[], env: Record<string, string>) {
  const child = spawn(args[0]!, args.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let tail = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (tail = (tail + chunk).slice(-20_000)));
  child.on('exit', (code, signal) => {
    // MetalLB exits 1 on SIGTERM; only an exit the benchmark did not ask for is news.
    if (!stopping.has(child)) progress(`${args[0]} exited (${signal ?? code}):\n${tail}`);
  });
  return { child, stderr: () => tail };
}

// ---------------------------------------------------------------- the run

try {
  const metallb = await ensureMetallbBinaries({ progress });
  server = await startKubeApiServer({ progress });
  agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca: server.caCert });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig());
  for (const name of ['portico-system', 'metallb-system', namespace])
    await api('POST', '/api/v1/namespaces', { metadata: { name } });

  // MetalLB's CRDs from the module itself; server-side so their size is no problem.
  execFileSync(
    server.binaries.kubectl,
    ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', join(metallb.sourceDir, 'config/crd/bases')],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  execFileSync(
    server.binaries.kubectl,
    ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--all', 'crd', '--timeout=60s'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );

  // The same pool for both: 198.18.0.0/16 announced over layer 2.
  const pool = '198.18.0.0/16';
  await api('POST', '/api/v1/namespaces/portico-system/configmaps', {
    metadata: { name: 'config' },
    data: { config: `address-pools:\n  - name: bench\n    protocol: layer2\n    addresses: [${pool}]\n` },
  });
  await api('POST', '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'bench' },
    spec: { addresses: [pool] },
  });
  await api('POST', '/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name: 'bench' },
    spec: { ipAddressPools: ['bench'] },
  });

  const portico: Contender = {
    name: 'Portico controller',
    start() {
      const metricsPort = 17480;
      const { child, stderr } = launch(
        [
          process.execPath,
          // Lets SIGUSR1 open the inspector on a free port for the live-heap reading at the end.
          '--inspect-port=127.0.0.1:0',
          cli,
          'controller',
          '--kubeconfig',
          kubeconfig,
          '--no-leader-elect',
          '--metrics-port',
          String(metricsPort),
        ],
        { LOG_LEVEL: 'error' },
      );
      return { child, metricsPort, stderr };
    },
    liveHeapMiB: (child, _port, stderr) => nodeLiveHeapMiB(child, stderr),
  };
  const metallbController: Contender = {
    name: 'MetalLB controller',
    start() {
      const metricsPort = 17481;
      const { child, stderr } = launch(
        [
          metallb.controller,
          '--namespace=metallb-system',
          '--webhook-mode=disabled',
          '--disable-cert-rotation',
          `--port=${metricsPort}`,
          '--enable-pprof',
          '--log-level=error',
        ],
        { KUBECONFIG: kubeconfig },
      );
      return { child, metricsPort, stderr };
    },
    liveHeapMiB: (_child, port) => goLiveHeapMiB(port),
  };

  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  for (const c of [portico, metallbController]) results[c.name] = await measure(c);
  const p = results[portico.name]!;
  const m = results[metallbController.name]!;
  const ratio = (a: number, b: number) => round(a / b);
  console.log(
    JSON.stringify(
      {
        services: count,
        kubeApiserver: server.version,
        metallb: metallb.version,
        node: process.version,
        results,
        porticoOverMetallb: {
          idleRss: ratio(p.idleRssMiB, m.idleRssMiB),
          peakRss: ratio(p.peakRssMiB, m.peakRssMiB),
          settledRss: ratio(p.settledRssMiB, m.settledRssMiB),
          liveHeap: ratio(p.liveHeapMiB, m.liveHeapMiB),
          allAssignedTime: ratio(p.allAssignedSeconds, m.allAssignedSeconds),
        },
      },
      null,
      2,
    ),
  );
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  agent?.destroy();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
}
