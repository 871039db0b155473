/**
 * Benchmark: 10,000 LoadBalancer Services created against the development API server, from the
 * first create until every one has an IP in its status; a real `portico controller` process does
 * the work, and its peak RSS is read from /proc.
 *
 * Run: npm run bench -w @portico/controller   (after `npm ci`, which builds everything)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { applyObject, startDevApiServer } from '@portico/kube';

const count = Number(process.env.SERVICES ?? 10_000);
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');

const server = await startDevApiServer({ port: 0 });
const kc = new KubeConfig();
kc.loadFromString(server.kubeconfig());
const api = kc.makeApiClient(CoreV1Api);
const dir = mkdtempSync(join(tmpdir(), 'portico-bench-'));
writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());

await applyObject(kc, {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'config', namespace: 'portico-system' },
  data: {
    config: 'address-pools:\n  - name: bench\n    protocol: bgp\n    addresses: [2001:db8:be::/112]\n',
  },
});
const controller = spawn(
  process.execPath,
  [cli, 'controller', '--kubeconfig', join(dir, 'kubeconfig'), '--no-leader-elect', '--metrics-port', '0'],
  { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error' } },
);
let peakRss = 0;
const sampler = setInterval(() => {
  const status = readFileSync(`/proc/${controller.pid}/status`, 'utf8');
  peakRss = Math.max(peakRss, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
}, 100);

const started = performance.now();
for (let i = 0; i < count; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, count - i) }, (_, j) =>
      api.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name: `svc-${i + j}` },
          spec: { type: 'LoadBalancer', ipFamilies: ['IPv6'], ports: [{ port: 80, protocol: 'TCP' }] },
        },
      }),
    ),
  );
}
const created = performance.now();
const deadline = Date.now() + 600_000;
for (;;) {
  const list = await api.listNamespacedService({ namespace: 'default' });
  const done = list.items.filter((s) => (s.status?.loadBalancer?.ingress ?? []).length > 0).length;
  if (done === count) break;
  if (Date.now() > deadline) throw new Error(`only ${done} of ${count} Services got an IP in 10 minutes`);
  await new Promise((r) => setTimeout(r, 200));
}
const finished = performance.now();
clearInterval(sampler);
controller.kill('SIGTERM');
await server.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    services: count,
    createSeconds: +((created - started) / 1000).toFixed(2),
    allAssignedSeconds: +((finished - started) / 1000).toFixed(2),
    controllerPeakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
  }),
);
