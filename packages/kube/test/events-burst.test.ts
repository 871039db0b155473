/**
 * The event recorder in a burst, against both API servers: 10,000 distinct Events recorded at once
 * (one IPAllocated per Service when 10,000 Services arrive) are all written, none dropped, while
 * the recorder holds no more than its documented bounds; and repeats of one event, recorded while
 * it waits and after it was written, end up as one Event with the full count.
 */
import { CoreV1Api, type CoreV1Event, KubeConfig } from '@kubernetes/client-node';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  kubeconfigCredentials,
  EventRecorder,
  maxCachedEvents,
  maxPendingEvents,
} from '../src/index.js';

const burst = 10_000;

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;
  let api: CoreV1Api;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    api = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await kube?.close();
    await server?.close();
  });

  async function events(namespace: string): Promise<CoreV1Event[]> {
    const items: CoreV1Event[] = [];
    let _continue: string | undefined;
    do {
      const page = await api.listNamespacedEvent({ namespace, limit: 2000, _continue });
      items.push(...page.items);
      _continue = page.metadata?._continue || undefined;
    } while (_continue);
    return items;
  }

  const service = (namespace: string, i: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` },
  });

  it(
    `writes all of ${burst} distinct events recorded at once, within its bounds`,
    { timeout: 600_000 },
    async () => {
      const namespace = 'burst';
      await api.createNamespace({ body: { metadata: { name: namespace } } });
      const errors: unknown[] = [];
      const registry = new Registry();
      const recorder = new EventRecorder(kube, {
        component: 'burst-test',
        onError: (e) => errors.push(e),
        registry,
      });
      let mostPending = 0;
      const recorded: Array<Promise<void>> = [];
      for (let i = 0; i < burst; i++) {
        recorded.push(
          recorder.record(
            service(namespace, i),
            'Normal',
            'IPAllocated',
            `Assigned IP ["198.18.${i >> 8}.${i & 255}"]`,
          ),
        );
        mostPending = Math.max(mostPending, recorder.stats.pending);
      }
      const watcher = setInterval(() => (mostPending = Math.max(mostPending, recorder.stats.pending)), 50);
      await Promise.all(recorded);
      clearInterval(watcher);

      expect(errors).toEqual([]);
      expect(recorder.stats).toMatchObject({
        recorded: burst,
        written: burst,
        failed: 0,
        dropped: 0,
        pending: 0,
      });
      expect(mostPending).toBeLessThanOrEqual(maxPendingEvents);
      expect(recorder.stats.cached).toBe(Math.min(burst, maxCachedEvents));
      const metrics = await registry.metrics();
      expect(metrics).toContain(`portico_events_written_total{component="burst-test"} ${burst}`);
      expect(metrics).toContain(`portico_events_dropped_total{component="burst-test"} 0`);

      const listed = await events(namespace);
      expect(listed).toHaveLength(burst);
      expect(new Set(listed.map((e) => e.involvedObject.name)).size).toBe(burst);
      expect(listed.every((e) => e.count === 1 && e.reason === 'IPAllocated')).toBe(true);
    },
  );

  it('aggregates repeats, while waiting and after being written, into one Event with the right count', async () => {
    const namespace = 'repeats';
    await api.createNamespace({ body: { metadata: { name: namespace } } });
    const errors: unknown[] = [];
    const recorder = new EventRecorder(kube, { component: 'repeat-test', onError: (e) => errors.push(e) });
    const svc = service(namespace, 1);
    const other = service(namespace, 2);
    // 30 in one go: they merge while waiting, and one create carries them all.
    await Promise.all(
      Array.from({ length: 30 }, () => recorder.record(svc, 'Warning', 'AllocationFailed', 'full')),
    );
    expect(recorder.stats).toMatchObject({ recorded: 30, merged: 29, written: 1 });
    // 20 more after it exists, one by one and a batch: they bump its count.
    for (let i = 0; i < 5; i++) await recorder.record(svc, 'Warning', 'AllocationFailed', 'full');
    await Promise.all([
      ...Array.from({ length: 15 }, () => recorder.record(svc, 'Warning', 'AllocationFailed', 'full')),
      // The same event on another object is another Event.
      recorder.record(other, 'Warning', 'AllocationFailed', 'full'),
    ]);
    expect(errors).toEqual([]);

    const listed = await events(namespace);
    const mine = listed.filter((e) => e.involvedObject.name === 'svc-1');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      count: 50,
      type: 'Warning',
      reason: 'AllocationFailed',
      message: 'full',
    });
    expect(new Date(mine[0]!.lastTimestamp!).getTime()).toBeGreaterThanOrEqual(
      new Date(mine[0]!.firstTimestamp!).getTime(),
    );
    expect(listed.filter((e) => e.involvedObject.name === 'svc-2').map((e) => e.count)).toEqual([1]);
  });
});
