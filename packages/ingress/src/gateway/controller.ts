/**
 * The Gateway API side of `portico ingress`: Gateway API objects in, the listeners served on the
 * gateway address and the statuses written back (while this replica leads, as for Ingress status).
 * Compiling is the pure, incremental step in compiler.ts; this class only wires the watch, the
 * servers and the status writer, and counts what happens. A change goes to the data plane before
 * any status is written, and the status pass after a change checks only the routes it touched.
 */
import { type ApiClient, EventRecorder, serialPasses } from '@portico/kube';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProxyOptions } from '../proxy.js';
import { backendEntries, type GatewayClusterState, type GatewayCompiled } from './compile.js';
import { GatewayCompiler } from './compiler.js';
import { gatewayAddressing, reportableAddress, withAddressing } from './gateway-addresses.js';
import { desiredGatewayService, desiredGatewaySlices, gatewayServiceName } from './gateway-service.js';
import { problemsOf, RouteTally, type Problem } from './route-tally.js';
import { GatewayServiceKeeper } from './service-keeper.js';
import { GatewayServing, type GatewayTableSink } from './serving.js';
import { watchGateways, type GatewaySource } from './sources.js';
import { GatewayStatusWriter, statusTargets } from './status-writer.js';
import {
  GATEWAY_CONTROLLER_NAME,
  GATEWAY_GROUP,
  type GRPCRoute,
  type HTTPRoute,
  type TLSRoute,
} from './types.js';

const KIND_OF = { httproutes: 'HTTPRoute', grpcroutes: 'GRPCRoute', tlsroutes: 'TLSRoute' } as const;

/** Gateway-level conditions reported as Events: the address problems (listeners report the rest). */
const ADDRESS_PROBLEMS = new Set(['UnsupportedAddress', 'AddressNotUsable']);

export interface GatewayControllerOptions {
  readonly api: ApiClient;
  /**
   * Where every listener of our Gateways is served, at the listener's own port; reported in
   * status.addresses unless it is a wildcard (0.0.0.0, ::).
   */
  readonly address: string;
  /**
   * Whether `address` goes into status.addresses (default true). Not when it is only the pod's own
   * address (--gateway-services without --gateway-address): clients use the Service's address.
   */
  readonly reportAddress?: boolean;
  /**
   * The ingress's own Service (`namespace/name`): when set, the leader keeps a LoadBalancer Service
   * per Gateway whose endpoints are this Service's (the ingress pods), and the Gateway's addresses
   * are that Service's, from Portico's pools.
   */
  readonly gatewayServicesFrom?: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly controllerName?: string;
  /**
   * Ports this process serves itself where the Gateways are served (reservedGatewayPorts): a
   * listener on one is Accepted=False/PortUnavailable and not served.
   */
  readonly reservedPorts?: ReadonlyMap<number, string>;
  readonly debounceMs: number;
  /** How often statuses are re-checked even without events, ms. */
  readonly statusResyncMs: number;
  /**
   * How often, while a Gateway's Service waits for an address, the controller's Events about it
   * are read again (a failed allocation changes no object we watch), ms; default 2000.
   */
  readonly addressRecheckMs?: number;
  readonly proxy?: Partial<ProxyOptions>;
  /**
   * Where the compiled listeners are served: by default a GatewayServing in this process (with
   * `proxy`); the worker processes' sink (WorkerPool.gatewaySink()) with --workers.
   */
  readonly sink?: GatewayTableSink;
  /** Where Events go; by default an EventRecorder of component `portico-gateway`. */
  readonly events?: Pick<EventRecorder, 'record'>;
}

/** The `source.component` of our Events. */
export const gatewayEventSource = 'portico-gateway';

export class GatewayController {
  /** What serves the listeners in this process, when they are served here. */
  readonly local: GatewayServing | undefined;
  private readonly sink: GatewayTableSink;
  private source: GatewaySource | undefined;
  private compiled: GatewayCompiled | undefined;
  /** Keeps each route compiled and redoes only what a change touches (compiler.ts). */
  private readonly compiler: GatewayCompiler;
  /** What the next status pass checks: everything, or these `plural|namespace|name` routes. */
  private statusScope = { full: true, routes: new Set<string>() };
  private state: GatewayClusterState | undefined;
  private version = 0;
  private leading = false;
  private stopping = false;
  /** Writes what differs, one object at a time; a sync asked for meanwhile runs after this one. */
  private readonly syncStatus = serialPasses(() => this.writeStatuses());
  private resync: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private readonly writer: GatewayStatusWriter;
  private readonly events: Pick<EventRecorder, 'record'>;
  /** Per route: the gauges' counts and the problems seen (reported once each by the leader). */
  private readonly tally = new RouteTally();
  /** The Gateways' problems already reported by this leader (Gateways are few: checked whole). */
  private reportedGateways = new Set<string>();
  private readonly controllerName: string;
  private readonly compileSeconds: Histogram;
  private readonly changeSeconds: Histogram<'stage'>;
  private readonly compilesSkipped: Counter;
  private readonly statusWrites: Counter<'result'>;
  private readonly routesServed: Gauge;
  private readonly routesRejected: Gauge;
  private readonly portsFailed: Gauge;
  private readonly keeper: GatewayServiceKeeper | undefined;

  constructor(private readonly options: GatewayControllerOptions) {
    this.controllerName = options.controllerName ?? GATEWAY_CONTROLLER_NAME;
    this.compiler = new GatewayCompiler({
      controllerName: this.controllerName,
      addresses: [],
      reservedPorts: options.reservedPorts,
    });
    this.local = options.sink
      ? undefined
      : new GatewayServing({ address: options.address, logger: options.logger, proxy: options.proxy });
    this.sink = options.sink ?? this.local!;
    this.writer = new GatewayStatusWriter(options.api);
    this.events =
      options.events ??
      new EventRecorder(options.api, {
        component: gatewayEventSource,
        registry: options.registry,
        onError: (err) => options.logger.warn({ err: String(err) }, 'event write failed'),
      });
    const registers = [options.registry];
    this.compileSeconds = new Histogram({
      name: 'portico_gateway_compile_seconds',
      help: 'Time to compile Gateway API objects into served listeners and statuses',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.changeSeconds = new Histogram({
      name: 'portico_gateway_change_seconds',
      help: 'Time from the first watch event of a change to each stage: compiled, sent to the data plane, served by every worker',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.compilesSkipped = new Counter({
      name: 'portico_gateway_compiles_skipped_total',
      help: 'Changes to Gateway API objects that needed no compile (only statuses changed)',
      registers,
    });
    this.statusWrites = new Counter({
      name: 'portico_gateway_status_writes_total',
      help: 'Gateway API status writes by result',
      labelNames: ['result'],
      registers,
    });
    this.routesServed = new Gauge({
      name: 'portico_gateway_httproutes_accepted',
      help: 'HTTPRoute parent references of ours that are Accepted',
      registers,
    });
    const sink = this.sink;
    this.portsFailed = new Gauge({
      name: 'portico_gateway_listener_ports_failed',
      help: 'Gateway listener ports that could not be opened on the gateway address (retried on every change)',
      registers,
      collect() {
        this.set(sink.failedPorts());
      },
    });
    this.keeper = options.gatewayServicesFrom
      ? new GatewayServiceKeeper(
          options.api,
          options.logger,
          new Counter({
            name: 'portico_gateway_service_writes_total',
            help: 'Writes of the LoadBalancer Services kept for Gateways, by action and result',
            labelNames: ['action', 'result'],
            registers,
          }),
        )
      : undefined;
    this.routesRejected = new Gauge({
      name: 'portico_gateway_httproutes_rejected',
      help: 'HTTPRoute parent references of ours that are not Accepted or have unresolved references',
      registers,
    });
  }

  start(): Promise<void> {
    this.source = watchGateways(this.options.api, {
      debounceMs: this.options.debounceMs,
      onChange: (state, since) => this.apply(state, since),
      onError: (kind, err) => {
        if (!this.stopping) this.options.logger.warn({ kind, err: String(err) }, 'watch failed; retrying');
      },
    });
    this.resync = setInterval(() => {
      this.statusScope.full = true;
      void this.syncStatus();
    }, this.options.statusResyncMs);
    return this.source.synced.then(() => this.sink.settled());
  }

  /** Called by the leader elector: only the leader writes statuses. */
  setLeading(leading: boolean): void {
    this.leading = leading;
    if (!leading) this.reportedGateways = new Set();
    else {
      // A new term reports every problem there is, once.
      this.tally.clear();
      this.reportProblems(true);
      this.statusScope.full = true;
      void this.syncStatus();
    }
  }

  /** Resolves once the latest compile is served (its ports opened or closed). */
  settled(): Promise<void> {
    return this.sink.settled();
  }

  private apply(state: GatewayClusterState, since?: number): void {
    // Only what the change touched is compiled again; our own status writes coming back through
    // the watch touch nothing but the statuses to check.
    const started = performance.now();
    const end = this.compileSeconds.startTimer();
    const result = this.compiler.compile(state);
    end();
    const compiled = performance.now();
    const first = this.compiled === undefined;
    this.state = state;
    this.compiled = this.withAddresses(result.compiled, state);
    if (result.reattached.length === 0 && !result.tableChanged) this.compilesSkipped.inc();
    // The data plane first: the status pass below is not on the way of a change going live.
    const publish = first || result.tableChanged;
    const version = publish ? ++this.version : this.version;
    if (publish)
      this.sink.publish({
        version,
        listeners: result.compiled.listeners,
        backends: backendEntries(result.compiled),
      });
    const sent = performance.now();
    if (publish && since !== undefined)
      this.trace(since, started, compiled, sent, version, result.recompiled);
    if (result.full) this.statusScope.full = true;
    for (const key of result.statusDirty) this.statusScope.routes.add(key);
    // The gauges and the problems: every route after a full compile, else only those touched.
    if (first || result.full) this.reportProblems(true);
    else if (result.statusDirty.length > 0) this.reportProblems(false, result.statusDirty);
    void this.syncStatus();
  }

  /**
   * One change's way to the data plane, from its first watch event: compiled, sent, served by
   * every worker (histogram `portico_gateway_change_seconds`, and a debug log per change with the
   * wall-clock times, so a slow change can be taken apart).
   */
  private trace(
    since: number,
    started: number,
    compiled: number,
    sent: number,
    version: number,
    routes: readonly string[],
  ): void {
    this.changeSeconds.observe({ stage: 'compiled' }, (compiled - since) / 1000);
    this.changeSeconds.observe({ stage: 'sent' }, (sent - since) / 1000);
    void this.sink.settled().then(() => {
      const served = performance.now();
      this.changeSeconds.observe({ stage: 'served' }, (served - since) / 1000);
      if (!this.options.logger.isLevelEnabled('debug')) return;
      const ms = (t: number) => Math.round((t - since) * 100) / 100;
      this.options.logger.debug(
        {
          version,
          routes: routes.slice(0, 5),
          eventAt: performance.timeOrigin + since,
          debounceMs: ms(started),
          compiledMs: ms(compiled),
          sentMs: ms(sent),
          servedMs: ms(served),
        },
        'gateway change served',
      );
    });
  }

  /**
   * The gauges of accepted and rejected HTTPRoute parents, and one Warning Event per problem
   * found in a route's parent status or a listener's status (the condition's reason and message),
   * written by the leader when the problem first appears; a problem that goes away and comes back
   * is reported again. `all`: every route (a full compile, a new leader); else the routes of
   * `dirty` (`plural|namespace|name`).
   */
  private reportProblems(all: boolean, dirty: readonly string[] = []): void {
    if (!this.compiled) return;
    const found: Problem[] = [];
    if (all) {
      const seen = new Set<string>();
      for (const [kind, list] of [
        ['HTTPRoute', this.compiled.httpRoutes],
        ['GRPCRoute', this.compiled.grpcRoutes],
        ['TLSRoute', this.compiled.tlsRoutes],
      ] as const)
        for (const r of list) {
          const key = `${kind} ${r.namespace}/${r.name}`;
          seen.add(key);
          found.push(...this.tally.set(key, r));
        }
      this.tally.retain(seen);
    } else
      for (const key of dirty) {
        const [plural, namespace, name] = key.split('|') as [keyof typeof KIND_OF, string, string];
        const kind = KIND_OF[plural];
        found.push(
          ...this.tally.set(
            `${kind} ${namespace}/${name}`,
            this.compiler.route(kind, `${namespace}/${name}`).status,
          ),
        );
      }
    this.routesServed.set(this.tally.accepted);
    this.routesRejected.set(this.tally.rejected);
    if (!this.leading) return;
    const gatewayProblems: Problem[] = [];
    for (const g of this.compiled.gateways) {
      for (const l of g.status.listeners ?? [])
        gatewayProblems.push(...problemsOf('Gateway', g, l.conditions));
      gatewayProblems.push(
        ...problemsOf(
          'Gateway',
          g,
          (g.status.conditions ?? []).filter((c) => c.status === 'False' && ADDRESS_PROBLEMS.has(c.reason)),
        ),
      );
    }
    const reported = this.reportedGateways;
    this.reportedGateways = new Set(gatewayProblems.map((p) => p.key));
    for (const p of [...found, ...gatewayProblems.filter((g) => !reported.has(g.key))]) {
      const o = p.object;
      void this.events.record(
        {
          apiVersion: `${GATEWAY_GROUP}/v1`,
          kind: p.kind,
          metadata: { namespace: o.namespace, name: o.name, uid: o.uid },
        },
        'Warning',
        p.condition.reason,
        p.condition.message,
      );
    }
  }

  /** The compiled statuses with each Gateway's addresses (its Service's IPs, the static address). */
  private withAddresses(compiled: GatewayCompiled, state: GatewayClusterState): GatewayCompiled {
    const staticAddresses =
      this.options.reportAddress !== false && reportableAddress(this.options.address)
        ? [this.options.address]
        : [];
    const withService = this.keeper !== undefined;
    const services = new Map(state.services.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
    const specs = new Map(state.gateways.map((g) => [`${g.metadata?.namespace}/${g.metadata?.name}`, g]));
    const gateways = compiled.gateways.map((g) => {
      const gateway = specs.get(`${g.namespace}/${g.name}`) ?? {};
      const serviceName = gatewayServiceName(g.name);
      const addressing = gatewayAddressing(gateway, {
        staticAddresses,
        withService,
        service: services.get(`${g.namespace}/${serviceName}`),
        allocationError: this.keeper?.allocationError(g.namespace ?? 'default', serviceName),
      });
      return { ...g, status: withAddressing(g.status, g.generation, addressing) };
    });
    return { ...compiled, gateways };
  }

  /** The leader's pass over the Gateways' Services; statuses are recomputed when what it learnt changes. */
  private async keepServices(): Promise<void> {
    if (!this.keeper || !this.compiled || !this.state) return;
    const state = this.state;
    const specs = new Map(state.gateways.map((g) => [`${g.metadata?.namespace}/${g.metadata?.name}`, g]));
    const [ns, name] = (this.options.gatewayServicesFrom ?? '').split('/');
    const ingressSlices = state.endpointSlices.filter(
      (s) => s.metadata?.namespace === ns && s.metadata?.labels?.['kubernetes.io/service-name'] === name,
    );
    const services = this.compiled.gateways.flatMap((g) => {
      const gateway = specs.get(`${g.namespace}/${g.name}`);
      const svc = gateway && desiredGatewayService(gateway, this.options.reservedPorts);
      return svc ? [svc] : [];
    });
    const slices = services.flatMap((svc) => desiredGatewaySlices(svc, ingressSlices));
    const changed = await this.keeper.sync(
      { services, slices },
      { services: state.services, slices: state.endpointSlices },
    );
    if (changed && this.compiled && this.state) {
      this.compiled = this.withAddresses(this.compiled, this.state);
      this.reportProblems(false);
    }
    clearTimeout(this.recheck);
    if (this.keeper.waiting > 0 && !this.stopping)
      this.recheck = setTimeout(() => void this.syncStatus(), this.options.addressRecheckMs ?? 2000);
  }

  private async writeStatuses(): Promise<void> {
    if (!this.leading || !this.compiled || !this.state || this.stopping) return;
    // After a change, only the routes it touched are checked; the resync (and a new leader)
    // checks everything. Gateways and GatewayClasses are few: always checked.
    const scope = this.statusScope;
    this.statusScope = { full: false, routes: new Set() };
    await this.keepServices();
    if (!this.leading || this.stopping || !this.compiled || !this.state) return;
    let compiled = this.compiled;
    let httpRoutes = this.state.httpRoutes;
    let grpcRoutes = this.state.grpcRoutes ?? [];
    let tlsRoutes = this.state.tlsRoutes ?? [];
    if (!scope.full) {
      const routes = {
        httproutes: [] as HTTPRoute[],
        grpcroutes: [] as GRPCRoute[],
        tlsroutes: [] as TLSRoute[],
      };
      const statuses = {
        httproutes: [] as GatewayCompiled['httpRoutes'][number][],
        grpcroutes: [] as GatewayCompiled['httpRoutes'][number][],
        tlsroutes: [] as GatewayCompiled['httpRoutes'][number][],
      };
      for (const key of scope.routes) {
        const [plural, namespace, name] = key.split('|') as [keyof typeof routes, string, string];
        const { source, status } = this.compiler.route(KIND_OF[plural], `${namespace}/${name}`);
        if (source) (routes[plural] as object[]).push(source);
        if (status) statuses[plural].push(status);
      }
      compiled = {
        ...compiled,
        httpRoutes: statuses.httproutes,
        grpcRoutes: statuses.grpcroutes,
        tlsRoutes: statuses.tlsroutes,
      };
      httpRoutes = routes.httproutes;
      grpcRoutes = routes.grpcroutes;
      tlsRoutes = routes.tlsroutes;
    }
    // The watched objects say what most statuses already are: only those that differ are re-read
    // and written (a pass over 10,000 routes must not be 10,000 GETs after every change).
    const cached = new Map<string, Record<string, unknown> | undefined>();
    const remember = (
      plural: string,
      o: { metadata?: { namespace?: string; name?: string }; status?: object },
    ) =>
      cached.set(
        `${plural}|${o.metadata?.namespace ?? ''}|${o.metadata?.name}`,
        o.status as Record<string, unknown>,
      );
    for (const o of this.state.gatewayClasses) remember('gatewayclasses', o);
    for (const o of this.state.gateways) remember('gateways', o);
    for (const o of httpRoutes) remember('httproutes', o);
    for (const o of grpcRoutes) remember('grpcroutes', o);
    for (const o of tlsRoutes) remember('tlsroutes', o);
    for (const target of statusTargets(compiled, httpRoutes, this.controllerName, grpcRoutes, tlsRoutes)) {
      if (!this.leading || this.stopping) break;
      if (target.current(cached.get(`${target.plural}|${target.namespace ?? ''}|${target.name}`))) {
        this.statusWrites.inc({ result: 'current' });
        continue;
      }
      try {
        const wrote = await this.writer.apply(target);
        this.statusWrites.inc({ result: wrote ? 'written' : 'current' });
      } catch (err) {
        this.statusWrites.inc({ result: 'error' });
        this.options.logger.warn(
          { err: String(err), kind: target.plural, object: `${target.namespace ?? ''}/${target.name}` },
          'status write failed; retrying on the next sync',
        );
      }
    }
  }

  /** Stops watching; the listeners served here drain for up to `graceMs` (GatewayServers.close). */
  async stop(graceMs = 0): Promise<void> {
    this.stopping = true;
    clearInterval(this.resync);
    clearTimeout(this.recheck);
    await this.source?.stop();
    await this.sink.close(graceMs);
  }
}
