/**
 * One kept-alive connection pool per API server (issue 12): a real `portico controller` process
 * while 1,200 LoadBalancer Services are created at once, against the real kube-apiserver (HTTPS:
 * every new socket would also be a TLS handshake) and the development API server (plain HTTP).
 * The sockets the process holds to the API server are counted from /proc every 20 ms through the
 * whole burst; they never exceed the pool's bound (DEFAULT_CONNECTIONS: its watches plus the
 * requests in flight), where a connection per call opened thousands.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { ApiClient, applyObject, DEFAULT_CONNECTIONS, kubeconfigCredentials } from '@portico/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = new URL('../../cli/dist/main.js', import.meta.url).pathname;
const SERVICES = 1_200;

/** Established TCP connections of process PID to local port PORT (the API server's). */
function establishedTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // closed between listing and reading
    }
  }
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const remotePort = parseInt(fields[2]!.split(':')[1]!, 16);
      // st 01 = ESTABLISHED; field 9 is the socket's inode.
      if (fields[3] === '01' && remotePort === port && inodes.has(fields[9]!)) count++;
    }
  }
  return count;
}

describe.each(API_SERVERS)('the controller against the %s API server during a burst', (kind) => {
  let server: TestApiServer;
  let port: number;
  let kube: ApiClient;
  let dir: string;
  let controller: ChildProcess | undefined;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    port = Number(new URL(server.url).port);
    kube = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    dir = mkdtempSync(join(tmpdir(), 'portico-sockets-'));
    writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
    await applyObject(kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'burst' } });
    await applyObject(kube, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'portico-system' },
      data: { config: 'address-pools: [{name: default, protocol: layer2, addresses: [10.96.0.0/20]}]' },
    });
  }, 120_000);
  afterAll(async () => {
    if (controller && controller.exitCode === null) controller.kill('SIGKILL');
    await kube?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    `holds at most ${DEFAULT_CONNECTIONS} sockets to the API server while ${SERVICES} Services get an IP`,
    {
      timeout: 180_000,
    },
    async () => {
      controller = spawn(
        process.execPath,
        [cli, 'controller', '--kubeconfig', join(dir, 'kubeconfig'), '--metrics-port', '0'],
        { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
      );
      const pid = controller.pid!;
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(establishedTo(pid, port)), 20);
      try {
        // It is connected: the count sees the process's sockets at all.
        const deadline = Date.now() + 30_000;
        while (establishedTo(pid, port) < 1) {
          if (Date.now() > deadline) throw new Error('the controller never connected');
          await new Promise((r) => setTimeout(r, 50));
        }

        const started = Date.now();
        // The test's own client: 64 creates in flight at a time.
        const names = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
        for (let i = 0; i < names.length; i += 64) {
          await Promise.all(
            names.slice(i, i + 64).map((name) =>
              kube.request('POST', '/api/v1/namespaces/burst/services', {
                body: {
                  metadata: { name },
                  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
                },
              }),
            ),
          );
        }
        const served = async () => {
          const list = await kube.request<{
            items: Array<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>;
          }>('GET', '/api/v1/namespaces/burst/services');
          return list.items.filter((s) => (s.status?.loadBalancer?.ingress?.length ?? 0) > 0).length;
        };
        const serveDeadline = Date.now() + 120_000;
        while ((await served()) < SERVICES) {
          if (Date.now() > serveDeadline) throw new Error(`only ${await served()} of ${SERVICES} got an IP`);
          await new Promise((r) => setTimeout(r, 250));
        }
        const seconds = (Date.now() - started) / 1000;
        const most = Math.max(...samples);
        console.log(
          `${kind}: ${SERVICES} Services served in ${seconds.toFixed(1)} s; at most ${most} sockets to the API server (bound ${DEFAULT_CONNECTIONS}), ${samples.length} samples`,
        );
        expect(samples.length).toBeGreaterThan(50);
        expect(most).toBeGreaterThanOrEqual(1);
        expect(most).toBeLessThanOrEqual(DEFAULT_CONNECTIONS);
      } finally {
        clearInterval(sampler);
        controller.kill('SIGTERM');
        await once(controller, 'exit');
      }
    },
  );
});
