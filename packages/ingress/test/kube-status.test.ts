/**
 * Ingress status against both API servers when status syncs outrun the watch: the controller's
 * cache still shows the old status right after its own write, so the next sync asks for the same
 * change again. The write must then be recognised as done (the re-read object already holds it):
 * one status write and one Serving Event per address, not one per sync. On a loaded machine the
 * production resync (and every compile) can land in that window; a 1 ms resync makes it certain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { IngressController } from '@portico/ingress';
import { ApiClient, kubeconfigCredentials, EventRecorder } from '@portico/kube';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { CountingEvents, RecordingSink } from './controller-fixtures.js';
import { eventually } from './eventually.js';

const INGRESSES = ['a', 'b', 'c', 'd', 'e'];
const ADDRESSES = ['192.0.2.10', '192.0.2.11', '192.0.2.12'];

describe.each(API_SERVERS)('Ingress status with syncs faster than the watch (%s API server)', (kind) => {
  let api: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;
  let controller: IngressController;
  let events: CountingEvents<string>;
  let registry: Registry;

  beforeAll(async () => {
    api = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    const core = kc.makeApiClient(CoreV1Api);
    const net = kc.makeApiClient(NetworkingV1Api);
    await net.createIngressClass({
      body: { metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } },
    });
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80 }] } },
    });
    for (const name of INGRESSES)
      await net.createNamespacedIngress({
        namespace: 'default',
        body: {
          metadata: { name, namespace: 'default' },
          spec: {
            ingressClassName: 'portico',
            rules: [
              {
                host: `${name}.example.com`,
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
    const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
    events = new CountingEvents(
      new EventRecorder(kube, {
        component: 'portico-ingress',
        onError: (err) => logger.warn({ err }, 'event'),
      }),
      (_type, reason, message) => `${reason}: ${message}`,
    );
    registry = new Registry();
    controller = new IngressController({
      api: kube,
      sink: new RecordingSink(),
      logger,
      registry,
      publishService: 'portico-system/ingress',
      className: 'portico',
      controllerName: 'portico.dev/ingress',
      debounceMs: 5,
      statusResyncMs: 1,
      events,
    });
    await controller.start();
    controller.setLeading(true);
    await controller.leadershipSettled();
  });

  afterAll(async () => {
    await controller?.stop();
    await api?.close();
  });

  it('writes each Ingress status once and records one Serving Event per address', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const net = kc.makeApiClient(NetworkingV1Api);
    for (const ip of ADDRESSES) {
      const lb = await core.readNamespacedService({ namespace: 'portico-system', name: 'ingress' });
      lb.status = { loadBalancer: { ingress: [{ ip }] } };
      await core.replaceNamespacedServiceStatus({ namespace: 'portico-system', name: 'ingress', body: lb });
      await eventually(async () => {
        const list = await net.listNamespacedIngress({ namespace: 'default' });
        return list.items.every((i) => i.status?.loadBalancer?.ingress?.[0]?.ip === ip);
      }, `every Ingress at ${ip}`);
      // A few hundred syncs with the status already current.
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(events.calls.sort()).toEqual(
      ADDRESSES.flatMap((ip) => INGRESSES.map(() => `Serving: serving at ${ip}`)),
    );
    const writes = await registry.getSingleMetric('portico_ingress_status_writes_total')!.get();
    expect(writes.values.map((v) => [v.labels.result, v.value])).toEqual([
      ['ok', ADDRESSES.length * INGRESSES.length],
    ]);
  });
});
