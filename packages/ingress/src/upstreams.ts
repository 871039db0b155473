/**
 * One undici Pool per endpoint origin, for the requests Node's servers handle (HTTP/2, and what the
 * fast path hands over; the fast path has its own pool in http1/upstream-pool.ts). Keep-alive
 * connections are reused across requests. When a routing table no longer lists an origin its pool
 * is closed gracefully: requests running on it finish (that is how terminating pods are drained),
 * new ones go elsewhere.
 */
import { Pool } from 'undici';
import type { UpstreamProtocol } from './table.js';

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
  /** HTTP/1.1 pools by origin, and h2c pools by `h2c origin`. */
  private readonly pools = new Map<string, { origin: string; pool: Pool }>();

  constructor(private readonly options: UpstreamOptions) {}

  /**
   * The pool for an origin. `h2c`: cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3), as many
   * streams as the pod allows on each connection, the same connect and keep-alive timeouts.
   */
  get(origin: string, protocol?: UpstreamProtocol): Pool {
    const key = protocol ? `${protocol} ${origin}` : origin;
    let entry = this.pools.get(key);
    if (!entry) {
      const pool = new Pool(origin, {
        connections: this.options.connections,
        pipelining: protocol === 'h2c' ? 100 : 1,
        keepAliveTimeout: this.options.keepAliveTimeout,
        keepAliveMaxTimeout: this.options.keepAliveTimeout,
        connect: { timeout: this.options.connectTimeout },
        ...(protocol === 'h2c' ? { allowH2: true, useH2c: true } : {}),
      });
      this.pools.set(key, (entry = { origin, pool }));
    }
    return entry.pool;
  }

  /** Closes (gracefully) every pool whose origin is not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, { origin, pool }] of this.pools) {
      if (keep.has(origin)) continue;
      this.pools.delete(key);
      pool.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.pool.destroy().catch(() => undefined)));
  }
}
