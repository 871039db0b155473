// Speaker memory and CPU at 1,000 and 10,000 announced IPs, in the lab.
// Builds the lab, stops the kube-proxy stand-ins (not under test), adds a BGP pool from
// 198.18.0.0/15 (RFC 2544 range, only inside the lab's namespaces), then creates single-stack
// LoadBalancer Services with a ready endpoint each, so every speaker announces every one of them.
// For each step: time until the router has N routes from every node, the speakers' CPU seconds
// for that ramp, then RSS and CPU% over a 10 s steady window. FRR's bgpd (holding 3 paths per IP)
// is measured alongside for reference. Needs root, FRR and a built CLI. Prints JSON.
//   node test/e2e/lab/bench/speaker-scale.mjs [STEPS...]   (default: 1000 10000)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { LabApi, NODES, poolConfig, routerCli, routerPids, readState } from '@portico/lab';

const steps = process.argv.slice(2).map(Number);
if (steps.length === 0) steps.push(1000, 10000);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const portico = `${root}packages/cli/bin/portico.js`;
const dir = mkdtempSync(join(tmpdir(), 'portico-lab-scale-'));
const cli = (...args) => spawnSync(process.execPath, [portico, ...args], { encoding: 'utf8' });
if (process.getuid() !== 0) throw new Error('the speaker benchmark needs root');

const TICK = 100; // USER_HZ
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Routes the router received from each node over IPv4. */
function received(routerDir) {
  const s = JSON.parse(routerCli('frr', routerDir, 'show bgp ipv4 unicast summary json'));
  return NODES.map((n) => s.peers?.[n.ipv4]?.pfxRcd ?? 0);
}

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(250);
  }
  throw new Error(`timed out: ${what}`);
}

/** Runs `fn` over `items` with at most `width` in flight. */
async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

cli('lab', 'down', '--dir', dir);
const up = cli('lab', 'up', '--router', 'frr', '--dir', dir);
if (up.status !== 0) throw new Error(`lab up failed:\n${up.stdout}\n${up.stderr}`);
const results = { steps: [] };
try {
  const state = readState(dir);
  const routerDir = join(dir, 'router');
  for (const n of NODES) process.kill(state.pids[`proxy-${n.name}`], 'SIGTERM');
  const api = LabApi.fromKubeconfig(state.kubeconfig);
  const config = `${poolConfig()}  - name: bulk\n    protocol: bgp\n    auto-assign: false\n    addresses:\n      - 198.18.0.0/15\n`;
  await api.apply({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config', namespace: 'portico-system' },
    data: { config },
  });
  const demoSlice = await api.get(api.path('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'demo-lab'));
  const speakers = NODES.map((n) => state.pids[`speaker-${n.name}`]);
  const bgpd = routerPids(routerDir);
  const base = Math.max(...received(routerDir)); // the demo Service's own route(s)
  await sleep(5_000);
  const idle = speakers.map(cpuSeconds);
  await sleep(10_000);
  results.baseline = {
    announced: base,
    speakerRssMiB: round(mean(speakers.map(rssMiB))),
    speakerCpuPercent: round(mean(speakers.map((p, i) => ((cpuSeconds(p) - idle[i]) / 10) * 100)), 2),
  };

  console.error(JSON.stringify({ baseline: results.baseline }));
  let created = 0;
  for (const target of steps) {
    const names = Array.from({ length: target - created }, (_, i) => `bulk-${created + i}`);
    const cpu0 = speakers.map(cpuSeconds);
    const t0 = Date.now();
    await pool(names, 32, async (name) => {
      const svc = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'default', annotations: { 'portico.dev/address-pool': 'bulk' } },
        spec: {
          type: 'LoadBalancer',
          // 10,000 Services do not fit in the node-port range (30000-32767).
          allocateLoadBalancerNodePorts: false,
          ipFamilyPolicy: 'SingleStack',
          selector: { app: 'demo' },
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      };
      const slice = {
        ...demoSlice,
        metadata: {
          name: `${name}-lab`,
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': name },
        },
      };
      for (const [path, body] of [
        [api.path('v1', 'Service', 'default'), svc],
        [api.path('discovery.k8s.io/v1', 'EndpointSlice', 'default'), slice],
      ]) {
        const r = await api.request('POST', path, body);
        if (r.status >= 300) throw new Error(`${name}: HTTP ${r.status}`);
      }
    });
    const createdMs = Date.now() - t0;
    created = target;
    await until(
      () => received(routerDir).every((c) => c >= base + target),
      600_000,
      `${target} routes from every node`,
    );
    const convergedMs = Date.now() - t0;
    const ramp = speakers.map((p, i) => cpuSeconds(p) - cpu0[i]);
    await sleep(5_000);
    const c1 = speakers.map(cpuSeconds);
    const b1 = bgpd.map(cpuSeconds);
    await sleep(10_000);
    results.steps.push({
      announcedIps: target,
      objectsWrittenMs: createdMs,
      routerHasAllFromEveryNodeMs: convergedMs,
      speakerCpuSecondsForRamp: round(mean(ramp), 2),
      speakerRssMiB: {
        mean: round(mean(speakers.map(rssMiB))),
        max: round(Math.max(...speakers.map(rssMiB))),
      },
      speakerCpuPercentSteady: round(mean(speakers.map((p, i) => ((cpuSeconds(p) - c1[i]) / 10) * 100)), 2),
      frr: {
        rssMiB: bgpd.map((p) => round(rssMiB(p))),
        cpuPercentSteady: bgpd.map((p, i) => round(((cpuSeconds(p) - b1[i]) / 10) * 100, 2)),
      },
    });
    console.error(JSON.stringify(results.steps.at(-1)));
  }
} finally {
  cli('lab', 'down', '--dir', dir);
}
console.log(JSON.stringify(results, null, 2));
