/**
 * Keep-alive connections to pods, per endpoint origin: the most recently used idle connection is
 * reused first (its socket is warm), idle ones are closed after `keepAliveTimeout` (below the pods'
 * own idle timeout, so we close first and do not race their close), and origins that left the
 * routing table are drained: busy connections finish their exchange, then close.
 */
import { UpstreamConnection, type UpstreamEndpoint } from './upstream-connection.js';

export interface UpstreamPoolOptions {
  /** Idle keep-alive lifetime, ms. */
  readonly keepAliveTimeout: number;
  /** Connect timeout, ms. */
  readonly connectTimeout: number;
  /** Server field added to responses that carry none. */
  readonly serverName: string;
  /** An exception while handling a pod's bytes: count it and run `close` (see IngressCore.connectionException). */
  readonly onException: (err: unknown, close: () => void) => void;
}

export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly open = new Set<UpstreamConnection>();
  private readonly release = (conn: UpstreamConnection, reusable: boolean): void => {
    const stack = this.idle.get(conn.endpoint.origin);
    if (!reusable) {
      this.open.delete(conn);
      const i = stack ? stack.indexOf(conn) : -1;
      if (i >= 0) stack!.splice(i, 1);
      return;
    }
    // conn.idleSince is already set: the time of the read that ended its response.
    if (stack) stack.push(conn);
    else this.idle.set(conn.endpoint.origin, [conn]);
  };

  constructor(private readonly options: UpstreamPoolOptions) {}

  /**
   * An idle connection to the endpoint, or a new one (connecting; writes are queued) that gives up
   * after `connectTimeout` ms (a route's proxy-connect-timeout), else the pool's own.
   */
  acquire(endpoint: UpstreamEndpoint, connectTimeout?: number): UpstreamConnection {
    const reused = this.idle.get(endpoint.origin)?.pop();
    if (reused) return reused;
    const o = this.options;
    const conn = new UpstreamConnection(
      endpoint,
      o.serverName,
      connectTimeout ?? o.connectTimeout,
      this.release,
      o.onException,
    );
    this.open.add(conn);
    return conn;
  }

  /** Closes idle connections older than the keep-alive timeout; `now` is performance.now(). */
  sweep(now: number): void {
    const oldest = now - this.options.keepAliveTimeout;
    for (const stack of this.idle.values())
      while (stack.length > 0 && stack[0]!.idleSince < oldest) stack.shift()!.socket.destroy();
  }

  /** Drains every origin not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const conn of this.open) {
      if (keep.has(conn.endpoint.origin)) continue;
      conn.retired = true;
      if (this.idle.get(conn.endpoint.origin)?.includes(conn)) conn.socket.destroy();
    }
    for (const origin of this.idle.keys()) if (!keep.has(origin)) this.idle.delete(origin);
  }

  get size(): number {
    return this.open.size;
  }

  close(): void {
    for (const conn of this.open) conn.socket.destroy();
    this.open.clear();
    this.idle.clear();
  }
}
