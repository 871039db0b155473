/**
 * Speaker benchmarks, run inside a network namespace this script creates (pspk-bench, or
 * BENCH_NETNS; a veth pair pspk-v0/pspk-v1 created inside it, so the names cannot clash with another
 * copy's), so the layer-2 announcer's ARP traffic never leaves it:
 *
 * 1. scale: one real `portico speaker` process announcing 1,000 and 10,000 layer-2 IPs (real
 *    AF_PACKET announcer on pspk-v0): time until all are announced, RSS, steady CPU.
 * 2. failover: three `portico speaker` processes sharing one Service IP; the owner is killed with
 *    SIGKILL 20 times; measured from the kill to the first gratuitous ARP of the new owner seen
 *    on the wire (tcpdump on pspk-v1), and checked that the restarted node never takes it back.
 *
 * The development API server runs in the namespace too. Needs root, ip(8) and tcpdump.
 * Run: npx tsc -b packages/cli && npm run bench -w @portico/speaker   (SCALE=1000,10000 RUNS=20)
 * BENCH_STEADY_SECONDS (10) is the length of the steady window.
 * BENCH_CPU_PROFILE=DIR writes a V8 CPU profile of the scale runs' speakers into DIR (on exit);
 * BENCH_HEAP_SNAPSHOT=DIR a heap snapshot of each, once steady (after the CPU measurement).
 * BENCH_BASELINE=PATH (another tree's packages/cli/bin/portico.js) measures that speaker too in the
 * scale runs, against the same API server, alternating with this tree's BENCH_ROUNDS times (A/B
 * under the same load). BENCH_SPEAKERS=3 runs the scale step with three speakers sharing the
 * Services (every Service has an endpoint on each node): a cluster's steady state, heartbeats with
 * claim lists included; CPU is then the mean of a speaker.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLoopedNetns, deleteNetns } from '@portico/testbed';
import { shippedNodeOptions } from '@portico/testbed/measure';

// BENCH_NETNS runs a second copy beside a first.
const NETNS = process.env.BENCH_NETNS ?? 'pspk-bench';
const cpuProfileDir = process.env.BENCH_CPU_PROFILE;
const heapSnapshotDir = process.env.BENCH_HEAP_SNAPSHOT;
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');
const baseline = process.env.BENCH_BASELINE;
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
/** The steady window; 40 s includes a refresh of every IP (the announcer's 30 s gratuitous ARP). */
const steadySeconds = Number(process.env.BENCH_STEADY_SECONDS ?? 10);
/** Speakers (nodes) sharing the scale runs' Services: 1, or e.g. 3 for a cluster's steady state. */
const clusterSize = Number(process.env.BENCH_SPEAKERS ?? 1);
const scales = (process.env.SCALE ?? '1000,10000').split(',').map(Number);
const runs = Number(process.env.RUNS ?? 20);
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'pspk-bench-'));

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
}

/** Starts a process; the benchmark body already runs inside the namespace, and so do its children. */
function inNs(
  args: string[],
  env: Record<string, string> = {},
  stdout: 'ignore' | 'pipe' = 'ignore',
): ChildProcess {
  const child = spawn(args[0]!, args.slice(1), {
    stdio: ['ignore', stdout, 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'error', ...env },
  });
  children.push(child);
  return child;
}

function setUp(): void {
  if (process.getuid?.() !== 0)
    throw new Error('the speaker benchmark needs root (network namespaces, raw sockets)');
  for (const tool of ['ip', 'tcpdump']) {
    try {
      sh('which', tool);
    } catch {
      throw new Error(`the speaker benchmark needs ${tool} (apt-get install iproute2 tcpdump)`);
    }
  }
  tearDown();
  createLoopedNetns(
    NETNS,
    { link: 'pspk-v0', addresses: ['198.18.0.1/15'] },
    { link: 'pspk-v1', addresses: [] },
  );
}

function tearDown(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  deleteNetns(NETNS);
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The development API server on the namespace's loopback. */
class Api {
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }
  async req(method: string, path: string, body?: unknown): Promise<unknown> {
    const send = () =>
      fetch(`${this.base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    // A connection reset by the API server on a loaded machine is retried (a create that got
    // through before the reset then answers 409, which is success here).
    let res: Response | undefined;
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await send();
        if (attempt > 0 && method === 'POST' && res.status === 409) return {};
      } catch (err) {
        if (attempt >= 4) throw err;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }
}

async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line ? Number(line.split(' ').pop()) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU ticks (user + system) of each thread of `pid`, by thread name. */
function threadTicks(pid: number): Map<string, { user: number; sys: number }> {
  const threads = new Map<string, { user: number; sys: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      const t = threads.get(name) ?? { user: 0, sys: 0 };
      t.user += Number(f[11]);
      t.sys += Number(f[12]);
      threads.set(name, t);
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

/** Where a process's CPU went between two threadTicks readings, for stderr. */
function threadReport(
  a: Map<string, { user: number; sys: number }>,
  b: Map<string, { user: number; sys: number }>,
) {
  const parts: string[] = [];
  for (const [name, t] of b) {
    const before = a.get(name) ?? { user: 0, sys: 0 };
    const user = t.user - before.user;
    const sys = t.sys - before.sys;
    if (user + sys > 0) parts.push(`${name} ${user}+${sys}`);
  }
  return parts.join(', ');
}

function procStats(pid: number): { rssMiB: number; cpuTicks: number } {
  const status = sh('cat', `/proc/${pid}/status`);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = sh('cat', `/proc/${pid}/stat`).split(') ')[1]!.split(' ');
  return { rssMiB: rssKiB / 1024, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

async function startApi(port: number): Promise<Api> {
  const kubeconfig = join(dir, `kubeconfig-${port}`);
  inNs([
    process.execPath,
    cli,
    'dev',
    'apiserver',
    '--port',
    String(port),
    '--kubeconfig-out',
    kubeconfig,
    '--log-level',
    'error',
  ]);
  const api = new Api(`http://127.0.0.1:${port}`);
  await until(
    'API server',
    () =>
      api.req('GET', '/version').then(
        () => true,
        () => false,
      ),
    20_000,
  );
  return api;
}

async function configure(api: Api, nodes: string[]): Promise<void> {
  await api
    .req('POST', '/api/v1/namespaces', { metadata: { name: 'portico-system' } })
    .catch(() => undefined);
  await api.req('POST', '/api/v1/namespaces/portico-system/configmaps', {
    metadata: { name: 'config', namespace: 'portico-system' },
    data: { config: 'address-pools:\n- name: bench\n  protocol: layer2\n  addresses: [198.18.0.0/15]\n' },
  });
  for (const [i, name] of nodes.entries()) {
    await api.req('POST', '/api/v1/nodes', {
      metadata: { name, annotations: { 'portico.dev/speaker-address': `127.0.0.1:${7946 + i}` } },
    });
  }
}

async function createServices(api: Api, count: number, nodes: string[]): Promise<void> {
  const concurrency = 32;
  let next = 0;
  const one = async (i: number) => {
    const name = `svc-${i}`;
    const ip = `198.18.${(i + 256) >> 8}.${(i + 256) & 255}`;
    await api.req('POST', '/api/v1/namespaces/default/services', {
      metadata: { name, namespace: 'default' },
      spec: {
        type: 'LoadBalancer',
        allocateLoadBalancerNodePorts: false,
        ports: [{ port: 80, protocol: 'TCP' }],
        selector: { app: name },
      },
    });
    const svc = (await api.req('GET', `/api/v1/namespaces/default/services/${name}`)) as Record<
      string,
      unknown
    >;
    svc.status = { loadBalancer: { ingress: [{ ip }] } };
    await api.req('PUT', `/api/v1/namespaces/default/services/${name}/status`, svc);
    await api.req('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: nodes.map((n, j) => ({
        addresses: [`10.0.${j}.1`],
        nodeName: n,
        conditions: { ready: true },
      })),
      ports: [{ port: 80, protocol: 'TCP' }],
    });
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
}

function startSpeaker(
  node: string,
  index: number,
  apiPort: number,
  nodeFlags: string[] = [],
  program = cli,
): { child: ChildProcess; metricsPort: number } {
  const metricsPort = 17470 + index;
  const child = inNs(
    [
      process.execPath,
      ...nodeFlags,
      program,
      'speaker',
      '--kubeconfig',
      join(dir, `kubeconfig-${apiPort}`),
      '--node-name',
      node,
      '--bind-address',
      '127.0.0.1',
      '--memberlist-port',
      String(7946 + index),
      '--metrics-port',
      String(metricsPort),
      '--metrics-address',
      '127.0.0.1',
      '--interfaces',
      'pspk-v0',
    ],
    { NODE_OPTIONS: shippedNodeOptions('speaker') },
  );
  return { child, metricsPort };
}

async function scale(count: number): Promise<string[]> {
  const apiPort = 16443;
  const api = await startApi(apiPort);
  const nodes = Array.from({ length: clusterSize }, (_, i) =>
    clusterSize === 1 ? 'pspk-node' : `pspk-node-${i}`,
  );
  await configure(api, nodes);
  const t0 = Date.now();
  await createServices(api, count, nodes);
  const createS = (Date.now() - t0) / 1000;
  const rows: string[] = [];
  for (let round = 0; round < rounds; round++) {
    if (baseline) rows.push(await measure(count, apiPort, nodes, baseline, 'baseline', createS));
    rows.push(await measure(count, apiPort, nodes, cli, baseline ? 'this tree' : '', createS));
  }
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  return rows;
}

/** Has the process write a heap snapshot (--heapsnapshot-signal) and waits until it is complete. */
async function heapSnapshot(pid: number, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  let size = -1;
  await until(
    'the heap snapshot',
    () => {
      file ??= readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
      if (!file) return false;
      const now = statSync(join(dir, file)).size;
      const done = now > 0 && now === size;
      size = now;
      return done;
    },
    120_000,
    1_000,
  );
  console.error(`[bench] heap snapshot of ${pid}: ${join(dir, file!)}`);
}

/**
 * The speakers (one per node) against the Services already in the API server: time until all
 * are announced, then RSS and CPU in steady state (the largest RSS, the mean CPU of a speaker).
 */
async function measure(
  count: number,
  apiPort: number,
  nodes: string[],
  program: string,
  label: string,
  createS: number,
): Promise<string> {
  const start = Date.now();
  const flags = [
    ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
    ...(heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapSnapshotDir}`] : []),
  ];
  const speakers = nodes.map((node, i) => startSpeaker(node, i, apiPort, flags, program));
  const sum = async (name: string) => {
    let total = 0;
    for (const { metricsPort } of speakers) {
      const value = await metric(metricsPort, name);
      if (value === undefined) return undefined;
      total += value;
    }
    return total;
  };
  await until(
    `${count} announced`,
    async () => (await sum('portico_speaker_announced{protocol="layer2"}')) === count,
    300_000,
    100,
  );
  const announceS = (Date.now() - start) / 1000;
  const announcedAt = Date.now();
  // Steady state is heartbeats, refreshes and idle watches: past the takeover bursts (5.5 s),
  // and past the Events the start causes (one per Service), which take longer than the bursts on
  // a loaded machine. (The development API server has no ServiceL2Status resource: those status
  // objects stay pending without costing anything.)
  await until('the Events written', async () => (await sum('portico_events_pending')) === 0, 300_000, 250);
  const drainedS = (Date.now() - announcedAt) / 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, announcedAt + 7_000 - Date.now())));
  const pids = speakers.map((s) => s.child.pid!);
  // Ownership must hold still in steady state: no lease step-downs, no quorum lost.
  const unrest = async () => {
    const lost: number[] = [];
    for (const { metricsPort } of speakers)
      lost.push(
        ((await metric(metricsPort, 'portico_speaker_layer2_stepdowns_total{reason="lease"}')) ?? 0) +
          ((await metric(metricsPort, 'portico_speaker_quorum_changes_total{state="lost"}')) ?? 0),
      );
    return lost;
  };
  const unrestBefore = await unrest();
  const a = pids.map(procStats);
  const threadsA = pids.map(threadTicks);
  await new Promise((r) => setTimeout(r, steadySeconds * 1000));
  const b = pids.map(procStats);
  const name = label || 'speaker';
  const unrestAfter = await unrest();
  console.error(
    `[bench] ${name}: lease step-downs + quorum losses during the steady window: ${unrestAfter.map((n, i) => n - unrestBefore[i]!).join(', ')}`,
  );
  console.error(`[bench] ${name}: Events written ${drainedS.toFixed(1)} s after all announced`);
  pids.forEach((pid, i) =>
    console.error(
      `[bench] ${name} ${nodes[i]}: steady CPU ticks by thread (user+system): ${threadReport(threadsA[i]!, threadTicks(pid))}`,
    ),
  );
  let heapMiB = 0;
  for (const { metricsPort } of speakers)
    heapMiB = Math.max(heapMiB, ((await metric(metricsPort, 'nodejs_heap_size_used_bytes')) ?? 0) / 2 ** 20);
  const hz = 100;
  const cpus = pids.map((_, i) => ((b[i]!.cpuTicks - a[i]!.cpuTicks) / hz / steadySeconds) * 100);
  const cpu = cpus.reduce((x, y) => x + y, 0) / cpus.length;
  const rss = Math.max(...b.map((x) => x.rssMiB));
  if (heapSnapshotDir) for (const pid of pids) await heapSnapshot(pid, heapSnapshotDir);
  // SIGTERM: a clean stop (withdraws, and writes the CPU profile when asked for).
  for (const { child } of speakers) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const who = [nodes.length > 1 ? `${nodes.length} speakers` : '', label].filter(Boolean).join(', ');
  const each = cpus.length > 1 ? ` (each ${cpus.map((c) => c.toFixed(1)).join(', ')})` : '';
  return `| ${count.toLocaleString('en')}${who ? ` (${who})` : ''} | ${announceS.toFixed(1)} s | ${rss.toFixed(0)} MiB (heap used ${heapMiB.toFixed(0)} MiB) | ${cpu.toFixed(1)} %${each} | (setup: ${createS.toFixed(0)} s) |`;
}

async function failover(): Promise<string> {
  const apiPort = 16444;
  const nodes = ['pspk-a', 'pspk-b', 'pspk-c'];
  const api = await startApi(apiPort);
  await configure(api, nodes);
  await createServices(api, 1, nodes);
  const ip = '198.18.1.0';
  const garps: number[] = [];
  const dump = inNs(['tcpdump', '-l', '-q', '-n', '-tt', '-i', 'pspk-v1', 'arp'], {}, 'pipe');
  let buffer = '';
  dump.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const l of lines)
      if (l.includes(`who-has ${ip} tell ${ip}`)) garps.push(Number(l.split(' ')[0]) * 1000);
  });
  const speakers = nodes.map((n, i) => ({ node: n, ...startSpeaker(n, i, apiPort) }));
  const owner = async () => {
    const owners = [];
    for (const s of speakers)
      if ((await metric(s.metricsPort, 'portico_speaker_announced{protocol="layer2"}')) === 1) owners.push(s);
    return owners.length === 1 ? owners[0] : undefined;
  };
  await until('first owner', async () => (await owner()) !== undefined, 30_000);
  const times: number[] = [];
  let tookBack = 0;
  for (let run = 0; run < runs; run++) {
    const victim = (await owner())!;
    await new Promise((r) => setTimeout(r, 6_000)); // let the previous takeover burst finish
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await until('a GARP from the new owner', () => garps.some((t) => t > killedAt), 10_000, 5);
    times.push(Math.round(garps.find((t) => t > killedAt)! - killedAt));
    const index = nodes.indexOf(victim.node);
    Object.assign(victim, startSpeaker(victim.node, index, apiPort));
    await until(
      'restarted speaker ready',
      async () => (await metric(victim.metricsPort, 'portico_speaker_members_alive')) === 2,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    if ((await metric(victim.metricsPort, 'portico_speaker_announced{protocol="layer2"}')) !== 0) tookBack++;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  for (const c of children.splice(0)) c.kill('SIGKILL');
  return `${runs} runs: median ${median} ms, min ${times[0]} ms, max ${times[times.length - 1]} ms; restarted node took the IP back: ${tookBack} times`;
}

async function inside(): Promise<void> {
  const lines: string[] = [];
  lines.push(
    '| announced layer-2 IPs | start to all announced | RSS | CPU (steady, one core) | |',
    '|---|---|---|---|---|',
  );
  for (const n of scales) lines.push(...(await scale(n)));
  // RUNS=0: the scale runs only.
  if (runs > 0)
    lines.push(
      '',
      `Failover (SIGKILL of the owner to the new owner's first gratuitous ARP): ${await failover()}`,
    );
  console.log(lines.join('\n'));
}

if (process.env.PSPK_INSIDE) {
  inside().then(
    () => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      for (const c of children) c.kill('SIGKILL');
      process.exit(1);
    },
  );
} else {
  try {
    setUp();
    execFileSync('ip', ['netns', 'exec', NETNS, process.execPath, import.meta.filename], {
      stdio: 'inherit',
      env: { ...process.env, PSPK_INSIDE: '1' },
    });
  } finally {
    tearDown();
    rmSync(dir, { recursive: true, force: true });
  }
}
