/**
 * The control side of `portico ingress` (the cluster primary): Kubernetes state in, one compiled
 * RouteTable out to the serving processes, and Ingress status written back. Status is written only
 * while this replica holds the leader Lease, so several replicas never fight over it.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { compile, type ClusterState } from './compile.js';
import { watchCluster, type ClusterSource } from './sources.js';
import { IngressStatusWriter, publishAddresses, statusChanges } from './status.js';
import type { RouteTable } from './table.js';
import type { TableSink } from './workers.js';

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly sink: TableSink;
  readonly logger: Logger;
  readonly registry: Registry;
  /** `namespace/name` of our own LoadBalancer Service. */
  readonly publishService: string;
  readonly className: string;
  readonly controllerName: string;
  readonly debounceMs: number;
  /** How often status is re-checked even without events, ms. */
  readonly statusResyncMs: number;
}

export class IngressController {
  private source: ClusterSource | undefined;
  private table: RouteTable | undefined;
  private version = 0;
  private leading = false;
  private stopping = false;
  private statusBusy = false;
  private statusPending = false;
  private resync: NodeJS.Timeout | undefined;
  private reported = new Set<string>();
  private readonly writer: IngressStatusWriter;
  private readonly compileSeconds: Histogram;
  private readonly statusWrites: Counter<'result'>;
  private readonly servedIngresses: Gauge;

  constructor(private readonly options: ControllerOptions) {
    this.writer = new IngressStatusWriter(options.kubeConfig);
    const registers = [options.registry];
    this.compileSeconds = new Histogram({
      name: 'portico_ingress_compile_seconds',
      help: 'Time to compile Kubernetes state into a routing table',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.statusWrites = new Counter({
      name: 'portico_ingress_status_writes_total',
      help: 'Ingress status writes by result',
      labelNames: ['result'],
      registers,
    });
    this.servedIngresses = new Gauge({
      name: 'portico_ingress_served_ingresses',
      help: 'Ingresses of our class currently served',
      registers,
    });
  }

  get synced(): boolean {
    return this.table !== undefined;
  }

  start(): Promise<void> {
    this.source = watchCluster(this.options.kubeConfig, {
      debounceMs: this.options.debounceMs,
      onChange: (state) => this.apply(state),
      onError: (kind, err) => {
        // Stopping aborts the watches; that is not worth a warning.
        if (!this.stopping) this.options.logger.warn({ kind, err: String(err) }, 'watch failed; retrying');
      },
    });
    this.resync = setInterval(() => void this.syncStatus(), this.options.statusResyncMs);
    return this.source.synced;
  }

  /** Called by the leader elector. */
  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) void this.syncStatus();
  }

  private apply(state: ClusterState): void {
    const t0 = performance.now();
    this.options.logger.debug('compiling');
    const table = compile(state, {
      version: ++this.version,
      className: this.options.className,
      controller: this.options.controllerName,
    });
    this.compileSeconds.observe((performance.now() - t0) / 1000);
    this.table = table;
    this.servedIngresses.set(table.served.length);
    this.options.sink.publish(table);
    const problems = new Set(table.problems);
    for (const p of problems)
      if (!this.reported.has(p)) this.options.logger.warn({ problem: p }, 'ingress problem');
    this.reported = problems;
    this.options.logger.debug(
      { version: table.version, ms: performance.now() - t0 },
      'routing table published',
    );
    void this.syncStatus();
  }

  /** Converges Ingress status; one pass at a time, re-run once if asked while busy. */
  private async syncStatus(): Promise<void> {
    if (!this.leading || !this.source || !this.table) return;
    if (this.statusBusy) {
      this.statusPending = true;
      return;
    }
    this.statusBusy = true;
    try {
      const state = this.source.current();
      const addresses = publishAddresses(state.services, this.options.publishService);
      for (const change of statusChanges(state.ingresses, new Set(this.table.served), addresses)) {
        try {
          await this.writer.apply(change);
          this.statusWrites.inc({ result: 'ok' });
        } catch (err) {
          // 409 or transient: the watch brings the new object and the next pass retries.
          this.statusWrites.inc({ result: 'error' });
          this.options.logger.warn(
            { ingress: `${change.namespace}/${change.name}`, err: String(err) },
            'status write failed',
          );
        }
      }
    } finally {
      this.statusBusy = false;
    }
    if (this.statusPending) {
      this.statusPending = false;
      await this.syncStatus();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resync);
    await this.source?.stop();
  }
}
