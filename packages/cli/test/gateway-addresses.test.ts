// A Gateway's address comes from Portico (issue 14 item 2), on both API servers with the upstream
// Gateway API CRDs: the Gateway controller of `portico ingress --gateway-services` keeps a
// LoadBalancer Service per Gateway (with the ingress pods' endpoints), and the real Portico
// controller, running against the same API server with a pool, gives it an IP that becomes the
// Gateway's status.addresses. spec.addresses are requested; listener changes change the Service's
// ports; the upstream GatewayStaticAddresses test's manifest and expectations are run; deleting the
// Gateway deletes its Service and EndpointSlice.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Controller } from '@portico/controller';
import {
  API_SERVERS,
  gatewayApiConformanceDir,
  hostEndpointAddress,
  installGatewayApiCrds,
  startTestApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import { gatewayApi } from '@portico/ingress';
import { ApiClient, applyObject, isNotFound, kubeconfigCredentials } from '@portico/kube';
import { freePort, until } from './kit.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const group = 'gateway.networking.k8s.io';
const POOL = '192.0.2.0/29';
const gatewaysPath = (ns: string) => `/apis/${group}/v1/namespaces/${ns}/gateways`;

const conditionOf = (gw: Json, type: string): Json | undefined =>
  (gw.status?.conditions as Json[] | undefined)?.find((c) => c.type === type);

describe.each(API_SERVERS)('Gateway addresses from Portico pools (%s API server)', (kind) => {
  let server: TestApiServer;
  let kube: ApiClient;
  let controller: Controller;
  let gateways: InstanceType<typeof gatewayApi.GatewayController>;
  let ports: number[];

  const get = (path: string) => kube.request<Json>('GET', path);
  const gateway = (ns: string, name: string) => get(`${gatewaysPath(ns)}/${name}`);
  const service = (ns: string, name: string) =>
    get(`/api/v1/namespaces/${ns}/services/${gatewayApi.gatewayServiceName(name)}`);
  const gone = async (path: string) => {
    try {
      await get(path);
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  };
  /** Changes a Gateway's spec, retrying on a conflict with our own status writes. */
  const changeSpec = async (ns: string, name: string, change: (spec: Json) => Json) => {
    for (let i = 0; ; i++) {
      const gw = await gateway(ns, name);
      try {
        return await kube.request<Json>('PUT', `${gatewaysPath(ns)}/${name}`, {
          body: { ...gw, spec: change(gw.spec as Json) },
        });
      } catch (err) {
        if (i > 10) throw err;
      }
    }
  };
  const waitCondition = (ns: string, name: string, type: string, status: string, reason: string) =>
    until(`Gateway ${ns}/${name} ${type}=${status}/${reason}`, async () => {
      const gw = await gateway(ns, name);
      const c = conditionOf(gw, type);
      return c?.status === status && c.reason === reason && c.observedGeneration === gw.metadata.generation
        ? gw
        : undefined;
    });

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    kube = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    await installGatewayApiCrds(kube);
    await applyObject(kube, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'gateway-conformance-infra' },
    });
    await applyObject(kube, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'portico-system' },
      data: {
        config: `address-pools:\n  - name: gateways\n    protocol: layer2\n    addresses: [${POOL}]\n`,
      },
    });
    // The ingress's own Service and its pod's endpoint, mirrored into every Gateway's Service.
    await applyObject(kube, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ingress', namespace: 'portico-system' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    await applyObject(kube, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'ingress-1',
        namespace: 'portico-system',
        labels: { 'kubernetes.io/service-name': 'ingress' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80 }],
      endpoints: [{ addresses: [hostEndpointAddress()], conditions: { ready: true }, nodeName: 'node-1' }],
    });
    await kube.request('POST', `/apis/${group}/v1/gatewayclasses`, {
      body: {
        apiVersion: `${group}/v1`,
        kind: 'GatewayClass',
        metadata: { name: 'portico' },
        spec: { controllerName: gatewayApi.GATEWAY_CONTROLLER_NAME },
      },
    });
    controller = new Controller({
      api: kube,
      namespace: 'portico-system',
      configMapName: 'config',
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
    });
    await controller.start();
    // Served on a wildcard address, which is not reported: the Gateways' addresses are the pools'.
    gateways = new gatewayApi.GatewayController({
      api: kube,
      address: '0.0.0.0',
      gatewayServicesFrom: 'portico-system/ingress',
      logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      registry: new Registry(),
      debounceMs: 10,
      statusResyncMs: 60_000,
      addressRecheckMs: 200,
    });
    void gateways.start();
    gateways.setLeading(true);
    ports = [await freePort(), await freePort()];
  }, 180_000);

  afterAll(async () => {
    await gateways?.stop();
    await controller?.stop();
    await kube?.close();
    await server?.close();
  });

  it('gives a Gateway an IP from the pool, follows its listeners, and cleans up after it', async () => {
    await kube.request('POST', gatewaysPath('default'), {
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Gateway',
        metadata: {
          name: 'web',
          namespace: 'default',
          annotations: { 'metallb.io/address-pool': 'gateways' },
        },
        spec: {
          gatewayClassName: 'portico',
          infrastructure: { labels: { team: 'shop' }, annotations: { 'example.com/owner': 'shop' } },
          listeners: [{ name: 'http', port: ports[0], protocol: 'HTTP' }],
        },
      },
    });
    const gw = await waitCondition('default', 'web', 'Programmed', 'True', 'Programmed');
    const svc = await service('default', 'web');
    const ip = svc.status.loadBalancer.ingress[0].ip as string;
    expect(ip).toMatch(/^192\.0\.2\.[0-7]$/);
    expect(gw.status.addresses).toEqual([{ type: 'IPAddress', value: ip }]);
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports.map((p: Json) => p.port)).toEqual([ports[0]]);
    expect(svc.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Gateway', name: 'web', uid: gw.metadata.uid, controller: true }),
    ]);
    expect(svc.metadata.labels).toMatchObject({
      team: 'shop',
      'gateway.networking.k8s.io/gateway-name': 'web',
    });
    expect(svc.metadata.annotations).toMatchObject({
      'example.com/owner': 'shop',
      'metallb.io/address-pool': 'gateways',
      'metallb.io/ip-allocated-from-pool': 'gateways',
    });
    const sliceName = `${gatewayApi.gatewayServiceName('web')}-ipv4`;
    const slicePath = `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/${sliceName}`;
    const slice = await until('the Gateway Service EndpointSlice', () => get(slicePath));
    expect(slice.endpoints[0].addresses).toEqual([hostEndpointAddress()]);
    expect(slice.ports.map((p: Json) => p.port)).toEqual([ports[0]]);

    // A second listener port: the Service gets it, the address stays.
    await changeSpec('default', 'web', (spec) => ({
      ...spec,
      listeners: [...(spec.listeners as Json[]), { name: 'other', port: ports[1], protocol: 'HTTP' }],
    }));
    const both = [...ports].sort((a, b) => a - b);
    await until('the Service with both listener ports', async () => {
      const s = await service('default', 'web');
      return JSON.stringify(s.spec.ports.map((p: Json) => p.port)) === JSON.stringify(both) ? s : undefined;
    });
    await until('the EndpointSlice with both ports', async () => {
      const s = await get(slicePath);
      return s.ports.length === 2 ? s : undefined;
    });
    expect((await service('default', 'web')).status.loadBalancer.ingress[0].ip).toBe(ip);

    await kube.request('DELETE', `${gatewaysPath('default')}/web`);
    const servicePath = `/api/v1/namespaces/default/services/${gatewayApi.gatewayServiceName('web')}`;
    await until('the Service deleted', async () => ((await gone(servicePath)) ? true : undefined));
    await until('the EndpointSlice deleted', async () => ((await gone(slicePath)) ? true : undefined));
  });

  it('honours spec.addresses', async () => {
    await kube.request('POST', gatewaysPath('default'), {
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Gateway',
        metadata: { name: 'fixed', namespace: 'default' },
        spec: {
          gatewayClassName: 'portico',
          addresses: [{ type: 'IPAddress', value: '192.0.2.5' }],
          listeners: [{ name: 'http', port: ports[0], protocol: 'HTTP' }],
        },
      },
    });
    const gw = await waitCondition('default', 'fixed', 'Programmed', 'True', 'Programmed');
    expect(gw.status.addresses).toEqual([{ type: 'IPAddress', value: '192.0.2.5' }]);
    const svc = await service('default', 'fixed');
    expect(svc.metadata.annotations['metallb.io/loadBalancerIPs']).toBe('192.0.2.5');
    await kube.request('DELETE', `${gatewaysPath('default')}/fixed`);
  });

  it('passes the upstream GatewayStaticAddresses expectations', async () => {
    // The suite's own manifest; its placeholders are what the suite's runner fills in: an address
    // outside every pool (unusable) and one inside the pool (usable). Its listener port (8080) is
    // moved to a free port, as this machine is shared.
    const dir = await gatewayApiConformanceDir();
    const manifest = parse(readFileSync(join(dir, 'tests', 'gateway-static-addresses.yaml'), 'utf8')) as Json;
    const text = JSON.stringify(manifest)
      .replace('{GATEWAY_CLASS_NAME}', 'portico')
      .replace('"PLACEHOLDER_UNUSABLE_ADDRS"', '"203.0.113.77","type":"IPAddress"')
      .replace('"PLACEHOLDER_USABLE_ADDRS"', '"192.0.2.6","type":"IPAddress"');
    const body = JSON.parse(text) as Json;
    body.spec.listeners[0].port = ports[1];
    const ns = 'gateway-conformance-infra';
    const name = 'gateway-static-addresses';
    await kube.request('POST', gatewaysPath(ns), { body });
    const addresses = (await gateway(ns, name)).spec.addresses as Json[];
    expect(addresses).toHaveLength(3);
    const [invalid, unusable, usable] = addresses;

    await waitCondition(ns, name, 'Accepted', 'False', 'UnsupportedAddress');
    await changeSpec(ns, name, (spec) => ({
      ...spec,
      addresses: (spec.addresses as Json[]).filter((a) => a.value !== invalid!.value),
    }));
    await waitCondition(ns, name, 'Accepted', 'True', 'Accepted');
    const notUsable = await waitCondition(ns, name, 'Programmed', 'False', 'AddressNotUsable');
    expect(conditionOf(notUsable, 'Programmed')!.message).toContain('203.0.113.77');

    await changeSpec(ns, name, (spec) => ({
      ...spec,
      addresses: (spec.addresses as Json[]).filter((a) => a.value !== unusable!.value),
    }));
    await waitCondition(ns, name, 'Accepted', 'True', 'Accepted');
    const gw = await waitCondition(ns, name, 'Programmed', 'True', 'Programmed');
    expect(gw.spec.addresses).toHaveLength(1);
    const values = (gw.status.addresses as Json[]).map((a) => a.value);
    expect(values).toContain(usable!.value);
    expect(values).not.toContain(unusable!.value);
    expect(values).not.toContain(invalid!.value);
    expect((gw.status.addresses as Json[]).find((a) => a.value === usable!.value)!.type).toBe('IPAddress');
    const listener = (gw.status.listeners as Json[]).find((l) => l.name === 'http')!;
    // The suite checks that the kinds it expects are supported (a subset): an HTTP listener of ours
    // takes GRPCRoutes too.
    expect(listener.supportedKinds).toContainEqual({ group, kind: 'HTTPRoute' });
    expect(listener.attachedRoutes).toBe(0);
    for (const type of ['Accepted', 'ResolvedRefs'])
      expect((listener.conditions as Json[]).find((c) => c.type === type)?.status).toBe('True');
    await kube.request('DELETE', `${gatewaysPath(ns)}/${name}`);
  });
});
