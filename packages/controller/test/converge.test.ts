import type { V1Service } from '@kubernetes/client-node';
import { Allocator } from '@portico/allocator';
import { parseConfig } from '@portico/config';
import { describe, expect, it } from 'vitest';
import { converge } from '../src/converge.js';
import { serviceRequest } from '../src/service-request.js';

function allocator(): Allocator {
  const parsed = parseConfig(`
address-pools:
  - name: a
    protocol: layer2
    addresses: [192.0.2.0/31, 2001:db8::/127]
  - name: b
    protocol: bgp
    auto-assign: false
    addresses: [198.51.100.0/31]
`);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const alloc = new Allocator();
  expect(alloc.setPools(parsed.config.pools)).toEqual({ ok: true });
  return alloc;
}

interface Shape {
  name?: string;
  type?: string;
  cls?: string;
  ips?: string[];
  families?: string[];
  policy?: string;
  lbIP?: string;
  annotations?: Record<string, string>;
  ports?: Array<{ port: number; protocol?: string }>;
  local?: boolean;
  selector?: Record<string, string>;
}

function svc(s: Shape = {}): V1Service {
  return {
    metadata: { name: s.name ?? 'web', namespace: 'ns', annotations: s.annotations ?? {} },
    spec: {
      type: s.type ?? 'LoadBalancer',
      loadBalancerClass: s.cls,
      ipFamilies: s.families ?? ['IPv4'],
      ipFamilyPolicy: s.policy ?? 'SingleStack',
      loadBalancerIP: s.lbIP,
      externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
      selector: s.selector ?? { app: s.name ?? 'web' },
      ports: (s.ports ?? [{ port: 80 }]).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })),
    },
    status: { loadBalancer: { ingress: (s.ips ?? []).map((ip) => ({ ip })) } },
  };
}

const key = (s: Shape = {}) => `ns/${s.name ?? 'web'}`;

describe('converge on a fresh Service', () => {
  const cases: Array<{
    name: string;
    shape: Shape;
    ips?: string[];
    event?: string;
    pending?: boolean;
    condition?: string;
  }> = [
    {
      name: 'lowest address of the first auto-assign pool',
      shape: {},
      ips: ['192.0.2.0'],
      event: 'IPAllocated',
    },
    { name: 'IPv6 single stack', shape: { families: ['IPv6'] }, ips: ['2001:db8::'], event: 'IPAllocated' },
    {
      name: 'dual stack in family order',
      shape: { families: ['IPv6', 'IPv4'], policy: 'RequireDualStack' },
      ips: ['2001:db8::', '192.0.2.0'],
      event: 'IPAllocated',
    },
    {
      name: 'pool annotation',
      shape: { annotations: { 'portico.dev/address-pool': 'b' } },
      ips: ['198.51.100.0'],
    },
    {
      name: 'metallb pool alias',
      shape: { annotations: { 'metallb.universe.tf/address-pool': 'b' } },
      ips: ['198.51.100.0'],
    },
    { name: 'spec.loadBalancerIP', shape: { lbIP: '198.51.100.1' }, ips: ['198.51.100.1'] },
    {
      name: 'loadBalancerIPs annotation',
      shape: { annotations: { 'portico.dev/loadBalancerIPs': '192.0.2.1' } },
      ips: ['192.0.2.1'],
    },
    {
      name: 'both request forms is an error',
      shape: { lbIP: '192.0.2.1', annotations: { 'portico.dev/loadBalancerIPs': '192.0.2.1' } },
      event: 'AllocationFailed',
      pending: true,
      condition: 'InvalidRequest',
    },
    {
      name: 'unknown pool',
      shape: { annotations: { 'portico.dev/address-pool': 'nope' } },
      event: 'AllocationFailed',
      pending: true,
      condition: 'NoMatchingPool',
    },
    {
      name: 'address outside every pool',
      shape: { lbIP: '203.0.113.9' },
      event: 'AllocationFailed',
      pending: true,
      condition: 'RequestedIPNotInPool',
    },
    { name: 'another class is ignored', shape: { cls: 'example.com/lb' } },
    { name: 'our class is served', shape: { cls: 'portico.dev/lb' }, ips: ['192.0.2.0'] },
    { name: 'ClusterIP Services are ignored', shape: { type: 'ClusterIP' } },
  ];
  it.each(cases)('$name', ({ shape, ips, event, pending = false, condition }) => {
    const alloc = allocator();
    const d = converge(alloc, svc(shape), key(shape), true);
    expect(d.ips).toEqual(ips);
    // The pool of the new addresses, as the allocator holds it; none when nothing was allocated.
    expect(d.pool).toBe(ips ? alloc.assignment(key(shape))?.pool : undefined);
    if (ips) expect(d.pool).toMatch(/^[ab]$/);
    expect(d.events.map((e) => e.reason)).toEqual(event ? [event] : ips ? ['IPAllocated'] : []);
    expect(d.pending).toBe(pending);
    // The AddressAllocated condition: False with the reason when nothing was given, else removed.
    if (condition) expect(d.condition).toMatchObject({ status: 'False', reason: condition });
    else expect(d.condition).toBeNull();
  });
});

describe('converge on a Service that already has an IP', () => {
  it('re-claims it without writing or announcing anything', () => {
    const d = converge(allocator(), svc({ ips: ['192.0.2.1'] }), key(), false);
    // The pool is named (for metallb.io/ip-allocated-from-pool); the addresses are not rewritten,
    // and an AddressAllocated condition left from before is removed (null).
    expect(d).toEqual({ events: [], pending: false, released: false, pool: 'a', condition: null });
  });

  it('does not allocate before the start-up re-claim is done', () => {
    const d = converge(allocator(), svc(), key(), false);
    expect(d.ips).toBeUndefined();
    expect(d.events).toEqual([]);
  });

  it('keeps an IP that is still valid after the controller restarted, even in a non-auto-assign pool', () => {
    const alloc = allocator();
    expect(converge(alloc, svc({ ips: ['198.51.100.1'] }), key(), false).ips).toBeUndefined();
    expect(alloc.assignment(key())).toEqual({ ips: ['198.51.100.1'], pool: 'b' });
  });

  it('moves to the requested IP when the user asks for another one', () => {
    const alloc = allocator();
    converge(alloc, svc({ ips: ['192.0.2.0'] }), key(), true);
    const d = converge(alloc, svc({ ips: ['192.0.2.0'], lbIP: '192.0.2.1' }), key(), true);
    expect(d.ips).toEqual(['192.0.2.1']);
    expect(d.events.map((e) => e.reason)).toEqual(['ClearAssignment', 'IPAllocated']);
  });

  it('moves to the annotated pool when the user changes the pool', () => {
    const alloc = allocator();
    converge(alloc, svc({ ips: ['192.0.2.0'] }), key(), true);
    const d = converge(
      alloc,
      svc({ ips: ['192.0.2.0'], annotations: { 'portico.dev/address-pool': 'b' } }),
      key(),
      true,
    );
    expect(d.ips).toEqual(['198.51.100.0']);
  });

  it('gives up an IP that lies in no pool and allocates a new one', () => {
    const d = converge(allocator(), svc({ ips: ['203.0.113.7'] }), key(), true);
    expect(d.ips).toEqual(['192.0.2.0']);
    expect(d.events.map((e) => [e.type, e.reason])).toEqual([
      ['Warning', 'ClearAssignment'],
      ['Normal', 'IPAllocated'],
    ]);
  });

  it('keeps the IP and warns when the request annotation becomes invalid', () => {
    const alloc = allocator();
    converge(alloc, svc({ ips: ['192.0.2.0'] }), key(), true);
    const d = converge(
      alloc,
      svc({ ips: ['192.0.2.0'], lbIP: 'x', annotations: { 'portico.dev/loadBalancerIPs': 'y' } }),
      key(),
      true,
    );
    expect(d.ips).toBeUndefined();
    expect(d.events.map((e) => e.reason)).toEqual(['LoadBalancerFailed']);
    expect(alloc.assignment(key())?.ips).toEqual(['192.0.2.0']);
  });

  it('returns the existing assignment when the cache has not seen our status write yet', () => {
    const alloc = allocator();
    const first = converge(alloc, svc(), key(), true);
    const again = converge(alloc, svc(), key(), true);
    expect(again.ips).toEqual(first.ips);
    expect(again.events).toEqual([]);
  });
});

describe('release', () => {
  it('frees the IP of a deleted Service', () => {
    const alloc = allocator();
    converge(alloc, svc(), key(), true);
    const d = converge(alloc, undefined, key(), true);
    expect(d.released).toBe(true);
    expect(alloc.assignment(key())).toBeUndefined();
  });

  it('frees and clears the IP of a Service that is no longer a LoadBalancer', () => {
    const alloc = allocator();
    converge(alloc, svc(), key(), true);
    const d = converge(alloc, svc({ type: 'ClusterIP', ips: ['192.0.2.0'] }), key(), true);
    expect(d).toMatchObject({ ips: [], released: true });
  });

  it('never clears the status a Service of another class got from its own controller', () => {
    const d = converge(allocator(), svc({ cls: 'example.com/lb', ips: ['203.0.113.1'] }), key(), true);
    expect(d.ips).toBeUndefined();
  });
});

describe('serviceRequest', () => {
  it('maps ports, sharing key and, for Local policy only, the selector as backend key', () => {
    const r = serviceRequest(
      svc({
        local: true,
        selector: { b: '2', a: '1' },
        ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }],
        annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' },
      }),
    );
    expect(r).toMatchObject({
      ok: true,
      request: {
        sharingKey: 'k',
        backendKey: 'a=1,b=2',
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    });
    expect(serviceRequest(svc({ selector: { a: '1' } }))).toMatchObject({
      ok: true,
      request: { backendKey: undefined },
    });
  });

  it('derives families from clusterIPs when ipFamilies is missing', () => {
    const s = svc();
    s.spec!.ipFamilies = undefined;
    s.spec!.clusterIPs = ['10.96.0.1', 'fd00::1'];
    expect(serviceRequest(s)).toMatchObject({ ok: true, request: { families: ['IPv4', 'IPv6'] } });
  });
});
