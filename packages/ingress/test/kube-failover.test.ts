/**
 * Two ingress replicas behind one coordination.k8s.io Lease, wired as `portico ingress
 * --leader-elect` wires them, against both API servers (the development one and a real
 * kube-apiserver): the leader alone writes Ingress status and the Serving Event; when it stops, the
 * other takes the Lease over, writes nothing for what is already current, and keeps the status
 * following the publish Service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { IngressController } from '@portico/ingress';
import { ApiClient, EventRecorder, kubeconfigCredentials, LeaderElector } from '@portico/kube';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { CountingEvents, RecordingSink } from './controller-fixtures.js';
import { eventually } from './eventually.js';

interface Replica {
  name: string;
  controller: IngressController;
  elector: LeaderElector;
  events: CountingEvents<{ reason: string; message: string }>;
}

describe.each(API_SERVERS)('ingress replicas failing over (%s API server)', (kind) => {
  let api: TestApiServer;
  let kc: KubeConfig;
  let replicas: Replica[] = [];

  function replica(name: string): Replica {
    const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
    // Each replica is a process of its own, with a connection pool of its own.
    const kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    const events = new CountingEvents(
      new EventRecorder(kube, {
        component: 'portico-ingress',
        onError: (err) => logger.warn({ err }, 'event'),
      }),
      (_type, reason, message) => ({ reason, message }),
    );
    const controller = new IngressController({
      api: kube,
      sink: new RecordingSink(),
      logger,
      registry: new Registry(),
      publishService: 'portico-system/ingress',
      className: 'portico',
      controllerName: 'portico.dev/ingress',
      debounceMs: 5,
      statusResyncMs: 500,
      events,
    });
    // Short timings so a test sees a take-over in about a second; the protocol is the production one.
    const elector = new LeaderElector(kube, {
      namespace: 'portico-system',
      name: 'portico-ingress',
      identity: name,
      leaseDurationMs: 2_000,
      renewDeadlineMs: 1_500,
      retryPeriodMs: 200,
    });
    elector.on('started', () => controller.setLeading(true));
    elector.on('stopped', () => controller.setLeading(false));
    // As the CLI does: a failed request (409 when both create the Lease at once) is retried next period.
    elector.on('error', (err: unknown) =>
      logger.warn({ err: String(err) }, 'leader election request failed'),
    );
    return { name, controller, elector, events };
  }

  async function setPublishAddress(ip: string): Promise<void> {
    const core = kc.makeApiClient(CoreV1Api);
    const lb = await core.readNamespacedService({ namespace: 'portico-system', name: 'ingress' });
    lb.status = { loadBalancer: { ingress: [{ ip }] } };
    await core.replaceNamespacedServiceStatus({ namespace: 'portico-system', name: 'ingress', body: lb });
  }

  async function statusOfApp(): Promise<string[]> {
    const ing = await kc
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ namespace: 'default', name: 'app' });
    return (ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
  }

  async function servingEvents(): Promise<string[]> {
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' });
    return list.items
      .filter((e) => e.involvedObject.name === 'app' && e.reason === 'Serving')
      .map((e) => `${e.message} x${e.count ?? 1}`)
      .sort();
  }

  async function leader(): Promise<Replica> {
    return eventually(async () => {
      const leaders = replicas.filter((r) => r.elector.isLeader);
      return leaders.length === 1 && leaders[0];
    }, 'exactly one leader');
  }

  beforeAll(async () => {
    api = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    const core = kc.makeApiClient(CoreV1Api);
    const net = kc.makeApiClient(NetworkingV1Api);
    await net.createIngressClass({
      body: { metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } },
    });
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80 }] } },
    });
    await net.createNamespacedIngress({
      namespace: 'default',
      body: {
        metadata: { name: 'app', namespace: 'default' },
        spec: {
          ingressClassName: 'portico',
          rules: [
            {
              host: 'app.example.com',
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'web', port: { name: 'http' } } },
                  },
                ],
              },
            },
          ],
        },
      },
    });
    await core.createNamespacedService({
      namespace: 'portico-system',
      body: {
        metadata: { name: 'ingress' },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] },
      },
    });
    // What the Portico controller does for our LoadBalancer Service.
    await setPublishAddress('192.0.2.10');
    replicas = [replica('ingress-a'), replica('ingress-b')];
    for (const r of replicas) await r.controller.start();
    for (const r of replicas) r.elector.start();
  });

  afterAll(async () => {
    for (const r of replicas) {
      await r.elector.stop();
      await r.controller.stop();
    }
    await api?.close();
  });

  it('only the leader writes the Ingress status and its Serving Event', async () => {
    const first = await leader();
    await eventually(async () => (await statusOfApp()).join() === '192.0.2.10', 'the status of app');
    await eventually(async () => (await servingEvents()).length > 0, 'the Serving Event');
    // Give the follower's resync loop (500 ms) time to misbehave.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await servingEvents()).toEqual(['serving at 192.0.2.10 x1']);
    expect(first.events.calls).toEqual([{ reason: 'Serving', message: 'serving at 192.0.2.10' }]);
    expect(replicas.filter((r) => r !== first).map((r) => r.events.calls)).toEqual([[]]);
  });

  it('when the leader stops, the other takes over and keeps the status current without repeating Events', async () => {
    const first = await leader();
    const second = replicas.find((r) => r !== first)!;
    const firstCalls = first.events.calls.length;
    // A planned stop (SIGTERM): the Lease is released, so the standby need not wait for it to expire.
    await first.elector.stop();
    await first.controller.stop();
    await eventually(async () => second.elector.isLeader, 'the standby to take the Lease');
    await second.controller.leadershipSettled();
    // The status is already current and its Event written: the new leader adds nothing.
    await new Promise((r) => setTimeout(r, 700));
    expect(second.events.calls).toEqual([]);
    expect(await servingEvents()).toEqual(['serving at 192.0.2.10 x1']);

    await setPublishAddress('192.0.2.11');
    await eventually(
      async () => (await statusOfApp()).join() === '192.0.2.11',
      'the new address in the status',
    );
    await eventually(
      async () => (await servingEvents()).length === 2,
      'the Serving Event of the new address',
    );
    expect(await servingEvents()).toEqual(['serving at 192.0.2.10 x1', 'serving at 192.0.2.11 x1']);
    expect(second.events.calls).toEqual([{ reason: 'Serving', message: 'serving at 192.0.2.11' }]);
    expect(first.events.calls.length).toBe(firstCalls);
  });
});
