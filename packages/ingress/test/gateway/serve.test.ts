// Gateway API end to end, on both API servers with the upstream CRDs (from the Go module): a
// GatewayController watches GatewayClass, Gateway, HTTPRoute, GRPCRoute, TLSRoute and
// ReferenceGrant, serves the Gateway's listener on the gateway address at the listener's port with
// real HTTP to echo backends, follows route and listener changes (observedGeneration bumps),
// answers 500 for an unusable backend, and writes the statuses of every kind.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ApiClient, kubeconfigCredentials } from '@portico/kube';
import {
  API_SERVERS,
  hostEndpointAddress,
  installGatewayApiCrds,
  startTestApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import { GatewayController, GATEWAY_CONTROLLER_NAME } from '../../src/gateway/index.js';
import { service, slice } from '../fixtures.js';
import { eventually } from '../eventually.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const group = 'gateway.networking.k8s.io';

interface Pod {
  readonly name: string;
  readonly port: number;
  readonly server: http.Server;
}

/** A "pod": answers its name. Both API servers refuse loopback endpoints, so it listens on the host's address. */
async function startPod(name: string, address: string): Promise<Pod> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name }));
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  return { name, port: (server.address() as AddressInfo).port, server };
}
const ADDRESS = '127.0.0.1';

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, ADDRESS, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function get(
  port: number,
  path: string,
  host = 'app.example.com',
): Promise<{ status: number; name?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ADDRESS, port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        let name: string | undefined;
        try {
          name = (JSON.parse(body) as { name?: string }).name;
        } catch {
          // our own error page: no JSON
        }
        resolve({ status: res.statusCode ?? 0, ...(name ? { name } : {}) });
      });
    });
    req.on('error', reject);
  });
}

describe.each(API_SERVERS)('Gateway API served end to end (%s API server)', (kind) => {
  let api: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;
  let custom: CustomObjectsApi;
  let controller: GatewayController;
  let echos: Pod[];
  let port: number;

  const routeBody = (rules: Json[]): Json => ({
    apiVersion: `${group}/v1`,
    kind: 'HTTPRoute',
    metadata: { name: 'app', namespace: 'default' },
    spec: { parentRefs: [{ name: 'web' }], hostnames: ['app.example.com'], rules },
  });
  const routeStatus = async () =>
    (
      (await custom.getNamespacedCustomObjectStatus({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'httproutes',
        name: 'app',
      })) as Json
    ).status;

  beforeAll(async () => {
    api = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    await installGatewayApiCrds(kube);
    custom = kc.makeApiClient(CustomObjectsApi);
    const podAddress = hostEndpointAddress();
    echos = [await startPod('v1', podAddress), await startPod('v2', podAddress)];
    const core = kc.makeApiClient(CoreV1Api);
    const disc = kc.makeApiClient(DiscoveryV1Api);
    for (const e of echos) {
      await core.createNamespacedService({
        namespace: 'default',
        body: service(`svc-${e.name}`, 8080, 'http'),
      });
      await disc.createNamespacedEndpointSlice({
        namespace: 'default',
        body: slice(`svc-${e.name}`, e.port, [podAddress], 'http'),
      });
    }
    port = await freePort();
    await custom.createClusterCustomObject({
      group,
      version: 'v1',
      plural: 'gatewayclasses',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'GatewayClass',
        metadata: { name: 'portico' },
        spec: { controllerName: GATEWAY_CONTROLLER_NAME },
      },
    });
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'gateways',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Gateway',
        metadata: { name: 'web', namespace: 'default' },
        spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', port, protocol: 'HTTP' }] },
      },
    });
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'httproutes',
      body: routeBody([
        {
          matches: [{ path: { type: 'PathPrefix', value: '/v2' } }],
          backendRefs: [{ name: 'svc-v2', port: 8080 }],
        },
        { backendRefs: [{ name: 'svc-v1', port: 8080 }] },
      ]),
    });
    controller = new GatewayController({
      api: kube,
      address: ADDRESS,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      debounceMs: 10,
      statusResyncMs: 60_000,
    });
    await controller.start();
    controller.setLeading(true);
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await kube?.close();
    for (const pod of echos ?? []) {
      pod.server.closeAllConnections();
      await new Promise((r) => pod.server.close(r));
    }
    await api?.close();
  });

  it('serves the listener on the gateway address at its port, routing by path', async () => {
    await eventually(async () => (await get(port, '/')).name === 'v1', 'the route to be served');
    expect(await get(port, '/')).toEqual({ status: 200, name: 'v1' });
    expect(await get(port, '/v2/x')).toEqual({ status: 200, name: 'v2' });
    expect(await get(port, '/v2x')).toEqual({ status: 200, name: 'v1' });
    // A host the route does not name: no route.
    expect((await get(port, '/', 'other.example.com')).status).toBe(404);
  });

  it('writes the statuses: GatewayClass Accepted, Gateway Programmed with its address, route Accepted', async () => {
    const gw = await eventually(async () => {
      const g = (await custom.getNamespacedCustomObjectStatus({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'gateways',
        name: 'web',
      })) as Json;
      return g.status?.addresses?.length ? g : undefined;
    }, 'the Gateway status');
    expect(gw.status.addresses).toEqual([{ type: 'IPAddress', value: ADDRESS }]);
    expect(gw.status.conditions.map((c: Json) => [c.type, c.status, c.observedGeneration])).toEqual([
      ['Accepted', 'True', 1],
      ['Programmed', 'True', 1],
    ]);
    expect(gw.status.listeners[0]).toMatchObject({
      name: 'http',
      attachedRoutes: 1,
      supportedKinds: [
        { group, kind: 'HTTPRoute' },
        { group, kind: 'GRPCRoute' },
      ],
    });
    const route = await eventually(async () => (await routeStatus())?.parents?.[0], 'the HTTPRoute status');
    expect(route.controllerName).toBe(GATEWAY_CONTROLLER_NAME);
    expect(route.conditions.map((c: Json) => [c.type, c.status, c.reason])).toEqual([
      ['Accepted', 'True', 'Accepted'],
      ['ResolvedRefs', 'True', 'ResolvedRefs'],
    ]);
    const gc = (await custom.getClusterCustomObjectStatus({
      group,
      version: 'v1',
      plural: 'gatewayclasses',
      name: 'portico',
    })) as Json;
    expect(gc.status.conditions.find((c: Json) => c.type === 'Accepted')).toMatchObject({
      status: 'True',
      reason: 'Accepted',
    });
  });

  // The route's conditions at its new generation, as HTTPRouteObservedGenerationBump checks.
  it('follows a route change; a backend that does not exist answers 500 with ResolvedRefs False/BackendNotFound', async () => {
    const current = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'httproutes',
      name: 'app',
    })) as Json;
    await custom.replaceNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'httproutes',
      name: 'app',
      body: {
        ...routeBody([
          {
            matches: [{ path: { type: 'Exact', value: '/gone' } }],
            backendRefs: [{ name: 'missing', port: 8080 }],
          },
          { backendRefs: [{ name: 'svc-v2', port: 8080 }] },
        ]),
        metadata: { ...current.metadata },
      },
    });
    await eventually(async () => (await get(port, '/')).name === 'v2', 'the changed route');
    expect((await get(port, '/gone')).status).toBe(500);
    const parent = await eventually(async () => {
      const p = (await routeStatus())?.parents?.[0];
      return p?.conditions?.some((c: Json) => c.type === 'ResolvedRefs' && c.status === 'False')
        ? p
        : undefined;
    }, 'ResolvedRefs False');
    expect(parent.conditions.find((c: Json) => c.type === 'ResolvedRefs')).toMatchObject({
      reason: 'BackendNotFound',
      observedGeneration: 2,
    });
    // And one Warning Event on the route says the same.
    const event = await eventually(async () => {
      const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' });
      return list.items.find((e) => e.involvedObject.kind === 'HTTPRoute' && e.reason === 'BackendNotFound');
    }, 'the BackendNotFound Event');
    expect(event).toMatchObject({
      type: 'Warning',
      involvedObject: { apiVersion: `${group}/v1`, name: 'app', namespace: 'default' },
      source: { component: 'portico-gateway' },
    });
    expect(event.message).toContain('spec.rules[0].backendRefs[0]: service "default/missing" not found');
  });

  it('GatewayObservedGenerationBump: a listener added; every Gateway and listener condition carries the new generation', async () => {
    const gwPath = { group, version: 'v1', namespace: 'default', plural: 'gateways', name: 'web' };
    const current = (await custom.getNamespacedCustomObject(gwPath)) as Json;
    const second = await freePort();
    await custom.replaceNamespacedCustomObject({
      ...gwPath,
      body: {
        ...current,
        spec: {
          ...current.spec,
          listeners: [...current.spec.listeners, { name: 'http-2', port: second, protocol: 'HTTP' }],
        },
      },
    });
    const gw = await eventually(async () => {
      const g = (await custom.getNamespacedCustomObjectStatus(gwPath)) as Json;
      return g.status?.listeners?.length === 2 ? g : undefined;
    }, 'the second listener in the status');
    expect(gw.metadata.generation).toBe(2);
    for (const c of gw.status.conditions) expect(c.observedGeneration, c.type).toBe(2);
    for (const l of gw.status.listeners)
      for (const c of l.conditions) expect(c.observedGeneration, `${l.name} ${c.type}`).toBe(2);
    await eventually(async () => (await get(second, '/')).name === 'v2', 'the new listener to be served');
  });

  it('GRPCRoute and TLSRoute statuses are written (a TLS Passthrough Gateway lists TLSRoute)', async () => {
    const tlsPort = await freePort();
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'gateways',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Gateway',
        metadata: { name: 'tls', namespace: 'default' },
        spec: {
          gatewayClassName: 'portico',
          listeners: [{ name: 'tls', port: tlsPort, protocol: 'TLS', tls: { mode: 'Passthrough' } }],
        },
      },
    });
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'grpcroutes',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'GRPCRoute',
        metadata: { name: 'rpc', namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'web' }],
          hostnames: ['grpc.example.com'],
          rules: [
            { matches: [{ method: { service: 'pkg.Svc' } }], backendRefs: [{ name: 'svc-v1', port: 8080 }] },
          ],
        },
      },
    });
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'tlsroutes',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'TLSRoute',
        metadata: { name: 'pass', namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'tls' }],
          hostnames: ['secure.example.com'],
          rules: [{ backendRefs: [{ name: 'svc-v1', port: 8080 }] }],
        },
      },
    });
    for (const plural of ['grpcroutes', 'tlsroutes']) {
      const name = plural === 'grpcroutes' ? 'rpc' : 'pass';
      const parent = await eventually(async () => {
        const r = (await custom.getNamespacedCustomObjectStatus({
          group,
          version: 'v1',
          namespace: 'default',
          plural,
          name,
        })) as Json;
        return r.status?.parents?.[0];
      }, `the ${plural} status`);
      expect(parent.controllerName).toBe(GATEWAY_CONTROLLER_NAME);
      expect(parent.conditions.map((c: Json) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
        ['Accepted', 'True', 'Accepted', 1],
        ['ResolvedRefs', 'True', 'ResolvedRefs', 1],
      ]);
    }
    const gw = await eventually(async () => {
      const g = (await custom.getNamespacedCustomObjectStatus({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'gateways',
        name: 'tls',
      })) as Json;
      return g.status?.listeners?.[0]?.attachedRoutes === 1 ? g : undefined;
    }, 'the TLS Gateway status');
    expect(gw.status.listeners[0].supportedKinds).toEqual([{ group, kind: 'TLSRoute' }]);
  });

  it('a deleted route stops being served', async () => {
    await custom.deleteNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'httproutes',
      name: 'app',
    });
    await eventually(async () => (await get(port, '/')).status === 404, 'the route to be gone');
  });
});
