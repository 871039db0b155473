import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import { Allocator } from '@portico/allocator';
import type { Config } from '@portico/config';
import {
  type ApiClient,
  ConfigSource,
  ConfigStatus,
  ConfigurationStateWriter,
  createInformer,
  EventRecorder,
  poolAnnotation,
  runInformer,
  type RunningInformer,
  serviceKey,
  ServiceStatusWriter,
  withCondition,
} from '@portico/kube';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { converge, type Decision } from './converge.js';
import { PoolStatusWriter } from './pool-status.js';
import { statusIPs } from './service-request.js';
import { controllerMetrics, type ControllerMetrics } from './metrics.js';

export interface ControllerOptions {
  /** The process's connection pool to the API server (connectKube). */
  api: ApiClient;
  /** Namespace of the ConfigMap and the metallb.io resources (portico-system). */
  namespace: string;
  configMapName: string;
  logger: Logger;
  registry: Registry;
}

/**
 * Hands out external IPs to LoadBalancer Services. Work is serialised through one queue of
 * Service keys so the allocator is only ever touched by one sync at a time.
 *
 * Lifecycle: nothing is allocated until a valid configuration is loaded; then every IP already
 * in a Service status is re-claimed (oldest Service first) before any new allocation happens.
 */
export class Controller {
  readonly allocator = new Allocator();
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly statusWriter: ServiceStatusWriter;
  private readonly recorder: EventRecorder;
  private readonly configStatus: ConfigStatus;
  /** The ConfigurationState `controller` (kubectl get configurationstates). */
  private readonly configurationState: ConfigurationStateWriter;
  private readonly services;
  /** Namespaces, name and labels only: IPAddressPool serviceAllocation.namespaceSelectors read them. */
  private readonly namespaces;
  private readonly configSource: ConfigSource;
  private readonly poolStatus: PoolStatusWriter;
  /** Where the configuration in force came from: IPAddressPool status is written only for resources. */
  private configFrom: 'configmap' | 'resources' | undefined;
  private informers: RunningInformer[] = [];
  private config: Config | undefined;
  private phase: 'syncing' | 'waiting-config' | 'running' = 'syncing';
  private readonly dirty = new Set<string>();
  /** Status writes in flight, by Service key; a key is not synced again until its write is done. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Consecutive failed status writes per Service key, for back-off. */
  private readonly writeFailures = new Map<string, number>();
  private readonly pending = new Set<string>();
  /**
   * The resourceVersion of our own last write of a refused Service's condition, by key: the
   * watch echoes that write back, and the echo must not repeat the AllocationFailed Event.
   */
  private readonly ownWrites = new Map<string, string>();
  private configDirty = false;
  /** The newest configuration was refused only because it would take addresses away. */
  private refusedForOrphans = false;
  /** The configuration input last looked at (ConfigReading.key). */
  private configKey: string | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    this.log = options.logger;
    this.metrics = controllerMetrics(options.registry, () => this.allocator.poolStats());
    this.statusWriter = new ServiceStatusWriter(options.api);
    this.recorder = new EventRecorder(options.api, {
      component: 'portico-controller',
      registry: options.registry,
      onError: (err) => this.log.warn({ err }, 'event write failed'),
    });
    // Whole Services but for their managed fields: the status writer writes its copy back.
    this.services = createInformer<V1Service>(options.api, 'services');
    this.namespaces = createInformer<V1Namespace>(options.api, 'namespaces', {
      project: (o) => ({
        metadata: {
          name: o.metadata?.name,
          resourceVersion: o.metadata?.resourceVersion,
          labels: (o.metadata as { labels?: Record<string, string> } | undefined)?.labels,
        },
      }),
    });
    this.configurationState = new ConfigurationStateWriter({
      api: options.api,
      namespace: options.namespace,
      name: 'controller',
      labels: { 'metallb.io/component-type': 'controller' },
      logger: this.log,
    });
    this.configStatus = new ConfigStatus(options.registry, this.recorder, this.log, this.configurationState);
    this.configSource = new ConfigSource({
      api: options.api,
      namespace: options.namespace,
      configMapName: options.configMapName,
      logger: this.log,
      onChange: () => {
        this.configDirty = true;
        this.kick();
        // A new pool, or a status someone else wrote, is compared with the counts again.
        this.poolStatus.request();
      },
    });
    this.poolStatus = new PoolStatusWriter({
      api: options.api,
      logger: this.log,
      pools: () => (this.configFrom === 'resources' ? this.configSource.ipAddressPools() : []),
      stats: () => this.allocator.poolStats(),
      onWrite: (result) => this.metrics.poolStatusUpdates.inc({ result }),
    });
  }

  /** True once the configuration is loaded and the start-up re-claim is done. */
  get ready(): boolean {
    return this.phase === 'running';
  }

  get configuration(): Config | undefined {
    return this.config;
  }

  /** Starts watching; resolves once the caches are synced. */
  async start(): Promise<void> {
    // Only the leader starts a Controller (the standby waits on the Lease), so running = leading.
    this.metrics.leader.set(1);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.services.on(verb, (svc) => this.enqueue(serviceKey(svc)));
      // New namespace labels may open a pool to the Services waiting there.
      this.namespaces.on(verb, (ns) => {
        for (const key of this.pending) if (key.startsWith(`${ns.metadata?.name}/`)) this.enqueue(key);
      });
    }
    const onError = (err: unknown) => this.log.warn({ err: String(err) }, 'watch failed, retrying');
    this.informers = [runInformer(this.services, onError), runInformer(this.namespaces, onError)];
    await Promise.all([...this.informers.map((i) => i.synced), this.configSource.start()]);
    this.phase = 'waiting-config';
    this.configDirty = true;
    this.kick();
    await this.idle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.poolStatus.stop();
    this.metrics.leader.set(0);
    await Promise.all([...this.informers.map((i) => i.stop()), this.configSource.stop()]);
    await this.draining;
  }

  /** Resolves when the queue is empty (for tests and start-up). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private enqueue(key: string): void {
    this.dirty.add(key);
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.stopped || this.phase === 'syncing') return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if ((this.dirty.size > 0 && this.phase === 'running') || this.configDirty) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      if (this.configDirty) {
        this.configDirty = false;
        await this.loadConfig();
        continue;
      }
      if (this.phase !== 'running') return;
      let key: string | undefined;
      for (const k of this.dirty) {
        if (this.writing.has(k)) continue;
        key = k;
        break;
      }
      if (key === undefined) {
        if (this.writing.size === 0) return;
        await Promise.race(this.writing.values());
        continue;
      }
      this.dirty.delete(key);
      this.sync(key, true);
      if (this.writing.size >= maxConcurrentWrites) await Promise.race(this.writing.values());
    }
    await Promise.all(this.writing.values());
  }

  private async loadConfig(): Promise<void> {
    const { namespace, configMapName } = this.options;
    const reading = this.configSource.read();
    if (reading.source === 'none') {
      if (this.configKey !== undefined || this.config === undefined)
        this.configStatus.missing(this.config !== undefined, namespace, configMapName);
      this.configKey = undefined;
      return;
    }
    // Only a new input is worth applying; the same input again is retried only when it was
    // refused for orphaning addresses (it may fit once addresses were released).
    if (reading.key === this.configKey && !this.refusedForOrphans) return;
    this.configKey = reading.key;
    this.refusedForOrphans = false;
    if (!reading.result.ok) {
      this.configStatus.invalid(reading.objects, reading.result.errors);
      return;
    }
    const config = reading.result.config;
    const pools = this.allocator.setPools(config.pools);
    if (!pools.ok) {
      this.configStatus.wouldOrphan(reading.objects, pools.error);
      this.refusedForOrphans = true;
      return;
    }
    this.config = config;
    this.configFrom = reading.source;
    this.poolStatus.request();
    this.configStatus.loaded(config.pools.map((p) => p.name));
    if (this.phase === 'waiting-config') await this.reclaimAll();
    for (const svc of this.services.list()) this.dirty.add(serviceKey(svc));
  }

  /** Start-up: every address already in a status is claimed before anything new is handed out. */
  private async reclaimAll(): Promise<void> {
    const holders = this.services
      .list()
      .filter((svc) => statusIPs(svc).length > 0)
      // Keys by code unit, not localeCompare: a collator loads ICU's data, about 3 MiB of RSS.
      .sort((a, b) => created(a) - created(b) || byCodeUnit(serviceKey(a), serviceKey(b)));
    for (const svc of holders) this.sync(serviceKey(svc), false);
    await Promise.all(this.writing.values());
    this.phase = 'running';
    this.poolStatus.request();
    this.log.info({ event: 'reclaimed', services: holders.length }, 'assigned addresses re-claimed');
  }

  /** Decides synchronously (the allocator is never shared between two decisions); writes in the background. */
  private sync(key: string, mayAllocate: boolean): void {
    const [namespace = '', name = ''] = key.split('/');
    const svc = this.services.get(name, namespace);
    const labels = this.namespaces.get(namespace)?.metadata?.labels ?? {};
    const decision = converge(this.allocator, svc, key, mayAllocate, labels);
    const echo =
      svc?.metadata?.resourceVersion !== undefined &&
      this.ownWrites.get(key) === svc.metadata.resourceVersion;
    if (echo) decision.events = decision.events.filter((e) => e.reason !== 'AllocationFailed');
    if (!decision.pending || !svc) this.ownWrites.delete(key);
    if (decision.pending) {
      if (!this.pending.has(key)) this.metrics.allocationErrors.inc();
      this.pending.add(key);
    } else {
      this.pending.delete(key);
    }
    if (svc) this.apply(svc, key, decision);
    else this.writeFailures.delete(key);
    if (decision.ips !== undefined || decision.released) this.poolStatus.request();
    if (decision.released) {
      for (const waiting of this.pending) this.dirty.add(waiting);
      // A configuration refused because it would orphan an address may fit now.
      if (this.refusedForOrphans) this.configDirty = true;
    }
  }

  private apply(svc: V1Service, key: string, decision: Decision): void {
    const svcRef = { ...svc, apiVersion: 'v1', kind: 'Service' };
    for (const e of decision.events) {
      this.log.info({ service: key, event: e.reason, type: e.type }, e.message);
      void this.recorder.record(svcRef, e.type, e.reason, e.message);
    }
    // Unchanged addresses are still written when the pool annotation is missing or stale, or the
    // AddressAllocated condition is to change.
    const conditionChanged =
      withCondition(svc.status?.conditions, decision.condition) !== svc.status?.conditions;
    const ips =
      decision.ips ??
      ((decision.pool !== undefined && svc.metadata?.annotations?.[poolAnnotation] !== decision.pool) ||
      conditionChanged
        ? statusIPs(svc)
        : undefined);
    if (!ips) return;
    const write = this.statusWriter
      .setIngress(
        svc,
        ips.map((ip) => ({ ip })),
        {
          ...(decision.pool === undefined ? {} : { pool: decision.pool }),
          ...(decision.condition === undefined ? {} : { condition: decision.condition }),
        },
      )
      .then(
        (written) => {
          this.metrics.statusUpdates.inc({ result: 'ok' });
          this.writeFailures.delete(key);
          if (!written) this.dirty.add(key);
          const version = written?.metadata?.resourceVersion;
          if (decision.pending && version !== undefined) this.ownWrites.set(key, version);
        },
        (err: unknown) => {
          this.metrics.statusUpdates.inc({ result: 'error' });
          // Back off per Service, so an unreachable API server does not turn into a retry storm.
          const failures = (this.writeFailures.get(key) ?? 0) + 1;
          this.writeFailures.set(key, failures);
          const delayMs = Math.min(500 * 2 ** failures, 60_000);
          this.log.error(
            { service: key, err: String(err), retryInMs: delayMs },
            'status update failed; will retry',
          );
          setTimeout(() => this.enqueue(key), delayMs).unref();
        },
      );
    this.writing.set(
      key,
      write.finally(() => this.writing.delete(key)),
    );
  }
}

const maxConcurrentWrites = 32;

function created(svc: V1Service): number {
  const t = svc.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
