/**
 * Two real `portico controller` processes against each API server: exactly one leads (its
 * metrics say so, the standby's say it does not), the other stands by and takes over within
 * seconds of the leader being killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, kubeConfigFor, waitFor } from './harness.js';

const cli = join(import.meta.dirname, '../../cli/bin/portico.js');
const dist = join(import.meta.dirname, '../../cli/dist/main.js');

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let cluster: Cluster;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npx tsc -b\` first (npm test does)`);
    server = await startTestApiServer(kind);
    cluster = new Cluster(kubeConfigFor(server));
    dir = mkdtempSync(join(tmpdir(), 'portico-leader-'));
    writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
    await cluster.setConfig(
      'address-pools:\n  - name: main\n    protocol: layer2\n    addresses: [192.0.2.0/28]\n',
    );
  });

  afterAll(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  interface Replica {
    process: ChildProcess;
    /** Where its metrics are served (it picks a free port and logs it). */
    metricsPort: Promise<number>;
  }

  function controller(identity: string): Replica {
    const child = spawn(
      process.execPath,
      [
        cli,
        'controller',
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--identity',
        identity,
        '--metrics-port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info' } },
    );
    children.push(child);
    const metricsPort = new Promise<number>((resolve, reject) => {
      child.once('exit', () => reject(new Error(`${identity} exited before serving metrics`)));
      // Its JSON log on stdout; warnings and errors are echoed so a failing test shows them.
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; port?: number; level?: number };
        if (entry.msg === 'metrics and health endpoints listening') resolve(entry.port!);
        if ((entry.level ?? 0) >= 40) console.error(`${identity}: ${line}`);
      });
    });
    metricsPort.catch(() => undefined);
    return { process: child, metricsPort };
  }

  /** The replica's own word on whether it leads (portico_controller_leader_bool). */
  async function leads(replica: Replica): Promise<boolean> {
    const res = await fetch(`http://127.0.0.1:${await replica.metricsPort}/metrics`);
    const value = /^portico_controller_leader_bool (\d+)$/m.exec(await res.text())?.[1];
    if (value === undefined) throw new Error('no portico_controller_leader_bool in its metrics');
    return value === '1';
  }

  async function holder(): Promise<string | undefined> {
    const api = cluster.kc.makeApiClient(CoordinationV1Api);
    const lease = await api
      .readNamespacedLease({ name: 'portico-controller', namespace: 'portico-system' })
      .catch(() => undefined);
    return lease?.spec?.holderIdentity || undefined;
  }

  it('the standby takes over within a few seconds of the leader dying', { timeout: 60_000 }, async () => {
    const replicas = { a: controller('replica-a'), b: controller('replica-b') };
    const leader = (await waitFor('a leader', holder)) as 'replica-a' | 'replica-b';
    await cluster.createService('before');
    expect(await cluster.waitForIPs('before')).toEqual(['192.0.2.0']);
    const [leading, standby] = leader === 'replica-a' ? [replicas.a, replicas.b] : [replicas.b, replicas.a];
    expect([await leads(leading), await leads(standby)]).toEqual([true, false]);

    const killedAt = Date.now();
    leading.process.kill('SIGKILL');
    await cluster.createService('after');
    expect(await cluster.waitForIPs('after', 1, 'default', 20_000)).toEqual(['192.0.2.1']);
    const takeoverMs = Date.now() - killedAt;
    expect(await holder()).toBe(leader === 'replica-a' ? 'replica-b' : 'replica-a');
    // Lease duration 4 s, renewed every second: the standby must win well within 10 s.
    expect(takeoverMs).toBeLessThan(10_000);
    console.log(`${kind}: leader failover: new Service served ${takeoverMs} ms after the leader was killed`);
    expect(await cluster.ips('before')).toEqual(['192.0.2.0']);
    expect(await leads(standby)).toBe(true);
  });
});
