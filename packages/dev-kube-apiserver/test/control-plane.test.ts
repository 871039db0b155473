/**
 * The real control plane for tests and the lab: what `startKubeApiServer` and
 * `portico dev kube-apiserver` promise (issue 10, item 1, and its failure cases).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findGo, pinnedKubernetesVersion, startKubeApiServer, type KubeApiServer } from '../src/index.js';

const run = promisify(execFile);
const root = new URL('../../../', import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the direct children of a process (etcd and kube-apiserver run under it). */
function childrenOf(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  return readFileSync(`${tasks}/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  } catch {
    return '';
  }
}

async function waitUntil(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('startKubeApiServer', () => {
  let server: KubeApiServer;
  let kubeconfig: string;
  const kubectl = (...args: string[]) =>
    run(server.binaries.kubectl, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });

  beforeAll(async () => {
    server = await startKubeApiServer({ watchCache: false });
    kubeconfig = join(server.dataDir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfig());
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is the pinned Kubernetes version, stamped into /version and into kubectl', async () => {
    const { stdout } = await kubectl('version', '-o', 'json');
    const versions = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(pinnedKubernetesVersion()).toMatch(/^v1\.\d+\.\d+$/);
    expect(versions.serverVersion.gitVersion).toBe(pinnedKubernetesVersion());
    expect(versions.clientVersion.gitVersion).toBe(pinnedKubernetesVersion());
  });

  it('serves the admin kubeconfig over TLS with the system namespaces the API server makes itself', async () => {
    const { stdout } = await kubectl('get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}');
    expect(stdout.split(' ')).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
  });

  it('authorizes with RBAC: a ServiceAccount token is refused what no Role grants, an unknown token is refused', async () => {
    await kubectl('create', 'serviceaccount', 'nobody', '-n', 'default');
    const { stdout: token } = await kubectl('create', 'token', 'nobody', '-n', 'default');
    const asNobody = join(server.dataDir, 'nobody.kubeconfig');
    writeFileSync(asNobody, server.kubeconfigForToken(token.trim(), 'nobody'));
    const denied = await run(server.binaries.kubectl, [
      '--kubeconfig',
      asNobody,
      'get',
      'secrets',
      '-n',
      'default',
    ]).catch((err: { stderr: string }) => err.stderr);
    expect(denied).toMatch(
      /Forbidden.*system:serviceaccount:default:nobody.*cannot list resource "secrets"/s,
    );

    const stranger = join(server.dataDir, 'stranger.kubeconfig');
    writeFileSync(stranger, server.kubeconfigForToken('not-a-token', 'stranger'));
    const refused = await run(server.binaries.kubectl, ['--kubeconfig', stranger, 'get', 'ns']).catch(
      (err: { stderr: string }) => err.stderr,
    );
    expect(refused).toMatch(/Unauthorized|must be logged in/);
  });

  it('answers 410 Gone for a resourceVersion older than an etcd compaction', async () => {
    await kubectl('create', 'configmap', 'before-compaction', '-n', 'default', '--from-literal=a=1');
    const { stdout: rv } = await kubectl(
      'get',
      'configmap',
      'before-compaction',
      '-n',
      'default',
      '-o',
      'jsonpath={.metadata.resourceVersion}',
    );
    // A watch from rv starts at rv + 1, and compacting to R keeps R: two writes put R past rv + 1.
    await kubectl('create', 'configmap', 'after-1', '-n', 'default');
    await kubectl('create', 'configmap', 'after-2', '-n', 'default');
    const revision = await server.compact();
    expect(revision).toBeGreaterThan(Number(rv) + 1);
    const { stdout } = await kubectl(
      'get',
      '--raw',
      `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=1`,
    );
    // The watch opens with 200 and then sends an ERROR event carrying the 410 Status.
    expect(stdout).toMatch(/"type":"ERROR".*"code":410/s);
  });

  it('restarts kube-apiserver alone: the data in etcd and the URL stay', async () => {
    await kubectl('create', 'configmap', 'survives-restart', '-n', 'default', '--from-literal=k=v');
    await server.restart();
    const { stdout } = await kubectl(
      'get',
      'configmap',
      'survives-restart',
      '-n',
      'default',
      '-o',
      'jsonpath={.data.k}',
    );
    expect(stdout).toBe('v');
  });
});

describe('startKubeApiServer failures and clean-up', () => {
  it('refuses a port in use, naming it, and leaves no data directory or process behind', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'portico-kube-test-'));
    try {
      await expect(startKubeApiServer({ port, dataDir: join(dataDir, 'inner') })).rejects.toThrow(
        new RegExp(`port ${port} on 127.0.0.1 is in use`),
      );
      expect(
        childrenOf(process.pid).filter((pid) => /kube-apiserver|etcd|setpriv/.test(commandOf(pid))),
      ).toEqual([]);
    } finally {
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stops both processes and removes its temporary data directory on close', async () => {
    const server = await startKubeApiServer();
    const pids = childrenOf(process.pid).filter((pid) => /kube-apiserver|etcd|setpriv/.test(commandOf(pid)));
    expect(pids.length).toBe(2);
    await server.close();
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(server.dataDir)).toBe(false);
  });

  it('keeps a data directory it was given, and a new start on it finds the objects', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'portico-kube-kept-'));
    try {
      const first = await startKubeApiServer({ dataDir });
      const kc = join(dataDir, 'kc');
      writeFileSync(kc, first.kubeconfig());
      await run(first.binaries.kubectl, ['--kubeconfig', kc, 'create', 'configmap', 'kept', '-n', 'default']);
      await first.close();
      expect(existsSync(join(dataDir, 'etcd'))).toBe(true);
      const second = await startKubeApiServer({ dataDir });
      writeFileSync(kc, second.kubeconfig());
      const { stdout } = await run(second.binaries.kubectl, [
        '--kubeconfig',
        kc,
        'get',
        'configmap',
        'kept',
        '-n',
        'default',
        '-o',
        'name',
      ]);
      expect(stdout.trim()).toBe('configmap/kept');
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says what to install when there is no Go', async () => {
    await expect(findGo(['/nonexistent/bin/go'])).rejects.toThrow(/needs Go 1\.26 or newer.*install Go/s);
  });
});

describe('portico dev kube-apiserver', () => {
  const portico = join(root, 'packages/cli/bin/portico.js');

  // Whatever a failed test leaves running is killed (its etcd and kube-apiserver die with it).
  const spawned: ChildProcess[] = [];
  afterEach(() => {
    for (const child of spawned.splice(0)) child.kill('SIGKILL');
  });

  function start(args: string[]) {
    const child = spawn(process.execPath, [portico, 'dev', 'kube-apiserver', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    spawned.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exit, out: () => stdout, err: () => stderr };
  }

  it('prints its URL, writes a working kubeconfig, and on SIGTERM stops both processes and removes its data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-kube-cli-'));
    const kubeconfigFile = join(dir, 'kubeconfig');
    const cli = start(['--kubeconfig-out', kubeconfigFile]);
    try {
      await waitUntil(
        'the URL on stdout and the start-up log line on stderr',
        () => /https:\/\/127\.0\.0\.1:\d+/.test(cli.out()) && cli.err().includes('"dataDir"'),
        60_000,
      );
      const config = JSON.parse(readFileSync(kubeconfigFile, 'utf8')) as {
        clusters: Array<{ cluster: { server: string } }>;
      };
      expect(config.clusters[0]!.cluster.server).toBe(cli.out().trim());
      const dataDir = /"dataDir":"([^"]+)"/.exec(cli.err())![1]!;
      const kubectlPath = /"kubectl":"([^"]+)"/.exec(cli.err())![1]!;
      const { stdout } = await run(kubectlPath, [
        '--kubeconfig',
        kubeconfigFile,
        'get',
        'ns',
        'default',
        '-o',
        'name',
      ]);
      expect(stdout.trim()).toBe('namespace/default');
      const pids = childrenOf(cli.child.pid!);
      expect(pids.length).toBe(2);
      cli.child.kill('SIGTERM');
      expect(await cli.exit).toBe(0);
      expect(pids.filter(alive)).toEqual([]);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      cli.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('killed outright, takes etcd and kube-apiserver with it; the next start removes its abandoned data', async () => {
    const cli = start([]);
    await waitUntil(
      'the URL on stdout and the start-up log line on stderr',
      () => /https:\/\/127\.0\.0\.1:\d+/.test(cli.out()) && cli.err().includes('"dataDir"'),
      60_000,
    );
    const dataDir = /"dataDir":"([^"]+)"/.exec(cli.err())![1]!;
    const pids = childrenOf(cli.child.pid!);
    expect(pids.length).toBe(2);
    cli.child.kill('SIGKILL');
    await cli.exit;
    await waitUntil('etcd and kube-apiserver to die with their parent', () => pids.every((p) => !alive(p)));
    expect(existsSync(dataDir)).toBe(true);
    const next = await startKubeApiServer();
    await next.close();
    expect(existsSync(dataDir)).toBe(false);
  });

  it('exits 2 on a usage error and 1, naming the port, when the port is in use', async () => {
    const bad = start(['--bogus']);
    expect(await bad.exit).toBe(2);
    expect(bad.err()).toMatch(/unknown argument --bogus/);

    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const busy = start(['--port', String(port)]);
      expect(await busy.exit).toBe(1);
      expect(busy.err()).toMatch(new RegExp(`port ${port} on 127.0.0.1 is in use`));
    } finally {
      blocker.close();
    }
  });
});
