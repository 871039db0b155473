/**
 * What the controller last saw of each route's parent statuses, kept per route so that a change
 * costs the routes it touched, not all of them: how many HTTPRoute parent references are accepted
 * or rejected (the gauges), and which problems each route has (each one reported as one Event
 * when it appears, again when it goes away and comes back).
 */
import type { ObjectStatus } from './compile.js';
import type { Condition, RouteParentStatus } from './types.js';

export type RouteStatusView = ObjectStatus<{ readonly parents: readonly RouteParentStatus[] }>;

/** A condition that says something is wrong (Conflicted is the one whose True is bad). */
export function isProblem(c: Condition): boolean {
  return c.type === 'Conflicted' ? c.status === 'True' : c.status === 'False' && c.type !== 'Programmed';
}

/** One problem of one object, and the key that tells it from every other. */
export interface Problem {
  readonly key: string;
  readonly kind: string;
  readonly object: { readonly namespace?: string; readonly name: string; readonly uid?: string };
  readonly condition: Condition;
}

/** The problems among `conditions` of an object of `kind`. */
export function problemsOf(
  kind: string,
  o: { readonly namespace?: string; readonly name: string; readonly uid?: string },
  conditions: readonly Condition[],
): Problem[] {
  return conditions.filter(isProblem).map((c) => ({
    key: `${kind}|${o.uid ?? ''}|${o.namespace}/${o.name}|${c.reason}|${c.message}`,
    kind,
    object: o,
    condition: c,
  }));
}

interface Seen {
  readonly accepted: number;
  readonly rejected: number;
  readonly problems: ReadonlySet<string>;
}

export class RouteTally {
  private readonly routes = new Map<string, Seen>();
  /** HTTPRoute parent references whose conditions are all True. */
  accepted = 0;
  /** HTTPRoute parent references with a condition that is not True. */
  rejected = 0;

  /**
   * Records one route's status now (`undefined`: gone, or no parent of ours); returns its problems
   * that were not there before. `key` is `Kind namespace/name`; only HTTPRoutes are counted.
   */
  set(key: string, status: RouteStatusView | undefined): Problem[] {
    const old = this.routes.get(key);
    if (old) {
      this.accepted -= old.accepted;
      this.rejected -= old.rejected;
    }
    if (!status) {
      this.routes.delete(key);
      return [];
    }
    const kind = key.slice(0, key.indexOf(' '));
    let accepted = 0;
    let rejected = 0;
    const problems: Problem[] = [];
    for (const p of status.status.parents) {
      if (p.conditions.every((c) => c.status === 'True')) accepted++;
      else rejected++;
      problems.push(...problemsOf(kind, status, p.conditions));
    }
    if (kind !== 'HTTPRoute') accepted = rejected = 0;
    this.accepted += accepted;
    this.rejected += rejected;
    this.routes.set(key, { accepted, rejected, problems: new Set(problems.map((p) => p.key)) });
    return problems.filter((p) => !old?.problems.has(p.key));
  }

  /** Forgets the routes not in `keys` (after a pass over every route). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of [...this.routes.keys()]) if (!keys.has(key)) this.set(key, undefined);
  }

  /** Forgets every route (a new leader reports every problem again). */
  clear(): void {
    this.routes.clear();
    this.accepted = 0;
    this.rejected = 0;
  }
}
