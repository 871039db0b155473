// Service defaulting, allocation and validation in the development API server, compared with
// what the real kube-apiserver does (cluster IPs per ipFamilies, node ports, immutability).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: DevApiServer;
let single: DevApiServer;
let counter = 0;

beforeAll(async () => {
  server = await startDevApiServer();
  single = await startDevApiServer({ serviceCidrs: ['10.97.0.0/24'], nodePortRange: [31000, 31009] });
});
afterAll(async () => {
  await server?.close();
  await single?.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  base = server,
  type = 'application/json',
): Promise<{ status: number; body: Json }> {
  const response = await fetch(base.url + path, {
    method,
    headers: { 'content-type': type },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

const SVC = '/api/v1/namespaces/default/services';

function service(spec: Json, name = `s${++counter}`): Json {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec };
}

async function create(spec: Json, base = server): Promise<Json> {
  const result = await call('POST', SVC, service(spec), base);
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  return result.body;
}

async function rejected(spec: Json, base = server): Promise<Json> {
  const result = await call('POST', SVC, service(spec), base);
  expect(result.status).toBe(422);
  expect(result.body).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
  return result.body;
}

const fields = (status: Json): string[] => status.details.causes.map((c: Json) => c.field);
const inV4 = (ip: string): boolean => /^10\.96\.\d+\.\d+$/.test(ip);
const inV6 = (ip: string): boolean => /^fd00:10:96::[0-9a-f]{1,4}$/.test(ip);

describe('defaulting', () => {
  it('a bare ClusterIP Service gets the real defaults', async () => {
    const svc = await create({ selector: { app: 'x' }, ports: [{ port: 80 }] });
    expect(svc.spec).toMatchObject({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    });
    expect(inV4(svc.spec.clusterIP)).toBe(true);
    expect(svc.spec.clusterIPs).toEqual([svc.spec.clusterIP]);
    expect(svc.spec.externalTrafficPolicy).toBeUndefined();
    expect(svc.spec.ports[0].nodePort).toBeUndefined();
    expect(svc.status).toEqual({ loadBalancer: {} });
  });

  it('PreferDualStack and RequireDualStack get one address per family, in ipFamilies order', async () => {
    const prefer = await create({ ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] });
    expect(prefer.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(inV4(prefer.spec.clusterIPs[0])).toBe(true);
    expect(inV6(prefer.spec.clusterIPs[1])).toBe(true);
    const require6 = await create({
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: ['IPv6'],
      ports: [{ port: 80 }],
    });
    expect(require6.spec.ipFamilies).toEqual(['IPv6', 'IPv4']);
    expect(inV6(require6.spec.clusterIP)).toBe(true);
    expect(inV4(require6.spec.clusterIPs[1])).toBe(true);
    const v6only = await create({ ipFamilies: ['IPv6'], ports: [{ port: 80 }] });
    expect(v6only.spec.ipFamilyPolicy).toBe('SingleStack');
    expect(v6only.spec.clusterIPs).toHaveLength(1);
    expect(inV6(v6only.spec.clusterIP)).toBe(true);
    // Two families without a policy: SingleStack is assumed, and refused (initIPFamilyFields).
    const twoFamilies = await rejected({ ipFamilies: ['IPv4', 'IPv6'], ports: [{ port: 80 }] });
    expect(fields(twoFamilies)).toEqual(['spec.ipFamilyPolicy']);
  });

  it('a single-stack cluster refuses RequireDualStack and gives PreferDualStack one family', async () => {
    const prefer = await create({ ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] }, single);
    expect(prefer.spec.ipFamilies).toEqual(['IPv4']);
    expect(prefer.spec.clusterIP).toMatch(/^10\.97\.0\./);
    const status = await rejected({ ipFamilyPolicy: 'RequireDualStack', ports: [{ port: 80 }] }, single);
    expect(fields(status)).toEqual(['spec.ipFamilyPolicy']);
  });

  it('LoadBalancer Services get node ports and traffic policy defaults', async () => {
    const svc = await create({
      type: 'LoadBalancer',
      ports: [
        { name: 'a', port: 80 },
        { name: 'b', port: 443, protocol: 'UDP' },
      ],
    });
    expect(svc.spec).toMatchObject({ externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true });
    const ports = svc.spec.ports.map((p: Json) => p.nodePort);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(30000);
      expect(p).toBeLessThanOrEqual(32767);
    }
    expect(new Set(ports).size).toBe(2);
    expect(svc.spec.healthCheckNodePort).toBeUndefined();
    const none = await create({
      type: 'LoadBalancer',
      allocateLoadBalancerNodePorts: false,
      ports: [{ port: 80 }],
    });
    expect(none.spec.ports[0].nodePort).toBeUndefined();
    const local = await create({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ports: [{ port: 80 }],
    });
    expect(local.spec.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(local.spec.healthCheckNodePort).not.toBe(local.spec.ports[0].nodePort);
  });

  it('ports with the same number and different protocols share one node port', async () => {
    const dns = await create({
      type: 'NodePort',
      ports: [
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
        { name: 'other', port: 54, protocol: 'UDP' },
      ],
    });
    const [tcp, udp, other] = dns.spec.ports.map((p: Json) => p.nodePort);
    expect(udp).toBe(tcp);
    expect(other).not.toBe(tcp);
    const same = await rejected({
      type: 'NodePort',
      ports: [
        { name: 'a', port: 80, nodePort: 31900 },
        { name: 'b', port: 81, nodePort: 31900 },
      ],
    });
    expect(fields(same)).toEqual(['spec.ports[1].nodePort']);
    expect(server.registry.services.nodePorts.isAllocated(31900)).toBe(false);
  });

  it('headless and ExternalName Services get no address', async () => {
    const headless = await create({ clusterIP: 'None', selector: { app: 'h' } });
    expect(headless.spec).toMatchObject({
      clusterIP: 'None',
      clusterIPs: ['None'],
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
    });
    const noSelector = await create({ clusterIP: 'None' });
    expect(noSelector.spec).toMatchObject({
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
    });
    const external = await create({ type: 'ExternalName', externalName: 'db.example' });
    expect(external.spec.clusterIP).toBeUndefined();
    expect(external.spec.ipFamilies).toBeUndefined();
  });

  it('allocations are unique across many Services', async () => {
    const ips = new Set<string>();
    const nodePorts = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const svc = await create({
        type: 'LoadBalancer',
        ipFamilyPolicy: 'PreferDualStack',
        ports: [{ port: 80 }],
      });
      for (const ip of svc.spec.clusterIPs) ips.add(ip);
      nodePorts.add(svc.spec.ports[0].nodePort);
    }
    expect(ips.size).toBe(60);
    expect(nodePorts.size).toBe(30);
  });
});

describe('requested values and release', () => {
  it('a requested cluster IP is taken once and free again after delete', async () => {
    const first = await call(
      'POST',
      SVC,
      service({ clusterIP: '10.96.200.7', ports: [{ port: 80 }] }, 'owner'),
    );
    expect(first.status).toBe(201);
    expect(first.body.spec.clusterIPs).toEqual(['10.96.200.7']);
    const clash = await rejected({ clusterIP: '10.96.200.7', ports: [{ port: 80 }] });
    expect(fields(clash)).toEqual(['spec.clusterIPs']);
    expect(clash.message).toContain('provided IP is already allocated');
    const outside = await rejected({ clusterIP: '192.0.2.1', ports: [{ port: 80 }] });
    expect(outside.message).toContain('the provided network does not match the current range');
    expect((await call('DELETE', `${SVC}/owner`)).status).toBe(200);
    await create({ clusterIP: '10.96.200.7', ports: [{ port: 80 }] });
  });

  it('a requested node port is taken once and free again after delete', async () => {
    const first = await call(
      'POST',
      SVC,
      service({ type: 'NodePort', ports: [{ port: 80, nodePort: 31234 }] }, 'np-owner'),
    );
    expect(first.status).toBe(201);
    const clash = await rejected({ type: 'NodePort', ports: [{ port: 80, nodePort: 31234 }] });
    expect(fields(clash)).toEqual(['spec.ports[0].nodePort']);
    expect((await rejected({ type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] })).message).toContain(
      'valid range',
    );
    await call('DELETE', `${SVC}/np-owner`);
    await create({ type: 'NodePort', ports: [{ port: 80, nodePort: 31234 }] });
  });

  it('a rejected Service leaves nothing allocated', async () => {
    const before = single.registry.services.nodePorts.allocatedCount;
    const v4Before = single.registry.services.allocator('IPv4')!.allocatedCount;
    await create({ type: 'NodePort', ports: [{ port: 80, nodePort: 31005 }] }, single);
    const status = await rejected(
      {
        type: 'NodePort',
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 81, nodePort: 31005 },
        ],
      },
      single,
    );
    expect(fields(status)).toEqual(['spec.ports[1].nodePort']);
    expect(single.registry.services.nodePorts.allocatedCount).toBe(before + 1);
    expect(single.registry.services.allocator('IPv4')!.allocatedCount).toBe(v4Before + 1);
  });

  it('an exhausted node port range answers 500 (range is full) until a Service is deleted', async () => {
    const names: string[] = [];
    let status = 201;
    for (let i = 0; i < 12 && status === 201; i++) {
      const result = await call(
        'POST',
        SVC,
        service({ type: 'NodePort', ports: [{ port: 80 }] }, `fill-${i}`),
        single,
      );
      status = result.status;
      if (status === 201) names.push(`fill-${i}`);
    }
    expect(status).toBe(500);
    expect(single.registry.services.nodePorts.allocatedCount).toBe(10);
    await call('DELETE', `${SVC}/${names[0]}`, undefined, single);
    await create({ type: 'NodePort', ports: [{ port: 80 }] }, single);
  });
});

describe('updates', () => {
  it('clusterIP is immutable; an update without it keeps the allocated values', async () => {
    const svc = await create({ type: 'LoadBalancer', ports: [{ name: 'web', port: 80 }] });
    const name = svc.metadata.name;
    const changed = await call('PUT', `${SVC}/${name}`, {
      ...svc,
      spec: { ...svc.spec, clusterIP: '10.96.250.250', clusterIPs: ['10.96.250.250'] },
    });
    expect(changed.status).toBe(422);
    expect(fields(changed.body)[0]).toMatch(/^spec\.clusterIPs/);
    const bare = await call(
      'PUT',
      `${SVC}/${name}`,
      service({ type: 'LoadBalancer', ports: [{ name: 'web', port: 80 }] }, name),
    );
    expect(bare.status).toBe(200);
    expect(bare.body.spec.clusterIPs).toEqual(svc.spec.clusterIPs);
    expect(bare.body.spec.ports[0].nodePort).toBe(svc.spec.ports[0].nodePort);
  });

  it('a replacement of a dual-stack Service without families keeps both addresses', async () => {
    const svc = await create({ ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] });
    const name = svc.metadata.name;
    const replaced = await call('PUT', `${SVC}/${name}`, service({ ports: [{ port: 80 }] }, name));
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body.spec.clusterIPs).toEqual(svc.spec.clusterIPs);
    expect(replaced.body.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    // No policy in the replacement: the old one stays.
    expect(replaced.body.spec.ipFamilyPolicy).toBe('PreferDualStack');
  });

  it('a replacement without a type makes a ClusterIP Service', async () => {
    const svc = await create({ type: 'LoadBalancer', ports: [{ name: 'web', port: 80 }] });
    const name = svc.metadata.name;
    const replaced = await call(
      'PUT',
      `${SVC}/${name}`,
      service({ ports: [{ name: 'web', port: 80 }] }, name),
    );
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body.spec.type).toBe('ClusterIP');
    expect(replaced.body.spec.clusterIP).toBe(svc.spec.clusterIP);
    expect(replaced.body.spec.ports[0].nodePort).toBeUndefined();
    expect(server.registry.services.nodePorts.isAllocated(svc.spec.ports[0].nodePort)).toBe(false);
  });

  it('upgrades to dual-stack and downgrades, releasing the secondary address', async () => {
    const svc = await create({ ports: [{ port: 80 }] });
    const name = svc.metadata.name;
    const up = await call(
      'PATCH',
      `${SVC}/${name}`,
      { spec: { ipFamilyPolicy: 'PreferDualStack' } },
      server,
      'application/merge-patch+json',
    );
    expect(up.status).toBe(200);
    expect(up.body.spec.clusterIPs[0]).toBe(svc.spec.clusterIP);
    expect(inV6(up.body.spec.clusterIPs[1])).toBe(true);
    const secondary = up.body.spec.clusterIPs[1];
    const down = await call(
      'PATCH',
      `${SVC}/${name}`,
      { spec: { ipFamilyPolicy: 'SingleStack' } },
      server,
      'application/merge-patch+json',
    );
    expect(down.status).toBe(200);
    expect(down.body.spec.clusterIPs).toEqual([svc.spec.clusterIP]);
    expect(down.body.spec.ipFamilies).toEqual(['IPv4']);
    const reuse = await create({ ipFamilies: ['IPv6'], clusterIP: secondary, ports: [{ port: 80 }] });
    expect(reuse.spec.clusterIP).toBe(secondary);
  });

  it('LoadBalancer to ClusterIP wipes unchanged node ports (released) and the load balancer status', async () => {
    const svc = await create({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
    const name = svc.metadata.name;
    const nodePort = svc.spec.ports[0].nodePort;
    const health = svc.spec.healthCheckNodePort;
    await call('PUT', `${SVC}/${name}/status`, {
      ...svc,
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.5' }] } },
    });
    const changedPort = await call(
      'PATCH',
      `${SVC}/${name}`,
      { spec: { type: 'ClusterIP', ports: [{ port: 80, nodePort: nodePort === 32000 ? 32001 : 32000 }] } },
      server,
      'application/merge-patch+json',
    );
    expect(changedPort.status).toBe(422);
    expect(fields(changedPort.body)).toEqual(['spec.ports[0].nodePort']);
    const switched = await call(
      'PATCH',
      `${SVC}/${name}`,
      { spec: { type: 'ClusterIP' } },
      server,
      'application/merge-patch+json',
    );
    expect(switched.status, JSON.stringify(switched.body)).toBe(200);
    expect(switched.body.spec.ports[0].nodePort).toBeUndefined();
    expect(switched.body.spec.healthCheckNodePort).toBeUndefined();
    expect(switched.body.spec.externalTrafficPolicy).toBeUndefined();
    expect(switched.body.spec.allocateLoadBalancerNodePorts).toBeUndefined();
    expect(switched.body.spec.clusterIP).toBe(svc.spec.clusterIP);
    expect(switched.body.status).toEqual({ loadBalancer: {} });
    expect(server.registry.services.nodePorts.isAllocated(nodePort)).toBe(false);
    expect(server.registry.services.nodePorts.isAllocated(health)).toBe(false);
  });

  it('Services have no generation (unlike Ingresses)', async () => {
    const svc = await create({ ports: [{ name: 'a', port: 80 }] });
    const name = svc.metadata.name;
    const labelled = await call(
      'PATCH',
      `${SVC}/${name}`,
      { metadata: { labels: { a: 'b' } } },
      server,
      'application/merge-patch+json',
    );
    expect(labelled.body.metadata.generation).toBeUndefined();
    const moved = await call(
      'PATCH',
      `${SVC}/${name}`,
      { spec: { ports: [{ name: 'b', port: 81 }] } },
      server,
      'application/strategic-merge-patch+json',
    );
    // The patch's new port first, as the real server's strategic merge orders it.
    expect(moved.body.spec.ports.map((p: Json) => p.port)).toEqual([81, 80]);
    expect(moved.body.metadata.generation).toBeUndefined();
  });
});

describe('validation', () => {
  it.each([
    [{ ports: [{ port: 0 }] }, ['spec.ports[0].port', 'spec.ports[0].targetPort']],
    [{ ports: [] }, ['spec.ports']],
    [{ ports: [{ port: 80 }, { port: 81 }] }, ['spec.ports[0].name', 'spec.ports[1].name']],
    [
      {
        ports: [
          { name: 'a', port: 80 },
          { name: 'a', port: 81 },
        ],
      },
      ['spec.ports[1].name'],
    ],
    [{ type: 'Fancy', ports: [{ port: 80 }] }, ['spec.type']],
    [{ ports: [{ port: 80, protocol: 'ICMP' }] }, ['spec.ports[0].protocol']],
    [{ ports: [{ port: 80, nodePort: 30500 }] }, ['spec.ports[0].nodePort']],
    [
      { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'], ports: [{ port: 80 }] },
      ['spec.ipFamilyPolicy'],
    ],
    [{ ipFamilies: ['IPv4', 'IPv4'], ports: [{ port: 80 }] }, ['spec.ipFamilies[1]']],
    [{ type: 'ExternalName' }, ['spec.externalName']],
    [{ loadBalancerClass: 'x/y', ports: [{ port: 80 }] }, ['spec.loadBalancerClass']],
  ])('%j is rejected naming %j', async (spec, expected) => {
    const status = await rejected(spec);
    expect(fields(status)).toEqual(expected);
    expect(status.message).toContain(expected[0]);
  });
});
