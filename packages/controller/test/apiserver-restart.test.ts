/**
 * The controller keeps running while kube-apiserver restarts (etcd and its data stay), and no
 * Service's IP moves. Only against a real kube-apiserver: the development API server keeps its
 * objects in memory, so it has no restart that keeps them.
 */
import { Watch } from '@kubernetes/client-node';
import { type KubeApiServer, startKubeApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Cluster, kubeConfigFor, runController, type RunningController } from './harness.js';

let kube: KubeApiServer;
let cluster: Cluster;
let running: RunningController | undefined;

beforeAll(async () => {
  // Without this, kube-apiserver waits on SIGTERM for the controller's open watches until it is
  // killed 10 s later; with it, it ends them after a second, as a rolling update would.
  kube = await startKubeApiServer({ extraArgs: ['--shutdown-watch-termination-grace-period=1s'] });
  cluster = new Cluster(kubeConfigFor(kube));
  await cluster.api.createNamespace({ body: { metadata: { name: 'portico-system' } } });
  await cluster.setConfig(
    'address-pools:\n  - name: main\n    protocol: layer2\n    addresses: [192.0.2.0/29]\n',
  );
});

afterAll(async () => {
  await running?.stop();
  await kube?.close();
});

it('a kube-apiserver restart, with etcd compacted meanwhile, moves no IP', { timeout: 90_000 }, async () => {
  running = await runController(cluster.kube);
  const names = Array.from({ length: 8 }, (_, i) => `svc-${i}`);
  for (const name of names) await cluster.createService(name);
  const before = new Map<string, string[]>();
  for (const name of names) before.set(name, await cluster.waitForIPs(name));
  // The pool (8 addresses) is full: this one waits for an address.
  await cluster.createService('late');
  await cluster.waitForEvent('Service', 'late', 'AllocationFailed');
  await running.controller.idle();
  // Eight addresses, and the condition that says why 'late' waits (PoolExhausted).
  const written = await running.metric('portico_k8s_status_updates_total', { result: 'ok' });
  expect(written).toBe(9);

  // While kube-apiserver is down, etcd is compacted: the controller's watches cannot resume from
  // where they were and must list again when it is back (checked below with a watch from a
  // resourceVersion at least as new as any the controller has seen; one more write makes sure
  // that the compaction passes it).
  const seen = (await cluster.api.listServiceForAllNamespaces()).metadata!.resourceVersion!;
  await cluster.createService('marker', { type: 'ClusterIP' });
  const down = Date.now();
  const restarted = kube.restart();
  await kube.compact();
  await restarted;
  const back = Date.now();
  expect(await watchFrom(seen)).toBe(410);

  // The controller still works: a released address goes to the waiting Service...
  const [freed] = before.get('svc-3')!;
  await cluster.api.deleteNamespacedService({ name: 'svc-3', namespace: 'default' });
  expect(await cluster.waitForIPs('late', 1, 'default', 30_000)).toEqual([freed]);
  console.log(
    `kube-apiserver restart: down for ${back - down} ms; the waiting Service served ${Date.now() - back} ms after it was back`,
  );
  // ...and nobody else moved, nor was even written to again.
  for (const name of names.filter((n) => n !== 'svc-3'))
    expect(await cluster.ips(name), name).toEqual(before.get(name));
  await running.controller.idle();
  expect(await running.metric('portico_k8s_status_updates_total', { result: 'ok' })).toBe(10);
  expect(await running.metric('portico_k8s_status_updates_total', { result: 'error' })).toBeUndefined();
});

/** The outcome of a watch of Services from RESOURCE_VERSION: 410 when it has expired. */
function watchFrom(resourceVersion: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let code: number | undefined;
    void new Watch(cluster.kc).watch(
      '/api/v1/services',
      { resourceVersion },
      (type, obj: { code?: number }) => {
        if (type === 'ERROR') code = obj.code;
      },
      (err: { statusCode?: number } | null) => resolve(err?.statusCode ?? code),
    );
  });
}
