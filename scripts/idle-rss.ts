// Idle RSS of the long-running processes (issue 12): `portico controller`, `portico speaker` and
// `portico ingress --workers 2` against a development API server on loopback, with a ConfigMap
// (one BGP pool, no peers: nothing announced, no raw sockets) and no Services. Each is started,
// waited for until /readyz answers, left to settle, and its VmRSS read from /proc (the ingress:
// primary plus workers). With BURST_SERVICES > 0, that many LoadBalancer Services are then
// created (64 requests in flight): the controller's and the speaker's peak RSS (sampled every
// 100 ms), the time from the last create until every Service has an IP, and RSS once settled.
//
//   npx tsc -b && node_modules/.bin/node scripts/idle-rss.ts [CLI_MAIN_JS] [SETTLE_SECONDS] [BURST_SERVICES]
//
// CHILD_NODE_OPTIONS, when set, is the Portico processes' NODE_OPTIONS (not this script's, which
// also runs the API server), e.g. CHILD_NODE_OPTIONS=--max-semi-space-size=2 (a space: none);
// unset, the controller and the speaker get what their manifests ship (shippedNodeOptions), the
// ingress none. CHILD_NODE_ARGS, when
// set, are node flags put before the script (for V8 flags NODE_OPTIONS refuses), e.g.
// CHILD_NODE_ARGS='--single-threaded-gc --max-semi-space-size=1'.
// CLI_MAIN_JS (empty: this tree's packages/cli/dist/main.js) can be another tree's, to compare.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevApiServer } from '@portico/dev-apiserver';
import { shippedNodeOptions } from '@portico/testbed/measure';

const cli = process.argv[2] || new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const settleMs = Number(process.argv[3] ?? 15) * 1000;
const burst = Number(process.argv[4] ?? 0);
const dir = mkdtempSync(join(tmpdir(), 'portico-idle-rss-'));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const round1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/** User plus system CPU seconds of a process so far, from /proc/PID/stat (clock ticks of 10 ms). */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const children = (pid) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);

const server = await startDevApiServer({ port: 0 });
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, server.kubeconfig());
// The development API server starts with portico-system.
const path = '/api/v1/namespaces/portico-system/configmaps';
const res = await fetch(server.url.replace(/\/$/, '') + path, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    metadata: { name: 'config' },
    data: { config: 'address-pools: [{name: default, protocol: bgp, addresses: [10.96.0.0/16]}]' },
  }),
});
if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);

// Whatever happens (a process that is not ready in time included), no process outlives this script.
const spawned: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
});

function childNodeOptions(name: string): string {
  if (process.env.CHILD_NODE_OPTIONS !== undefined) return process.env.CHILD_NODE_OPTIONS;
  return name === 'controller' || name === 'speaker' ? shippedNodeOptions(name) : '';
}

async function start(name: string, args: string[], metricsPort: number): Promise<ChildProcess> {
  // Warnings and errors are kept in DIR/NAME.log and shown when something fails.
  const log = openSync(join(dir, `${name}.log`), 'w');
  const nodeArgs = (process.env.CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, cli, ...args, '--kubeconfig', kubeconfig], {
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: childNodeOptions(name),
    },
  });
  spawned.push(child);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return child;
    if (Date.now() > deadline) throw new Error(`${name} not ready within 60 s`);
    await sleep(100);
  }
}

const ports = { controller: await freePort(), speaker: await freePort(), ingress: await freePort() };
const procs = {
  controller: await start(
    'controller',
    ['controller', '--metrics-port', String(ports.controller)],
    ports.controller,
  ),
  speaker: await start(
    'speaker',
    [
      'speaker',
      '--node-name',
      'idle-node',
      '--bind-address',
      '127.0.0.1',
      '--memberlist-port',
      String(await freePort()),
      '--metrics-port',
      String(ports.speaker),
      '--metrics-address',
      '127.0.0.1',
    ],
    ports.speaker,
  ),
  ingress: await start(
    'ingress',
    [
      'ingress',
      '--listen-address',
      '127.0.0.1',
      '--http-port',
      String(await freePort()),
      '--https-port',
      String(await freePort()),
      '--metrics-port',
      String(ports.ingress),
      '--workers',
      '2',
      '--no-leader-elect',
      '--shutdown-delay',
      '0',
    ],
    ports.ingress,
  ),
};
await sleep(settleMs);
const workers = children(procs.ingress.pid!);
const result: Record<string, unknown> = {
  cli,
  nodeOptions: childNodeOptions('controller'),
  nodeArgs: process.env.CHILD_NODE_ARGS ?? '',
  settleSeconds: settleMs / 1000,
  controllerMiB: Math.round(rssMiB(procs.controller.pid!)),
  speakerMiB: Math.round(rssMiB(procs.speaker.pid!)),
  ingressPrimaryMiB: Math.round(rssMiB(procs.ingress.pid!)),
  ingressWorkersMiB: workers.map((pid) => Math.round(rssMiB(pid))),
};
const ingressMiB = [procs.ingress.pid!, ...workers].map((pid) => rssMiB(pid));
result.ingressTotalMiB = Math.round(ingressMiB.reduce((a, b) => a + b, 0));

if (burst > 0) {
  const base = server.url.replace(/\/$/, '');
  const peak = { controller: 0, speaker: 0 };
  const cpuBefore = {
    controller: cpuSeconds(procs.controller.pid!),
    speaker: cpuSeconds(procs.speaker.pid!),
  };
  const alive = () => {
    for (const [name, child] of Object.entries(procs))
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${name} exited during the burst: ${readFileSync(join(dir, `${name}.log`), 'utf8')}`);
  };
  const sampler = setInterval(() => {
    if (procs.controller.exitCode !== null || procs.speaker.exitCode !== null) return;
    peak.controller = Math.max(peak.controller, rssMiB(procs.controller.pid!));
    peak.speaker = Math.max(peak.speaker, rssMiB(procs.speaker.pid!));
  }, 100);
  const create = async (i: number) => {
    const res = await fetch(`${base}/api/v1/namespaces/default/services`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: `burst-${i}` },
        // No node ports: 10,000 Services would not fit the default range.
        spec: {
          type: 'LoadBalancer',
          allocateLoadBalancerNodePorts: false,
          ports: [{ port: 80, protocol: 'TCP' }],
        },
      }),
    });
    if (!res.ok) throw new Error(`create burst-${i}: ${res.status} ${await res.text()}`);
  };
  const firstCreate = Date.now();
  for (let i = 0; i < burst; i += 64) {
    if (i % 1024 === 0) alive();
    await Promise.all(Array.from({ length: Math.min(64, burst - i) }, (_, j) => create(i + j)));
  }
  const written = Date.now();
  for (;;) {
    const list = (await (await fetch(`${base}/api/v1/namespaces/default/services`)).json()) as {
      items: Array<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>;
    };
    if (list.items.filter((s) => (s.status?.loadBalancer?.ingress?.length ?? 0) > 0).length >= burst) break;
    alive();
    if (Date.now() - written > 300_000) throw new Error('not every Service got an IP within 300 s');
    await sleep(2000);
  }
  result.burstServices = burst;
  result.allServedSecondsAfterLastWrite = Math.round((Date.now() - written) / 100) / 10;
  result.burstSeconds = round1((Date.now() - firstCreate) / 1000);
  // CPU the burst cost each process, from the first create until every Service had an IP.
  result.controllerBurstCpuSeconds = round1(cpuSeconds(procs.controller.pid!) - cpuBefore.controller);
  result.speakerBurstCpuSeconds = round1(cpuSeconds(procs.speaker.pid!) - cpuBefore.speaker);
  await sleep(settleMs);
  clearInterval(sampler);
  result.controllerPeakMiB = Math.round(peak.controller);
  result.speakerPeakMiB = Math.round(peak.speaker);
  result.controllerSettledMiB = Math.round(rssMiB(procs.controller.pid!));
  result.speakerSettledMiB = Math.round(rssMiB(procs.speaker.pid!));
}
console.log(JSON.stringify(result));

for (const child of Object.values(procs)) child.kill('SIGTERM');
await Promise.all(Object.values(procs).map((c) => new Promise((r) => c.once('exit', r))));
await server.close();
rmSync(dir, { recursive: true, force: true });
