/**
 * End to end against both API servers (the development one and a real kube-apiserver): objects
 * created through the Kubernetes API are watched, compiled and served (real backend servers on
 * this host), and Ingress status is written from the publish Service and removed when the Ingress
 * leaves our class.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  NetworkingV1Api,
  type V1Ingress,
} from '@kubernetes/client-node';
import { ApiClient, kubeconfigCredentials } from '@portico/kube';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { IngressController, IngressServer, InProcessSink } from '@portico/ingress';
import {
  API_SERVERS,
  hostEndpointAddress,
  startTestApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import { eventually } from './eventually.js';

interface Pod {
  port: number;
  server: http.Server;
}

/** A pod's server: answers every request with its name. */
async function startPod(name: string, address: string): Promise<Pod> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name }));
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  return { port: (server.address() as AddressInfo).port, server };
}

async function stopPods(pods: Pod[]): Promise<void> {
  for (const pod of pods) {
    pod.server.closeAllConnections();
    await new Promise((r) => pod.server.close(r));
  }
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

describe.each(API_SERVERS)('the ingress against the %s API server', (kind) => {
  let api: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;
  let pods: Pod[] = [];
  let server: IngressServer;
  let controller: IngressController;
  let base = '';
  // Both API servers refuse loopback endpoint addresses: the "pods" listen on this host's own address.
  const podAddress = hostEndpointAddress();

  async function get(host: string, path = '/'): Promise<{ status: number; name?: string }> {
    const res = await request(`${base}${path}`, { headers: { host } });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      name: res.statusCode === 200 ? (JSON.parse(text).name as string) : undefined,
    };
  }

  beforeAll(async () => {
    api = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    pods = await Promise.all(['one', 'two'].map((name) => startPod(name, podAddress)));
    const core = kc.makeApiClient(CoreV1Api);
    for (const ns of ['default', 'portico-system'])
      await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => undefined);
    // Both tests serve Ingress app, backed by Service web (its endpoints come in the first test).
    const net = kc.makeApiClient(NetworkingV1Api);
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
    await net.createNamespacedIngress({ namespace: 'default', body: ingressObject('app', 'portico', 'web') });

    server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: null });
    base = `http://127.0.0.1:${(await server.listen()).httpPort}`;
    controller = new IngressController({
      api: kube,
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
    await stopPods(pods);
    await api?.close();
  });

  describe('objects through the API', () => {
    it('routes traffic from Ingress, Service and EndpointSlice objects and follows endpoint changes', async () => {
      const disc = kc.makeApiClient(DiscoveryV1Api);
      const slice = (port: number) => ({
        metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port }],
        endpoints: [{ addresses: [podAddress], conditions: { ready: true } }],
      });
      await disc.createNamespacedEndpointSlice({ namespace: 'default', body: slice(pods[0]!.port) });

      await eventually(
        async () => (await get('app.example.com')).name === 'one',
        'traffic routed to pod one',
      );

      const current = await disc.readNamespacedEndpointSlice({ namespace: 'default', name: 'web-1' });
      current.ports = [{ name: 'http', port: pods[1]!.port }];
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
});
