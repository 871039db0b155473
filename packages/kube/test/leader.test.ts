/**
 * Leader election over a coordination.k8s.io/v1 Lease, against both API servers: exactly one
 * leader, a standby takes over once the leader stops renewing, and at once when it releases.
 */
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, kubeconfigCredentials, LeaderElector } from '../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let kube: ApiClient;
  const electors: LeaderElector[] = [];
  /** Failed Lease requests; a server that refuses our Lease (e.g. its timestamps) shows up here. */
  const errors: unknown[] = [];
  let leases = 0;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    kube = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
  });
  afterAll(async () => {
    await kube?.close();
    await server?.close();
  });
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop();
    errors.length = 0;
    leases++;
  });

  /** Electors of one test share a Lease; each test has its own. */
  function elector(identity: string): LeaderElector {
    const e = new LeaderElector(kube, {
      namespace: 'portico-system',
      name: `test-lease-${leases}`,
      identity,
      leaseDurationMs: 1_000,
      renewDeadlineMs: 800,
      retryPeriodMs: 200,
    });
    e.on('error', (err) => errors.push(err));
    electors.push(e);
    return e;
  }

  it('elects exactly one leader, and a standby takes over after the leader stops renewing', async () => {
    const a = elector('a');
    const b = elector('b');
    a.start();
    await sleep(300);
    b.start();
    // Over many rounds, never two leaders at once.
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    }
    expect(a.isLeader).toBe(true);

    // a "dies": its next rounds never happen, so it stops renewing without releasing the lease
    // (a round already in flight finishes as a crashed process's last request would).
    (a as unknown as { tick: () => Promise<void> }).tick = async () => undefined;
    const started = Date.now();
    while (!b.isLeader && Date.now() - started < 5_000) await sleep(50);
    expect(b.isLeader).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(errors).toEqual([]);
  });

  it('hands over at once when the leader releases the lease', async () => {
    const a = elector('a');
    a.start();
    await sleep(300);
    const b = elector('b');
    b.start();
    await sleep(300);
    expect(a.isLeader).toBe(true);
    await a.stop();
    const started = Date.now();
    while (!b.isLeader && Date.now() - started < 5_000) await sleep(20);
    expect(b.isLeader).toBe(true);
    // Well under the 1 s lease duration it would otherwise wait for (a few retry periods).
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(errors).toEqual([]);
  });
});
