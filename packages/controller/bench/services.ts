/**
 * Benchmark: 10,000 LoadBalancer Services created against the development API server, timed from
 * the first create until every one has an IP in its status. As in a cluster, the API server, the
 * controller and the load generator are separate processes; the controller's peak RSS is sampled
 * from /proc.
 *
 * Run: npm run bench -w @portico/controller   (SERVICES=N to change the count)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const count = Number(process.env.SERVICES ?? 10_000);
const concurrency = 64;
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');
const dir = mkdtempSync(join(tmpdir(), 'portico-bench-'));
const kubeconfig = join(dir, 'kubeconfig');
const port = 20000 + (process.pid % 10000);
const base = `http://127.0.0.1:${port}`;
const children: ChildProcess[] = [];

function portico(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'error' },
  });
  children.push(child);
  return child;
}

async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

try {
  portico(['dev', 'apiserver', '--port', String(port), '--kubeconfig-out', kubeconfig]);
  await until(
    'the API server',
    () =>
      existsSync(kubeconfig) &&
      fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      ),
    15_000,
  );
  await api('POST', '/api/v1/namespaces/portico-system/configmaps', {
    metadata: { name: 'config' },
    data: {
      config: 'address-pools:\n  - name: bench\n    protocol: bgp\n    addresses: [2001:db8:be::/112]\n',
    },
  });
  const controller = portico([
    'controller',
    '--kubeconfig',
    kubeconfig,
    '--no-leader-elect',
    '--metrics-port',
    '0',
  ]);
  let peakRss = 0;
  const sampler = setInterval(() => {
    const status = readFileSync(`/proc/${controller.pid}/status`, 'utf8');
    peakRss = Math.max(peakRss, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
  }, 100);

  const started = performance.now();
  let next = 0;
  const create = async () => {
    while (next < count) {
      const i = next++;
      await api('POST', '/api/v1/namespaces/default/services', {
        metadata: { name: `svc-${i}` },
        // 10,000 Services exceed the 2,768 node ports, as on a real cluster.
        spec: {
          type: 'LoadBalancer',
          allocateLoadBalancerNodePorts: false,
          ipFamilies: ['IPv6'],
          ports: [{ port: 80, protocol: 'TCP' }],
        },
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, create));
  const created = performance.now();
  await until(
    'every Service to get an IP',
    async () => {
      const list = (await api('GET', '/api/v1/namespaces/default/services')) as {
        items: Array<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>;
      };
      return list.items.filter((s) => (s.status?.loadBalancer?.ingress ?? []).length > 0).length === count;
    },
    900_000,
  );
  const finished = performance.now();
  clearInterval(sampler);
  console.log(
    JSON.stringify({
      services: count,
      createSeconds: +((created - started) / 1000).toFixed(2),
      allAssignedSeconds: +((finished - started) / 1000).toFixed(2),
      controllerPeakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
    }),
  );
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
