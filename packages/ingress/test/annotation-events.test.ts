/**
 * An annotation with a bad value, against both API servers: a Warning Event on that Ingress naming
 * the annotation and the value, counted in the problem gauge; that Ingress and the others are still
 * served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, NetworkingV1Api, type V1Ingress } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { IngressController } from '@portico/ingress';
import { ApiClient, EventRecorder, kubeconfigCredentials } from '@portico/kube';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { RecordingSink } from './controller-fixtures.js';
import { eventually } from './eventually.js';

function ingressWith(
  name: string,
  host: string,
  annotations: Record<string, string>,
  path = '/',
  pathType = 'Prefix',
): V1Ingress {
  return {
    metadata: { name, namespace: 'default', annotations },
    spec: {
      ingressClassName: 'portico',
      rules: [
        {
          host,
          http: {
            paths: [{ path, pathType, backend: { service: { name: 'web', port: { number: 80 } } } }],
          },
        },
      ],
    },
  };
}

describe.each(API_SERVERS)('InvalidAnnotation Events (%s API server)', (kind) => {
  let api: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;
  let controller: IngressController;
  const sink = new RecordingSink();
  const registry = new Registry();

  beforeAll(async () => {
    api = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    const core = kc.makeApiClient(CoreV1Api);
    for (const ns of ['default', 'portico-system'])
      await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => undefined);
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } },
    });
    await kc.makeApiClient(NetworkingV1Api).createIngressClass({
      body: { metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } },
    });
    const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
    controller = new IngressController({
      api: kube,
      sink,
      logger,
      registry,
      publishService: 'portico-system/ingress',
      className: 'portico',
      controllerName: 'portico.dev/ingress',
      debounceMs: 5,
      statusResyncMs: 500,
      events: new EventRecorder(kube, { component: 'portico-ingress' }),
    });
    await controller.start();
    controller.setLeading(true);
    await controller.leadershipSettled();
  });

  afterAll(async () => {
    await controller?.stop();
    await kube?.close();
    await api?.close();
  });

  it('names the annotation and the value on that Ingress only; both Ingresses are served', async () => {
    const net = kc.makeApiClient(NetworkingV1Api);
    await net.createNamespacedIngress({
      namespace: 'default',
      body: ingressWith('bad', 'bad.example.com', { 'nginx.ingress.kubernetes.io/ssl-redirect': 'yes' }),
    });
    await net.createNamespacedIngress({
      namespace: 'default',
      body: ingressWith('good', 'good.example.com', { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }),
    });
    const core = kc.makeApiClient(CoreV1Api);
    const event = await eventually(async () => {
      const list = await core.listNamespacedEvent({ namespace: 'default' });
      return list.items.find((e) => e.reason === 'InvalidAnnotation');
    }, 'the InvalidAnnotation Event');
    expect([event.type, event.involvedObject.kind, event.involvedObject.name, event.message]).toEqual([
      'Warning',
      'Ingress',
      'bad',
      'metadata.annotations["nginx.ingress.kubernetes.io/ssl-redirect"]: "yes" is not a boolean ("true" or "false"); ignored',
    ]);
    const table = await eventually(async () => {
      const t = sink.tables.at(-1);
      return t && t.served.length === 2 && t;
    }, 'both Ingresses in the table');
    expect(table.hosts.map((h) => h.host)).toEqual(['bad.example.com', 'good.example.com']);
    expect(table.hosts[1]!.prefix[0]!.target.sslRedirect).toBe(false);
    const list = await core.listNamespacedEvent({ namespace: 'default' });
    expect(list.items.filter((e) => e.involvedObject.name === 'good' && e.type === 'Warning')).toEqual([]);
    const gauge = await registry.getSingleMetric('portico_ingress_config_problems')!.get();
    expect(gauge.values.find((v) => v.labels.reason === 'InvalidAnnotation')?.value).toBe(1);
  });

  it('a bad source range closes the routes, an unusable regex path is refused: each an Event saying so', async () => {
    const net = kc.makeApiClient(NetworkingV1Api);
    await net.createNamespacedIngress({
      namespace: 'default',
      body: ingressWith('closed', 'closed.example.com', {
        'nginx.ingress.kubernetes.io/allowlist-source-range': '10.0.0.0/8, 10.1.0.0/99',
      }),
    });
    await net.createNamespacedIngress({
      namespace: 'default',
      body: ingressWith(
        'regex',
        'regex.example.com',
        { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        '/(a+)+$',
        'ImplementationSpecific',
      ),
    });
    const core = kc.makeApiClient(CoreV1Api);
    const events = await eventually(async () => {
      const list = await core.listNamespacedEvent({ namespace: 'default' });
      const closed = list.items.find((e) => e.involvedObject.name === 'closed');
      const regex = list.items.find((e) => e.involvedObject.name === 'regex');
      return closed && regex && { closed, regex };
    }, 'the Events of both Ingresses');
    expect([events.closed.type, events.closed.reason, events.closed.message]).toEqual([
      'Warning',
      'InvalidAnnotation',
      'metadata.annotations["nginx.ingress.kubernetes.io/allowlist-source-range"]: "10.0.0.0/8, 10.1.0.0/99" is not a comma-separated list of IP addresses or CIDRs; every client of these routes gets 403 until it is fixed',
    ]);
    expect([events.regex.type, events.regex.reason, events.regex.message]).toEqual([
      'Warning',
      'InvalidPath',
      'spec.rules[0].http.paths[0].path: path "/(a+)+$" of host "regex.example.com" is read as a regular expression (use-regex or rewrite-target on this host) and repeats a group that holds a quantifier or an alternation (catastrophic backtracking); not served',
    ]);
    const table = await eventually(async () => {
      const t = sink.tables.at(-1);
      return t && t.served.length === 4 && t;
    }, 'all four Ingresses in the table');
    const host = (name: string) => table.hosts.find((h) => h.host === name)!;
    expect(host('closed.example.com').prefix[0]!.target.allowSources).toEqual([]);
    expect(host('regex.example.com').regex).toEqual([]);
    const gauge = await registry.getSingleMetric('portico_ingress_config_problems')!.get();
    expect(gauge.values.find((v) => v.labels.reason === 'InvalidPath')?.value).toBe(1);
  });
});
