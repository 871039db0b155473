/**
 * End to end against the development API server: objects created through the Kubernetes API are
 * watched, compiled and served (real backend processes on loopback), and Ingress status is written
 * from the publish Service and removed when the Ingress leaves our class.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  NetworkingV1Api,
  type V1Ingress,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { IngressController, IngressServer, InProcessSink } from '@portico/ingress';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';
import { startEcho, stopAll, type Echo } from './backends.js';
import { eventually } from './eventually.js';

let api: DevApiServer;
let kc: KubeConfig;
let echos: Echo[] = [];
let server: IngressServer;
let controller: IngressController;
let base = '';

async function get(host: string, path = '/'): Promise<{ status: number; name?: string }> {
  const res = await request(`${base}${path}`, { headers: { host } });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    name: res.statusCode === 200 ? (JSON.parse(text).name as string) : undefined,
  };
}

function ingressObject(name: string, className: string, svc: string): V1Ingress {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      ingressClassName: className,
      rules: [
        {
          host: 'app.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { name: 'http' } } } },
            ],
          },
        },
      ],
    },
  };
}

beforeAll(async () => {
  api = await startDevApiServer({ port: 0 });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  echos = await Promise.all(['one', 'two'].map(startEcho));
  const core = kc.makeApiClient(CoreV1Api);
  for (const ns of ['default', 'portico-system'])
    await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => undefined);

  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: null });
  base = `http://127.0.0.1:${(await server.listen()).httpPort}`;
  controller = new IngressController({
    kubeConfig: kc,
    sink: new InProcessSink(server),
    logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
    registry: new Registry(),
    publishService: 'portico-system/ingress',
    className: 'portico',
    controllerName: 'portico.dev/ingress',
    debounceMs: 5,
    statusResyncMs: 500,
  });
  await controller.start();
  controller.setLeading(true);
});

afterAll(async () => {
  await controller?.stop();
  await server?.close();
  await stopAll(echos);
  await api?.close();
});

describe('against the development API server', () => {
  it('routes traffic from Ingress, Service and EndpointSlice objects and follows endpoint changes', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const net = kc.makeApiClient(NetworkingV1Api);
    const disc = kc.makeApiClient(DiscoveryV1Api);
    await net.createIngressClass({
      body: { metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } },
    });
    await net.createIngressClass({
      body: { metadata: { name: 'other' }, spec: { controller: 'example.com/other' } },
    });
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: { ports: [{ name: 'http', port: 8080, targetPort: 3000 as never }] },
      },
    });
    const slice = (port: number) => ({
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    });
    await disc.createNamespacedEndpointSlice({ namespace: 'default', body: slice(echos[0]!.port) });
    await net.createNamespacedIngress({ namespace: 'default', body: ingressObject('app', 'portico', 'web') });

    await eventually(async () => (await get('app.example.com')).name === 'one', 'traffic routed to pod one');

    const current = await disc.readNamespacedEndpointSlice({ namespace: 'default', name: 'web-1' });
    current.ports = [{ name: 'http', port: echos[1]!.port }];
    await disc.replaceNamespacedEndpointSlice({ namespace: 'default', name: 'web-1', body: current });
    await eventually(
      async () => (await get('app.example.com')).name === 'two',
      'traffic following the new endpoint',
    );
  });

  it('writes the publish Service address to served Ingresses only, and removes it when the class changes', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const net = kc.makeApiClient(NetworkingV1Api);
    const lb = await core.createNamespacedService({
      namespace: 'portico-system',
      body: {
        metadata: { name: 'ingress' },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] },
      },
    });
    // What the Portico controller does for our LoadBalancer Service.
    lb.status = { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } };
    await core.replaceNamespacedServiceStatus({ namespace: 'portico-system', name: 'ingress', body: lb });
    await net.createNamespacedIngress({
      namespace: 'default',
      body: ingressObject('foreign', 'other', 'web'),
    });

    await eventually(async () => {
      const ing = await net.readNamespacedIngress({ namespace: 'default', name: 'app' });
      return ing.status?.loadBalancer?.ingress?.[0]?.ip === '192.0.2.10';
    }, 'status of the served Ingress');
    // Another controller's Ingress never gets our status (give the resync loop time to misbehave).
    await new Promise((r) => setTimeout(r, 700));
    const foreign = await net.readNamespacedIngress({ namespace: 'default', name: 'foreign' });
    expect(foreign.status?.loadBalancer?.ingress ?? []).toEqual([]);

    const app = await net.readNamespacedIngress({ namespace: 'default', name: 'app' });
    app.spec!.ingressClassName = 'other';
    await net.replaceNamespacedIngress({ namespace: 'default', name: 'app', body: app });
    await eventually(async () => {
      const ing = await net.readNamespacedIngress({ namespace: 'default', name: 'app' });
      return (ing.status?.loadBalancer?.ingress ?? []).length === 0;
    }, 'status removed after leaving our class');
    expect((await get('app.example.com')).status).toBe(404);
  });
});
