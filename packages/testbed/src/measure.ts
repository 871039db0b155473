/**
 * What the memory benchmarks (controller/bench/memory.ts, speaker/bench/memory*.ts) share, imported
 * as @portico/testbed/measure: a small HTTPS client of the real kube-apiserver, seeding Services,
 * and readings of a process from /proc, its metrics endpoint, and its heap after a forced
 * collection. A subpath, not the index: e2e tests importing the testbed need none of it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import type { KubeApiServer } from '@portico/dev-kube-apiserver';

export { shippedNodeOptions, type ShippedComponent } from './shipped-node-options.js';

export const progress = (line: string) => console.error(`[bench] ${line}`);
export const round = (n: number) => Math.round(n * 10) / 10;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kept-alive HTTPS to the API server as its admin; JSON in, JSON out. */
export class Client {
  private readonly agent: Agent;
  private readonly server: KubeApiServer;
  readonly concurrency: number;

  // No parameter properties: Node runs this file by stripping types, which cannot rewrite them.
  constructor(server: KubeApiServer, concurrency = 64) {
    this.server = server;
    this.concurrency = concurrency;
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca: server.caCert });
  }

  req(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.server.url}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.server.adminToken}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300)
              reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
            else resolve(JSON.parse(text));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Runs `job(i)` for i in [0, n) on `concurrency` lanes, as fast as the API server answers. */
  async lanes(n: number, job: (i: number) => Promise<unknown>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: this.concurrency }, async () => {
        while (next < n) await job(next++);
      }),
    );
  }

  close(): void {
    this.agent.destroy();
  }
}

/** What seedServices() writes: `count` LoadBalancer Services named `svc-<i>` in `namespace`. */
export interface ServiceSeed {
  namespace: string;
  count: number;
  /** Also a selector and a ready EndpointSlice with one endpoint on this node (what speakers need). */
  endpointsOn?: string;
  /** Also this IP in each Service's status (when no controller runs to assign one). */
  ip?: (i: number) => string;
}

/**
 * Creates the Services of a benchmark on the client's lanes, as fast as the API server takes them.
 * No node ports: 10,000 Services exceed the 2,768 node ports, as on a real cluster.
 */
export async function seedServices(client: Client, seed: ServiceSeed): Promise<void> {
  const base = `/api/v1/namespaces/${seed.namespace}`;
  await client.lanes(seed.count, async (i) => {
    const name = `svc-${i}`;
    const svc = (await createRetrying(client, `${base}/services`, `${base}/services/${name}`, {
      metadata: { name },
      spec: {
        type: 'LoadBalancer',
        allocateLoadBalancerNodePorts: false,
        ports: [{ port: 80, protocol: 'TCP' }],
        ...(seed.endpointsOn ? { selector: { app: name } } : {}),
      },
    })) as Record<string, unknown>;
    if (seed.ip) {
      svc.status = { loadBalancer: { ingress: [{ ip: seed.ip(i) }] } };
      await client.req('PUT', `${base}/services/${name}/status`, svc);
    }
    if (seed.endpointsOn) {
      const slices = `/apis/discovery.k8s.io/v1/namespaces/${seed.namespace}/endpointslices`;
      await createRetrying(client, slices, `${slices}/${name}-1`, {
        metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.0.1'], nodeName: seed.endpointsOn, conditions: { ready: true } }],
        ports: [{ port: 80, protocol: 'TCP' }],
      });
    }
  });
}

/**
 * A create that survives an API server too loaded to answer in time (504, or a reset): tried
 * again a few times; a create that went through although its answer did not is read back.
 */
async function createRetrying(
  client: Client,
  path: string,
  objectPath: string,
  body: unknown,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.req('POST', path, body);
    } catch (err) {
      const text = String(err);
      if (attempt > 1 && text.includes(': 409 ')) return client.req('GET', objectPath);
      if (attempt >= 5 || !/: (429|5\d\d) |ECONNRESET|socket hang up/.test(text)) throw err;
      await sleep(1000 * attempt);
    }
  }
}

/** How many Services in the namespace have an IP in their status. */
export async function servicesWithIp(client: Client, namespace: string): Promise<number> {
  const list = (await client.req('GET', `/api/v1/namespaces/${namespace}/services`)) as {
    items: Array<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>;
  };
  return list.items.filter((s) => (s.status?.loadBalancer?.ingress ?? []).length > 0).length;
}

export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  stepMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** MetalLB's CRDs from its module source, applied server-side (they exceed the annotation limit). */
export function installMetallbCrds(server: KubeApiServer, kubeconfig: string, sourceDir: string): void {
  const kubectl = (...args: string[]) =>
    execFileSync(server.binaries.kubectl, ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  kubectl('apply', '--server-side', '-f', join(sourceDir, 'config/crd/bases'));
  kubectl('wait', '--for=condition=Established', '--all', 'crd', '--timeout=60s');
}

// ---------------------------------------------------------------- a process

export interface Launched {
  child: ChildProcess;
  /** The last 20 kB of its output. */
  stderr(): string;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

const launched: ChildProcess[] = [];

export function launch(args: string[], env: Record<string, string>): Launched {
  const child = spawn(args[0]!, args.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  launched.push(child);
  let tail = '';
  let stopping = false;
  // MetalLB logs on stdout, Node's inspector announces itself on stderr: keep the tail of both.
  for (const stream of [child.stdout!, child.stderr!])
    stream.setEncoding('utf8').on('data', (chunk: string) => (tail = (tail + chunk).slice(-20_000)));
  child.on('exit', (code, signal) => {
    // MetalLB exits 1 on SIGTERM; only an exit the benchmark did not ask for is news.
    if (!stopping) progress(`${args[0]} exited (${signal ?? code}):\n${tail}`);
  });
  return {
    child,
    stderr: () => tail,
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** For a finally block: whatever is still running is killed. */
export function killAll(): void {
  for (const child of launched) if (child.exitCode === null) child.kill('SIGKILL');
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** User plus system CPU seconds `pid` has used so far (/proc/PID/stat, in clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Established TCP connections of `pid` whose remote end is `port` (the API server's). */
export function apiSockets(pid: number, port: number): number {
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
export function sampler(pid: number, apiPort: number) {
  const peak = { rssMiB: 0, sockets: 0 };
  const timer = setInterval(() => {
    try {
      peak.rssMiB = Math.max(peak.rssMiB, rssMiB(pid));
      peak.sockets = Math.max(peak.sockets, apiSockets(pid, apiPort));
    } catch {
      // the process is gone; its exit is reported by launch()
    }
  }, 100);
  return { peak, stop: () => clearInterval(timer) };
}

export async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of an unlabelled series, or of the one line that starts with `name` as given. */
export function gauge(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name.includes('{') ? name : `${name} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

// ---------------------------------------------------------------- live heap after a collection

/** A Node process's inspector, as a JSON-RPC channel over its WebSocket. */
export interface Inspector {
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

/** Opens the inspector of a Node process started with --inspect-port=127.0.0.1:0 (SIGUSR1). */
export async function openInspector(p: Launched): Promise<Inspector> {
  p.child.kill('SIGUSR1');
  let url: string | undefined;
  await until('the inspector', () => (url = /ws:\/\/\S+/.exec(p.stderr())?.[0]) !== undefined, 10_000, 50);
  return connectInspector(url!);
}

/**
 * Opens the inspector of process `pid` on a known port (node's cluster workers: the primary's
 * --inspect-port plus 1, 2, ...), finding its WebSocket through the inspector's /json/list.
 */
export async function openInspectorAt(pid: number, port: number): Promise<Inspector> {
  process.kill(pid, 'SIGUSR1');
  let url: string | undefined;
  await until(
    `the inspector of ${pid} on ${port}`,
    async () => {
      try {
        const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
          webSocketDebuggerUrl: string;
        }>;
        url = list[0]?.webSocketDebuggerUrl;
      } catch {
        // not listening yet
      }
      return url !== undefined;
    },
    10_000,
    50,
  );
  return connectInspector(url!);
}

/** Collects garbage, then reads the V8 heap in use: the live heap. */
export async function liveHeapMiB(inspector: Inspector): Promise<number> {
  await inspector.call('HeapProfiler.collectGarbage');
  const { usedSize } = (await inspector.call('Runtime.getHeapUsage')) as { usedSize: number };
  inspector.close();
  return usedSize / 2 ** 20;
}

async function connectInspector(url: string): Promise<Inspector> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  ws.onmessage = (m) => {
    const reply = JSON.parse(String(m.data)) as { id?: number; result: Record<string, unknown> };
    if (reply.id !== undefined) waiting.get(reply.id)?.(reply.result);
    if (reply.id !== undefined) waiting.delete(reply.id);
  };
  return {
    call: (method, params = {}) =>
      new Promise((resolve) => {
        const mine = ++id;
        waiting.set(mine, resolve);
        ws.send(JSON.stringify({ id: mine, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Node: open the inspector (SIGUSR1; start node with --inspect-port=127.0.0.1:0), collect, read. */
export async function nodeLiveHeapMiB(p: Launched): Promise<number> {
  return liveHeapMiB(await openInspector(p));
}

/**
 * Go (started with --enable-pprof): pprof's heap?gc=1 collects first; the gauge then reads live
 * bytes. The least of three readings, so a burst of work between collection and scrape (informer
 * resyncs, the scrape itself) does not count as live.
 */
export async function goLiveHeapMiB(metricsPort: number): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 3; i++) {
    await (await fetch(`http://127.0.0.1:${metricsPort}/debug/pprof/heap?gc=1`)).arrayBuffer();
    least = Math.min(least, gauge(await metrics(metricsPort), 'go_memstats_heap_alloc_bytes')!);
  }
  return least / 2 ** 20;
}
