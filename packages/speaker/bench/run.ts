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
 * BENCH_CPU_PROFILE=DIR writes a V8 CPU profile of the scale runs' speakers into DIR (on exit).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLoopedNetns, deleteNetns } from '@portico/testbed';

// BENCH_NETNS runs a second copy beside a first.
const NETNS = process.env.BENCH_NETNS ?? 'pspk-bench';
const cpuProfileDir = process.env.BENCH_CPU_PROFILE;
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');
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
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
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
): { child: ChildProcess; metricsPort: number } {
  const metricsPort = 17470 + index;
  const child = inNs([
    process.execPath,
    ...nodeFlags,
    cli,
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
  ]);
  return { child, metricsPort };
}

async function scale(count: number): Promise<string> {
  const apiPort = 16443;
  const api = await startApi(apiPort);
  await configure(api, ['pspk-node']);
  const t0 = Date.now();
  await createServices(api, count, ['pspk-node']);
  const createS = (Date.now() - t0) / 1000;
  const start = Date.now();
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const { child, metricsPort } = startSpeaker('pspk-node', 0, apiPort, profile);
  const announced = () => metric(metricsPort, 'portico_speaker_announced{protocol="layer2"}');
  await until(`${count} announced`, async () => (await announced()) === count, 300_000, 100);
  const announceS = (Date.now() - start) / 1000;
  // Past the takeover bursts (5.5 s): steady state is heartbeats, refreshes and idle watches.
  await new Promise((r) => setTimeout(r, 7_000));
  const pid = child.pid!;
  const a = procStats(pid);
  await new Promise((r) => setTimeout(r, 10_000));
  const b = procStats(pid);
  const heapMiB = ((await metric(metricsPort, 'nodejs_heap_size_used_bytes')) ?? 0) / 2 ** 20;
  const hz = 100;
  const cpu = ((b.cpuTicks - a.cpuTicks) / hz / 10) * 100;
  if (cpuProfileDir) {
    // The profile is written at exit: a SIGTERM lets the speaker shut down cleanly.
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  return `| ${count.toLocaleString('en')} | ${announceS.toFixed(1)} s | ${b.rssMiB.toFixed(0)} MiB (heap used ${heapMiB.toFixed(0)} MiB) | ${cpu.toFixed(1)} % | (setup: ${createS.toFixed(0)} s) |`;
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
  for (const n of scales) lines.push(await scale(n));
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
