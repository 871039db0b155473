/**
 * No long-running process pays for @kubernetes/client-node's generated models (issue 12): the
 * controller, the speaker and the ingress primary reach the API server through @portico/kube's
 * lean client, and the ingress workers load no Kubernetes client at all. Idle, none loads Node's
 * bundled undici (what an ES module import of node:http pulls in through its WebSocket getters:
 * kube/src/node-http.ts), and the ingress loads the undici package only on first use
 * (ingress/src/lazy-undici.ts).
 *
 * Each is a real `portico` process started with a module hook (module.registerHooks, inherited by
 * the ingress's cluster workers through execArgv) that records every module URL it resolves,
 * static or dynamic, import or require. The processes run until ready and until the controller has
 * written an IP and its Events, so modules loaded lazily on those paths are seen too. At exit the
 * hook also records Node's own modules the process loaded (process.moduleLoadList), as
 * `builtin:NAME` lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { ApiClient, applyObject, kubeconfigCredentials } from '@portico/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const clientNode = 'node_modules/@kubernetes/client-node/';

/** Records each resolved module URL in $MODULE_LOG_DIR/<pid>-<primary|worker>.log. */
const hook = `
import cluster from 'node:cluster';
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
const role = cluster.isWorker ? 'worker' : 'primary';
const out = process.env.MODULE_LOG_DIR + '/' + process.pid + '-' + role + '.log';
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    appendFileSync(out, resolved.url + '\\n');
    return resolved;
  },
});
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule '));
  appendFileSync(out, builtins.map((m) => 'builtin:' + m.slice('NativeModule '.length) + '\\n').join(''));
});
`;
/** Node's bundled undici: loaded by node:http's WebSocket, CloseEvent and MessageEvent getters. */
const bundledUndici = 'builtin:internal/deps/undici/undici';
const undiciPackage = 'node_modules/undici/';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Modules {
  role: 'primary' | 'worker';
  urls: string[];
}

describe.each(API_SERVERS)('processes against the %s API server', (kind) => {
  let server: TestApiServer;
  let kube: ApiClient;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    kube = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    dir = mkdtempSync(join(tmpdir(), 'portico-modules-'));
    writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
    writeFileSync(join(dir, 'hook.mjs'), hook);
    // BGP without peers: the speaker announces nothing, so it needs no raw socket or router.
    await applyObject(kube, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'portico-system' },
      data: { config: 'address-pools: [{name: default, protocol: bgp, addresses: [192.0.2.0/28]}]' },
    });
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await kube?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `portico ARGS` with the hook; resolves with its metrics port once /readyz answers 200. */
  async function start(name: string, args: string[], metricsPort: number): Promise<ChildProcess> {
    const logDir = join(dir, name);
    mkdirSync(logDir);
    const child = spawn(process.execPath, ['--import', join(dir, 'hook.mjs'), cli, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, MODULE_LOG_DIR: logDir, LOG_LEVEL: 'warn' },
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    children.push(child);
    await waitFor(`${name} to be ready (${stderr})`, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
      return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200;
    });
    return child;
  }

  function modules(name: string): Modules[] {
    const logDir = join(dir, name);
    return readdirSync(logDir).map((file) => ({
      role: file.endsWith('-worker.log') ? 'worker' : 'primary',
      urls: readFileSync(join(logDir, file), 'utf8').split('\n').filter(Boolean),
    }));
  }

  it('the hook sees client-node when a process does load it (the control)', async () => {
    const logDir = join(dir, 'control');
    mkdirSync(logDir);
    const child = spawn(
      process.execPath,
      [
        '--import',
        join(dir, 'hook.mjs'),
        '--input-type=module',
        '-e',
        "await import('@kubernetes/client-node')",
      ],
      { cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, MODULE_LOG_DIR: logDir } },
    );
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(modules('control')[0]!.urls.some((u) => u.includes(clientNode))).toBe(true);
  });

  it("the hook sees Node's bundled undici when an ES module imports node:http (the control)", async () => {
    for (const [name, code] of [
      ['control-esm-http', "import 'node:http';"],
      [
        'control-require-http',
        "import { createRequire } from 'node:module'; createRequire(import.meta.url)('node:http');",
      ],
    ] as const) {
      const logDir = join(dir, name);
      mkdirSync(logDir);
      const child = spawn(
        process.execPath,
        ['--import', join(dir, 'hook.mjs'), '--input-type=module', '-e', code],
        {
          env: { ...process.env, MODULE_LOG_DIR: logDir },
        },
      );
      const [exitCode] = (await once(child, 'exit')) as [number | null];
      expect(exitCode).toBe(0);
    }
    const esm = modules('control-esm-http')[0]!.urls;
    const required = modules('control-require-http')[0]!.urls;
    expect(esm).toContain('builtin:http');
    expect(esm).toContain(bundledUndici);
    expect(required).toContain('builtin:http');
    expect(required).not.toContain(bundledUndici);
  });

  it(
    'the controller, the speaker and the ingress (primary and workers) never load @kubernetes/client-node, nor undici idle',
    { timeout: 120_000 },
    async () => {
      const kubeconfig = join(dir, 'kubeconfig');
      const [controllerMetrics, speakerMetrics, ingressMetrics] = [
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      const processes = [
        await start(
          'controller',
          ['controller', '--kubeconfig', kubeconfig, '--metrics-port', String(controllerMetrics)],
          controllerMetrics,
        ),
        await start(
          'speaker',
          [
            'speaker',
            '--kubeconfig',
            kubeconfig,
            '--node-name',
            'modules-node',
            '--bind-address',
            '127.0.0.1',
            '--memberlist-port',
            String(await freePort()),
            '--metrics-port',
            String(speakerMetrics),
            '--metrics-address',
            '127.0.0.1',
          ],
          speakerMetrics,
        ),
        await start(
          'ingress',
          [
            'ingress',
            '--kubeconfig',
            kubeconfig,
            '--listen-address',
            '127.0.0.1',
            '--http-port',
            String(await freePort()),
            '--https-port',
            String(await freePort()),
            '--metrics-port',
            String(ingressMetrics),
            '--workers',
            '2',
            '--no-leader-elect',
            '--shutdown-delay',
            '0',
            '--shutdown-grace',
            '1',
          ],
          ingressMetrics,
        ),
      ];

      // The write paths too: a status write and its Events.
      await applyObject(kube, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'modules-web', namespace: 'default' },
        spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
      });
      await waitFor('an IP on default/modules-web', async () => {
        const svc = await kube.request<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>(
          'GET',
          '/api/v1/namespaces/default/services/modules-web',
        );
        return (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
      });
      await waitFor('the IPAllocated Event', async () => {
        const list = await kube.request<{ items: Array<{ reason?: string }> }>(
          'GET',
          '/api/v1/namespaces/default/events',
        );
        return list.items.some((e) => e.reason === 'IPAllocated');
      });

      for (const child of processes) child.kill('SIGTERM');
      await Promise.all(processes.map((child) => once(child, 'exit')));

      for (const name of ['controller', 'speaker', 'ingress']) {
        const primary = modules(name).filter((m) => m.role === 'primary');
        expect(primary, name).toHaveLength(1);
        const urls = primary[0]!.urls;
        // The hook saw the process reach the API server through the lean client ...
        expect(
          urls.some((u) => u.includes('/packages/kube/dist/client/api-client.js')),
          `${name} loads the lean client`,
        ).toBe(true);
        // ... and not through client-node.
        expect(
          urls.filter((u) => u.includes(clientNode)),
          name,
        ).toEqual([]);
        // The exit hook ran (it lists node:http), and Node's bundled undici was never loaded.
        expect(urls, name).toContain('builtin:http');
        expect(urls, name).not.toContain(bundledUndici);
      }
      // Idle (no Ingress, no request served): the ingress never needed an undici pool or agent.
      expect(modules('ingress')[0]!.urls.filter((u) => u.includes(undiciPackage))).toEqual([]);

      const workers = modules('ingress').filter((m) => m.role === 'worker');
      expect(workers).toHaveLength(2);
      for (const worker of workers) {
        expect(worker.urls.some((u) => u.includes('/packages/ingress/dist/workers.js'))).toBe(true);
        expect(worker.urls.filter((u) => u.includes(clientNode) || u.includes('/packages/kube/'))).toEqual(
          [],
        );
        expect(worker.urls).toContain('builtin:http2');
        expect(worker.urls).not.toContain(bundledUndici);
        expect(worker.urls.filter((u) => u.includes(undiciPackage))).toEqual([]);
      }
    },
  );
});
