import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, kubeConfigFor, runController, waitFor } from './harness.js';

const count = 1000;

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let cluster: Cluster;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    cluster = new Cluster(kubeConfigFor(server));
    await cluster.setConfig(
      'address-pools:\n  - name: v6\n    protocol: bgp\n    addresses: [2001:db8:100::/118]\n',
    );
  });

  afterAll(async () => {
    await server?.close();
  });

  it(`a restart with ${count} assigned Services changes no IP`, { timeout: 180_000 }, async () => {
    const first = await runController(cluster.kube);
    const names = Array.from({ length: count }, (_, i) => `svc-${i}`);
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((n) => cluster.createService(n, { ipFamilies: ['IPv6'] })),
      );
    }
    const snapshot = async () => {
      const list = await cluster.api.listNamespacedService({ namespace: 'default' });
      return new Map(
        list.items
          .filter((s) => s.spec?.type === 'LoadBalancer')
          .map((s) => [s.metadata!.name!, (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip)]),
      );
    };
    const before = await waitFor(
      'every Service to have an IP',
      async () => {
        const snap = await snapshot();
        return [...snap.values()].filter((ips) => ips.length === 1).length === count ? snap : undefined;
      },
      120_000,
    );
    expect(new Set([...before.values()].map((ips) => ips[0])).size).toBe(count);
    await first.stop();

    const second = await runController(cluster.kube);
    await waitFor('the restarted controller to be ready', () => second.controller.ready);
    await cluster.createService('newcomer', { ipFamilies: ['IPv6'] });
    const [newIP] = await cluster.waitForIPs('newcomer');
    await second.controller.idle();

    const after = await snapshot();
    for (const name of names) expect(after.get(name), name).toEqual(before.get(name));
    expect([...before.values()].map((ips) => ips[0])).not.toContain(newIP);
    // Only the newcomer's status was written by the restarted controller.
    expect(await second.metric('portico_k8s_status_updates_total', { result: 'ok' })).toBe(1);
    await second.stop();
  });
});
