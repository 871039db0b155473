/**
 * Portico's IP address manager: pure, deterministic, no I/O. The controller feeds it the pools
 * and the Services; it answers which addresses each Service owns. MetalLB v0.12 semantics with
 * the open points decided (docs/annotations.md):
 *
 * - Pools are tried in config order, after the pools IPAddressPool serviceAllocation reserves to
 *   the Service (by priority; see poolsForService in @portico/config); within a pool the CIDRs of its entries in config order, and
 *   within a CIDR the lowest free address first (including x.x.x.0 unless avoid-buggy-ips).
 * - Requested IPs (annotation or spec.loadBalancerIP) beat the pool annotation, which beats the
 *   auto-assign pools. Requested IPs may come from auto-assign: false pools; the pool annotation
 *   has no fallback.
 * - A Service with a sharing key first goes to the lowest compatible address already shared under
 *   that key (pools holding such an address are tried first), else to a fresh one.
 * - Dual-stack: every address of a Service comes from one pool.
 * - setPools is fail-static: a config that would orphan an assigned address is refused.
 *
 * Cost model (the requirement: one allocation must not grow with the size of a pool):
 * - each CIDR block keeps its used addresses as runs in a balanced tree (used-ranges.ts), so the
 *   lowest free address of a block is O(log runs);
 * - addresses in use are a Map keyed by canonical text, with their users;
 * - addresses shared under a sharing key are indexed by that key, so placing a sharing Service
 *   looks only at the k addresses already shared under its key (O(k log k));
 * - finding an address's pool walks the configured CIDR blocks (config size, not pool size).
 * So one allocation costs O(blocks · log used + k log k). Nothing ever enumerates addresses.
 */
import { poolsForService, type AddressPool } from '@portico/config';
import { formatAddress, parseIP, type Address, type IPFamily } from '@portico/net';
import { PoolTable, type CompiledPool, type Home } from './pool-table.js';
import {
  familyName,
  quote,
  quoteList,
  type Assignment,
  type Check,
  type Failure,
  type FailureReason,
  type Result,
  type ServicePort,
  type ServiceRequest,
} from './service.js';

/** What the allocator remembers about a Service that owns addresses. */
interface Tenant {
  readonly key: string;
  readonly ips: readonly Address[];
  readonly texts: readonly string[];
  pool: string;
  readonly sharingKey: string;
  readonly backendKey: string;
  readonly ports: readonly ServicePort[];
}

/** An address with at least one user. */
interface UsedAddress {
  readonly ip: Address;
  readonly text: string;
  readonly users: Set<string>;
  home: Home | undefined;
  /** The sharing key this address is indexed under ('' = not indexed). */
  indexedKey: string;
}

export interface PoolStat {
  readonly pool: string;
  readonly family: IPFamily;
  /** Addresses the pool can hand out (buggy ones excluded when avoided). */
  readonly total: bigint;
  /** Distinct addresses in use (a shared address counts once). */
  readonly inUse: number;
}

type Validated = { ok: true; ips: Address[]; texts: string[]; pool: string } | Failure;

export class Allocator {
  #table = new PoolTable([]);
  #pools: readonly AddressPool[] = [];
  readonly #tenants = new Map<string, Tenant>();
  readonly #used = new Map<string, UsedAddress>();
  readonly #sharedByKey = new Map<string, Set<UsedAddress>>();
  /** In-use counts by `pool\0family`. */
  #inUse = new Map<string, number>();

  constructor(pools: readonly AddressPool[] = []) {
    const result = this.setPools(pools);
    if (!result.ok) throw new Error(result.error);
  }

  /**
   * Replaces the pools. Fail-static like MetalLB v0.12: refused (nothing changes) when an assigned
   * address would no longer belong to a pool, would now be a buggy address under avoid-buggy-ips,
   * or a Service's addresses would end up in different pools. Renaming or splitting a pool while
   * keeping the used CIDRs is fine: assignments are re-homed by address.
   */
  setPools(pools: readonly AddressPool[]): Check {
    const next = new PoolTable(pools);
    const rehomed = new Map<Tenant, string>();
    for (const key of [...this.#tenants.keys()].sort()) {
      const tenant = this.#tenants.get(key)!;
      const homes = tenant.ips.map((ip) => next.home(ip));
      const orphan = homes.findIndex((home) => home === undefined);
      if (orphan >= 0 || new Set(homes.map((home) => home!.pool)).size > 1) {
        const what = orphan >= 0 ? quote(tenant.texts[orphan]!) : quoteList(tenant.texts);
        return fail(
          `new config not compatible with assigned IPs: service ${quote(key)} cannot own ${what} under new config`,
          'RequestedIPNotInPool',
        );
      }
      rehomed.set(tenant, homes[0]!.pool.name);
    }
    this.#table = next;
    this.#pools = pools;
    for (const [tenant, pool] of rehomed) tenant.pool = pool;
    this.#inUse = new Map();
    for (const address of this.#used.values()) {
      address.home = next.home(address.ip);
      for (const block of next.blocksHolding(address.ip)) block.used.add(address.ip.value);
      this.#count(address, 1);
    }
    return { ok: true };
  }

  /**
   * Claims specific addresses for a Service: requested IPs, or the IPs in its status on start-up.
   * Idempotent for the same Service; when it held other addresses they are released only if the
   * claim succeeds. Addresses may come from `auto-assign: false` pools.
   */
  assign(svc: ServiceRequest, ips: readonly string[]): Result {
    const valid = this.#validate(svc, ips);
    if (!valid.ok) return valid;
    this.#commit(svc, valid.ips, valid.texts, valid.pool);
    return { ok: true, ips: valid.texts, pool: valid.pool };
  }

  /**
   * Gives a Service addresses. A current assignment that still fits the request is kept (and its
   * ports and keys updated); one that no longer fits is released first, as MetalLB does. Then:
   * requested IPs (via assign), else the pool annotation (that pool only, auto-assign not needed),
   * else, as MetalLB: the auto-assign pools whose serviceAllocation matches the Service (by
   * priority, lowest first, 0 last; ties in config order), and only when none of them has room
   * the auto-assign pools without serviceAllocation, in config order.
   */
  allocate(svc: ServiceRequest): Result {
    const current = this.#tenants.get(svc.key);
    if (current) {
      if (this.ipsAllowed(svc).ok) return this.assign(svc, current.texts);
      this.release(svc.key);
    }
    if (svc.requestedIPs.length > 0) return this.assign(svc, svc.requestedIPs);

    const plan = familyPlan(svc);
    if (typeof plan === 'string') return fail(plan, 'InvalidRequest');
    const wanted = wantedPool(svc);
    let groups: (readonly CompiledPool[])[];
    if (wanted !== undefined) {
      const pool = this.#table.get(wanted);
      if (!pool) return fail(`unknown pool ${quote(wanted)}`, 'NoMatchingPool');
      groups = [[pool]];
    } else {
      groups = this.#poolGroups(svc);
    }
    for (const pools of groups) {
      for (const families of plan) {
        const pick = this.#pick(svc, pools, families);
        if (pick) {
          const texts = pick.ips.map(formatAddress);
          this.#commit(svc, pick.ips, texts, pick.pool.name);
          return { ok: true, ips: texts, pool: pick.pool.name };
        }
      }
    }
    // No pool of the Service's families at all is "no pool matches"; some but full is "exhausted".
    const candidates = groups
      .flat()
      .filter((pool) => plan[plan.length - 1]!.every((f) => pool.families.includes(f)));
    const reason: FailureReason = candidates.length === 0 ? 'NoMatchingPool' : 'PoolExhausted';
    if (wanted !== undefined) {
      return fail(`no available IPs in pool ${quote(wanted)} for ${familyName(plan[0]!)} IPFamily`, reason);
    }
    return fail('no available IPs', reason);
  }

  /** The pools an automatic allocation tries, as the groups poolsForService orders them. */
  #poolGroups(svc: ServiceRequest): (readonly CompiledPool[])[] {
    const slash = svc.key.indexOf('/');
    const { reserved, shared } = poolsForService(
      { pools: this.#pools },
      {
        namespace: slash < 0 ? '' : svc.key.slice(0, slash),
        labels: svc.labels ?? {},
        namespaceLabels: svc.namespaceLabels ?? {},
      },
    );
    const compiled = (pools: readonly AddressPool[]) => pools.flatMap((p) => this.#table.get(p.name) ?? []);
    return [compiled(reserved), compiled(shared)];
  }

  /** Frees everything the Service holds. Unknown keys are ignored. */
  release(key: string): void {
    const tenant = this.#tenants.get(key);
    if (!tenant) return;
    this.#tenants.delete(key);
    for (const text of tenant.texts) this.#removeUser(text, key);
  }

  assignment(key: string): Assignment | undefined {
    const tenant = this.#tenants.get(key);
    return tenant && { ips: [...tenant.texts], pool: tenant.pool };
  }

  /** Keys of all Services holding addresses, sorted. */
  services(): string[] {
    return [...this.#tenants.keys()].sort();
  }

  /** Services using an address (canonicalised), sorted; empty when free or not an address. */
  usersOf(address: string): string[] {
    const ip = parseIP(address);
    const used = ip && this.#used.get(formatAddress(ip));
    return used ? [...used.users].sort() : [];
  }

  /**
   * Whether the Service's current addresses are still valid for it: it has some, they match its
   * families and policy, equal its requested IPs (if any), lie in one pool, in its annotated pool
   * (if any), and its sharing key, backend key and ports are compatible with the other users.
   * The controller clears and re-allocates when this fails.
   */
  ipsAllowed(svc: ServiceRequest): Check {
    const current = this.#tenants.get(svc.key);
    if (!current) return fail(`service ${quote(svc.key)} has no assigned IPs`, 'InvalidRequest');
    if (svc.requestedIPs.length > 0) {
      const requested = parseAll(svc.requestedIPs);
      if (typeof requested === 'string') return fail(requested, 'InvalidRequest');
      const wanted = new Set(requested.map(formatAddress));
      if (wanted.size !== current.texts.length || !current.texts.every((text) => wanted.has(text))) {
        return fail(
          `requested loadBalancer IP(s) ${quoteList(svc.requestedIPs)} differ from assigned ${quoteList(current.texts)}`,
          'InvalidRequest',
        );
      }
    }
    const valid = this.#validate(svc, current.texts);
    return valid.ok ? { ok: true } : valid;
  }

  /** Per pool and family present in the pool: addresses it can hand out and addresses in use. */
  poolStats(): PoolStat[] {
    return this.#table.pools.flatMap((pool) =>
      pool.families.map((family) => ({
        pool: pool.name,
        family,
        total: pool.blocks.filter((b) => b.family === family).reduce((sum, b) => sum + b.usableCount(), 0n),
        inUse: this.#inUse.get(countKey(pool.name, family)) ?? 0,
      })),
    );
  }

  /** All checks of a claim, without changing anything. */
  #validate(svc: ServiceRequest, texts: readonly string[]): Validated {
    const parsed = parseAll(texts);
    if (typeof parsed === 'string') return fail(parsed, 'InvalidRequest');
    const ips = orderByFamilies(parsed, svc.families);
    const canonical = ips.map(formatAddress);
    if (!familiesMatch(svc, ips)) {
      return fail(
        `requested loadBalancer IP(s) ${quoteList(texts)} does not match the ipFamily of the service`,
        'InvalidRequest',
      );
    }
    const homes = ips.map((ip) => this.#table.home(ip));
    const orphan = homes.findIndex((home) => home === undefined);
    if (orphan >= 0)
      return fail(`${quote(canonical[orphan]!)} is not allowed in config`, 'RequestedIPNotInPool');
    const pool = homes[0]!.pool.name;
    if (homes.some((home) => home!.pool.name !== pool))
      return fail(`${quoteList(canonical)} is not allowed in config`, 'RequestedIPNotInPool');
    const wanted = wantedPool(svc);
    if (wanted !== undefined && wanted !== pool) {
      return fail(
        `requested loadBalancer IP(s) ${quoteList(texts)} is not compatible with requested address pool ${wanted}`,
        'RequestedIPNotInPool',
      );
    }
    for (const text of canonical) {
      const conflict = this.#sharingConflict(svc, text);
      if (conflict) return fail(conflict, svc.sharingKey ? 'SharingRefused' : 'RequestedIPInUse');
    }
    return { ok: true, ips, texts: canonical, pool };
  }

  /**
   * MetalLB's checkSharing: other users of the address must all have the same non-empty sharing
   * key and the same backend key, and none may use one of the Service's (protocol, port) pairs.
   * The Service itself does not count, so it may change its own key or ports in place.
   */
  #sharingConflict(svc: ServiceRequest, text: string): string | undefined {
    const address = this.#used.get(text);
    if (!address) return undefined;
    const others = [...address.users].filter((key) => key !== svc.key).sort();
    if (others.length === 0) return undefined;
    const sharingKey = svc.sharingKey ?? '';
    const backendKey = svc.backendKey ?? '';
    const tenants = others.map((key) => this.#tenants.get(key)!);
    if (
      sharingKey === '' ||
      tenants.some((t) => t.sharingKey !== sharingKey || t.backendKey !== backendKey)
    ) {
      return `can't change sharing key for ${quote(svc.key)}, address also in use by ${others.join(',')}`;
    }
    for (const port of svc.ports) {
      if (tenants.some((t) => t.ports.some((p) => p.protocol === port.protocol && p.port === port.port))) {
        return `port ${port.protocol}/${port.port} is already in use on ${quote(text)}`;
      }
    }
    return undefined;
  }

  /**
   * Chooses one address per family from a single pool. With a sharing key, pools that already hold
   * a compatible shared address of a wanted family come first, and within a pool such an address
   * beats a fresh one. Otherwise the first pool (in the given order) that has every family wins.
   */
  #pick(
    svc: ServiceRequest,
    pools: readonly CompiledPool[],
    families: readonly IPFamily[],
  ): { pool: CompiledPool; ips: Address[] } | undefined {
    const shared = this.#compatibleShared(svc, families);
    const pickIn = (pool: CompiledPool): { pool: CompiledPool; ips: Address[] } | undefined => {
      const ips: Address[] = [];
      for (const family of families) {
        const ip =
          shared.find((a) => a.home!.pool === pool && a.ip.family === family)?.ip ??
          this.#fresh(pool, family);
        if (!ip) return undefined;
        ips.push(ip);
      }
      return { pool, ips };
    };
    const withTenants = pools.filter((pool) => shared.some((a) => a.home!.pool === pool));
    for (const pool of [...withTenants, ...pools]) {
      const pick = pickIn(pool);
      if (pick) return pick;
    }
    return undefined;
  }

  /** Addresses shared under the Service's key that it could join, in allocation order. */
  #compatibleShared(svc: ServiceRequest, families: readonly IPFamily[]): UsedAddress[] {
    if (!svc.sharingKey) return [];
    const candidates = [...(this.#sharedByKey.get(svc.sharingKey) ?? [])].filter(
      (a) => a.home !== undefined && families.includes(a.ip.family) && !this.#sharingConflict(svc, a.text),
    );
    return candidates.sort(
      (a, b) =>
        a.home!.pool.index - b.home!.pool.index ||
        a.home!.blockIndex - b.home!.blockIndex ||
        (a.ip.value < b.ip.value ? -1 : a.ip.value > b.ip.value ? 1 : 0),
    );
  }

  /** The lowest unused address of a family in a pool, blocks in order. */
  #fresh(pool: CompiledPool, family: IPFamily): Address | undefined {
    for (const block of pool.blocks) {
      if (block.family !== family) continue;
      const value = block.firstFree();
      if (value !== undefined) return { family, value };
    }
    return undefined;
  }

  #commit(svc: ServiceRequest, ips: readonly Address[], texts: readonly string[], pool: string): void {
    this.release(svc.key);
    this.#tenants.set(svc.key, {
      key: svc.key,
      ips,
      texts,
      pool,
      sharingKey: svc.sharingKey ?? '',
      backendKey: svc.backendKey ?? '',
      ports: svc.ports.map((p) => ({ protocol: p.protocol, port: p.port })),
    });
    ips.forEach((ip, i) => this.#addUser(ip, texts[i]!, svc.key));
  }

  #addUser(ip: Address, text: string, key: string): void {
    let address = this.#used.get(text);
    if (!address) {
      address = { ip, text, users: new Set(), home: this.#table.home(ip), indexedKey: '' };
      this.#used.set(text, address);
      for (const block of this.#table.blocksHolding(ip)) block.used.add(ip.value);
      this.#count(address, 1);
    }
    address.users.add(key);
    this.#reindex(address);
  }

  #removeUser(text: string, key: string): void {
    const address = this.#used.get(text);
    if (!address) return;
    address.users.delete(key);
    if (address.users.size > 0) {
      this.#reindex(address);
      return;
    }
    this.#used.delete(text);
    for (const block of this.#table.blocksHolding(address.ip)) block.used.delete(address.ip.value);
    this.#count(address, -1);
    this.#reindex(address);
  }

  /** Keeps the sharing-key index in step with the address's users (all share one key). */
  #reindex(address: UsedAddress): void {
    const first = address.users.values().next();
    const key = first.done ? '' : (this.#tenants.get(first.value)?.sharingKey ?? '');
    if (key === address.indexedKey) return;
    if (address.indexedKey !== '') {
      const set = this.#sharedByKey.get(address.indexedKey)!;
      set.delete(address);
      if (set.size === 0) this.#sharedByKey.delete(address.indexedKey);
    }
    if (key !== '') {
      let set = this.#sharedByKey.get(key);
      if (!set) this.#sharedByKey.set(key, (set = new Set()));
      set.add(address);
    }
    address.indexedKey = key;
  }

  #count(address: UsedAddress, delta: number): void {
    if (!address.home) return;
    const key = countKey(address.home.pool.name, address.ip.family);
    this.#inUse.set(key, (this.#inUse.get(key) ?? 0) + delta);
  }
}

function fail(error: string, reason: FailureReason): Failure {
  return { ok: false, error, reason };
}

function countKey(pool: string, family: IPFamily): string {
  return `${pool}\0${family}`;
}

/** The pool annotation; an empty value counts as absent, as in MetalLB. */
function wantedPool(svc: ServiceRequest): string | undefined {
  return svc.pool === '' ? undefined : svc.pool;
}

function uniqueFamilies(svc: ServiceRequest): IPFamily[] {
  return [...new Set(svc.families)];
}

/**
 * The family sets to try, in order. SingleStack: the first family. RequireDualStack: both.
 * PreferDualStack: both when the Service has both, then the first family alone.
 */
export function familyPlan(svc: ServiceRequest): IPFamily[][] | string {
  const families = uniqueFamilies(svc);
  if (families.length === 0) return `service ${quote(svc.key)} has no IP family`;
  switch (svc.ipFamilyPolicy) {
    case 'SingleStack':
      return [[families[0]!]];
    case 'RequireDualStack':
      if (families.length < 2) return `service ${quote(svc.key)} requires dual-stack but has one IP family`;
      return [families];
    case 'PreferDualStack':
      return families.length > 1 ? [families, [families[0]!]] : [families];
  }
}

/**
 * Whether addresses fit the Service's families: SingleStack exactly its first family,
 * RequireDualStack exactly both, PreferDualStack one address of any of its families or both.
 */
export function familiesMatch(svc: ServiceRequest, ips: readonly Address[]): boolean {
  const families = uniqueFamilies(svc);
  const got = ips.map((ip) => ip.family);
  if (got.length === 0 || new Set(got).size !== got.length) return false;
  switch (svc.ipFamilyPolicy) {
    case 'SingleStack':
      return got.length === 1 && got[0] === families[0];
    case 'RequireDualStack':
      return families.length === 2 && got.length === 2;
    case 'PreferDualStack':
      return got.every((family) => families.includes(family));
  }
}

/** Parses requested addresses: one or two, at most one per family. Returns an error message otherwise. */
function parseAll(texts: readonly string[]): Address[] | string {
  if (texts.length === 0) return 'no IP address given';
  const ips: Address[] = [];
  for (const text of texts) {
    const ip = parseIP(text);
    if (!ip || text.trim() !== text) return `invalid IP address ${quote(text)}`;
    ips.push(ip);
  }
  if (ips.length > 2 || new Set(ips.map((ip) => ip.family)).size !== ips.length) {
    return `invalid loadBalancer IPs ${quoteList(texts)}: at most one address per IP family`;
  }
  return ips;
}

/** Orders addresses like the Service's families (status order), unknown families last. */
function orderByFamilies(ips: readonly Address[], families: readonly IPFamily[]): Address[] {
  const rank = (ip: Address): number => {
    const i = families.indexOf(ip.family);
    return i < 0 ? families.length : i;
  };
  return [...ips].sort((a, b) => rank(a) - rank(b));
}
