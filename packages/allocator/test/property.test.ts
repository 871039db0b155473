/**
 * Property tests: the allocator against a naive reference model that enumerates every address
 * of every (small) pool. Random sequences of allocate / assign / release / setPools must give the
 * same answers; no address is ever held by two services that may not share; runs are deterministic.
 */
import fc from 'fast-check';
import type { AddressPool } from '@portico/config';
import { familyBits, formatAddress, parseIP, type Address, type IPFamily } from '@portico/net';
import { describe, expect, it } from 'vitest';
import { Allocator, type IPFamilyPolicy, type ServicePort, type ServiceRequest } from '../src/index.js';
import { pool } from './fixtures.js';

// ---------------------------------------------------------------------------------------------
// The reference model: simple, slow, obviously right. Addresses are enumerated one by one.

interface RefPool {
  name: string;
  autoAssign: boolean;
  /** Every usable address in allocation order. */
  addresses: Address[];
}

interface RefTenant {
  svc: ServiceRequest;
  ips: Address[];
  pool: string;
}

const same = (a: Address, b: Address): boolean => a.family === b.family && a.value === b.value;

function enumerate(p: AddressPool): RefPool {
  const addresses: Address[] = [];
  for (const entry of p.addresses) {
    for (const c of entry.cidrs) {
      const size = 1n << BigInt(familyBits[c.family] - c.prefixLength);
      for (let v = c.base; v < c.base + size; v++) {
        const low = v & 0xffn;
        if (p.avoidBuggyIPs && c.family === 'IPv4' && (low === 0n || low === 255n)) continue;
        addresses.push({ family: c.family, value: v });
      }
    }
  }
  return { name: p.name, autoAssign: p.autoAssign, addresses };
}

class Reference {
  pools: RefPool[] = [];
  tenants = new Map<string, RefTenant>();

  setPools(pools: readonly AddressPool[]): boolean {
    const next = pools.map(enumerate);
    const homeIn = (ip: Address) => next.find((p) => p.addresses.some((a) => same(a, ip)))?.name;
    for (const t of this.tenants.values()) {
      const homes = t.ips.map(homeIn);
      if (homes.some((h) => h === undefined) || new Set(homes).size > 1) return false;
    }
    this.pools = next;
    for (const t of this.tenants.values()) t.pool = homeIn(t.ips[0]!)!;
    return true;
  }

  home(ip: Address): string | undefined {
    return this.pools.find((p) => p.addresses.some((a) => same(a, ip)))?.name;
  }

  others(ip: Address, key: string): RefTenant[] {
    return [...this.tenants.values()].filter((t) => t.svc.key !== key && t.ips.some((x) => same(x, ip)));
  }

  canUse(svc: ServiceRequest, ip: Address): boolean {
    return this.others(ip, svc.key).every(
      (t) =>
        !!svc.sharingKey &&
        t.svc.sharingKey === svc.sharingKey &&
        (t.svc.backendKey ?? '') === (svc.backendKey ?? '') &&
        !t.svc.ports.some((p) => svc.ports.some((q) => p.protocol === q.protocol && p.port === q.port)),
    );
  }

  assign(svc: ServiceRequest, text: string): { ips: string[]; pool: string } | undefined {
    const ip = parseIP(text)!;
    const families = [...new Set(svc.families)];
    const fits =
      svc.ipFamilyPolicy === 'SingleStack'
        ? ip.family === families[0]
        : svc.ipFamilyPolicy === 'PreferDualStack' && families.includes(ip.family);
    const home = this.home(ip);
    if (!fits || !home || (svc.pool !== undefined && svc.pool !== home) || !this.canUse(svc, ip))
      return undefined;
    this.tenants.set(svc.key, { svc, ips: [ip], pool: home });
    return { ips: [formatAddress(ip)], pool: home };
  }

  allocate(svc: ServiceRequest): { ips: string[]; pool: string } | undefined {
    const existing = this.tenants.get(svc.key);
    // Requests never change here, so an assignment stays valid unless a reload re-homed it out of
    // the annotated pool; then it is dropped and allocated afresh.
    if (existing && (svc.pool === undefined || svc.pool === existing.pool)) {
      return { ips: existing.ips.map(formatAddress), pool: existing.pool };
    }
    this.tenants.delete(svc.key);
    const families = [...new Set(svc.families)];
    if (families.length === 0) return undefined;
    let plan: IPFamily[][];
    if (svc.ipFamilyPolicy === 'SingleStack') plan = [[families[0]!]];
    else if (svc.ipFamilyPolicy === 'RequireDualStack') plan = families.length === 2 ? [families] : [];
    else plan = families.length === 2 ? [families, [families[0]!]] : [families];
    const candidates =
      svc.pool !== undefined
        ? this.pools.filter((p) => p.name === svc.pool).slice(0, 1)
        : this.pools.filter((p) => p.autoAssign);

    for (const wanted of plan) {
      const sharedIn = (p: RefPool, f: IPFamily) =>
        svc.sharingKey
          ? p.addresses.find(
              (a) =>
                a.family === f &&
                this.home(a) === p.name &&
                this.others(a, svc.key).length > 0 &&
                this.canUse(svc, a),
            )
          : undefined;
      const freeIn = (p: RefPool, f: IPFamily) =>
        p.addresses.find((a) => a.family === f && this.others(a, svc.key).length === 0);
      const withTenants = candidates.filter((p) => wanted.some((f) => sharedIn(p, f)));
      for (const p of [...withTenants, ...candidates]) {
        const ips = wanted.map((f) => sharedIn(p, f) ?? freeIn(p, f));
        if (ips.every((ip) => ip !== undefined)) {
          this.tenants.set(svc.key, { svc, ips: ips as Address[], pool: p.name });
          return { ips: ips.map((ip) => formatAddress(ip!)), pool: p.name };
        }
      }
    }
    return undefined;
  }

  release(key: string): void {
    this.tenants.delete(key);
  }

  inUse(poolName: string, family: IPFamily): number {
    const used = new Set<string>();
    for (const t of this.tenants.values()) {
      for (const ip of t.ips)
        if (ip.family === family && this.home(ip) === poolName) used.add(formatAddress(ip));
    }
    return used.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators: a few small pool layouts (with a range across a /24 boundary for avoid-buggy-ips),
// a fixed request per service key, and operation sequences.

const layouts: Array<Array<[string, string[]]>> = [
  [
    ['a', ['192.0.2.0/30', '192.0.2.254-192.0.3.1']],
    ['b', ['2001:db8::/126', '198.51.100.0/31']],
    ['c', ['2001:db8:1::/127', '203.0.113.255/32']],
  ],
  [
    ['b', ['198.51.100.0/31', '2001:db8::/126']],
    ['a', ['192.0.2.0/29']],
  ],
  [['a', ['192.0.2.0/30', '192.0.2.254-192.0.3.1', '2001:db8::/126', '2001:db8:1::/127']]],
];

const configArb = fc.record({
  layout: fc.integer({ min: 0, max: layouts.length - 1 }),
  flags: fc.array(fc.record({ autoAssign: fc.boolean(), avoidBuggyIPs: fc.boolean() }), {
    minLength: 3,
    maxLength: 3,
  }),
});

type ConfigChoice = { layout: number; flags: Array<{ autoAssign: boolean; avoidBuggyIPs: boolean }> };

function buildPools(choice: ConfigChoice): AddressPool[] {
  return layouts[choice.layout]!.map(([name, addresses], i) => pool(name, addresses, choice.flags[i]!));
}

const portChoices: ServicePort[] = [
  { protocol: 'TCP', port: 80 },
  { protocol: 'TCP', port: 443 },
  { protocol: 'UDP', port: 53 },
];

const keys = ['ns/s0', 'ns/s1', 'ns/s2', 'ns/s3', 'ns/s4', 'ns/s5', 'ns/s6', 'ns/s7'];

const requestArb = fc.record({
  families: fc.constantFrom<IPFamily[]>(['IPv4'], ['IPv6'], ['IPv4', 'IPv6'], ['IPv6', 'IPv4']),
  ipFamilyPolicy: fc.constantFrom<IPFamilyPolicy>('SingleStack', 'PreferDualStack', 'RequireDualStack'),
  pool: fc.option(fc.constantFrom('a', 'b', 'c', 'nope'), { nil: undefined, freq: 2 }),
  sharingKey: fc.option(fc.constantFrom('k1', 'k2'), { nil: undefined, freq: 2 }),
  backendKey: fc.option(fc.constant('app=a'), { nil: undefined, freq: 2 }),
  ports: fc.subarray(portChoices),
});

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

function requests(raw: Array<ValueOf<typeof requestArb>>) {
  return new Map(
    raw.map((r, i): [string, ServiceRequest] => [
      keys[i]!,
      {
        key: keys[i]!,
        families: r.families,
        ipFamilyPolicy: r.ipFamilyPolicy,
        requestedIPs: [],
        ...(r.pool !== undefined && { pool: r.pool }),
        ...(r.sharingKey !== undefined && { sharingKey: r.sharingKey }),
        ...(r.backendKey !== undefined && { backendKey: r.backendKey }),
        ports: r.ports,
      },
    ]),
  );
}

const addressUniverse = [
  '192.0.2.0',
  '192.0.2.1',
  '192.0.2.3',
  '192.0.2.255',
  '192.0.3.0',
  '192.0.3.1',
  '198.51.100.1',
  '203.0.113.255',
  '2001:db8::',
  '2001:db8::3',
  '2001:db8:1::1',
  '2001:db8:2::1',
];

const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('allocate' as const), svc: fc.nat(keys.length - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('assign' as const),
      svc: fc.nat(keys.length - 1),
      ip: fc.constantFrom(...addressUniverse),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), svc: fc.nat(keys.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setPools' as const), config: configArb }) },
);

const scenarioArb = fc.record({
  config: configArb,
  requests: fc.array(requestArb, { minLength: keys.length, maxLength: keys.length }),
  ops: fc.array(opArb, { maxLength: 60 }),
});

type Scenario = ValueOf<typeof scenarioArb>;

/** Runs a scenario on the allocator, returning a transcript of every answer. */
function transcript(
  s: Scenario,
  onStep?: (alloc: Allocator, reqs: Map<string, ServiceRequest>) => void,
): string[] {
  const reqs = requests(s.requests);
  const alloc = new Allocator(buildPools(s.config));
  const out: string[] = [];
  for (const op of s.ops) {
    if (op.op === 'setPools') out.push(JSON.stringify(alloc.setPools(buildPools(op.config))));
    else if (op.op === 'release') alloc.release(keys[op.svc]!);
    else if (op.op === 'allocate') out.push(JSON.stringify(alloc.allocate(reqs.get(keys[op.svc]!)!)));
    else out.push(JSON.stringify(alloc.assign(reqs.get(keys[op.svc]!)!, [op.ip])));
    onStep?.(alloc, reqs);
  }
  return out;
}

describe('allocator vs. naive reference model', () => {
  it('gives the same answers for random allocate/assign/release/setPools sequences', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const reqs = requests(s.requests);
        const alloc = new Allocator(buildPools(s.config));
        const ref = new Reference();
        ref.setPools(buildPools(s.config));
        for (const op of s.ops) {
          const svc = op.op === 'setPools' ? undefined : reqs.get(keys[op.svc]!)!;
          if (op.op === 'setPools') {
            const pools = buildPools(op.config);
            expect(alloc.setPools(pools).ok).toBe(ref.setPools(pools));
          } else if (op.op === 'release') {
            alloc.release(svc!.key);
            ref.release(svc!.key);
          } else {
            const got = op.op === 'allocate' ? alloc.allocate(svc!) : alloc.assign(svc!, [op.ip]);
            const want = op.op === 'allocate' ? ref.allocate(svc!) : ref.assign(svc!, op.ip);
            expect(got.ok ? { ips: got.ips, pool: got.pool } : undefined).toEqual(want);
          }
          for (const key of keys) {
            const t = ref.tenants.get(key);
            expect(alloc.assignment(key)).toEqual(t && { ips: t.ips.map(formatAddress), pool: t.pool });
          }
          for (const stat of alloc.poolStats()) expect(stat.inUse).toBe(ref.inUse(stat.pool, stat.family));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never gives an address to two services that may not share it', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        transcript(s, (alloc, reqs) => {
          const holders = new Map<string, ServiceRequest[]>();
          for (const key of alloc.services()) {
            for (const ip of alloc.assignment(key)!.ips)
              holders.set(ip, [...(holders.get(ip) ?? []), reqs.get(key)!]);
          }
          for (const [ip, svcs] of holders) {
            expect(alloc.usersOf(ip)).toEqual(svcs.map((x) => x.key).sort());
            if (svcs.length < 2) continue;
            const first = svcs[0]!;
            for (const other of svcs.slice(1)) {
              expect(first.sharingKey).toBeTruthy();
              expect(other.sharingKey).toBe(first.sharingKey);
              expect(other.backendKey ?? '').toBe(first.backendKey ?? '');
            }
            const ports = svcs.flatMap((x) => x.ports.map((p) => `${p.protocol}/${p.port}`));
            expect(new Set(ports).size).toBe(ports.length);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same sequence gives the same transcript', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        expect(transcript(s)).toEqual(transcript(s));
      }),
      { numRuns: 100 },
    );
  });
});

describe('large pools', () => {
  it('allocates sequentially from an IPv6 /64 and refills holes lowest first', () => {
    const alloc = new Allocator([pool('v6', ['2001:db8::/64'])]);
    const svc = (i: number): ServiceRequest => ({
      key: `ns/s${i}`,
      families: ['IPv6'],
      ipFamilyPolicy: 'SingleStack',
      requestedIPs: [],
      ports: [],
    });
    for (let i = 0; i < 5000; i++) alloc.allocate(svc(i));
    for (const i of [4000, 17, 2500]) alloc.release(`ns/s${i}`);
    const got = [5001, 5002, 5003, 5004].map((i) => alloc.allocate(svc(i)));
    const expected = [17, 2500, 4000, 5000].map((n) =>
      formatAddress({ family: 'IPv6', value: parseIP('2001:db8::')!.value + BigInt(n) }),
    );
    expect(got.map((r) => (r.ok ? r.ips[0] : r.error))).toEqual(expected);
  });
});
