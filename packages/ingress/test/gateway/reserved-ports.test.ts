// A Gateway listener on a port the ingress process serves itself (its metrics and health port, its
// Ingress ports) is not served: Accepted=False with the spec's reason PortUnavailable, a Warning
// Event on the Gateway, the other listeners served. On the development API server with the
// upstream CRDs; the "process" is the GatewayController with the ports reservedGatewayPorts gives
// for `portico ingress` flags, and a real server on the metrics port. On the same Gateway: a change
// that attaches every route again (a listener added) reports no known route problem twice (the
// problems are kept per route, gateway/route-tally.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ApiClient, applyObject, kubeconfigCredentials } from '@portico/kube';
import {
  hostEndpointAddress,
  installGatewayApiCrds,
  startTestApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import {
  desiredGatewayService,
  GatewayController,
  GATEWAY_CONTROLLER_NAME,
  reservedGatewayPorts,
} from '../../src/gateway/index.js';
import { service, slice } from '../fixtures.js';
import { eventually } from '../eventually.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const group = 'gateway.networking.k8s.io';
const ADDRESS = '127.0.0.1';

describe('reservedGatewayPorts', () => {
  const ports = { httpPort: 8080, httpsPort: 8443, metricsPort: 10254 };

  it('the metrics port always; the Ingress ports where their address meets the gateway address', () => {
    const where = (gatewayAddress: string, listenAddress: string) =>
      [...reservedGatewayPorts({ gatewayAddress, listenAddress, ...ports }).keys()].sort();
    expect(where('0.0.0.0', '0.0.0.0')).toEqual([10254, 8080, 8443]);
    expect(where('192.0.2.10', '0.0.0.0')).toEqual([10254, 8080, 8443]);
    expect(where('0.0.0.0', '192.0.2.10')).toEqual([10254, 8080, 8443]);
    expect(where('192.0.2.10', '192.0.2.10')).toEqual([10254, 8080, 8443]);
    expect(where('192.0.2.10', '192.0.2.11')).toEqual([10254]);
  });

  it('says what uses each port; port 0 (any free port) is never reserved', () => {
    const r = reservedGatewayPorts({
      gatewayAddress: ADDRESS,
      listenAddress: ADDRESS,
      httpPort: 0,
      httpsPort: 8443,
      metricsPort: 8443,
    });
    expect([...r]).toEqual([[8443, 'its metrics and health port, --metrics-port']]);
  });
});

describe('the LoadBalancer Service kept for a Gateway (--gateway-services)', () => {
  const gateway = (ports: number[]) => ({
    metadata: { namespace: 'default', name: 'web', uid: 'u1' },
    spec: {
      gatewayClassName: 'portico',
      listeners: ports.map((port, i) => ({ name: `l${i}`, port, protocol: 'HTTP' })),
    },
  });
  const reserved = reservedGatewayPorts({
    gatewayAddress: '0.0.0.0',
    listenAddress: '0.0.0.0',
    httpPort: 8080,
    httpsPort: 8443,
    metricsPort: 10254,
  });

  it('does not expose the ports the ingress serves itself on the Gateway address', () => {
    const svc = desiredGatewayService(gateway([80, 10254, 8080, 443]), reserved);
    expect(svc?.spec?.ports?.map((p) => p.port)).toEqual([80, 443]);
  });

  it('is not made when every listener is on such a port', () => {
    expect(desiredGatewayService(gateway([10254, 8443]), reserved)).toBeUndefined();
    // Without reserved ports, as before.
    expect(desiredGatewayService(gateway([10254]))?.spec?.ports?.map((p) => p.port)).toEqual([10254]);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, ADDRESS, () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: ADDRESS, port, path: '/', headers: { host: 'app.example.com' }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

describe('a Gateway listener on a port of the ingress process itself (development API server)', () => {
  let api: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;
  let custom: CustomObjectsApi;
  let controller: GatewayController;
  let pod: http.Server;
  let metricsServer: http.Server;
  let free: number;
  let metricsPort: number;
  let httpPort: number;

  beforeAll(async () => {
    api = await startTestApiServer('development');
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    await installGatewayApiCrds(kube);
    custom = kc.makeApiClient(CustomObjectsApi);
    // The pod behind the route, and the process's own metrics server on its port.
    const podAddress = hostEndpointAddress();
    pod = http.createServer((req, res) => res.end('from the pod'));
    await new Promise<void>((r) => pod.listen(0, podAddress, r));
    metricsServer = http.createServer((req, res) => res.end('metrics'));
    await new Promise<void>((r) => metricsServer.listen(0, ADDRESS, r));
    metricsPort = (metricsServer.address() as AddressInfo).port;
    [free, httpPort] = [await freePort(), await freePort()];
    await kc.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: 'default',
      body: service('app', 8080, 'http'),
    });
    await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: 'default',
      body: slice('app', (pod.address() as AddressInfo).port, [podAddress], 'http'),
    });
    await applyObject(kube, {
      apiVersion: `${group}/v1`,
      kind: 'GatewayClass',
      metadata: { name: 'portico' },
      spec: { controllerName: GATEWAY_CONTROLLER_NAME },
    });
    await applyObject(kube, {
      apiVersion: `${group}/v1`,
      kind: 'Gateway',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        gatewayClassName: 'portico',
        listeners: [
          { name: 'ok', port: free, protocol: 'HTTP' },
          { name: 'on-metrics', port: metricsPort, protocol: 'HTTP' },
          { name: 'on-ingress-http', port: httpPort, protocol: 'HTTP' },
        ],
      },
    });
    await applyObject(kube, {
      apiVersion: `${group}/v1`,
      kind: 'HTTPRoute',
      metadata: { name: 'app', namespace: 'default' },
      spec: { parentRefs: [{ name: 'web' }], rules: [{ backendRefs: [{ name: 'app', port: 8080 }] }] },
    });
    controller = new GatewayController({
      api: kube,
      address: ADDRESS,
      // `portico ingress --listen-address 0.0.0.0 --gateway-address 127.0.0.1` with these ports.
      reservedPorts: reservedGatewayPorts({
        gatewayAddress: ADDRESS,
        listenAddress: '0.0.0.0',
        httpPort,
        httpsPort: 0,
        metricsPort,
      }),
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
    for (const s of [pod, metricsServer]) {
      s?.closeAllConnections();
      await new Promise((r) => s?.close(r));
    }
    await api?.close();
  });

  it('the listener status written: Accepted=False/PortUnavailable naming the port and its use, not Programmed, not Conflicted', async () => {
    const listeners = await eventually(async () => {
      const g = (await custom.getNamespacedCustomObjectStatus({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'gateways',
        name: 'web',
      })) as Json;
      const ls = g.status?.listeners as Json[] | undefined;
      return ls?.length === 3 ? ls : undefined;
    }, 'the listener statuses');
    const byName = Object.fromEntries(listeners.map((l) => [l.name, l]));
    const cond = (l: string, type: string) =>
      (byName[l].conditions as Json[]).find((c) => c.type === type) as Json;
    expect(cond('ok', 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(cond('ok', 'Programmed')).toMatchObject({ status: 'True' });
    expect(byName.ok.attachedRoutes).toBe(1);
    expect(cond('on-metrics', 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'PortUnavailable',
      message: `spec.listeners[1].port: ${metricsPort} is used by the ingress itself (its metrics and health port, --metrics-port)`,
    });
    expect(cond('on-metrics', 'Programmed')).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(cond('on-metrics', 'Conflicted')).toMatchObject({ status: 'False', reason: 'NoConflicts' });
    expect(byName['on-metrics'].attachedRoutes).toBe(0);
    expect(cond('on-ingress-http', 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'PortUnavailable',
      message: `spec.listeners[2].port: ${httpPort} is used by the ingress itself (its Ingress HTTP port, --http-port)`,
    });
  });

  it('the other listener is served; the reserved port still answers as the process own server', async () => {
    await eventually(async () => (await get(free)).body === 'from the pod', 'the route on the free port');
    expect(await get(metricsPort)).toEqual({ status: 200, body: 'metrics' });
    // Nothing took the Ingress HTTP port on the gateway address either.
    await expect(get(httpPort)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a Gateway change (every route attached again) does not report a known route problem again', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await applyObject(kube, {
      apiVersion: `${group}/v1`,
      kind: 'HTTPRoute',
      metadata: { name: 'broken', namespace: 'default' },
      spec: { parentRefs: [{ name: 'web' }], rules: [{ backendRefs: [{ name: 'missing', port: 80 }] }] },
    });
    const brokenEvents = async () =>
      (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
        (e) => e.involvedObject.name === 'broken' && e.reason === 'BackendNotFound',
      );
    await eventually(async () => (await brokenEvents()).length === 1, 'the BackendNotFound Event');
    const gw = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'gateways',
      name: 'web',
    })) as Json;
    gw.spec.listeners.push({ name: 'more', port: await freePort(), protocol: 'HTTP' });
    await custom.replaceNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural: 'gateways',
      name: 'web',
      body: gw,
    });
    await eventually(async () => {
      const g = (await custom.getNamespacedCustomObjectStatus({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'gateways',
        name: 'web',
      })) as Json;
      return (g.status?.listeners as Json[] | undefined)?.length === 4;
    }, 'the new listener in the status');
    await new Promise((r) => setTimeout(r, 300));
    const events = await brokenEvents();
    expect(events).toHaveLength(1);
    expect(events[0]!.count ?? 1).toBe(1);
  });

  it('a Warning Event on the Gateway says PortUnavailable', async () => {
    const events = await eventually(async () => {
      const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' });
      const mine = list.items.filter(
        (e) => e.involvedObject.kind === 'Gateway' && e.reason === 'PortUnavailable',
      );
      return mine.length === 2 ? mine : undefined;
    }, 'two PortUnavailable Events');
    expect(events.every((e) => e.type === 'Warning' && e.involvedObject.name === 'web')).toBe(true);
  });
});
