import type { IPFamily } from '@portico/net';
import { describe, expect, it } from 'vitest';
import { Allocator, familyPlan, type IPFamilyPolicy } from '../src/index.js';
import { pool, service } from './fixtures.js';

const v4only = () => pool('v4only', ['192.0.2.0/32']);
const dual = () => pool('dual', ['198.51.100.0/32', '2001:db8::/128']);
const v6only = () => pool('v6only', ['2001:db8:1::/128']);

describe('dual-stack matrix', () => {
  // Every policy × family order × pool layout; pools are listed in config order.
  it.each([
    // SingleStack takes the first family only.
    { policy: 'SingleStack', families: ['IPv4'], pools: [v4only(), dual()], want: ['192.0.2.0'] },
    { policy: 'SingleStack', families: ['IPv6'], pools: [v4only(), dual()], want: ['2001:db8::'] },
    { policy: 'SingleStack', families: ['IPv6', 'IPv4'], pools: [v4only(), dual()], want: ['2001:db8::'] },
    { policy: 'SingleStack', families: ['IPv6'], pools: [v4only()], want: 'no available IPs' },
    // RequireDualStack: both from one pool, in the service's family order, or fail.
    {
      policy: 'RequireDualStack',
      families: ['IPv4', 'IPv6'],
      pools: [v4only(), dual()],
      want: ['198.51.100.0', '2001:db8::'],
    },
    {
      policy: 'RequireDualStack',
      families: ['IPv6', 'IPv4'],
      pools: [v4only(), dual()],
      want: ['2001:db8::', '198.51.100.0'],
    },
    {
      policy: 'RequireDualStack',
      families: ['IPv4', 'IPv6'],
      pools: [v4only(), v6only()],
      want: 'no available IPs',
    },
    {
      policy: 'RequireDualStack',
      families: ['IPv4'],
      pools: [dual()],
      want: 'service "ns/x" requires dual-stack but has one IP family',
    },
    // PreferDualStack: both when one pool has both, else the first family.
    {
      policy: 'PreferDualStack',
      families: ['IPv4', 'IPv6'],
      pools: [v4only(), dual()],
      want: ['198.51.100.0', '2001:db8::'],
    },
    {
      policy: 'PreferDualStack',
      families: ['IPv4', 'IPv6'],
      pools: [v4only(), v6only()],
      want: ['192.0.2.0'],
    },
    {
      policy: 'PreferDualStack',
      families: ['IPv6', 'IPv4'],
      pools: [v4only(), v6only()],
      want: ['2001:db8:1::'],
    },
    { policy: 'PreferDualStack', families: ['IPv6', 'IPv4'], pools: [v4only()], want: 'no available IPs' },
    { policy: 'PreferDualStack', families: ['IPv6'], pools: [v4only(), dual()], want: ['2001:db8::'] },
    { policy: 'SingleStack', families: [], pools: [dual()], want: 'service "ns/x" has no IP family' },
  ] as Array<{
    policy: IPFamilyPolicy;
    families: IPFamily[];
    pools: ReturnType<typeof dual>[];
    want: string[] | string;
  }>)('$policy $families in $pools.length pools -> $want', ({ policy, families, pools, want }) => {
    const alloc = new Allocator(pools);
    const r = alloc.allocate(service('ns/x', { policy, families }));
    expect(r.ok ? r.ips : r.error).toEqual(want);
  });

  it('RequireDualStack fails when the dual pool has only one family left', () => {
    const alloc = new Allocator([dual()]);
    expect(alloc.allocate(service('ns/a', { families: ['IPv6'] })).ok).toBe(true);
    const r = alloc.allocate(service('ns/b', { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' }));
    expect(r).toMatchObject({ ok: false, error: 'no available IPs' });
    expect(alloc.assignment('ns/b')).toBeUndefined();
    expect(alloc.poolStats().map((s) => s.inUse)).toEqual([0, 1]);
  });

  it('PreferDualStack falls back to its first family when the other is exhausted', () => {
    const alloc = new Allocator([dual()]);
    alloc.allocate(service('ns/a', { families: ['IPv6'] }));
    const r = alloc.allocate(service('ns/b', { families: ['IPv4', 'IPv6'], policy: 'PreferDualStack' }));
    expect(r).toEqual({ ok: true, ips: ['198.51.100.0'], pool: 'dual' });
  });

  it('a PreferDualStack single-family assignment stays valid (never changes on its own)', () => {
    const alloc = new Allocator([v4only(), v6only()]);
    const svc = service('ns/x', { families: ['IPv4', 'IPv6'], policy: 'PreferDualStack' });
    alloc.allocate(svc);
    alloc.setPools([v4only(), v6only(), dual()]);
    expect(alloc.ipsAllowed(svc)).toEqual({ ok: true });
    expect(alloc.allocate(svc)).toEqual({ ok: true, ips: ['192.0.2.0'], pool: 'v4only' });
  });

  it('releases both addresses of a dual-stack service', () => {
    const alloc = new Allocator([dual()]);
    alloc.allocate(service('ns/x', { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' }));
    alloc.release('ns/x');
    expect(alloc.poolStats().map((s) => s.inUse)).toEqual([0, 0]);
  });

  it('familyPlan lists the attempts per policy', () => {
    expect(familyPlan(service('x', { families: ['IPv6', 'IPv4'], policy: 'PreferDualStack' }))).toEqual([
      ['IPv6', 'IPv4'],
      ['IPv6'],
    ]);
    expect(familyPlan(service('x', { families: ['IPv4', 'IPv4'], policy: 'SingleStack' }))).toEqual([
      ['IPv4'],
    ]);
  });
});
