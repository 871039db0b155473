/**
 * Problems in Ingresses become Kubernetes Events and metrics, against both API servers (the
 * development one and a real kube-apiserver):
 * a Warning Event per new problem from the leader only (none from a follower), no new Events when
 * the same problems are found by later compiles, the gauge back to zero once the problems are
 * fixed, a Normal Event when the Ingress gets its address, and no duplicate Event objects when
 * another replica (or a restarted process) takes over as leader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  type CoreV1Event,
  type V1Ingress,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { IngressController, selfSignedPair } from '@portico/ingress';
import { ApiClient, kubeconfigCredentials, EventRecorder, type EventType } from '@portico/kube';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { CountingEvents, RecordingSink } from './controller-fixtures.js';
import { eventually } from './eventually.js';

interface Replica {
  controller: IngressController;
  sink: RecordingSink;
  events: CountingEvents<{ reason: string; type: EventType }>;
  registry: Registry;
}

let kc: KubeConfig;

let kube: ApiClient;

function replica(): Replica {
  const registry = new Registry();
  const sink = new RecordingSink();
  const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
  const events = new CountingEvents(
    new EventRecorder(kube, {
      component: 'portico-ingress',
      onError: (err) => logger.warn({ err }, 'event'),
    }),
    (type, reason) => ({ reason, type }),
  );
  const controller = new IngressController({
    api: kube,
    sink,
    logger,
    registry,
    publishService: 'portico-system/ingress',
    className: 'portico',
    controllerName: 'portico.dev/ingress',
    debounceMs: 5,
    statusResyncMs: 500,
    events,
  });
  return { controller, sink, events, registry };
}

async function gauge(r: Replica, name: string): Promise<Record<string, number>> {
  const metric = await r.registry.getSingleMetric(name)!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
}

async function eventsOf(name: string): Promise<CoreV1Event[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace: 'default' });
  return list.items
    .filter((e) => e.involvedObject.kind === 'Ingress' && e.involvedObject.name === name)
    .sort((a, b) => (a.reason! < b.reason! ? -1 : 1));
}

/** Resolves once every replica has compiled a table newer than the ones it had. */
async function recompiled(replicas: Replica[], before: number[]): Promise<void> {
  await eventually(
    async () => replicas.every((r, i) => r.sink.tables.length > before[i]!),
    'a recompile on every replica',
  );
}

const broken: V1Ingress = {
  metadata: { name: 'shop', namespace: 'default' },
  spec: {
    ingressClassName: 'portico',
    tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
    rules: [
      {
        host: 'shop.example.com',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { name: 'http' } } } },
          ],
        },
      },
    ],
  },
};

describe.each(API_SERVERS)('Ingress problems as Events and metrics (%s API server)', (kind) => {
  let api: TestApiServer;
  let leader: Replica;
  let follower: Replica;
  let restarted: Replica | undefined;

  beforeAll(async () => {
    api = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    const core = kc.makeApiClient(CoreV1Api);
    for (const ns of ['default', 'portico-system'])
      await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => undefined);
    await kc.makeApiClient(NetworkingV1Api).createIngressClass({
      body: { metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } },
    });
    leader = replica();
    follower = replica();
    await Promise.all([leader.controller.start(), follower.controller.start()]);
    leader.controller.setLeading(true);
    follower.controller.setLeading(false);
    await leader.controller.leadershipSettled();
  });

  afterAll(async () => {
    await leader?.controller.stop();
    await follower?.controller.stop();
    await restarted?.controller.stop();
    await api?.close();
  });

  let uid = '';

  it('writes one Warning Event per problem on the Ingress, from the leader only', async () => {
    const net = kc.makeApiClient(NetworkingV1Api);
    const created = await net.createNamespacedIngress({ namespace: 'default', body: broken });
    uid = created.metadata!.uid!;

    const events = await eventually(async () => {
      const list = await eventsOf('shop');
      return list.length >= 2 && list;
    }, 'two Warning Events on the Ingress');
    expect(
      events.map((e) => ({
        type: e.type,
        reason: e.reason,
        message: e.message,
        count: e.count,
        involved: e.involvedObject,
        component: e.source?.component,
      })),
    ).toEqual([
      {
        type: 'Warning',
        reason: 'BackendServiceNotFound',
        message: 'spec.rules[0].http.paths[0].backend.service.name: service "default/shop" not found',
        count: 1,
        involved: expect.objectContaining({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          namespace: 'default',
          name: 'shop',
          uid,
        }),
        component: 'portico-ingress',
      },
      {
        type: 'Warning',
        reason: 'SecretNotFound',
        message: 'spec.tls[0].secretName: secret "default/shop-tls" not found',
        count: 1,
        involved: expect.objectContaining({ kind: 'Ingress', name: 'shop', uid }),
        component: 'portico-ingress',
      },
    ]);
    expect(follower.events.calls).toEqual([]);
    // Both replicas count and gauge what they see; only the leader writes Events.
    for (const r of [leader, follower]) {
      const now = await gauge(r, 'portico_ingress_config_problems');
      expect([now.BackendServiceNotFound, now.SecretNotFound, now.RuleConflict]).toEqual([1, 1, 0]);
      const total = await gauge(r, 'portico_ingress_config_problems_total');
      expect([total.BackendServiceNotFound, total.SecretNotFound]).toEqual([1, 1]);
    }
  });

  it('finds the same problems again on later compiles without writing more Events', async () => {
    const net = kc.makeApiClient(NetworkingV1Api);
    const calls = leader.events.calls.length;
    for (let i = 0; i < 3; i++) {
      const before = [leader.sink.tables.length, follower.sink.tables.length];
      const ing = await net.readNamespacedIngress({ namespace: 'default', name: 'shop' });
      ing.metadata!.annotations = { touch: String(i) };
      await net.replaceNamespacedIngress({ namespace: 'default', name: 'shop', body: ing });
      await recompiled([leader, follower], before);
      expect(leader.sink.tables.at(-1)!.problems).toHaveLength(2);
    }
    expect(leader.events.calls.length).toBe(calls);
    const events = await eventsOf('shop');
    expect(events.map((e) => [e.reason, e.count])).toEqual([
      ['BackendServiceNotFound', 1],
      ['SecretNotFound', 1],
    ]);
    const total = await gauge(leader, 'portico_ingress_config_problems_total');
    expect([total.BackendServiceNotFound, total.SecretNotFound]).toEqual([1, 1]);
  });

  it('clears the gauge when the Service and the Secret appear, and announces the address', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'shop' }, spec: { ports: [{ name: 'http', port: 80 }] } },
    });
    const pair = selfSignedPair('shop.example.com');
    await core.createNamespacedSecret({
      namespace: 'default',
      body: {
        metadata: { name: 'shop-tls' },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(pair.cert).toString('base64'),
          'tls.key': Buffer.from(pair.key).toString('base64'),
        },
      },
    });
    for (const r of [leader, follower])
      await eventually(async () => {
        const now = await gauge(r, 'portico_ingress_config_problems');
        return Object.values(now).every((n) => n === 0);
      }, 'every problem gauge at zero');
    expect(leader.sink.tables.at(-1)!.problems).toEqual([]);

    const lb = await core.createNamespacedService({
      namespace: 'portico-system',
      body: {
        metadata: { name: 'ingress' },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] },
      },
    });
    lb.status = { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } };
    await core.replaceNamespacedServiceStatus({ namespace: 'portico-system', name: 'ingress', body: lb });
    const serving = await eventually(
      async () => (await eventsOf('shop')).find((e) => e.reason === 'Serving'),
      'the Normal Serving Event',
    );
    expect([serving.type, serving.message, serving.involvedObject.uid]).toEqual([
      'Normal',
      'serving at 192.0.2.10',
      uid,
    ]);
    expect(follower.events.calls).toEqual([]);
  });

  it('a problem that comes back bumps the count of its Event instead of adding one', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.deleteNamespacedService({ namespace: 'default', name: 'shop' });
    const event = await eventually(
      async () =>
        (await eventsOf('shop')).find((e) => e.reason === 'BackendServiceNotFound' && e.count === 2),
      'the BackendServiceNotFound Event counted twice',
    );
    expect(event.message).toBe(
      'spec.rules[0].http.paths[0].backend.service.name: service "default/shop" not found',
    );
    expect((await eventsOf('shop')).map((e) => e.reason)).toEqual([
      'BackendServiceNotFound',
      'SecretNotFound',
      'Serving',
    ]);
    const total = await gauge(leader, 'portico_ingress_config_problems_total');
    expect(total.BackendServiceNotFound).toBe(2);
    expect((await gauge(leader, 'portico_ingress_config_problems')).BackendServiceNotFound).toBe(1);
  });

  it('a follower that becomes leader continues the Events already written, without duplicates', async () => {
    const before = { leader: leader.events.calls.length, follower: follower.events.calls.length };
    const [existing] = (await eventsOf('shop')).filter((e) => e.reason === 'BackendServiceNotFound');
    expect(existing?.count).toBe(2);
    leader.controller.setLeading(false);
    follower.controller.setLeading(true);
    follower.controller.setLeading(true);
    await follower.controller.leadershipSettled();
    // The problem is merely still there: its Event is left alone (same object, same count).
    expect(follower.events.calls.slice(before.follower)).toEqual([]);
    const after = await eventsOf('shop');
    expect(after.map((e) => [e.metadata!.name, e.reason, e.count])).toEqual([
      [existing!.metadata!.name, 'BackendServiceNotFound', 2],
      [expect.any(String), 'SecretNotFound', 1],
      [expect.any(String), 'Serving', 1],
    ]);

    // Fixed and broken again under the new leader: the old leader's Event is bumped, not repeated.
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'shop' }, spec: { ports: [{ name: 'http', port: 80 }] } },
    });
    await eventually(
      async () => (await gauge(follower, 'portico_ingress_config_problems')).BackendServiceNotFound === 0,
      'the new leader to see the Service',
    );
    await core.deleteNamespacedService({ namespace: 'default', name: 'shop' });
    await eventually(
      async () =>
        (await eventsOf('shop')).some((e) => e.reason === 'BackendServiceNotFound' && e.count === 3),
      'the BackendServiceNotFound Event counted three times',
    );
    const bumped = (await eventsOf('shop')).filter((e) => e.reason === 'BackendServiceNotFound');
    expect(bumped.map((e) => [e.metadata!.name, e.count])).toEqual([[existing!.metadata!.name, 3]]);
    expect(follower.events.calls.slice(before.follower)).toEqual([
      { reason: 'BackendServiceNotFound', type: 'Warning' },
    ]);
    expect(leader.events.calls.length).toBe(before.leader);
  });

  it('a restarted process that becomes leader writes no Event for a problem still present', async () => {
    const objects = (await eventsOf('shop')).map((e) => [e.metadata!.name, e.reason, e.count]);
    restarted = replica();
    await restarted.controller.start();
    follower.controller.setLeading(false);
    restarted.controller.setLeading(true);
    await restarted.controller.leadershipSettled();
    expect(restarted.sink.tables.at(-1)!.problems).toHaveLength(1);
    expect(restarted.events.calls).toEqual([]);
    expect((await eventsOf('shop')).map((e) => [e.metadata!.name, e.reason, e.count])).toEqual(objects);
  });
});
