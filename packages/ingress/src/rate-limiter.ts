/**
 * The counters behind the rate-limit annotations (annotations/rate-limit.ts), per proxy process:
 *
 * - RequestRate: nginx's limit_req with `nodelay`, a leaky bucket per client address: a client's
 *   first request starts its excess at 0; each later one sets it to max(0, excess - drained + 1),
 *   where it drains at `rate` per second; a request that would take it above `burst` is refused
 *   (and changes nothing). So burst + 1 requests pass at once, then one per 1/rate seconds.
 * - ConcurrentRequests: nginx's limit_conn, requests in progress per client address.
 *
 * Memory is bounded: ConcurrentRequests holds only clients with requests in progress; RequestRate
 * holds at most `maxClients` addresses. When full it first forgets clients whose excess has drained
 * (their state equals no state), then, if an attacker with many source addresses keeps it full, the
 * oldest quarter, so the cost stays O(1) per request amortised. A forgotten client starts afresh
 * (as in nginx, whose zone evicts its least recently used entries when full).
 */
import { TrustedProxies } from './forwarded.js';
import type { RateLimitPolicy } from './annotations/index.js';
import { targetsOf, type RouteTable, type Target } from './table.js';

export const MAX_CLIENTS = 65_536;

export class RequestRate {
  private readonly clients = new Map<string, { excess: number; last: number }>();

  constructor(
    /** Requests per second. */
    readonly rate: number,
    readonly burst: number,
    readonly maxClients = MAX_CLIENTS,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Whether a request from `client` at `now` (ms) is within the limit; counts it if so. */
  take(client: string, now: number): boolean {
    const state = this.clients.get(client);
    if (state === undefined) {
      if (this.clients.size >= this.maxClients) this.makeRoom(now);
      this.clients.set(client, { excess: 0, last: now });
      return true;
    }
    // nginx: excess = previous - drained + 1, floored at 0 after the + 1.
    const excess = Math.max(0, state.excess - (this.rate * (now - state.last)) / 1000 + 1);
    if (excess > this.burst) return false;
    state.excess = excess;
    state.last = now;
    return true;
  }

  private makeRoom(now: number): void {
    for (const [client, s] of this.clients)
      if (s.excess - (this.rate * (now - s.last)) / 1000 <= 0) this.clients.delete(client);
    if (this.clients.size < this.maxClients * 0.75) return;
    let drop = this.clients.size - Math.floor(this.maxClients * 0.75);
    for (const client of this.clients.keys()) {
      this.clients.delete(client);
      if (--drop <= 0) break;
    }
  }
}

export class ConcurrentRequests {
  private readonly clients = new Map<string, number>();

  constructor(readonly limit: number) {}

  get size(): number {
    return this.clients.size;
  }

  /** Whether `client` may start one more request; counts it if so (release() when it ends). */
  take(client: string): boolean {
    const n = this.clients.get(client) ?? 0;
    if (n >= this.limit) return false;
    this.clients.set(client, n + 1);
    return true;
  }

  release(client: string): void {
    const n = this.clients.get(client) ?? 0;
    if (n <= 1) this.clients.delete(client);
    else this.clients.set(client, n - 1);
  }
}

/** The counters of one Ingress's limits. */
export interface LimitZone {
  readonly rate: RequestRate | undefined;
  readonly connections: ConcurrentRequests | undefined;
  readonly allowlist: TrustedProxies | undefined;
}

/**
 * Every limit zone of a proxy process, by Ingress and settings: a table swap keeps the counters of
 * limits that did not change (the policy objects are new with each table, the zone is not).
 */
export class RateLimits {
  private readonly byPolicy = new WeakMap<RateLimitPolicy, LimitZone>();
  private zones = new Map<string, LimitZone>();

  constructor(private readonly maxClients = MAX_CLIENTS) {}

  zoneOf(target: Target, policy: RateLimitPolicy): LimitZone {
    let zone = this.byPolicy.get(policy);
    if (zone !== undefined) return zone;
    const key = zoneKey(target.ingress, policy);
    zone = this.zones.get(key);
    if (zone === undefined) {
      zone = {
        rate:
          policy.rate === undefined
            ? undefined
            : new RequestRate(policy.rate, policy.burst ?? 0, this.maxClients),
        connections:
          policy.connections === undefined ? undefined : new ConcurrentRequests(policy.connections),
        allowlist:
          policy.allowlist === undefined
            ? undefined
            : new TrustedProxies(policy.allowlist, 'limit-allowlist'),
      };
      this.zones.set(key, zone);
    }
    this.byPolicy.set(policy, zone);
    return zone;
  }

  /** Forgets zones no target of the new table uses (`targets`: every target with a limit). */
  retain(targets: Iterable<Target>): void {
    // No limit counted yet (the usual case): nothing to walk the table for.
    if (this.zones.size === 0) return;
    const keep = new Map<string, LimitZone>();
    for (const t of targets) {
      if (t.rateLimit === undefined) continue;
      const key = zoneKey(t.ingress, t.rateLimit);
      const zone = this.zones.get(key);
      if (zone !== undefined) keep.set(key, zone);
    }
    this.zones = keep;
  }
}

function zoneKey(ingress: string, p: RateLimitPolicy): string {
  return `${ingress}|${p.rate ?? 0}|${p.burst ?? 0}|${p.connections ?? 0}|${p.allowlist?.join(',') ?? ''}`;
}

/** Every target of a table that carries a rate limit (regex paths and canaries included). */
export function* limitedTargets(table: RouteTable): Generator<Target> {
  for (const t of targetsOf(table)) if (t.rateLimit !== undefined) yield t;
}
