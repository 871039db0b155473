import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, expect, it } from 'vitest';
import { LeaderElector } from '../src/index.js';
import { startDevApiServer } from '@portico/dev-apiserver';

type Dev = Awaited<ReturnType<typeof startDevApiServer>>;
let dev: Dev | undefined;
const electors: LeaderElector[] = [];

afterEach(async () => {
  for (const e of electors.splice(0)) await e.stop();
  await dev?.close();
});

function elector(kc: KubeConfig, identity: string): LeaderElector {
  const e = new LeaderElector(kc, {
    namespace: 'portico-system',
    name: 'test-lease',
    identity,
    leaseDurationMs: 1_000,
    renewDeadlineMs: 800,
    retryPeriodMs: 200,
  });
  electors.push(e);
  return e;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('elects exactly one leader, and a standby takes over after the leader stops renewing', async () => {
  dev = await startDevApiServer({ port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(dev.kubeconfig());
  const a = elector(kc, 'a');
  const b = elector(kc, 'b');
  a.start();
  await sleep(300);
  b.start();
  // Over many rounds, never two leaders at once.
  for (let i = 0; i < 10; i++) {
    await sleep(100);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
  }
  expect(a.isLeader).toBe(true);

  // a "dies": it stops renewing without releasing the lease.
  const crashed = a as unknown as { running: boolean; timer: NodeJS.Timeout };
  crashed.running = false;
  clearTimeout(crashed.timer);
  const started = Date.now();
  while (!b.isLeader && Date.now() - started < 5_000) await sleep(50);
  expect(b.isLeader).toBe(true);
  expect(Date.now() - started).toBeGreaterThanOrEqual(700);
});

it('hands over at once when the leader releases the lease', async () => {
  dev = await startDevApiServer({ port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(dev.kubeconfig());
  const a = elector(kc, 'a');
  a.start();
  await sleep(300);
  const b = elector(kc, 'b');
  b.start();
  await sleep(300);
  expect(a.isLeader).toBe(true);
  await a.stop();
  const started = Date.now();
  while (!b.isLeader && Date.now() - started < 5_000) await sleep(20);
  expect(b.isLeader).toBe(true);
  // Well under the 1 s lease duration it would otherwise wait for (a few retry periods).
  expect(Date.now() - started).toBeLessThan(1_000);
});
