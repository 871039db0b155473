import { describe, expect, it } from 'vitest';
import { Allocator } from '../src/index.js';
import { pool, service, type ServiceOptions } from './fixtures.js';

/** Allocates services one after another and returns each one's result (ips or error). */
function run(alloc: Allocator, requests: Array<[string, ServiceOptions]>): Array<string[] | string> {
  return requests.map(([key, options]) => {
    const r = alloc.allocate(service(key, options));
    return r.ok ? r.ips.slice() : r.error;
  });
}

describe('allocate: address order', () => {
  it.each([
    {
      name: 'lowest first, including .0',
      pools: [pool('a', ['192.0.2.0/30'])],
      want: [['192.0.2.0'], ['192.0.2.1'], ['192.0.2.2'], ['192.0.2.3'], 'no available IPs'],
    },
    {
      name: 'avoid-buggy-ips skips .0 and .255',
      pools: [pool('a', ['192.0.2.254/31', '192.0.3.0/31'], { avoidBuggyIPs: true })],
      want: [['192.0.2.254'], ['192.0.3.1'], 'no available IPs'],
    },
    {
      name: 'CIDR entries in config order, not numeric order',
      pools: [pool('a', ['198.51.100.0/31', '192.0.2.0/31'])],
      want: [['198.51.100.0'], ['198.51.100.1'], ['192.0.2.0'], ['192.0.2.1'], 'no available IPs'],
    },
    {
      name: 'a range expands ascending',
      pools: [pool('a', ['192.0.2.3-192.0.2.5'])],
      want: [['192.0.2.3'], ['192.0.2.4'], ['192.0.2.5'], 'no available IPs'],
    },
    {
      name: 'pools in config order',
      pools: [pool('first', ['198.51.100.7/32']), pool('second', ['192.0.2.0/32'])],
      want: [['198.51.100.7'], ['192.0.2.0'], 'no available IPs'],
    },
    {
      name: 'auto-assign: false pools are skipped',
      pools: [pool('manual', ['192.0.2.0/24'], { autoAssign: false }), pool('auto', ['198.51.100.9/32'])],
      want: [['198.51.100.9'], 'no available IPs'],
    },
    {
      name: 'IPv6 lowest first',
      pools: [pool('a', ['2001:db8::/127'])],
      families: ['IPv6' as const],
      want: [['2001:db8::'], ['2001:db8::1'], 'no available IPs'],
    },
  ])('$name', ({ pools, want, families }) => {
    const alloc = new Allocator(pools);
    const requests = want.map((_, i): [string, ServiceOptions] => [
      `ns/s${i}`,
      { families: families ?? ['IPv4'] },
    ]);
    expect(run(alloc, requests)).toEqual(want);
  });

  it.each([
    { addresses: ['192.0.2.10-192.0.2.20'], avoid: false, total: 11n },
    { addresses: ['192.0.2.250-192.0.3.5'], avoid: false, total: 12n },
    { addresses: ['192.0.2.250-192.0.3.5'], avoid: true, total: 10n },
    { addresses: ['192.0.2.0/23'], avoid: true, total: 508n },
    { addresses: ['192.0.2.255/32'], avoid: true, total: 0n },
    { addresses: ['192.0.2.0/24', '198.51.100.0/25'], avoid: false, total: 384n },
  ])('pool size of $addresses (avoid-buggy-ips: $avoid) is $total', ({ addresses, avoid, total }) => {
    const alloc = new Allocator([pool('p', addresses, { avoidBuggyIPs: avoid })]);
    expect(alloc.poolStats()).toEqual([{ pool: 'p', family: 'IPv4', total, inUse: 0 }]);
  });

  it('pool stats count totals and addresses in use per pool and family', () => {
    const alloc = new Allocator([
      pool('a', ['192.0.2.0/24', '2001:db8::/64'], { avoidBuggyIPs: true }),
      pool('b', ['10.0.0.0/8']),
    ]);
    alloc.allocate(service('ns/x'));
    alloc.allocate(service('ns/y', { families: ['IPv6'] }));
    alloc.allocate(service('ns/z', { pool: 'b' }));
    expect(alloc.poolStats()).toEqual([
      { pool: 'a', family: 'IPv4', total: 254n, inUse: 1 },
      { pool: 'a', family: 'IPv6', total: 1n << 64n, inUse: 1 },
      { pool: 'b', family: 'IPv4', total: 1n << 24n, inUse: 1 },
    ]);
    alloc.release('ns/x');
    expect(alloc.poolStats()[0]!.inUse).toBe(0);
  });
});

describe('allocate: exhaustion and release', () => {
  it('reuses the lowest released address first', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/29'])]);
    for (let i = 0; i < 8; i++) expect(alloc.allocate(service(`ns/s${i}`)).ok).toBe(true);
    expect(alloc.allocate(service('ns/late'))).toMatchObject({ ok: false, error: 'no available IPs' });
    alloc.release('ns/s5');
    alloc.release('ns/s2');
    expect(alloc.allocate(service('ns/late'))).toEqual({ ok: true, ips: ['192.0.2.2'], pool: 'a' });
    expect(alloc.allocate(service('ns/later'))).toEqual({ ok: true, ips: ['192.0.2.5'], pool: 'a' });
    expect(alloc.assignment('ns/s2')).toBeUndefined();
  });

  it('release of an unknown service is a no-op', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/32'])]);
    alloc.release('ns/nobody');
    expect(alloc.allocate(service('ns/x')).ok).toBe(true);
  });

  it('allocate is idempotent for a service that already has a fitting address', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/29'])]);
    const first = alloc.allocate(service('ns/x'));
    expect(alloc.allocate(service('ns/x'))).toEqual(first);
    expect(alloc.services()).toEqual(['ns/x']);
  });

  it('a service can grow back into a /8 without scanning (lowest free after many)', () => {
    const alloc = new Allocator([pool('big', ['10.0.0.0/8'])]);
    for (let i = 0; i < 1000; i++) alloc.allocate(service(`ns/s${i}`));
    expect(alloc.allocate(service('ns/next'))).toEqual({ ok: true, ips: ['10.0.3.232'], pool: 'big' });
  });
});

describe('allocate: pool annotation', () => {
  const pools = () => [
    pool('auto', ['192.0.2.0/32']),
    pool('manual', ['198.51.100.0/31'], { autoAssign: false }),
    pool('v6', ['2001:db8::/128']),
  ];
  it.each([
    {
      name: 'uses the named pool even if not auto-assign',
      options: { pool: 'manual' },
      want: ['198.51.100.0'],
    },
    { name: 'unknown pool', options: { pool: 'nope' }, want: 'unknown pool "nope"' },
    { name: 'an empty annotation means any auto-assign pool', options: { pool: '' }, want: ['192.0.2.0'] },
    {
      name: 'family missing in the pool',
      options: { pool: 'v6' },
      want: 'no available IPs in pool "v6" for ipv4 IPFamily',
    },
    {
      name: 'dual-stack in a single-family pool',
      options: { pool: 'auto', families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' },
      want: 'no available IPs in pool "auto" for dual IPFamily',
    },
  ] satisfies Array<{ name: string; options: ServiceOptions; want: string[] | string }>)(
    '$name',
    ({ options, want }) => {
      const alloc = new Allocator(pools());
      expect(run(alloc, [['ns/x', options]])).toEqual([want]);
    },
  );

  it('does not fall back to other pools when the named pool is full', () => {
    const alloc = new Allocator(pools());
    expect(
      run(alloc, [
        ['ns/a', { pool: 'auto' }],
        ['ns/b', { pool: 'auto' }],
      ]),
    ).toEqual([['192.0.2.0'], 'no available IPs in pool "auto" for ipv4 IPFamily']);
  });
});

describe('requested IPs', () => {
  const pools = () => [
    pool('dual', ['192.0.2.0/24', '2001:db8::/64']),
    pool('manual', ['198.51.100.0/24'], { autoAssign: false }),
    pool('buggy', ['203.0.113.0/24'], { avoidBuggyIPs: true }),
    pool('v6only', ['2001:db8:1::/64']),
  ];
  it.each([
    { name: 'one IPv4', options: { requestedIPs: ['192.0.2.9'] }, want: ['192.0.2.9'] },
    {
      name: 'from an auto-assign: false pool',
      options: { requestedIPs: ['198.51.100.1'] },
      want: ['198.51.100.1'],
    },
    {
      name: 'IPv6 is canonicalised',
      options: { families: ['IPv6'], requestedIPs: ['2001:DB8:0::0:7'] },
      want: ['2001:db8::7'],
    },
    {
      name: 'dual in one pool, returned in family order',
      options: {
        families: ['IPv4', 'IPv6'],
        policy: 'RequireDualStack',
        requestedIPs: ['2001:db8::5', '192.0.2.5'],
      },
      want: ['192.0.2.5', '2001:db8::5'],
    },
    {
      name: 'PreferDualStack may request one of its families',
      options: { families: ['IPv4', 'IPv6'], policy: 'PreferDualStack', requestedIPs: ['2001:db8::5'] },
      want: ['2001:db8::5'],
    },
    {
      name: 'not in any pool',
      options: { requestedIPs: ['192.0.3.1'] },
      want: '"192.0.3.1" is not allowed in config',
    },
    {
      name: 'buggy IP under avoid-buggy-ips',
      options: { requestedIPs: ['203.0.113.255'] },
      want: '"203.0.113.255" is not allowed in config',
    },
    {
      name: '.0 is fine without avoid-buggy-ips',
      options: { requestedIPs: ['192.0.2.0'] },
      want: ['192.0.2.0'],
    },
    {
      name: 'dual split across pools',
      options: {
        families: ['IPv4', 'IPv6'],
        policy: 'RequireDualStack',
        requestedIPs: ['192.0.2.5', '2001:db8:1::5'],
      },
      want: '["192.0.2.5" "2001:db8:1::5"] is not allowed in config',
    },
    {
      name: 'family mismatch',
      options: { families: ['IPv4'], requestedIPs: ['2001:db8::5'] },
      want: 'requested loadBalancer IP(s) ["2001:db8::5"] does not match the ipFamily of the service',
    },
    {
      name: 'two IPs for a single-stack service',
      options: { families: ['IPv4', 'IPv6'], requestedIPs: ['192.0.2.5', '2001:db8::5'] },
      want: 'requested loadBalancer IP(s) ["192.0.2.5" "2001:db8::5"] does not match the ipFamily of the service',
    },
    {
      name: 'one IP for RequireDualStack',
      options: { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack', requestedIPs: ['192.0.2.5'] },
      want: 'requested loadBalancer IP(s) ["192.0.2.5"] does not match the ipFamily of the service',
    },
    {
      name: 'two of the same family',
      options: {
        families: ['IPv4', 'IPv6'],
        policy: 'RequireDualStack',
        requestedIPs: ['192.0.2.5', '192.0.2.6'],
      },
      want: 'invalid loadBalancer IPs ["192.0.2.5" "192.0.2.6"]: at most one address per IP family',
    },
    {
      name: 'not an address',
      options: { requestedIPs: ['192.0.2.300'] },
      want: 'invalid IP address "192.0.2.300"',
    },
    { name: 'empty item', options: { requestedIPs: [''] }, want: 'invalid IP address ""' },
    {
      name: 'outside the annotated pool',
      options: { requestedIPs: ['192.0.2.5'], pool: 'manual' },
      want: 'requested loadBalancer IP(s) ["192.0.2.5"] is not compatible with requested address pool manual',
    },
    {
      name: 'inside the annotated pool',
      options: { requestedIPs: ['198.51.100.5'], pool: 'manual' },
      want: ['198.51.100.5'],
    },
  ] satisfies Array<{ name: string; options: ServiceOptions; want: string[] | string }>)(
    '$name',
    ({ options, want }) => {
      const alloc = new Allocator(pools());
      expect(run(alloc, [['ns/x', options]])).toEqual([want]);
      expect(alloc.assignment('ns/x')?.ips).toEqual(typeof want === 'string' ? undefined : want);
    },
  );

  it('a requested IP that is taken is refused with the sharing message', () => {
    const alloc = new Allocator(pools());
    expect(alloc.allocate(service('ns/a', { requestedIPs: ['192.0.2.5'] })).ok).toBe(true);
    expect(alloc.allocate(service('ns/b', { requestedIPs: ['192.0.2.5'] }))).toMatchObject({
      ok: false,
      error: `can't change sharing key for "ns/b", address also in use by ns/a`,
    });
  });

  it('a changed request releases the old address before claiming the new one', () => {
    const alloc = new Allocator(pools());
    alloc.allocate(service('ns/a', { requestedIPs: ['192.0.2.5'] }));
    expect(alloc.allocate(service('ns/a', { requestedIPs: ['192.0.2.6'] }))).toMatchObject({
      ips: ['192.0.2.6'],
    });
    expect(alloc.usersOf('192.0.2.5')).toEqual([]);
    expect(alloc.usersOf('192.0.2.6')).toEqual(['ns/a']);
  });

  it('automatic allocation does not hand out an address someone requested', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/30'])]);
    alloc.allocate(service('ns/req', { requestedIPs: ['192.0.2.0'] }));
    expect(alloc.allocate(service('ns/auto'))).toMatchObject({ ips: ['192.0.2.1'] });
  });
});

describe('assign', () => {
  it('is idempotent and a failed claim keeps the old assignment', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    const svc = service('ns/x');
    expect(alloc.assign(svc, ['192.0.2.10'])).toEqual({ ok: true, ips: ['192.0.2.10'], pool: 'a' });
    expect(alloc.assign(svc, ['192.0.2.10'])).toEqual({ ok: true, ips: ['192.0.2.10'], pool: 'a' });
    expect(alloc.usersOf('192.0.2.10')).toEqual(['ns/x']);
    expect(alloc.assign(svc, ['198.51.100.1']).ok).toBe(false);
    expect(alloc.assignment('ns/x')).toEqual({ ips: ['192.0.2.10'], pool: 'a' });
    expect(alloc.assign(svc, ['192.0.2.11']).ok).toBe(true);
    expect(alloc.usersOf('192.0.2.10')).toEqual([]);
    expect(alloc.poolStats()[0]!.inUse).toBe(1);
  });

  it('re-claims on start-up before allocating, so nothing moves', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/30'])]);
    expect(alloc.assign(service('ns/b'), ['192.0.2.0']).ok).toBe(true);
    expect(alloc.assign(service('ns/c'), ['192.0.2.2']).ok).toBe(true);
    expect(run(alloc, [['ns/new', {}]])).toEqual([['192.0.2.1']]);
  });
});

describe('ipsAllowed', () => {
  const pools = () => [pool('a', ['192.0.2.0/24']), pool('b', ['198.51.100.0/24'])];
  it('accepts a current assignment that fits', () => {
    const alloc = new Allocator(pools());
    alloc.allocate(service('ns/x'));
    expect(alloc.ipsAllowed(service('ns/x'))).toEqual({ ok: true });
  });
  it.each([
    { name: 'no assignment', key: 'ns/other', options: {}, error: 'service "ns/other" has no assigned IPs' },
    {
      name: 'different pool annotation',
      key: 'ns/x',
      options: { pool: 'b' },
      error: 'requested loadBalancer IP(s) ["192.0.2.0"] is not compatible with requested address pool b',
    },
    {
      name: 'different requested IP',
      key: 'ns/x',
      options: { requestedIPs: ['192.0.2.9'] },
      error: 'requested loadBalancer IP(s) ["192.0.2.9"] differ from assigned ["192.0.2.0"]',
    },
    {
      name: 'family changed',
      key: 'ns/x',
      options: { families: ['IPv6'] },
      error: 'requested loadBalancer IP(s) ["192.0.2.0"] does not match the ipFamily of the service',
    },
  ] satisfies Array<{ name: string; key: string; options: ServiceOptions; error: string }>)(
    'refuses: $name',
    ({ key, options, error }) => {
      const alloc = new Allocator(pools());
      alloc.allocate(service('ns/x'));
      expect(alloc.ipsAllowed(service(key, options))).toMatchObject({ ok: false, error });
    },
  );

  it('allocate moves a service whose pool annotation changed', () => {
    const alloc = new Allocator(pools());
    alloc.allocate(service('ns/x'));
    expect(alloc.allocate(service('ns/x', { pool: 'b' }))).toEqual({
      ok: true,
      ips: ['198.51.100.0'],
      pool: 'b',
    });
    expect(alloc.usersOf('192.0.2.0')).toEqual([]);
  });
});
