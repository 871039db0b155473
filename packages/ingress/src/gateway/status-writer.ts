/**
 * Writes the computed Gateway API statuses through the status subresource, only where they differ
 * from what the object shows (lastTransitionTime aside), from one writer (the leader). An HTTPRoute's
 * status.parents entries of other controllers are kept as they are; ours are replaced, and our
 * entries for parents we no longer own are dropped.
 */
import type { ApiClient } from '@portico/kube';
import { withTransitionTimes } from './conditions.js';
import type { GatewayCompiled, ObjectStatus } from './compile.js';
import {
  GATEWAY_GROUP,
  type Condition,
  type GatewayStatus,
  type GRPCRoute,
  type HTTPRoute,
  type RouteParentStatus,
  type TLSRoute,
} from './types.js';

type Json = Record<string, unknown>;

export interface StatusTarget {
  readonly plural: 'gatewayclasses' | 'gateways' | RoutePlural;
  readonly namespace?: string;
  readonly name: string;
  /** The whole new status, from the old one and the computed one. */
  readonly status: (old: Json | undefined, now: string) => Json;
  /** Whether the object's current status already says what we would write. */
  readonly current: (old: Json | undefined) => boolean;
}

/** Pure: what to write so every object of ours shows the computed status. */
export function statusTargets(
  compiled: GatewayCompiled,
  routes: readonly HTTPRoute[],
  controllerName: string,
  grpcRoutes: readonly GRPCRoute[] = [],
  tlsRoutes: readonly TLSRoute[] = [],
): StatusTarget[] {
  const out: StatusTarget[] = [];
  for (const c of compiled.gatewayClasses)
    out.push({
      plural: 'gatewayclasses',
      name: c.name,
      status: (old, now) => ({
        ...old,
        conditions: withTransitionTimes(c.status.conditions, conditionsOf(old), now),
      }),
      current: (old) => sameConditions(conditionsOf(old), c.status.conditions),
    });
  for (const g of compiled.gateways)
    out.push({
      plural: 'gateways',
      namespace: g.namespace,
      name: g.name,
      status: (old, now) => gatewayStatus(g, old as GatewayStatus | undefined, now) as unknown as Json,
      current: (old) => sameGateway(old as GatewayStatus | undefined, g.status),
    });
  out.push(...routeTargets('httproutes', compiled.httpRoutes, routes, controllerName));
  out.push(...routeTargets('grpcroutes', compiled.grpcRoutes, grpcRoutes, controllerName));
  out.push(...routeTargets('tlsroutes', compiled.tlsRoutes, tlsRoutes, controllerName));
  return out;
}

/** HTTPRoutes or GRPCRoutes: our parents' entries replaced, other controllers' kept. */
type RoutePlural = 'httproutes' | 'grpcroutes' | 'tlsroutes';

function routeTargets(
  plural: RoutePlural,
  statuses: GatewayCompiled['httpRoutes'],
  routes: readonly (HTTPRoute | GRPCRoute | TLSRoute)[],
  controllerName: string,
): StatusTarget[] {
  const out: StatusTarget[] = [];
  // Routes that still carry our entries but have no parent of ours any more get them removed.
  const computed = new Map(statuses.map((r) => [`${r.namespace}/${r.name}`, r]));
  for (const r of routes) {
    const id = `${r.metadata?.namespace}/${r.metadata?.name}`;
    if (!computed.has(id) && (r.status?.parents ?? []).some((p) => p.controllerName === controllerName))
      computed.set(id, {
        namespace: r.metadata?.namespace,
        name: r.metadata?.name ?? '',
        status: { parents: [] },
      });
  }
  for (const r of computed.values())
    out.push({
      plural,
      namespace: r.namespace,
      name: r.name,
      status: (old, now) => {
        const previous = (old?.parents as RouteParentStatus[] | undefined) ?? [];
        const others = previous.filter((p) => p.controllerName !== controllerName);
        const ours = r.status.parents.map((p) => {
          const before = previous.find(
            (o) => o.controllerName === controllerName && sameRef(o.parentRef, p.parentRef),
          );
          return { ...p, conditions: withTransitionTimes(p.conditions, before?.conditions, now) };
        });
        return { ...old, parents: [...others, ...ours] };
      },
      current: (old) => {
        const ours = ((old?.parents as RouteParentStatus[] | undefined) ?? []).filter(
          (p) => p.controllerName === controllerName,
        );
        return (
          ours.length === r.status.parents.length &&
          r.status.parents.every((p) => {
            const o = ours.find((x) => sameRef(x.parentRef, p.parentRef));
            return o !== undefined && sameConditions(o.conditions, p.conditions);
          })
        );
      },
    });
  return out;
}

function gatewayStatus(
  g: ObjectStatus<GatewayStatus>,
  old: GatewayStatus | undefined,
  now: string,
): GatewayStatus {
  return {
    ...old,
    addresses: g.status.addresses ?? [],
    conditions: withTransitionTimes(g.status.conditions ?? [], old?.conditions, now),
    listeners: (g.status.listeners ?? []).map((l) => ({
      ...l,
      conditions: withTransitionTimes(
        l.conditions,
        old?.listeners?.find((o) => o.name === l.name)?.conditions,
        now,
      ),
    })),
  };
}

function sameGateway(old: GatewayStatus | undefined, next: GatewayStatus): boolean {
  if (!old) return false;
  const addresses = (a: GatewayStatus['addresses']) =>
    JSON.stringify((a ?? []).map((x) => [x.type, x.value]));
  if (addresses(old.addresses) !== addresses(next.addresses)) return false;
  if (!sameConditions(old.conditions, next.conditions ?? [])) return false;
  const ol = old.listeners ?? [];
  const nl = next.listeners ?? [];
  return (
    ol.length === nl.length &&
    nl.every((l, i) => {
      const o = ol[i]!;
      return (
        o.name === l.name &&
        o.attachedRoutes === l.attachedRoutes &&
        JSON.stringify(o.supportedKinds.map((k) => [k.group ?? GATEWAY_GROUP, k.kind])) ===
          JSON.stringify(l.supportedKinds.map((k) => [k.group ?? GATEWAY_GROUP, k.kind])) &&
        sameConditions(o.conditions, l.conditions)
      );
    })
  );
}

function conditionsOf(old: Json | undefined): Condition[] | undefined {
  return old?.conditions as Condition[] | undefined;
}

function sameConditions(old: readonly Condition[] | undefined, next: readonly Condition[]): boolean {
  const strip = (c: Condition) => [c.type, c.status, c.reason, c.message, c.observedGeneration ?? null];
  return JSON.stringify((old ?? []).map(strip)) === JSON.stringify(next.map(strip));
}

function sameRef(a: RouteParentStatus['parentRef'], b: RouteParentStatus['parentRef']): boolean {
  return (
    (a.group ?? GATEWAY_GROUP) === (b.group ?? GATEWAY_GROUP) &&
    (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') &&
    (a.namespace ?? '') === (b.namespace ?? '') &&
    a.name === b.name &&
    (a.sectionName ?? '') === (b.sectionName ?? '') &&
    (a.port ?? 0) === (b.port ?? 0)
  );
}

const VERSIONS = {
  gatewayclasses: 'v1',
  gateways: 'v1',
  httproutes: 'v1',
  grpcroutes: 'v1',
  tlsroutes: 'v1',
} as const;

export class GatewayStatusWriter {
  constructor(private readonly api: ApiClient) {}

  /**
   * Re-reads the object and replaces its status carrying its resourceVersion (a concurrent change
   * gives 409, left for the next sync). Returns false, writing nothing, when it is already current.
   */
  async apply(target: StatusTarget, now = new Date().toISOString()): Promise<boolean> {
    const scope = target.namespace === undefined ? '' : `/namespaces/${target.namespace}`;
    const path = `/apis/${GATEWAY_GROUP}/${VERSIONS[target.plural]}${scope}/${target.plural}/${target.name}`;
    const object = await this.api.request<Json>('GET', path);
    const old = object.status as Json | undefined;
    if (target.current(old)) return false;
    await this.api.request('PUT', `${path}/status`, { body: { ...object, status: target.status(old, now) } });
    return true;
  }
}
