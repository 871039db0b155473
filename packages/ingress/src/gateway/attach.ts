/**
 * One route attached to the listeners of its parent Gateways, given what the route itself compiles
 * to (route-rules.ts): its status entry for each parentRef to one of our Gateways, the listeners it
 * is attached to and the entries it adds to each. Pure and per route, so the compiler
 * (compiler.ts) can redo only the routes a change touches. The one thing that depends on other
 * routes, an HTTPRoute and a GRPCRoute serving one hostname on one listener (the older wins), is
 * asked of the caller through `conflict`.
 */
import { condition } from './conditions.js';
import { intersectHostnames } from './hostnames.js';
import { listenerAllows, type CheckedListener } from './listeners.js';
import type { RouteEntry } from './precedence.js';
import type { CompiledRoute } from './route-rules.js';
import { GATEWAY_GROUP, type ParentReference, type RouteParentStatus } from './types.js';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';

/** What attaching reads besides the route: our Gateways' checked listeners and namespace labels. */
export interface AttachContext {
  readonly controllerName: string;
  /** Our Gateways (`namespace/name`) and their listeners. */
  readonly listeners: ReadonlyMap<string, readonly CheckedListener[]>;
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** The route of another kind that already serves one of `hosts` on the listener, if any. */
export type ConflictCheck = (
  listener: string,
  kind: RouteKind,
  id: string,
  hosts: readonly string[] | undefined,
) => { readonly kind: RouteKind; readonly id: string } | undefined;

export interface AttachableRoute {
  readonly kind: RouteKind;
  /** `namespace/name`. */
  readonly id: string;
  readonly namespace: string;
  readonly generation: number | undefined;
  /** creationTimestamp in ms (Infinity when unknown). */
  readonly created: number;
  readonly hostnames: readonly string[] | undefined;
  readonly parentRefs: readonly ParentReference[];
}

export interface Attachment {
  /** Our parents' entries (empty: no parentRef names one of our Gateways). */
  readonly parents: readonly RouteParentStatus[];
  /** Per listener key (listenerKey()) the route is attached to: its entries there. */
  readonly entries: ReadonlyMap<string, readonly RouteEntry[]>;
  /**
   * Listeners where the route would be served if no route of the other kind (HTTPRoute or
   * GRPCRoute) served the same hostnames first: where such conflicts can arise.
   */
  readonly candidates: ReadonlyMap<string, readonly string[] | undefined>;
  /** Whether the route is attached somewhere: its backends are then in the table. */
  readonly attached: boolean;
}

/** A listener's key: `gateway namespace/name/listener name` (listener names are unique in a Gateway). */
export function listenerKey(l: {
  readonly gateway: string;
  readonly spec: { readonly name: string };
}): string {
  return `${l.gateway}/${l.spec.name}`;
}

export const noConflicts: ConflictCheck = () => undefined;

export function attachRoute(
  route: AttachableRoute,
  compiled: CompiledRoute,
  context: AttachContext,
  conflict: ConflictCheck = noConflicts,
): Attachment {
  const { kind, id, namespace: ns, generation } = route;
  const controllerName = context.controllerName;
  const resolvedRefs = compiled.unresolved
    ? condition('ResolvedRefs', false, compiled.unresolved.reason, compiled.unresolved.message, generation)
    : condition('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', generation);
  const parents: RouteParentStatus[] = [];
  const entries = new Map<string, RouteEntry[]>();
  const candidates = new Map<string, readonly string[] | undefined>();
  let attached = false;
  for (const ref of route.parentRefs) {
    if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') continue;
    const listeners = context.listeners.get(`${ref.namespace ?? ns}/${ref.name}`);
    if (!listeners) continue; // not one of our Gateways: another controller's business
    const accept = (ok: boolean, reason: string, message: string): void => {
      parents.push({
        parentRef: ref,
        controllerName,
        conditions: [condition('Accepted', ok, reason, message, generation), resolvedRefs],
      });
    };
    const matching = listeners.filter(
      (l) =>
        (ref.sectionName === undefined || l.spec.name === ref.sectionName) &&
        (ref.port === undefined || l.port === ref.port),
    );
    if (matching.length === 0) {
      accept(false, 'NoMatchingParent', `no listener of the Gateway matches ${describeRef(ref)}`);
      continue;
    }
    const allowed = matching.filter(
      (l) => l.accepted && listenerAllows(l, { group: GATEWAY_GROUP, kind }, ns, context.namespaceLabels),
    );
    if (allowed.length === 0) {
      accept(
        false,
        'NotAllowedByListeners',
        `no listener matching ${describeRef(ref)} allows ${kind}s from namespace ${JSON.stringify(ns)}`,
      );
      continue;
    }
    const withHosts = allowed
      .map((l) => ({ l, key: listenerKey(l), hosts: intersectHostnames(l.hostname, route.hostnames) }))
      .filter((x) => x.hosts === undefined || x.hosts.length > 0);
    if (withHosts.length === 0) {
      accept(
        false,
        'NoMatchingListenerHostname',
        `no hostname of the route intersects the hostname of a listener matching ${describeRef(ref)}`,
      );
      continue;
    }
    if (compiled.unsupported) {
      accept(false, 'UnsupportedValue', compiled.unsupported);
      continue;
    }
    for (const { key, hosts } of withHosts) candidates.set(key, hosts);
    const free = withHosts.filter(({ key, hosts }) => conflict(key, kind, id, hosts) === undefined);
    if (free.length === 0) {
      const first = withHosts[0]!;
      const other = conflict(first.key, kind, id, first.hosts)!;
      accept(
        false,
        'HostnameConflict',
        `the ${other.kind} ${JSON.stringify(other.id)}, older, serves the same hostnames on listener ${JSON.stringify(first.l.spec.name)} (a hostname is served by HTTPRoutes or by GRPCRoutes, not both)`,
      );
      continue;
    }
    accept(true, 'Accepted', 'the route is attached');
    attached = true;
    for (const { key, hosts } of free) {
      // A route attached to one listener through two parentRefs counts and is served once.
      if (entries.has(key)) continue;
      const list: RouteEntry[] = [];
      entries.set(key, list);
      for (const hostname of hosts ?? [undefined])
        for (const rule of compiled.rules)
          rule.matches.forEach((match, matchIndex) =>
            list.push({ route: id, created: route.created, hostname, rule, matchIndex, match }),
          );
    }
  }
  return { parents, entries, candidates, attached };
}

function describeRef(ref: ParentReference): string {
  const parts = [`Gateway ${JSON.stringify(ref.name)}`];
  if (ref.sectionName !== undefined) parts.push(`sectionName ${JSON.stringify(ref.sectionName)}`);
  if (ref.port !== undefined) parts.push(`port ${ref.port}`);
  return `parentRef (${parts.join(', ')})`;
}
