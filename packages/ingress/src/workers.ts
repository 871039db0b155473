/**
 * Multi-core: one node:cluster worker per core serves traffic; the primary owns the Kubernetes
 * watches, compiles, and sends each RouteTable to every worker over IPC (structured clone,
 * `serialization: 'advanced'`), where it is indexed and swapped in with one reference store.
 * Compiling once in the primary keeps workers free of Kubernetes clients and keeps every worker on
 * the same table version. Each worker binds its own SO_REUSEPORT listener, so the kernel spreads
 * connections and no connection passes through the primary. The Gateway API listeners go the same
 * way: the primary compiles a GatewayTable and sends each worker only what changed since the last
 * one (gateway/gateway-delta.ts), and every worker serves the listener ports on its own
 * SO_REUSEPORT sockets.
 */
import cluster, { type Worker } from 'node:cluster';
import { deserialize, serialize } from 'node:v8';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { PemPair } from './certs.js';
import { forWorkers, TableState, type TableDelta } from './delta.js';
import { GatewayTableState, type GatewayDelta } from './gateway/gateway-delta.js';
import { GatewayServing, type GatewayTableSink } from './gateway/serving.js';
import { BatchedLines } from './batched-lines.js';
import { ProxyMetrics } from './metrics.js';
import type { ProxyOptions } from './proxy.js';
import type { ProxyProtocolPorts } from './proxy-protocol-ports.js';
import { IngressServer } from './server.js';
import type { RouteTable } from './table.js';

export interface WorkerConfig {
  readonly host: string;
  readonly httpPort: number;
  readonly httpsPort: number | null;
  readonly defaultCert: PemPair;
  readonly accessLog: boolean;
  readonly proxyProtocol?: ProxyProtocolPorts | undefined;
  readonly proxy: Partial<Omit<ProxyOptions, 'logger' | 'log' | 'metrics'>>;
  /** Where the Gateway listeners are served (`--gateway-address`), when Gateways are served. */
  readonly gatewayAddress?: string | undefined;
}

type ToWorker =
  | { type: 'init'; config: WorkerConfig }
  | { type: 'table'; table: RouteTable }
  | { type: 'delta'; delta: TableDelta }
  // A GatewayDelta serialized once in the primary (v8.serialize), not once per worker by send().
  | { type: 'gateway'; version: number; bytes: Uint8Array }
  | { type: 'stop'; graceMs: number };
type ToPrimary =
  | { type: 'listening' }
  | { type: 'applied'; version: number }
  | { type: 'gateway-applied'; version: number; failedPorts: number }
  | { type: 'error'; message: string };

/** Where compiled tables go: a set of worker processes, or a server in this process. */
export interface TableSink {
  publish(table: RouteTable): void;
  /** Every serving process has listened and applied a table. */
  ready(): boolean;
  /** Stops serving; requests in flight get up to `graceMs` to finish. */
  stop(graceMs?: number): Promise<void>;
}

export interface WorkerPoolOptions {
  readonly count: number;
  readonly config: WorkerConfig;
  readonly logger?: Logger;
  /** Worker entry script (default: the primary's own entry point); it must call runWorker(). */
  readonly exec?: string;
  readonly execArgv?: string[];
}

export class WorkerPool implements TableSink {
  private readonly applied = new Map<Worker, number>();
  private latest: RouteTable | undefined;
  /** What every listening worker holds of the Gateway table once it has read what was sent. */
  private readonly gatewaySent = new GatewayTableState();
  private gatewayVersion: number | undefined;
  /** Per worker: the Gateway listener ports it could not open for the latest table it served. */
  private readonly gatewayFailed = new Map<Worker, number>();
  /** Per worker: the latest Gateway table version it serves. */
  private readonly gatewayApplied = new Map<Worker, number>();
  private gatewayWaiters: { version: number; resolve: () => void }[] = [];
  /** What every listening worker holds once it has processed the messages sent so far. */
  private readonly sent = new TableState();
  private publishedAt = 0;
  private stopping = false;
  /** Workers that exited unasked and were started again (a crash, in practice). */
  restarts = 0;

  private readonly count: number;
  private readonly config: WorkerConfig;
  private readonly log: Logger;

  constructor(options: WorkerPoolOptions) {
    this.count = options.count;
    this.config = options.config;
    this.log = options.logger ?? pino({ name: 'ingress' });
    // By default workers run this process's entry point again (the CLI sees cluster.isWorker).
    cluster.setupPrimary({
      serialization: 'advanced',
      ...(options.exec ? { exec: options.exec } : {}),
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
    });
    for (let i = 0; i < this.count; i++) this.fork();
  }

  private fork(): void {
    const worker = cluster.fork();
    worker.on('online', () => worker.send({ type: 'init', config: this.config } satisfies ToWorker));
    worker.on('message', (msg: ToPrimary) => {
      if (msg.type === 'listening') {
        this.applied.set(worker, -1);
        if (this.latest) worker.send({ type: 'table', table: this.latest } satisfies ToWorker);
        // A worker that starts (or starts again) gets the whole Gateway table once, then deltas.
        if (this.gatewayVersion !== undefined)
          worker.send({
            type: 'gateway',
            version: this.gatewayVersion,
            bytes: serialize(this.gatewaySent.full()),
          } satisfies ToWorker);
      } else if (msg.type === 'applied') {
        this.applied.set(worker, msg.version);
        if (msg.version === this.latest?.version)
          this.log.debug(
            { worker: worker.id, version: msg.version, ms: performance.now() - this.publishedAt },
            'table applied',
          );
      } else if (msg.type === 'gateway-applied') {
        this.gatewayFailed.set(worker, msg.failedPorts);
        this.gatewayApplied.set(worker, msg.version);
        this.wakeGatewayWaiters();
      } else if (msg.type === 'error')
        this.log.error({ worker: worker.id, err: msg.message }, 'worker failed');
    });
    worker.on('exit', (code, signal) => {
      this.applied.delete(worker);
      this.gatewayFailed.delete(worker);
      this.gatewayApplied.delete(worker);
      this.wakeGatewayWaiters();
      if (this.stopping) return;
      this.restarts++;
      this.log.error({ worker: worker.id, code, signal }, 'worker exited; starting a new one');
      setTimeout(() => this.fork(), 500);
    });
  }

  publish(table: RouteTable): void {
    this.latest = forWorkers(table);
    this.publishedAt = performance.now();
    // Workers that listen have the previous table (full or patched): send only the difference.
    const delta = this.sent.advance(table);
    for (const worker of this.applied.keys()) worker.send({ type: 'delta', delta } satisfies ToWorker);
  }

  /** The Gateway side: every listening worker serves each table (sent as the delta from the last). */
  gatewaySink(): GatewayTableSink {
    return {
      publish: (table) => {
        const bytes = serialize(this.gatewaySent.advance(table));
        this.gatewayVersion = table.version;
        for (const worker of this.applied.keys())
          worker.send({ type: 'gateway', version: table.version, bytes } satisfies ToWorker);
      },
      settled: () => {
        const version = this.gatewayVersion;
        if (version === undefined || this.gatewayServedEverywhere(version)) return Promise.resolve();
        return new Promise((resolve) => this.gatewayWaiters.push({ version, resolve }));
      },
      failedPorts: () => Math.max(0, ...this.gatewayFailed.values()),
      close: () => Promise.resolve(),
    };
  }

  private gatewayServedEverywhere(version: number): boolean {
    if (this.applied.size === 0) return false;
    return [...this.applied.keys()].every((w) => (this.gatewayApplied.get(w) ?? -1) >= version);
  }

  private wakeGatewayWaiters(): void {
    this.gatewayWaiters = this.gatewayWaiters.filter((w) => {
      if (!this.gatewayServedEverywhere(w.version)) return true;
      w.resolve();
      return false;
    });
  }

  ready(): boolean {
    return this.applied.size === this.count && [...this.applied.values()].every((v) => v >= 0);
  }

  /** Stops every worker, giving requests in flight up to `graceMs` to finish. */
  async stop(graceMs = 0): Promise<void> {
    this.stopping = true;
    const exits = Object.values(cluster.workers ?? {}).map(
      (w) =>
        new Promise<void>((resolve) =>
          w!.isDead() ? resolve() : (w!.once('exit', () => resolve()), w!.send({ type: 'stop', graceMs })),
        ),
    );
    await Promise.all(exits);
  }
}

/** Worker side: waits for its config, listens, then applies every table it is sent. */
export function runWorker(): Promise<void> {
  const metrics = new ProxyMetrics();
  AggregatorRegistry.setRegistries([metrics.registry]);
  // Constructing one installs prom-client's IPC responder for the primary's scrape requests.
  new AggregatorRegistry();
  const send = (msg: ToPrimary) => process.send?.(msg);
  let server: IngressServer | undefined;
  let gateway: GatewayServing | undefined;
  let config: WorkerConfig | undefined;
  let accessLines: BatchedLines | undefined;
  /** This worker's own warnings and errors (ProxyOptions.log), with or without an access log. */
  let log: Logger | undefined;
  const state = new TableState();
  const gatewayState = new GatewayTableState();
  // The primary orchestrates shutdown (readiness first, then a graceful stop); a Ctrl-C reaching
  // the whole process group must not kill workers under it. If the primary dies, so do we.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.once('disconnect', () => process.exit(0));
  return new Promise((resolve) => {
    process.on('message', (msg: ToWorker) => {
      if (msg.type === 'init') {
        const c = msg.config;
        config = c;
        // One writer of access-log lines for the process, batched per turn (batched-lines.ts).
        accessLines = c.accessLog ? new BatchedLines() : undefined;
        const logger = accessLines ? pino({ name: 'access' }, accessLines) : undefined;
        log = pino({
          level: process.env.LOG_LEVEL ?? 'info',
          base: { component: 'ingress', worker: cluster.worker?.id },
        });
        server = new IngressServer({
          host: c.host,
          httpPort: c.httpPort,
          httpsPort: c.httpsPort,
          defaultCert: c.defaultCert,
          proxyProtocol: c.proxyProtocol,
          proxy: { ...c.proxy, logger, log, metrics, accessLogStream: accessLines },
        });
        server.listen(true).then(
          () => send({ type: 'listening' }),
          (err: Error) => {
            send({ type: 'error', message: err.message });
            process.exit(1);
          },
        );
      } else if (msg.type === 'table' && server) {
        state.reset(msg.table);
        server.setTable(msg.table);
        send({ type: 'applied', version: msg.table.version });
      } else if (msg.type === 'delta' && server) {
        state.apply(msg.delta);
        server.setTable(state.table());
        send({ type: 'applied', version: msg.delta.version });
      } else if (msg.type === 'gateway' && config?.gatewayAddress !== undefined) {
        gateway ??= new GatewayServing({
          address: config.gatewayAddress,
          reusePort: true,
          logger: log,
          proxy: {
            ...config.proxy,
            metrics,
            logger: accessLines ? pino({ name: 'access' }, accessLines) : undefined,
            log,
            accessLogStream: accessLines,
          },
        });
        const version = msg.version;
        const serving = gateway;
        serving.publish(gatewayState.apply(deserialize(msg.bytes) as GatewayDelta));
        void serving
          .settled()
          .then(() => send({ type: 'gateway-applied', version, failedPorts: serving.failedPorts() }));
      } else if (msg.type === 'stop') {
        // The Gateway listeners drain as the Ingress ports do.
        void Promise.all([server?.close(msg.graceMs), gateway?.close(msg.graceMs)]).then(() => {
          resolve();
          process.exit(0);
        });
      }
    });
  });
}

/** Single-process mode (--workers 0): the server runs next to the controller. */
export class InProcessSink implements TableSink {
  private applied = false;

  constructor(readonly server: IngressServer) {}

  publish(table: RouteTable): void {
    this.server.setTable(table);
    this.applied = true;
  }

  ready(): boolean {
    return this.applied;
  }

  stop(graceMs = 0): Promise<void> {
    return this.server.close(graceMs);
  }
}

/**
 * A Registry whose text output is the primary's own metrics followed by the workers' metrics summed
 * over the cluster (prom-client's AggregatorRegistry asks each worker over IPC).
 */
export class ClusterRegistry extends Registry {
  private readonly workers = new AggregatorRegistry();

  constructor(private readonly own: Registry) {
    super();
  }

  override async metrics(): Promise<string> {
    const [own, workers] = await Promise.all([this.own.metrics(), this.workers.clusterMetrics()]);
    return `${own}\n${workers}`;
  }
}
