/**
 * What the BGP speaker is given: one table of routes (every route some session gets) and, when an
 * advertisement names its peers, each session's own variant of each prefix, given to the session
 * through its export policy. Changes go out as differences (announce what is new or changed,
 * withdraw what is gone), not the whole table each time; a prefix whose variant for some session
 * changed counts as changed, so the sessions' export policies see it again (@portico/bgp asks a
 * policy again only for routes announced again).
 */
import type { Route } from '@portico/bgp';
import type { BgpBackend } from './backends.js';

export interface TableChange {
  /** The first table (setRoutes), rather than differences. */
  initial: boolean;
  announced: number;
  withdrawn: number;
}

export class BgpTable {
  /** Each route's signature (its JSON with its per-session variants), by prefix; undefined before the first table. */
  private advertised: Map<string, string> | undefined;
  /** Each session's own routes by peer address and prefix, only while some advertisement names its peers. */
  private bySession = new Map<string, Map<string, Route>>();

  /** The export policy of the session to `address`: its variant of a route, or null to leave it out. */
  policyFor(address: string): (route: Route) => Route | null {
    return (route) => {
      if (this.bySession.size === 0) return route;
      return this.bySession.get(address)?.get(route.prefix) ?? null;
    };
  }

  /** Brings the BGP speaker to `routes` (and the sessions to `byPeer`, see decide.ts). */
  apply(
    bgp: Pick<BgpBackend, 'setRoutes' | 'announce' | 'withdraw'>,
    routes: readonly Route[],
    byPeer: ReadonlyMap<string, readonly Route[]>,
  ): TableChange {
    this.bySession = new Map(
      [...byPeer].map(([address, list]) => [address, new Map(list.map((r) => [r.prefix, r]))]),
    );
    const next = new Map(routes.map((r) => [r.prefix, this.signature(r)]));
    const previous = this.advertised;
    this.advertised = next;
    if (!previous) {
      bgp.setRoutes([...routes]);
      return { initial: true, announced: routes.length, withdrawn: 0 };
    }
    let withdrawn = 0;
    let announced = 0;
    for (const prefix of previous.keys()) {
      if (next.has(prefix)) continue;
      bgp.withdraw(prefix);
      withdrawn++;
    }
    for (const route of routes) {
      if (previous.get(route.prefix) === next.get(route.prefix)) continue;
      bgp.announce(route);
      announced++;
    }
    return { initial: false, announced, withdrawn };
  }

  private signature(route: Route): string {
    let text = JSON.stringify(route);
    for (const [address, table] of this.bySession)
      text += `|${address}=${JSON.stringify(table.get(route.prefix) ?? null)}`;
    return text;
  }
}
