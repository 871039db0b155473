/**
 * What the BGP speaker is given: one table of routes (every route some session gets) and, for a
 * prefix whose advertisements name their peers, each session's own variant of it, given to the
 * session through its export policy. Changes go out as differences (announce what is new or
 * changed, withdraw what is gone), never the whole table again after the first; a prefix whose
 * variant for some session changed counts as changed, so the sessions' export policies see it
 * again (@portico/bgp asks a policy again only for routes announced again).
 *
 * Entries are compared by value, so the table keeps no text per route.
 */
import type { Route } from '@portico/bgp';
import type { BgpBackend } from './backends.js';

/** One prefix: the route the speaker holds and, when some advertisement names peers, each session's variant. */
export interface TableEntry {
  route: Route;
  /** Session address -> its variant, or null: the session does not get the prefix. */
  variants?: ReadonlyMap<string, Route | null>;
}

export interface TableChange {
  /** The first table (setRoutes), rather than differences. */
  initial: boolean;
  announced: number;
  withdrawn: number;
}

type Backend = Pick<BgpBackend, 'setRoutes' | 'announce' | 'withdraw'>;

export class BgpTable {
  private readonly entries = new Map<string, TableEntry>();
  /** Prefixes set since the last send. */
  private readonly changed = new Set<string>();
  /** Whether the speaker was given a table yet (the first goes whole, with setRoutes). */
  private sent = false;

  /** The export policy of the session to `address`: its variant of a route, or null to leave it out. */
  policyFor(address: string): (route: Route) => Route | null {
    return (route) => {
      const variants = this.entries.get(route.prefix)?.variants;
      return variants ? (variants.get(address) ?? null) : route;
    };
  }

  /** Prefixes in the table. */
  get size(): number {
    return this.entries.size;
  }

  /** The table, by prefix. */
  get table(): ReadonlyMap<string, TableEntry> {
    return this.entries;
  }

  /** Sets (or, with undefined, removes) one prefix; sent with the next `send`. */
  set(prefix: string, entry: TableEntry | undefined): void {
    const before = this.entries.get(prefix);
    if (!entry) {
      if (before && this.entries.delete(prefix)) this.changed.add(prefix);
      return;
    }
    if (before && sameEntry(before, entry)) return;
    this.entries.set(prefix, entry);
    this.changed.add(prefix);
  }

  /** Gives the BGP speaker what changed since the last call (the whole table the first time). */
  send(bgp: Backend): TableChange {
    if (!this.sent) {
      this.sent = true;
      this.changed.clear();
      bgp.setRoutes([...this.entries.values()].map((e) => e.route));
      return { initial: true, announced: this.entries.size, withdrawn: 0 };
    }
    let withdrawn = 0;
    let announced = 0;
    for (const prefix of this.changed) {
      if (this.entries.has(prefix)) continue;
      bgp.withdraw(prefix);
      withdrawn++;
    }
    for (const prefix of this.changed) {
      const entry = this.entries.get(prefix);
      if (!entry) continue;
      bgp.announce(entry.route);
      announced++;
    }
    this.changed.clear();
    return { initial: false, announced, withdrawn };
  }

  /**
   * Brings the BGP speaker to a whole table: `routes`, and the sessions to `byPeer` (see
   * decide.ts; when it is not empty, a session it does not list gets nothing).
   */
  apply(bgp: Backend, routes: readonly Route[], byPeer: ReadonlyMap<string, readonly Route[]>): TableChange {
    const perSession = new Map<string, Map<string, Route>>();
    for (const [address, list] of byPeer) perSession.set(address, new Map(list.map((r) => [r.prefix, r])));
    const wanted = new Set<string>();
    for (const route of routes) {
      wanted.add(route.prefix);
      if (perSession.size === 0) {
        this.set(route.prefix, { route });
        continue;
      }
      const variants = new Map<string, Route | null>();
      for (const [address, table] of perSession) variants.set(address, table.get(route.prefix) ?? null);
      this.set(route.prefix, { route, variants });
    }
    for (const prefix of [...this.entries.keys()]) if (!wanted.has(prefix)) this.set(prefix, undefined);
    return this.send(bgp);
  }
}

function sameEntry(a: TableEntry, b: TableEntry): boolean {
  if (!sameRoute(a.route, b.route)) return false;
  if (!a.variants || !b.variants) return a.variants === b.variants;
  if (a.variants.size !== b.variants.size) return false;
  for (const [address, route] of a.variants) {
    const other = b.variants.get(address);
    if (other === undefined) return false;
    if (route === null || other === null ? route !== other : !sameRoute(route, other)) return false;
  }
  return true;
}

/** Two routes carry the same prefix and attributes. */
export function sameRoute(a: Route, b: Route): boolean {
  return (
    a === b ||
    (a.prefix === b.prefix &&
      a.nextHop === b.nextHop &&
      a.origin === b.origin &&
      a.med === b.med &&
      a.localPref === b.localPref &&
      sameList(a.communities, b.communities) &&
      sameList(a.largeCommunities, b.largeCommunities) &&
      sameList(a.extendedCommunities, b.extendedCommunities))
  );
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((v, i) => v === b[i]);
}
