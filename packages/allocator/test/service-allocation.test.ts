/**
 * IPAddressPool serviceAllocation in the allocator, as MetalLB's allocator applies it: the
 * auto-assign pools reserved to the Service (namespace, namespace labels, Service labels) come
 * first, lowest positive priority first and priority 0 last (ties: config order, where MetalLB's
 * sort is unstable); the pools without serviceAllocation only when none of those has room; a pool
 * named by annotation or holding a requested IP is used whatever its serviceAllocation and
 * autoAssign say. And why a Service gets nothing, as a FailureReason.
 */
import type { AddressPool, ServiceAllocation } from '@portico/config';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allocator, type ServiceRequest } from '../src/index.js';
import { pool, service, type ServiceOptions } from './fixtures.js';

function reserved(
  name: string,
  address: string,
  allocation: Partial<ServiceAllocation>,
  autoAssign = true,
): AddressPool {
  return {
    ...pool(name, [address], { autoAssign }),
    serviceAllocation: {
      priority: 0,
      namespaces: [],
      namespaceSelectors: [],
      serviceSelectors: [],
      ...allocation,
    },
  };
}

interface Who {
  labels?: Record<string, string>;
  namespaceLabels?: Record<string, string>;
}

const request = (key: string, who: Who = {}, options: ServiceOptions = {}): ServiceRequest => ({
  ...service(key, options),
  ...who,
});

/** The pool each request gets its address from, or the failure reason. */
function pools(alloc: Allocator, requests: ServiceRequest[]): string[] {
  return requests.map((r) => {
    const result = alloc.allocate(r);
    return result.ok ? result.pool : result.reason;
  });
}

const shared = pool('shared', ['192.0.2.0/31']);
const sel = (labels: Record<string, string>) => ({ matchLabels: labels, matchExpressions: [] });

describe('serviceAllocation: which pool a Service gets', () => {
  it.each([
    {
      name: 'a pool reserved to the namespace beats the shared pool, even when listed after it',
      pools: [shared, reserved('team', '198.51.100.0/32', { namespaces: ['team'] })],
      requests: [request('team/a'), request('team/b'), request('other/c')],
      want: ['team', 'shared', 'shared'],
    },
    {
      name: 'priorities: lowest positive first, 0 last',
      pools: [
        reserved('none', '203.0.113.0/32', {}),
        reserved('two', '198.51.100.2/32', { priority: 2 }),
        reserved('one', '198.51.100.1/32', { priority: 1 }),
        shared,
      ],
      requests: [request('x/a'), request('x/b'), request('x/c'), request('x/d')],
      want: ['one', 'two', 'none', 'shared'],
    },
    {
      name: 'equal priorities in config order',
      pools: [
        reserved('b', '198.51.100.2/32', { priority: 3 }),
        reserved('a', '198.51.100.1/32', { priority: 3 }),
      ],
      requests: [request('x/a'), request('x/b')],
      want: ['b', 'a'],
    },
    {
      name: 'namespace selectors read the namespace labels',
      pools: [reserved('blue', '198.51.100.0/32', { namespaceSelectors: [sel({ tier: 'blue' })] }), shared],
      requests: [
        request('x/a', { namespaceLabels: { tier: 'green' } }),
        request('x/b', { namespaceLabels: { tier: 'blue' } }),
      ],
      want: ['shared', 'blue'],
    },
    {
      name: 'service selectors read the Service labels; with namespaces both must hold',
      pools: [
        reserved('web', '198.51.100.0/31', { namespaces: ['shop'], serviceSelectors: [sel({ app: 'web' })] }),
        shared,
      ],
      requests: [
        request('shop/a', { labels: { app: 'db' } }),
        request('other/b', { labels: { app: 'web' } }),
        request('shop/c', { labels: { app: 'web' } }),
      ],
      want: ['shared', 'shared', 'web'],
    },
    {
      name: 'a reserved pool never serves a Service it does not match, even when the rest is full',
      pools: [reserved('team', '198.51.100.0/31', { namespaces: ['team'] }), pool('tiny', ['192.0.2.0/32'])],
      requests: [request('other/a'), request('other/b')],
      want: ['tiny', 'PoolExhausted'],
    },
    {
      name: 'autoAssign: false pools only by request, reserved or not',
      pools: [
        reserved('manual', '198.51.100.0/31', { namespaces: ['x'] }, false),
        pool('off', ['203.0.113.0/31'], { autoAssign: false }),
      ],
      requests: [
        request('x/a'),
        request('x/b', {}, { pool: 'manual' }),
        request('y/c', {}, { pool: 'manual' }),
        request('y/d', {}, { requestedIPs: ['203.0.113.1'] }),
      ],
      want: ['NoMatchingPool', 'manual', 'manual', 'off'],
    },
    {
      name: 'the pool annotation and requested IPs win over serviceAllocation',
      pools: [reserved('team', '198.51.100.0/31', { namespaces: ['team'] }), shared],
      requests: [
        request('other/a', {}, { pool: 'team' }),
        request('other/b', {}, { requestedIPs: ['198.51.100.1'] }),
        request('team/c', {}, { pool: 'shared' }),
      ],
      want: ['team', 'team', 'shared'],
    },
  ])('$name', ({ pools: configured, requests, want }) => {
    expect(pools(new Allocator(configured), requests)).toEqual(want);
  });
});

describe('why a Service gets no address', () => {
  const alloc = () => {
    const a = new Allocator([
      pool('main', ['192.0.2.0/32']),
      pool('v6', ['2001:db8::/128'], { autoAssign: false }),
    ]);
    expect(a.allocate(service('ns/holder', { sharingKey: 'k', ports: 'TCP/80' })).ok).toBe(true);
    return a;
  };
  it.each([
    { name: 'no pool of its family', options: { families: ['IPv6'] }, want: 'NoMatchingPool' },
    { name: 'unknown pool named', options: { pool: 'nope' }, want: 'NoMatchingPool' },
    { name: 'every pool full', options: {}, want: 'PoolExhausted' },
    { name: 'the named pool full', options: { pool: 'main' }, want: 'PoolExhausted' },
    {
      name: 'requested IP in no pool',
      options: { requestedIPs: ['10.0.0.1'] },
      want: 'RequestedIPNotInPool',
    },
    {
      name: 'requested IP not in the named pool',
      options: { requestedIPs: ['192.0.2.0'], pool: 'v6' },
      want: 'RequestedIPNotInPool',
    },
    {
      name: 'requested IP held, no sharing key',
      options: { requestedIPs: ['192.0.2.0'] },
      want: 'RequestedIPInUse',
    },
    {
      name: 'requested IP held, other sharing key',
      options: { requestedIPs: ['192.0.2.0'], sharingKey: 'other' },
      want: 'SharingRefused',
    },
    {
      name: 'requested IP shared, same port',
      options: { requestedIPs: ['192.0.2.0'], sharingKey: 'k', ports: 'TCP/80' },
      want: 'SharingRefused',
    },
    {
      name: 'requested IP of the wrong family',
      options: { requestedIPs: ['2001:db8::'] },
      want: 'InvalidRequest',
    },
  ] as { name: string; options: ServiceOptions; want: string }[])('$name: $want', ({ options, want }) => {
    const result = alloc().allocate(service('ns/new', options));
    expect(result.ok ? 'ok' : result.reason).toBe(want);
  });
});

describe('property: the allocator follows poolsForService order', () => {
  // Each pool has one address, so the n-th allocation of one Service identity shows the n-th pool
  // it may use; the expected order is computed here from the rule, not from the implementation.
  const namespaces = ['a', 'b'];
  const spec = fc.record({
    autoAssign: fc.boolean(),
    allocation: fc.option(
      fc.record({
        priority: fc.integer({ min: 0, max: 3 }),
        namespaces: fc.subarray(namespaces),
        label: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
      }),
      { nil: undefined },
    ),
  });
  it('reserved pools by (priority, 0 last, config order), then shared pools in config order', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { maxLength: 10 }),
        fc.constantFrom(...namespaces),
        fc.constantFrom('x', 'y'),
        (specs, ns, label) => {
          const configured = specs.map((s, i) => {
            const base = pool(`p${i}`, [`10.0.${i}.0/32`], { autoAssign: s.autoAssign });
            if (!s.allocation) return base;
            return {
              ...base,
              serviceAllocation: {
                priority: s.allocation.priority,
                namespaces: s.allocation.namespaces,
                namespaceSelectors: [],
                serviceSelectors: s.allocation.label ? [sel({ app: s.allocation.label })] : [],
              },
            };
          });
          const matches = (p: AddressPool) => {
            const a = p.serviceAllocation!;
            return (
              (a.namespaces.length === 0 || a.namespaces.includes(ns)) &&
              (a.serviceSelectors.length === 0 || a.serviceSelectors[0]!.matchLabels.app === label)
            );
          };
          const rank = (p: AddressPool) => p.serviceAllocation!.priority || Infinity;
          const first = configured
            .map((p, i) => ({ p, i }))
            .filter(({ p }) => p.autoAssign && p.serviceAllocation && matches(p))
            .sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i)
            .map(({ p }) => p.name);
          const then = configured.filter((p) => p.autoAssign && !p.serviceAllocation).map((p) => p.name);
          const expected = [...first, ...then];
          const alloc = new Allocator(configured);
          const got: string[] = [];
          for (let n = 0; n <= expected.length; n++) {
            const r = alloc.allocate(request(`${ns}/s${n}`, { labels: { app: label } }));
            got.push(r.ok ? r.pool : r.reason);
          }
          expect(got).toEqual([...expected, expected.length === 0 ? 'NoMatchingPool' : 'PoolExhausted']);
        },
      ),
    );
  });
});
