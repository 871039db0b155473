/**
 * The control side of `portico ingress` (the cluster primary): Kubernetes state in, one compiled
 * RouteTable out to the serving processes, and Ingress status and Events written back. Status and
 * Events are written only while this replica holds the leader Lease, so several replicas never
 * fight over status or repeat each other's Events. A new leader first lists the Events this
 * component already wrote on Ingresses and continues them instead of writing duplicates.
 */
import { CertificateExpiry } from './certificate-expiry.js';
import type { CoreV1Event } from '@kubernetes/client-node';
import { type ApiClient, EventRecorder } from '@portico/kube';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { compileWithProblems, type ClusterState } from './compile.js';
import { ingressRef, ProblemReporter, type EventSink } from './problem-report.js';
import { watchCluster, type ClusterSource } from './sources.js';
import { IngressStatusWriter, publishAddresses, statusChanges, type StatusChange } from './ingress-status.js';
import type { RouteTable } from './table.js';
import type { TableSink } from './workers.js';
import { serialPasses } from '@portico/kube';

// The package index lists this file; the reporter is part of the controller's surface.
export * from './problem-report.js';

export interface ControllerOptions {
  /** The process's connection pool to the API server (connectKube). */
  readonly api: ApiClient;
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
  /** Where Events go; by default an EventRecorder of component `portico-ingress` (eventSource). */
  readonly events?: EventSink;
}

/** The `source.component` of our Events. */
export const eventSource = 'portico-ingress';

/** Events listed per request when a new leader looks for the ones already written. */
const eventPageSize = 500;

export class IngressController {
  private source: ClusterSource | undefined;
  private table: RouteTable | undefined;
  private version = 0;
  /** What the leader elector last said. */
  private elected = false;
  /** Elected and done taking over existing Events: status and Events are written only then. */
  private leading = false;
  /** Bumped on every leadership change, so a late Event listing of an earlier term is ignored. */
  private term = 0;
  private takeover: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Converges Ingress status; one pass at a time, re-run once if asked while busy. */
  private readonly syncStatus = serialPasses(() => this.writeStatuses());
  private resync: NodeJS.Timeout | undefined;
  private readonly writer: IngressStatusWriter;
  private readonly events: EventSink;
  private readonly problems: ProblemReporter;
  private readonly compileSeconds: Histogram;
  private readonly statusWrites: Counter<'result'>;
  private readonly servedIngresses: Gauge;
  private readonly certificateExpiry: CertificateExpiry;

  constructor(private readonly options: ControllerOptions) {
    this.writer = new IngressStatusWriter(options.api);
    this.events =
      options.events ??
      new EventRecorder(options.api, {
        component: eventSource,
        registry: options.registry,
        onError: (err) => options.logger.warn({ err: String(err) }, 'event write failed'),
      });
    this.problems = new ProblemReporter({
      registry: options.registry,
      logger: options.logger,
      events: this.events,
    });
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
    this.certificateExpiry = new CertificateExpiry(options.registry);
  }

  get synced(): boolean {
    return this.table !== undefined;
  }

  start(): Promise<void> {
    this.source = watchCluster(this.options.api, {
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
    if (leading === this.elected) return;
    this.elected = leading;
    const term = ++this.term;
    if (!leading) {
      this.leading = false;
      this.problems.setLeading(false);
      return;
    }
    this.takeover = this.takeOverEvents(term);
  }

  /** Resolves once the latest leadership gain has taken over existing Events and reported problems. */
  leadershipSettled(): Promise<void> {
    return this.takeover;
  }

  /**
   * Lists, once per leadership gain, the Events our component wrote on Ingresses (one paged,
   * cluster-wide list that the API server filters by field selector), lets the recorder continue
   * them and the reporter skip problems already reported. If the list fails, problems are reported
   * anyway: a duplicate Event is better than a missing one.
   */
  private async takeOverEvents(term: number): Promise<void> {
    let existing: CoreV1Event[] = [];
    try {
      existing = await listEvents(this.options.api);
    } catch (err) {
      this.options.logger.warn({ err: String(err) }, 'listing existing events failed; reporting anew');
    }
    if (term !== this.term) return; // leadership changed meanwhile; that term takes over itself
    for (const event of existing) this.events.remember?.(event);
    this.leading = true;
    this.problems.setLeading(true, existing);
    this.options.logger.debug({ events: existing.length }, 'took over existing events');
    void this.syncStatus();
  }

  private apply(state: ClusterState): void {
    const t0 = performance.now();
    this.options.logger.debug('compiling');
    const { table, problems } = compileWithProblems(state, {
      version: ++this.version,
      className: this.options.className,
      controller: this.options.controllerName,
    });
    this.compileSeconds.observe((performance.now() - t0) / 1000);
    this.table = table;
    this.servedIngresses.set(table.served.length);
    this.certificateExpiry.update(table.certs);
    this.options.sink.publish(table);
    this.problems.update(problems);
    this.options.logger.debug(
      { version: table.version, ms: performance.now() - t0 },
      'routing table published',
    );
    void this.syncStatus();
  }

  private async writeStatuses(): Promise<void> {
    if (!this.leading || !this.source || !this.table) return;
    const state = this.source.current();
    const addresses = publishAddresses(state.services, this.options.publishService);
    for (const change of statusChanges(state.ingresses, new Set(this.table.served), addresses)) {
      try {
        // Already current (a stale cache asked again): no write, and no second Serving Event.
        if (!(await this.writer.apply(change))) continue;
        this.statusWrites.inc({ result: 'ok' });
        // The first address (or a new one) is when users can start sending traffic.
        if (change.ingress.length > 0)
          void this.events.record(ingressRef(change), 'Normal', 'Serving', serving(change));
      } catch (err) {
        // 409 or transient: the watch brings the new object and the next pass retries.
        this.statusWrites.inc({ result: 'error' });
        this.options.logger.warn(
          { ingress: `${change.namespace}/${change.name}`, err: String(err) },
          'status write failed',
        );
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resync);
    await this.source?.stop();
  }
}

async function listEvents(api: ApiClient): Promise<CoreV1Event[]> {
  const events: CoreV1Event[] = [];
  let token: string | undefined;
  do {
    const page = await api.request<{ items: CoreV1Event[]; metadata?: { continue?: string } }>(
      'GET',
      '/api/v1/events',
      {
        query: {
          fieldSelector: `involvedObject.kind=Ingress,source=${eventSource}`,
          limit: eventPageSize,
          continue: token,
        },
      },
    );
    events.push(...page.items);
    token = page.metadata?.continue || undefined;
  } while (token);
  return events;
}

function serving(change: StatusChange): string {
  const at = change.ingress.map((i) => i.ip ?? i.hostname).join(', ');
  return `serving at ${at}`;
}
