/**
 * Where compiled Gateway listeners are served. The compiled table is plain data (structured-clone
 * safe), so the primary can send it to worker processes over IPC as it does the Ingress table;
 * GatewayServing is what serves it, in this process (--workers 0) or in each worker.
 */
import type { Logger } from 'pino';
import { defaultProxyOptions, type ProxyOptions } from '../proxy.js';
import { emptyTable, type BackendEntry } from '../table.js';
import type { ServedListener } from './compile.js';
import { GatewayProxy } from './gateway-proxy.js';
import { GatewayServers } from './servers.js';

/** One compiled state of every Gateway listener and the backends its routes use. */
export interface GatewayTable {
  readonly version: number;
  readonly listeners: readonly ServedListener[];
  readonly backends: readonly BackendEntry[];
}

/** Where the Gateway controller publishes its tables. */
export interface GatewayTableSink {
  publish(table: GatewayTable): void;
  /** Resolves once the latest table is served in this process (ports opened and closed). */
  settled(): Promise<void>;
  /** Listener ports that could not be opened for the latest table (the most any process failed). */
  failedPorts(): number;
  /** Stops serving; requests in flight get up to `graceMs` to finish (GatewayServers.close). */
  close(graceMs?: number): Promise<void>;
}

export interface GatewayServingOptions {
  /** The address every listener port is bound on. */
  readonly address: string;
  readonly proxy?: Partial<ProxyOptions>;
  readonly logger?: Logger;
  /** One SO_REUSEPORT socket per worker process, as the Ingress ports (the kernel spreads connections). */
  readonly reusePort?: boolean;
}

export class GatewayServing implements GatewayTableSink {
  readonly proxy: GatewayProxy;
  readonly servers: GatewayServers;
  private serving: Promise<void> = Promise.resolve();
  private failed = 0;
  private latest: readonly ServedListener[] = [];

  constructor(options: GatewayServingOptions) {
    this.proxy = new GatewayProxy({
      ...defaultProxyOptions,
      logger: options.logger,
      log: options.logger,
      ...options.proxy,
    });
    this.servers = new GatewayServers(this.proxy, options.address, options.logger, options.reusePort);
  }

  publish(table: GatewayTable): void {
    // Routes and backends are swapped together, at once: a request never sees a route whose
    // backend is not in the table yet. Opening and closing ports follows, one update at a time,
    // each with the latest listeners (an older update must not put older routes back).
    this.proxy.setTable({ ...emptyTable, version: table.version, backends: table.backends });
    this.proxy.setListeners(table.listeners);
    this.latest = table.listeners;
    this.serving = this.serving.then(async () => {
      this.failed = (await this.servers.update(this.latest)).length;
    });
  }

  settled(): Promise<void> {
    return this.serving;
  }

  failedPorts(): number {
    return this.failed;
  }

  async close(graceMs = 0): Promise<void> {
    await this.serving;
    await this.servers.close(graceMs);
    await this.proxy.upstreams.close();
    this.proxy.pool.close();
  }
}
