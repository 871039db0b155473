/**
 * The Gateway API compile step, pure like the Ingress one: GatewayClasses, Gateways, HTTPRoutes,
 * GRPCRoutes, TLSRoutes, ReferenceGrants, Namespaces, Services/EndpointSlices and Secrets in; out
 * come the listeners to serve with their routes in precedence order (GRPCRoutes as path matches,
 * grpc-rules.ts; TLSRoutes by hostname alone), the backends they use and how to speak to them
 * (HTTP/1.1 or h2c), and the status every object of ours must carry. Routes of all kinds are
 * attached oldest first; an invalid route or listener is reported in its status and left out,
 * never breaking the others.
 */
import type { V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import { indexServices } from '../backends.js';
import type { BackendEntry, Endpoint, UpstreamProtocol } from '../table.js';
import type { CertificatePair } from './certificates.js';
import { condition } from './conditions.js';
import { intersectHostnames } from './hostnames.js';
import { checkListeners, listenerAllows, type CheckedListener } from './listeners.js';
import { comparePrecedence, type RouteEntry } from './precedence.js';
import { ReferenceGrants } from './reference-grants.js';
import { compileGrpcRoute } from './grpc-rules.js';
import { compileRoute, type CompiledRoute, type RuleContext } from './route-rules.js';
import {
  GATEWAY_CONTROLLER_NAME,
  GATEWAY_GROUP,
  type Condition,
  type Gateway,
  type GatewayClass,
  type GatewayStatus,
  type GRPCRoute,
  type HTTPRoute,
  type TLSRoute,
  type NamespaceObject,
  type ParentReference,
  type ReferenceGrant,
  type RouteParentStatus,
} from './types.js';

export interface GatewayClusterState {
  readonly gatewayClasses: readonly GatewayClass[];
  readonly gateways: readonly Gateway[];
  readonly httpRoutes: readonly HTTPRoute[];
  /** Absent: none (the CRD may not be installed). */
  readonly grpcRoutes?: readonly GRPCRoute[];
  /** Absent: none. */
  readonly tlsRoutes?: readonly TLSRoute[];
  readonly referenceGrants: readonly ReferenceGrant[];
  readonly namespaces: readonly NamespaceObject[];
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly secrets: readonly V1Secret[];
}

export interface GatewayCompileOptions {
  readonly controllerName?: string;
  /** The addresses our Gateways are served on (status.addresses); none: Programmed=False. */
  readonly addresses?: readonly string[];
}

export interface ServedListener {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  readonly name: string;
  readonly port: number;
  /** TLS: passthrough by SNI (TLSRoute entries, path '/'). */
  readonly protocol: 'HTTP' | 'HTTPS' | 'TLS';
  readonly hostname: string | undefined;
  readonly certificates: readonly CertificatePair[];
  /** Sorted by comparePrecedence: the first that matches a request takes it. */
  readonly routes: readonly RouteEntry[];
}

export interface ObjectStatus<S> {
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly status: S;
}

export interface GatewayCompiled {
  readonly listeners: readonly ServedListener[];
  readonly backends: ReadonlyMap<string, readonly Endpoint[]>;
  /** The backends spoken to over another protocol than HTTP/1.1 (h2c). */
  readonly backendProtocols: ReadonlyMap<string, UpstreamProtocol>;
  readonly gatewayClasses: readonly ObjectStatus<{ conditions: readonly Condition[] }>[];
  readonly gateways: readonly ObjectStatus<GatewayStatus>[];
  /** Only our parents' entries: the writer keeps other controllers' entries as they are. */
  readonly httpRoutes: readonly ObjectStatus<{ parents: readonly RouteParentStatus[] }>[];
  readonly grpcRoutes: readonly ObjectStatus<{ parents: readonly RouteParentStatus[] }>[];
  readonly tlsRoutes: readonly ObjectStatus<{ parents: readonly RouteParentStatus[] }>[];
}

type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';
type AnyRoute =
  | { readonly kind: 'HTTPRoute'; readonly route: HTTPRoute }
  | { readonly kind: 'GRPCRoute'; readonly route: GRPCRoute }
  | { readonly kind: 'TLSRoute'; readonly route: TLSRoute };

export function compileGateways(
  state: GatewayClusterState,
  options: GatewayCompileOptions = {},
): GatewayCompiled {
  const controllerName = options.controllerName ?? GATEWAY_CONTROLLER_NAME;
  const addresses = options.addresses ?? [];
  const grants = new ReferenceGrants(state.referenceGrants);
  const services = indexServices(state.services, state.endpointSlices);
  const secrets = new Map<string, V1Secret>();
  for (const s of state.secrets) secrets.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
  const namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  for (const n of state.namespaces) namespaceLabels.set(n.metadata?.name ?? '', n.metadata?.labels ?? {});

  const ourClasses = state.gatewayClasses.filter(
    (c) => c.spec?.controllerName === controllerName && !c.metadata?.deletionTimestamp,
  );
  const classNames = new Set(ourClasses.map((c) => c.metadata?.name));
  const gatewayClasses = ourClasses.map((c) => ({
    name: c.metadata?.name ?? '',
    ...generationOf(c),
    status: {
      conditions: [
        condition('Accepted', true, 'Accepted', `handled by ${controllerName}`, c.metadata?.generation),
      ],
    },
  }));

  const gateways = state.gateways.filter(
    (g) => classNames.has(g.spec?.gatewayClassName) && !g.metadata?.deletionTimestamp,
  );
  const checked = new Map<string, CheckedListener[]>();
  for (const g of gateways) checked.set(idOf(g), checkListeners(g, { secrets, grants, namespaceLabels }));

  const attachedIds = new Map<CheckedListener, Set<string>>();
  /** The hostnames each kind of route serves on a listener (undefined: every host). */
  const servedHosts = new Map<
    CheckedListener,
    { kind: RouteKind; id: string; hosts: string[] | undefined }[]
  >();
  const entries = new Map<CheckedListener, RouteEntry[]>();
  const backends = new Map<string, readonly Endpoint[]>();
  const backendProtocols = new Map<string, UpstreamProtocol>();
  const httpRoutes: GatewayCompiled['httpRoutes'][number][] = [];
  const grpcRoutes: GatewayCompiled['grpcRoutes'][number][] = [];
  const tlsRoutes: GatewayCompiled['tlsRoutes'][number][] = [];

  const routes: AnyRoute[] = [
    ...state.httpRoutes.map((route) => ({ kind: 'HTTPRoute' as const, route })),
    ...(state.grpcRoutes ?? []).map((route) => ({ kind: 'GRPCRoute' as const, route })),
    ...(state.tlsRoutes ?? []).map((route) => ({ kind: 'TLSRoute' as const, route })),
  ];
  // Oldest first across both kinds: where an HTTPRoute and a GRPCRoute would serve one hostname
  // on a listener, the older one is attached there (GRPCRoute spec, hostnames).
  for (const { kind, route } of oldestFirst(routes.filter((r) => !r.route.metadata?.deletionTimestamp))) {
    const ns = route.metadata?.namespace ?? 'default';
    const id = idOf(route);
    const generation = route.metadata?.generation;
    const created = creationTime(route);
    const compiled =
      kind === 'HTTPRoute'
        ? compileRoute(route, { services, grants })
        : kind === 'GRPCRoute'
          ? compileGrpcRoute(route, { services, grants })
          : compileTlsRoute(route, { services, grants });
    const resolvedRefs = compiled.unresolved
      ? condition('ResolvedRefs', false, compiled.unresolved.reason, compiled.unresolved.message, generation)
      : condition('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', generation);
    const parents: RouteParentStatus[] = [];
    for (const ref of route.spec?.parentRefs ?? []) {
      if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') continue;
      const listeners = checked.get(`${ref.namespace ?? ns}/${ref.name}`);
      if (!listeners) continue; // not one of our Gateways: another controller's business
      const accept = (ok: boolean, reason: string, message: string): void => {
        parents.push({
          parentRef: ref,
          controllerName,
          conditions: [condition('Accepted', ok, reason, message, generation), resolvedRefs],
        });
      };
      const candidates = listeners.filter(
        (l) =>
          (ref.sectionName === undefined || l.spec.name === ref.sectionName) &&
          (ref.port === undefined || l.port === ref.port),
      );
      if (candidates.length === 0) {
        accept(false, 'NoMatchingParent', `no listener of the Gateway matches ${describeRef(ref)}`);
        continue;
      }
      const allowed = candidates.filter(
        (l) => l.accepted && listenerAllows(l, { group: GATEWAY_GROUP, kind }, ns, namespaceLabels),
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
        .map((l) => ({ l, hosts: intersectHostnames(l.hostname, route.spec?.hostnames) }))
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
      const free = withHosts.filter(({ l, hosts }) => {
        const other = (servedHosts.get(l) ?? []).find(
          (s) => s.kind !== kind && s.kind !== 'TLSRoute' && s.id !== id && hostsIntersect(s.hosts, hosts),
        );
        return other === undefined;
      });
      if (free.length === 0) {
        const l = withHosts[0]!.l;
        const other = (servedHosts.get(l) ?? []).find((s) => s.kind !== kind)!;
        accept(
          false,
          'HostnameConflict',
          `the ${other.kind} ${JSON.stringify(other.id)}, older, serves the same hostnames on listener ${JSON.stringify(l.spec.name)} (a hostname is served by HTTPRoutes or by GRPCRoutes, not both)`,
        );
        continue;
      }
      accept(true, 'Accepted', 'the route is attached');
      for (const { l, hosts } of free) {
        const served = servedHosts.get(l) ?? [];
        servedHosts.set(l, served);
        served.push({ kind, id, hosts });
        // A route attached to one listener through two parentRefs counts and is served once.
        const routesOfListener = attachedIds.get(l) ?? new Set<string>();
        attachedIds.set(l, routesOfListener);
        if (routesOfListener.has(`${kind} ${id}`)) continue;
        routesOfListener.add(`${kind} ${id}`);
        const list = entries.get(l) ?? [];
        entries.set(l, list);
        for (const hostname of hosts ?? [undefined])
          for (const rule of compiled.rules)
            rule.matches.forEach((match, matchIndex) =>
              list.push({ route: id, created, hostname, rule, matchIndex, match }),
            );
      }
      for (const [key, eps] of compiled.backends) backends.set(key, eps);
      for (const [key, protocol] of compiled.protocols) backendProtocols.set(key, protocol);
    }
    if (parents.length)
      (kind === 'HTTPRoute' ? httpRoutes : kind === 'GRPCRoute' ? grpcRoutes : tlsRoutes).push({
        namespace: ns,
        name: route.metadata?.name ?? '',
        ...generationOf(route),
        status: { parents },
      });
  }

  const served: ServedListener[] = [];
  const gatewayStatuses = gateways.map((g) => {
    const listeners = checked.get(idOf(g))!;
    const generation = g.metadata?.generation;
    for (const l of listeners) {
      if (!l.programmed) continue;
      const unique = (entries.get(l) ?? []).sort(comparePrecedence);
      served.push({
        gateway: l.gateway,
        name: l.spec.name,
        port: l.port,
        protocol: l.protocol as ServedListener['protocol'],
        hostname: l.hostname,
        certificates: l.certificates,
        routes: unique,
      });
    }
    const valid = listeners.filter((l) => l.programmed).length;
    const allValid = valid === listeners.length;
    const accepted = valid > 0 || listeners.length === 0;
    const programmed = addresses.length > 0 && valid > 0;
    const status: GatewayStatus = {
      addresses: addresses.map((value) => ({
        type: /^[\d.]+$|:/.test(value) ? 'IPAddress' : 'Hostname',
        value,
      })),
      conditions: [
        condition(
          'Accepted',
          accepted,
          allValid ? 'Accepted' : 'ListenersNotValid',
          allValid
            ? 'the Gateway is valid'
            : `${listeners.length - valid} of ${listeners.length} listeners are not valid`,
          generation,
        ),
        condition(
          'Programmed',
          programmed,
          programmed ? 'Programmed' : addresses.length === 0 ? 'AddressNotAssigned' : 'Invalid',
          programmed
            ? `served on ${addresses.join(', ')}`
            : addresses.length === 0
              ? 'no address is configured for Gateways (portico ingress --gateway-address)'
              : 'no listener can be served',
          generation,
        ),
      ],
      listeners: listeners.map((l) => ({
        name: l.spec.name,
        supportedKinds: l.supportedKinds,
        attachedRoutes: attachedIds.get(l)?.size ?? 0,
        conditions: l.conditions,
      })),
    };
    return {
      namespace: g.metadata?.namespace ?? 'default',
      name: g.metadata?.name ?? '',
      ...generationOf(g),
      status,
    };
  });

  return {
    listeners: served,
    backends,
    backendProtocols,
    gatewayClasses,
    gateways: gatewayStatuses,
    httpRoutes,
    grpcRoutes,
    tlsRoutes,
  };
}

/** The routing table's backends for a compiled model: endpoints, and the protocol when not HTTP/1.1. */
export function backendEntries(compiled: GatewayCompiled): BackendEntry[] {
  return [...compiled.backends].map(([key, endpoints]) => {
    const protocol = compiled.backendProtocols.get(key);
    return protocol ? { key, endpoints, protocol } : { key, endpoints };
  });
}

/** A TLSRoute's rules: backends only, one catch-all match each (the listener routes by SNI). */
function compileTlsRoute(route: TLSRoute, context: RuleContext): CompiledRoute {
  return compileRoute(
    {
      metadata: route.metadata,
      spec: { rules: (route.spec?.rules ?? []).map((r) => ({ ...r, matches: [{}] })) },
    },
    { ...context, kind: 'TLSRoute' },
  );
}

function describeRef(ref: ParentReference): string {
  const parts = [`Gateway ${JSON.stringify(ref.name)}`];
  if (ref.sectionName !== undefined) parts.push(`sectionName ${JSON.stringify(ref.sectionName)}`);
  if (ref.port !== undefined) parts.push(`port ${ref.port}`);
  return `parentRef (${parts.join(', ')})`;
}

function idOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
}

/** The generation (for observedGeneration) and uid (for Events) of an object, when it has them. */
function generationOf(o: { metadata?: { generation?: number; uid?: string } }): {
  generation?: number;
  uid?: string;
} {
  return {
    ...(o.metadata?.generation !== undefined ? { generation: o.metadata.generation } : {}),
    ...(o.metadata?.uid !== undefined ? { uid: o.metadata.uid } : {}),
  };
}

function creationTime(o: { metadata?: { creationTimestamp?: string | Date } }): number {
  const t = o.metadata?.creationTimestamp;
  if (t === undefined) return Number.POSITIVE_INFINITY;
  const ms = new Date(t).getTime();
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

function oldestFirst(routes: readonly AnyRoute[]): AnyRoute[] {
  return routes
    .map((r) => ({ r, time: creationTime(r.route), id: idOf(r.route) }))
    .sort((a, b) => (a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((x) => x.r);
}

/** Whether two routes' hostnames on a listener share a host (undefined: every host). */
function hostsIntersect(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return a.some((x) => (intersectHostnames(x, b) ?? []).length > 0);
}
