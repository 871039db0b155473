/**
 * The Gateway API compile step, incremental: it keeps each route's compiled rules and attachment
 * and, on every new cluster state, redoes only the routes a change touches. A route is compiled
 * again when its spec (generation) changes or when a Service or ReferenceGrant it read changed
 * (reads.ts records what it read); it is attached again when it was compiled again or when our
 * Gateways, their listeners' Secrets, the GatewayClasses, Namespaces or ReferenceGrants changed
 * (then every route is attached again, reusing the compiled rules). EndpointSlices change only the
 * endpoints of the backends that read them, never a route. Routes are attached independently,
 * except where an HTTPRoute and a GRPCRoute are both candidates on one listener: the older serves
 * the hostnames they share, so the routes of such listeners are attached again together, oldest
 * first.
 *
 * Each listener keeps its entries per hostname, each list in precedence order; a listener's
 * `routes` are those lists, the most specific hostname first, which a request reads the same way
 * as the whole list sorted by comparePrecedence (only one hostname of each rank can match a host).
 * Unchanged listeners, hostname lists and route entries are the same objects as in the last
 * result, so whoever sends them on (the worker delta, gateway-delta.ts) can tell what changed by
 * identity.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { indexServices, resolveBackend, SERVICE_NAME_LABEL, type ServiceIndex } from '../backends.js';
import type { Endpoint, UpstreamProtocol } from '../table.js';
import { attachRoute, listenerKey, type AttachableRoute, type Attachment, type RouteKind } from './attach.js';
import type {
  GatewayClusterState,
  GatewayCompiled,
  GatewayCompileOptions,
  ObjectStatus,
  ServedListener,
} from './compile.js';
import { condition } from './conditions.js';
import { compileGrpcRoute } from './grpc-rules.js';
import { intersectHostnames } from './hostnames.js';
import { checkListeners, type CheckedListener } from './listeners.js';
import { compareHostKeys, indexedListener } from './match.js';
import { comparePrecedence, type RouteEntry } from './precedence.js';
import { RecordingMap } from './reads.js';
import { ReferenceGrants, type CrossNamespaceRef } from './reference-grants.js';
import { compileRoute, type CompiledRoute, type RuleContext } from './route-rules.js';
import {
  GATEWAY_CONTROLLER_NAME,
  type Gateway,
  type GatewayClass,
  type GatewayStatus,
  type GRPCRoute,
  type HTTPRoute,
  type RouteParentStatus,
  type TLSRoute,
} from './types.js';

export interface GatewayCompileResult {
  readonly compiled: GatewayCompiled;
  /** Whether the listeners or backends differ from the last result (worth sending to the data plane). */
  readonly tableChanged: boolean;
  /** `Kind namespace/name` of the routes whose rules were compiled again by this call. */
  readonly recompiled: readonly string[];
  /** `Kind namespace/name` of the routes attached again by this call. */
  readonly reattached: readonly string[];
  /** Whether every route was attached again (a Gateway, class, Namespace, grant or Secret changed). */
  readonly full: boolean;
  /**
   * `plural|namespace|name` of the routes whose status may need a write: attached again, deleted,
   * or whose watched object changed (its status, someone else's write).
   */
  readonly statusDirty: readonly string[];
}

type AnyRoute = HTTPRoute | GRPCRoute | TLSRoute;
type RouteStatus = ObjectStatus<{ parents: readonly RouteParentStatus[] }>;

interface Meta {
  readonly metadata?: {
    readonly uid?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly generation?: number;
    readonly deletionTimestamp?: string | Date;
    readonly creationTimestamp?: string | Date;
    readonly labels?: Readonly<Record<string, string>>;
  };
}

interface RouteRecord {
  readonly key: string;
  readonly kind: RouteKind;
  readonly version: string | undefined;
  readonly source: AnyRoute;
  readonly route: AttachableRoute;
  readonly compiled: CompiledRoute;
  /** The Services (`namespace/name`) the compile read, with their version then. */
  readonly services: ReadonlyMap<string, string>;
  /** The namespaces whose ReferenceGrants the compile read, with their version then. */
  readonly grants: ReadonlyMap<string, string>;
  readonly attachment: Attachment;
  readonly status: RouteStatus | undefined;
}

/** A hostname list's pending change: entries that leave it, entries that join it. */
interface GroupChange {
  readonly remove: Set<RouteEntry>;
  readonly add: Set<RouteEntry>;
}

interface ListenerRoutes {
  /** Hostname (`''`: none) -> entries in precedence order; lists are replaced, never changed. */
  readonly groups: Map<string, readonly RouteEntry[]>;
  /** The hostnames, most specific first; undefined when a hostname came or went. */
  order: string[] | undefined;
  attached: number;
  /** Routes that would serve here but for a route of the other kind: HTTPRoute, GRPCRoute. */
  readonly candidates: { readonly HTTPRoute: Set<string>; readonly GRPCRoute: Set<string> };
}

const PLURAL = { HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes', TLSRoute: 'tlsroutes' } as const;

export class GatewayCompiler {
  private readonly controllerName: string;
  private readonly addresses: readonly string[];
  private readonly reservedPorts: ReadonlyMap<number, string>;
  private readonly serviceObjects = new Versions(false);
  private readonly sliceObjects = new Versions(false);
  private readonly grantObjects = new Versions(false);
  private readonly classObjects = new Versions(true);
  private readonly gatewayObjects = new Versions(true);
  private readonly namespaceObjects = new Versions(false);
  private readonly secretObjects = new Versions(false);
  private readonly routeObjects = {
    HTTPRoute: new Versions(true),
    GRPCRoute: new Versions(true),
    TLSRoute: new Versions(true),
  };
  private first = true;

  private grants = new ReferenceGrants([]);
  private grantVersions = new Map<string, string>();
  private namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  /** Our Gateways in the state's order, with their checked listeners. */
  private gateways: { readonly gateway: Gateway; readonly listeners: readonly CheckedListener[] }[] = [];
  private listenersByGateway = new Map<string, readonly CheckedListener[]>();
  private classStatuses: GatewayCompiled['gatewayClasses'] = [];
  /** The Secrets our listeners read: only their changes matter. */
  private secretsRead = new Set<string>();

  private readonly records = new Map<string, RouteRecord>();
  private readonly serviceDependents = new Map<string, Set<string>>();
  private readonly grantDependents = new Map<string, Set<string>>();
  private readonly listenerRoutes = new Map<string, ListenerRoutes>();
  private readonly backendUse = new Map<string, { uses: number; h2c: number }>();
  private endpoints = new Map<string, readonly Endpoint[]>();
  private protocols = new Map<string, UpstreamProtocol>();
  private served = new Map<string, ServedListener>();
  private last: GatewayCompiled | undefined;

  // Per call.
  private pending = new Map<string, Map<string, GroupChange>>();
  private touchedListeners = new Map<string, boolean>();
  private backendsTouched = new Set<string>();
  /** Route statuses set (undefined: none any more) by this call, by route key. */
  private statusEdits = new Map<string, RouteStatus | undefined>();
  /** Per kind, the statuses of the routes with a parent of ours, and each one's place. */
  private readonly statusLists = {
    HTTPRoute: { list: [] as RouteStatus[], place: new Map<string, number>() },
    GRPCRoute: { list: [] as RouteStatus[], place: new Map<string, number>() },
    TLSRoute: { list: [] as RouteStatus[], place: new Map<string, number>() },
  };

  constructor(options: GatewayCompileOptions = {}) {
    this.controllerName = options.controllerName ?? GATEWAY_CONTROLLER_NAME;
    this.addresses = options.addresses ?? [];
    this.reservedPorts = options.reservedPorts ?? new Map();
  }

  compile(state: GatewayClusterState): GatewayCompileResult {
    const full = this.first;
    this.first = false;
    this.pending = new Map();
    this.touchedListeners = new Map();
    this.backendsTouched = new Set();
    this.statusEdits = new Map();
    const recompiled: string[] = [];
    const reattached: string[] = [];
    const statusDirty = new Set<string>();

    // What the routes read: Services (by name), their EndpointSlices (only endpoints), grants.
    const services = this.serviceObjects.sync(state.services);
    const slices = this.sliceObjects.sync(state.endpointSlices);
    const grants = this.grantObjects.sync(state.referenceGrants);
    let index: ServiceIndex | undefined;
    const serviceIndex = () => (index ??= indexServices(state.services, state.endpointSlices));
    const endpointsChanged = new Set(services.changed.map((c) => c.key));
    for (const c of slices.changed)
      for (const s of [c.before, c.after] as (V1EndpointSlice | undefined)[]) {
        const svc = s?.metadata?.labels?.[SERVICE_NAME_LABEL];
        if (svc) endpointsChanged.add(`${s.metadata?.namespace}/${svc}`);
      }
    if (grants.changed.length) {
      this.grants = new ReferenceGrants(state.referenceGrants);
      this.grantVersions = grantVersions(state.referenceGrants, this.grantObjects);
    }

    // What attaching reads: our classes and Gateways, their Secrets, Namespaces, grants.
    const classes = this.classObjects.sync(state.gatewayClasses);
    const gateways = this.gatewayObjects.sync(state.gateways);
    const namespaces = this.namespaceObjects.sync(state.namespaces);
    const secrets = this.secretObjects.sync(state.secrets);
    const contextChanged =
      full ||
      classes.changed.length > 0 ||
      gateways.changed.length > 0 ||
      namespaces.changed.length > 0 ||
      grants.changed.length > 0 ||
      secrets.changed.some((c) => this.secretsRead.has(c.key));
    if (contextChanged) this.checkGateways(state);

    // The routes to attach again.
    const dirty = new Set<string>();
    for (const kind of ['HTTPRoute', 'GRPCRoute', 'TLSRoute'] as const) {
      const list: readonly AnyRoute[] =
        kind === 'HTTPRoute'
          ? state.httpRoutes
          : kind === 'GRPCRoute'
            ? (state.grpcRoutes ?? [])
            : (state.tlsRoutes ?? []);
      const sync = this.routeObjects[kind].sync(list);
      for (const c of sync.changed) dirty.add(`${kind} ${c.key}`);
      for (const key of sync.touched) statusDirty.add(`${PLURAL[kind]}|${key.replace('/', '|')}`);
      if (contextChanged) for (const o of list) dirty.add(`${kind} ${idOf(o)}`);
    }
    for (const c of services.changed) for (const k of this.serviceDependents.get(c.key) ?? []) dirty.add(k);
    for (const ns of namespacesOf(grants.changed))
      for (const k of this.grantDependents.get(ns) ?? []) dirty.add(k);

    const routeOf = (key: string): AnyRoute | undefined => {
      const space = key.indexOf(' ');
      return this.routeObjects[key.slice(0, space) as RouteKind].get(key.slice(space + 1)) as
        AnyRoute | undefined;
    };
    const order = [...dirty]
      .map((key) => ({ key, route: routeOf(key) }))
      .sort((a, b) => compareAge(a.route, b.route, a.key, b.key));
    for (const { key, route } of order) {
      const kind = key.slice(0, key.indexOf(' ')) as RouteKind;
      const old = this.records.get(key);
      statusDirty.add(`${PLURAL[kind]}|${key.slice(key.indexOf(' ') + 1).replace('/', '|')}`);
      if (!route || route.metadata?.deletionTimestamp) {
        if (old) {
          this.retract(old);
          this.records.delete(key);
          this.statusEdits.set(key, undefined);
        }
        continue;
      }
      const version = this.routeObjects[kind].version(idOf(route));
      let compiled = old?.compiled;
      let reads = old ? { services: old.services, grants: old.grants } : undefined;
      if (
        !old ||
        !compiled ||
        !reads ||
        (old.source !== route && (version === undefined || version !== old.version)) ||
        [...old.services].some(([s, v]) => this.serviceObjects.stamp(s) !== v) ||
        [...old.grants].some(([ns, v]) => (this.grantVersions.get(ns) ?? '') !== v)
      ) {
        const done = this.compileRoute(kind, route, serviceIndex());
        compiled = done.compiled;
        reads = done.reads;
        recompiled.push(key);
      }
      const attachable = attachableOf(kind, route);
      const attachment = attachRoute(attachable, compiled, this.attachContext());
      reattached.push(key);
      if (old) this.retract(old);
      const record: RouteRecord = {
        key,
        kind,
        version,
        source: route,
        route: attachable,
        compiled,
        services: reads.services,
        grants: reads.grants,
        attachment,
        status: statusOf(route, attachment),
      };
      this.records.set(key, record);
      this.statusEdits.set(key, record.status);
      this.contribute(record);
    }
    this.resolveConflicts(reattached);
    this.applyGroups();
    const backendsChanged = this.refreshEndpoints(endpointsChanged, serviceIndex);

    const listeners = this.servedListeners(contextChanged);
    const listenersChanged =
      !this.last ||
      listeners.length !== this.last.listeners.length ||
      listeners.some((l, i) => l !== this.last!.listeners[i]);
    const httpRoutes = this.statusList('HTTPRoute');
    const grpcRoutes = this.statusList('GRPCRoute');
    const tlsRoutes = this.statusList('TLSRoute');
    const compiled: GatewayCompiled = {
      listeners,
      backends: this.endpoints,
      backendProtocols: this.protocols,
      gatewayClasses: this.classStatuses,
      gateways: this.gatewayStatuses(),
      httpRoutes,
      grpcRoutes,
      tlsRoutes,
    };
    this.last = compiled;
    return {
      compiled,
      tableChanged: listenersChanged || backendsChanged,
      recompiled,
      reattached,
      full: contextChanged,
      statusDirty: [...statusDirty],
    };
  }

  /**
   * The statuses of one kind of route: a status replaced in its place in a copy of the list (a
   * route change at 10,000 routes copies references, it does not walk the routes); gathered again
   * when a status comes or goes.
   */
  private statusList(kind: RouteKind): RouteStatus[] {
    const lists = this.statusLists[kind];
    const edits = [...this.statusEdits].filter(([key]) => key.startsWith(`${kind} `));
    if (edits.length === 0) return lists.list;
    if (edits.every(([key, status]) => status !== undefined && lists.place.has(key))) {
      const list = [...lists.list];
      for (const [key, status] of edits) list[lists.place.get(key)!] = status!;
      lists.list = list;
      return list;
    }
    const list: RouteStatus[] = [];
    const place = new Map<string, number>();
    for (const r of this.records.values())
      if (r.kind === kind && r.status) {
        place.set(r.key, list.length);
        list.push(r.status);
      }
    this.statusLists[kind] = { list, place };
    return list;
  }

  /** A route as last compiled: its watched object and its computed status (none: no parent of ours). */
  route(
    kind: RouteKind,
    id: string,
  ): { readonly source: AnyRoute | undefined; readonly status: RouteStatus | undefined } {
    const record = this.records.get(`${kind} ${id}`);
    return {
      source: (this.routeObjects[kind].get(id) as AnyRoute | undefined) ?? record?.source,
      status: record?.status,
    };
  }

  private attachContext() {
    return {
      controllerName: this.controllerName,
      listeners: this.listenersByGateway,
      namespaceLabels: this.namespaceLabels,
    };
  }

  /** Our classes and Gateways, their listeners checked again (a class, Gateway, Secret … changed). */
  private checkGateways(state: GatewayClusterState): void {
    const controllerName = this.controllerName;
    const secrets = new RecordingMap(
      new Map(state.secrets.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s])),
    );
    this.namespaceLabels = new Map(
      state.namespaces.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]),
    );
    const ourClasses = state.gatewayClasses.filter(
      (c: GatewayClass) => c.spec?.controllerName === controllerName && !c.metadata?.deletionTimestamp,
    );
    const classNames = new Set(ourClasses.map((c) => c.metadata?.name));
    this.classStatuses = ourClasses.map((c) => ({
      name: c.metadata?.name ?? '',
      ...generationOf(c),
      status: {
        conditions: [
          condition('Accepted', true, 'Accepted', `handled by ${controllerName}`, c.metadata?.generation),
        ],
      },
    }));
    this.gateways = state.gateways
      .filter((g) => classNames.has(g.spec?.gatewayClassName) && !g.metadata?.deletionTimestamp)
      .map((gateway) => ({
        gateway,
        listeners: checkListeners(gateway, {
          reservedPorts: this.reservedPorts,
          secrets,
          grants: this.grants,
          namespaceLabels: this.namespaceLabels,
        }),
      }));
    this.listenersByGateway = new Map(this.gateways.map((g) => [idOf(g.gateway), g.listeners]));
    this.secretsRead = secrets.read;
  }

  /** One route's rules, with the Services and grants it read (what it must be compiled again for). */
  private compileRoute(
    kind: RouteKind,
    route: AnyRoute,
    index: ServiceIndex,
  ): { compiled: CompiledRoute; reads: { services: Map<string, string>; grants: Map<string, string> } } {
    const services = new RecordingMap(index.services);
    const grantNamespaces = new Set<string>();
    const grants = this.grants;
    const context: RuleContext = {
      services: { services, slices: index.slices },
      grants: {
        allows(ref: CrossNamespaceRef) {
          if (ref.fromNamespace !== ref.toNamespace) grantNamespaces.add(ref.toNamespace);
          return grants.allows(ref);
        },
      },
    };
    const compiled =
      kind === 'HTTPRoute'
        ? compileRoute(route as HTTPRoute, context)
        : kind === 'GRPCRoute'
          ? compileGrpcRoute(route as GRPCRoute, context)
          : compileTlsRoute(route as TLSRoute, context);
    return {
      compiled,
      reads: {
        services: new Map([...services.read].map((s) => [s, this.serviceObjects.stamp(s)])),
        grants: new Map([...grantNamespaces].map((ns) => [ns, this.grantVersions.get(ns) ?? ''])),
      },
    };
  }

  /** Takes a route's entries, counts, candidacies, backends and dependencies out. */
  private retract(r: RouteRecord): void {
    this.account(r, -1);
  }

  private contribute(r: RouteRecord): void {
    this.account(r, 1);
  }

  private account(r: RouteRecord, sign: 1 | -1): void {
    const a = r.attachment;
    for (const [lk, entries] of a.entries) {
      const routes = this.routesOf(lk);
      routes.attached += sign;
      for (const e of entries) {
        const change = this.groupChange(lk, e.hostname ?? '');
        if (sign > 0) change.add.add(e);
        else if (!change.add.delete(e)) change.remove.add(e);
      }
    }
    if (r.kind !== 'TLSRoute')
      for (const lk of a.candidates.keys()) {
        const routes = this.routesOf(lk);
        if (!this.touchedListeners.has(lk)) this.touchedListeners.set(lk, mixed(routes));
        if (sign > 0) routes.candidates[r.kind].add(r.key);
        else routes.candidates[r.kind].delete(r.key);
      }
    if (a.attached)
      for (const key of r.compiled.backends.keys()) {
        const use = this.backendUse.get(key) ?? { uses: 0, h2c: 0 };
        use.uses += sign;
        if (r.compiled.protocols.get(key) === 'h2c') use.h2c += sign;
        if (use.uses === 0) this.backendUse.delete(key);
        else this.backendUse.set(key, use);
        this.backendsTouched.add(key);
      }
    for (const [deps, index] of [
      [r.services, this.serviceDependents],
      [r.grants, this.grantDependents],
    ] as const)
      for (const dep of deps.keys()) {
        const set = index.get(dep) ?? new Set<string>();
        if (sign > 0) set.add(r.key);
        else set.delete(r.key);
        if (set.size) index.set(dep, set);
        else index.delete(dep);
      }
  }

  /**
   * Where an HTTPRoute and a GRPCRoute are candidates on one listener, the older serves the
   * hostnames they share: the routes of every such listener (now, or before this change) are
   * attached again together, oldest first.
   */
  private resolveConflicts(reattached: string[]): void {
    const listeners = [...this.touchedListeners].filter(([lk, before]) => before || mixed(this.routesOf(lk)));
    if (listeners.length === 0) return;
    const keys = new Set<string>();
    for (const [lk, routes] of this.listenerRoutes)
      if (mixed(routes) || listeners.some(([k]) => k === lk))
        for (const set of [routes.candidates.HTTPRoute, routes.candidates.GRPCRoute])
          for (const k of set) keys.add(k);
    const served = new Map<string, { kind: RouteKind; id: string; hosts: readonly string[] | undefined }[]>();
    const records = [...keys]
      .map((k) => this.records.get(k)!)
      .sort((a, b) => compareAge(a.source, b.source, a.key, b.key));
    for (const old of records) {
      const attachment = attachRoute(old.route, old.compiled, this.attachContext(), (lk, kind, id, hosts) =>
        (served.get(lk) ?? []).find(
          (s) => s.kind !== kind && s.kind !== 'TLSRoute' && s.id !== id && hostsIntersect(s.hosts, hosts),
        ),
      );
      for (const lk of attachment.entries.keys()) {
        const list = served.get(lk) ?? [];
        served.set(lk, list);
        list.push({ kind: old.kind, id: old.route.id, hosts: attachment.candidates.get(lk) });
      }
      this.retract(old);
      const record = { ...old, attachment, status: statusOf(old.source, attachment) };
      this.records.set(old.key, record);
      this.statusEdits.set(old.key, record.status);
      this.contribute(record);
      reattached.push(old.key);
    }
  }

  private routesOf(lk: string): ListenerRoutes {
    let routes = this.listenerRoutes.get(lk);
    if (!routes) {
      routes = {
        groups: new Map(),
        order: undefined,
        attached: 0,
        candidates: { HTTPRoute: new Set(), GRPCRoute: new Set() },
      };
      this.listenerRoutes.set(lk, routes);
    }
    return routes;
  }

  private groupChange(lk: string, host: string): GroupChange {
    let byHost = this.pending.get(lk);
    if (!byHost) this.pending.set(lk, (byHost = new Map()));
    let change = byHost.get(host);
    if (!change) byHost.set(host, (change = { remove: new Set(), add: new Set() }));
    return change;
  }

  /** The hostname lists changed by this call, each a new array in precedence order. */
  private applyGroups(): void {
    for (const [lk, byHost] of this.pending) {
      const routes = this.routesOf(lk);
      let changed = false;
      for (const [host, { remove, add }] of byHost) {
        if (remove.size === 0 && add.size === 0) continue;
        changed = true;
        const before = routes.groups.get(host) ?? [];
        const kept = remove.size ? before.filter((e) => !remove.has(e)) : [...before];
        const next = add.size > 16 ? [...kept, ...add].sort(comparePrecedence) : insertSorted(kept, add);
        if (next.length === 0) {
          routes.groups.delete(host);
          routes.order = undefined;
        } else {
          if (!routes.groups.has(host)) routes.order = undefined;
          routes.groups.set(host, next);
        }
      }
      if (changed) this.served.delete(lk);
      if (
        routes.groups.size === 0 &&
        routes.attached === 0 &&
        !mixed(routes) &&
        routes.candidates.HTTPRoute.size + routes.candidates.GRPCRoute.size === 0
      )
        this.listenerRoutes.delete(lk);
    }
  }

  /** Endpoints of the backends that are new or whose Service or EndpointSlices changed. */
  private refreshEndpoints(changedServices: ReadonlySet<string>, index: () => ServiceIndex): boolean {
    let changed = false;
    const endpoints = new Map(this.endpoints);
    const protocols = new Map(this.protocols);
    const check = new Set(this.backendsTouched);
    if (changedServices.size)
      for (const key of this.backendUse.keys()) if (changedServices.has(serviceOfKey(key))) check.add(key);
    for (const key of check) {
      const use = this.backendUse.get(key);
      if (!use) {
        changed = endpoints.delete(key) || changed;
        changed = protocols.delete(key) || changed;
        continue;
      }
      const want: UpstreamProtocol | undefined = use.h2c > 0 ? 'h2c' : undefined;
      if (protocols.get(key) !== want) {
        changed = true;
        if (want) protocols.set(key, want);
        else protocols.delete(key);
      }
      if (endpoints.has(key) && !changedServices.has(serviceOfKey(key))) continue;
      const slash = key.indexOf('/');
      const colon = key.lastIndexOf(':');
      const found = resolveBackend(index(), key.slice(0, slash), {
        name: key.slice(slash + 1, colon),
        port: { number: Number(key.slice(colon + 1)) },
      });
      const next = typeof found === 'string' ? [] : found;
      const before = endpoints.get(key);
      if (!before || !sameEndpoints(before, next)) {
        endpoints.set(key, next);
        changed = true;
      }
    }
    if (changed) {
      this.endpoints = endpoints;
      this.protocols = protocols;
    }
    return changed;
  }

  /** The programmed listeners of our Gateways; unchanged ones are the last call's objects. */
  private servedListeners(contextChanged: boolean): ServedListener[] {
    const out: ServedListener[] = [];
    const next = new Map<string, ServedListener>();
    for (const { listeners } of this.gateways)
      for (const l of listeners) {
        if (!l.programmed) continue;
        const lk = listenerKey(l);
        let served = this.served.get(lk);
        if (!served || (contextChanged && !sameHead(served, l))) served = this.buildListener(l, lk);
        next.set(lk, served);
        out.push(served);
      }
    this.served = next;
    return out;
  }

  private buildListener(l: CheckedListener, lk: string): ServedListener {
    const routes = this.listenerRoutes.get(lk);
    let order: readonly string[] = [];
    // A copy of the hostname lists (1,000 references at 1,000 hostnames, not one per entry): the
    // compiler replaces lists in routes.groups, the listener it hands out must not change.
    let index = new Map<string, readonly RouteEntry[]>();
    if (routes) {
      order = routes.order ??= [...routes.groups.keys()].sort(compareHostKeys);
      index = new Map(routes.groups);
    }
    return indexedListener(
      {
        gateway: l.gateway,
        name: l.spec.name,
        port: l.port,
        protocol: l.protocol as ServedListener['protocol'],
        hostname: l.hostname,
        certificates: l.certificates,
      },
      index,
      order,
    );
  }

  private gatewayStatuses(): GatewayCompiled['gateways'] {
    const addresses = this.addresses;
    return this.gateways.map(({ gateway: g, listeners }) => {
      const generation = g.metadata?.generation;
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
          // No listener to serve says Invalid whatever the addresses: the controller compiles
          // without them and adds them after (withAddressing), which keeps an Invalid.
          condition(
            'Programmed',
            programmed,
            programmed ? 'Programmed' : valid === 0 ? 'Invalid' : 'AddressNotAssigned',
            programmed
              ? `served on ${addresses.join(', ')}`
              : valid === 0
                ? 'no listener can be served'
                : 'no address is configured for Gateways (portico ingress --gateway-address)',
            generation,
          ),
        ],
        listeners: listeners.map((l) => ({
          name: l.spec.name,
          supportedKinds: l.supportedKinds,
          attachedRoutes: this.listenerRoutes.get(listenerKey(l))?.attached ?? 0,
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
  }
}

/**
 * The objects of one kind as last seen, keyed `namespace/name`, and what changed: a new version
 * (generation for kinds whose status we write, else resourceVersion), an object added or gone.
 * `touched`: replaced by an object of the same version (a status change).
 */
class Versions {
  private readonly objects = new Map<string, { object: Meta; version: string | undefined; stamp: number }>();
  private stamps = 0;
  /** The last list and each place's key. */
  private list: readonly Meta[] = [];
  private keys: string[] = [];

  constructor(private readonly byGeneration: boolean) {}

  sync(list: readonly Meta[]): {
    changed: { key: string; before: Meta | undefined; after: Meta | undefined }[];
    touched: string[];
  } {
    const changed: { key: string; before: Meta | undefined; after: Meta | undefined }[] = [];
    const touched: string[] = [];
    // The watch lists its objects in a stable order, an updated object in its old place: when the
    // list is as long as last time, comparing places by identity finds the few that changed
    // without hashing 10,000 names. Anything else (an object added or gone) is a full pass.
    const last = this.list;
    if (last.length === list.length && last.length > 0) {
      let inPlace = true;
      const replaced: number[] = [];
      for (let i = 0; i < list.length; i++)
        if (list[i] !== last[i]) {
          if (idOf(list[i]!) !== this.keys[i]) {
            inPlace = false;
            break;
          }
          replaced.push(i);
        }
      if (inPlace) {
        for (const i of replaced) this.see(this.keys[i]!, list[i]!, changed, touched);
        this.list = list;
        return { changed, touched };
      }
    }
    const keys: string[] = new Array<string>(list.length);
    const seen = new Set<string>();
    list.forEach((object, i) => {
      const key = idOf(object);
      keys[i] = key;
      seen.add(key);
      if (this.objects.get(key)?.object !== object) this.see(key, object, changed, touched);
    });
    for (const [key, old] of [...this.objects])
      if (!seen.has(key)) {
        this.objects.delete(key);
        changed.push({ key, before: old.object, after: undefined });
      }
    this.list = list;
    this.keys = keys;
    return { changed, touched };
  }

  private see(
    key: string,
    object: Meta,
    changed: { key: string; before: Meta | undefined; after: Meta | undefined }[],
    touched: string[],
  ): void {
    const old = this.objects.get(key);
    const version = versionOf(object, this.byGeneration);
    if (!old || version === undefined || old.version !== version) {
      this.objects.set(key, { object, version, stamp: ++this.stamps });
      changed.push({ key, before: old?.object, after: object });
    } else {
      this.objects.set(key, { object, version, stamp: old.stamp });
      touched.push(key);
    }
  }

  get(key: string): Meta | undefined {
    return this.objects.get(key)?.object;
  }

  version(key: string): string | undefined {
    return this.objects.get(key)?.version;
  }

  /**
   * A number that changes whenever the object does (by version, or by identity for objects
   * without one), '' when there is none: what a compiled route remembers of what it read.
   */
  stamp(key: string): string {
    const o = this.objects.get(key);
    return o ? String(o.stamp) : '';
  }
}

function versionOf(o: Meta, byGeneration: boolean): string | undefined {
  const m = o.metadata;
  const v =
    byGeneration && m?.generation !== undefined
      ? `g${m.generation}`
      : m?.resourceVersion !== undefined
        ? `r${m.resourceVersion}`
        : undefined;
  return v === undefined ? undefined : `${m?.uid ?? ''}/${v}${m?.deletionTimestamp ? '/deleting' : ''}`;
}

/** Per namespace, one string that changes whenever a ReferenceGrant there does. */
function grantVersions(grants: readonly Meta[], versions: Versions): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of grants) {
    const ns = g.metadata?.namespace ?? '';
    out.set(ns, `${out.get(ns) ?? ''}${versions.stamp(idOf(g))};`);
  }
  return out;
}

/** The namespaces of the objects that changed. */
function namespacesOf(
  changed: readonly { before: Meta | undefined; after: Meta | undefined }[],
): Set<string> {
  const out = new Set<string>();
  for (const c of changed) for (const o of [c.before, c.after]) if (o) out.add(o.metadata?.namespace ?? '');
  return out;
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

function attachableOf(kind: RouteKind, route: AnyRoute): AttachableRoute {
  return {
    kind,
    id: idOf(route),
    namespace: route.metadata?.namespace ?? 'default',
    generation: route.metadata?.generation,
    created: creationTime(route),
    hostnames: route.spec?.hostnames,
    parentRefs: route.spec?.parentRefs ?? [],
  };
}

function statusOf(route: AnyRoute, attachment: Attachment): RouteStatus | undefined {
  if (attachment.parents.length === 0) return undefined;
  return {
    namespace: route.metadata?.namespace ?? 'default',
    name: route.metadata?.name ?? '',
    ...generationOf(route),
    status: { parents: attachment.parents },
  };
}

function mixed(routes: ListenerRoutes): boolean {
  return routes.candidates.HTTPRoute.size > 0 && routes.candidates.GRPCRoute.size > 0;
}

/** Whether two routes' hostnames on a listener share a host (undefined: every host). */
function hostsIntersect(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return a.some((x) => (intersectHostnames(x, b) ?? []).length > 0);
}

/** `namespace/name` of the Service of a backend key `namespace/name:port`. */
function serviceOfKey(key: string): string {
  return key.slice(0, key.lastIndexOf(':'));
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => e.address === b[i]!.address && e.port === b[i]!.port);
}

/** Whether a served listener still says what the checked listener says (its routes aside). */
function sameHead(s: ServedListener, l: CheckedListener): boolean {
  return (
    s.port === l.port &&
    s.protocol === l.protocol &&
    s.hostname === l.hostname &&
    s.certificates.length === l.certificates.length &&
    s.certificates.every((c, i) => c.id === l.certificates[i]!.id)
  );
}

/** `list` (in precedence order) with `add` inserted where each belongs; a new array. */
function insertSorted(list: RouteEntry[], add: Iterable<RouteEntry>): RouteEntry[] {
  for (const e of add) {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePrecedence(list[mid]!, e) <= 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, e);
  }
  return list;
}

function compareAge(a: Meta | undefined, b: Meta | undefined, ka: string, kb: string): number {
  const ta = a ? creationTime(a) : Number.POSITIVE_INFINITY;
  const tb = b ? creationTime(b) : Number.POSITIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ia = ka.slice(ka.indexOf(' ') + 1);
  const ib = kb.slice(kb.indexOf(' ') + 1);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

function idOf(o: Meta): string {
  return `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
}

/** The generation (for observedGeneration) and uid (for Events) of an object, when it has them. */
function generationOf(o: Meta): { generation?: number; uid?: string } {
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
