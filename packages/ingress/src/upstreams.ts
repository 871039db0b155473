/**
 * One undici Pool per endpoint origin, for the requests Node's servers handle (HTTP/2, and what the
 * fast path hands over; the fast path has its own pool in http1/upstream-pool.ts). Keep-alive
 * connections are reused across requests. When a routing table no longer lists an origin its pool
 * is closed gracefully: requests running on it finish (that is how terminating pods are drained),
 * new ones go elsewhere.
 */
import { Pool } from 'undici';

export interface UpstreamOptions {
  /**
   * Max connections per origin for the requests Node's servers handle (HTTP/2, handed-over ones).
   * The plain-HTTP fast path opens one per concurrent request, like nginx without `max_conns`.
   */
  readonly connections: number;
  /** Idle keep-alive lifetime, ms; below typical pod idle timeouts (Node: 5 s). */
  readonly keepAliveTimeout: number;
  /** Connect timeout, ms. */
  readonly connectTimeout: number;
}

export class Upstreams {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: UpstreamOptions) {}

  /**
   * The pool for an origin; a route with its own connect timeout (proxy-connect-timeout) gets a
   * pool of its own for that origin, since undici sets the timeout per pool.
   */
  get(origin: string, connectTimeout?: number): Pool {
    const key = connectTimeout === undefined ? origin : `${origin}#${connectTimeout}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connections,
        pipelining: 1,
        keepAliveTimeout: this.options.keepAliveTimeout,
        keepAliveMaxTimeout: this.options.keepAliveTimeout,
        connect: { timeout: connectTimeout ?? this.options.connectTimeout },
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Closes (gracefully) every pool whose origin is not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, pool] of this.pools) {
      const hash = key.indexOf('#');
      if (keep.has(hash < 0 ? key : key.slice(0, hash))) continue;
      this.pools.delete(key);
      pool.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
