/**
 * One undici Pool per endpoint origin, for the HTTP/1.1 requests Node's servers handle (from HTTP/2
 * clients, and what the fast path hands over; the fast path has its own pool in
 * http1/upstream-pool.ts; HTTP/2 to pods, gRPC and h2c, is upstream-h2.ts's). Keep-alive
 * connections are reused across requests. When a routing table no longer lists an origin its pool
 * is closed gracefully: requests running on it finish (that is how terminating pods are drained),
 * new ones go elsewhere.
 *
 * A route with settings of its own for the connection (proxy-connect-timeout, backend-protocol
 * HTTPS and its proxy-ssl-* settings) gets pools of its own for the same endpoints, since undici
 * sets them per pool: one per distinct set of settings (and per SNI name when that comes from the
 * request's host).
 */
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import type { buildConnector, Pool } from 'undici';
import { undici } from './lazy-undici.js';
import type { Target } from './table.js';

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

/** What of a route decides how its pod connections are made. */
export type UpstreamRoute = Pick<Target, 'connectTimeoutMs' | 'backendProtocol' | 'proxySsl'>;

export class Upstreams {
  /** Pools by origin and by what else makes their connections differ (timeout, TLS, h2c). */
  private readonly pools = new Map<string, { origin: string; pool: Pool }>();
  /** A number per proxy-ssl settings object of the table (the same object for all of an Ingress's routes). */
  private readonly sslIds = new WeakMap<object, number>();
  private nextSslId = 1;

  constructor(private readonly options: UpstreamOptions) {}

  /** The pool for an endpoint origin (`http://a:p`) and a route; `host` is the request's (for SNI). */
  get(origin: string, route?: UpstreamRoute, host = ''): Pool {
    const connectTimeout = route?.connectTimeoutMs;
    const https = route?.backendProtocol === 'HTTPS';
    let key = connectTimeout === undefined ? origin : `${origin}#${connectTimeout}`;
    let tls: ConnectionOptions | undefined;
    if (https) {
      tls = tlsOptions(route?.proxySsl ?? {}, host);
      const ssl = route?.proxySsl;
      let id = ssl ? this.sslIds.get(ssl) : 0;
      if (id === undefined) this.sslIds.set(ssl!, (id = this.nextSslId++));
      key += `#tls${id}#${tls.servername ?? ''}#${ssl?.verify ? (ssl.name ?? host) : ''}`;
    }
    let entry = this.pools.get(key);
    if (!entry) {
      const pool = new (undici().Pool)(https ? `https${origin.slice(4)}` : origin, {
        connections: this.options.connections,
        pipelining: 1,
        keepAliveTimeout: this.options.keepAliveTimeout,
        keepAliveMaxTimeout: this.options.keepAliveTimeout,
        connect: connector(connectTimeout ?? this.options.connectTimeout, tls),
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

/**
 * How a pool connects. undici would send the request's Host as SNI (and reconnect whenever it
 * changes); TLS to a pod sends the name the route's settings give, or none, so the connector
 * ignores the name undici passes. Dispatches name UPSTREAM_SERVERNAME so undici sees no change.
 */
function connector(
  timeout: number,
  tls: ConnectionOptions | undefined,
): buildConnector.connector | buildConnector.BuildOptions {
  if (!tls) return { timeout };
  const connect = undici().buildConnector({ timeout, ...tls } as buildConnector.BuildOptions);
  return (options, callback) => connect({ ...options, servername: tls.servername ?? '' }, callback);
}

/** The servername every dispatch names (see connector()). */
export const UPSTREAM_SERVERNAME = 'upstream.portico.invalid';

/**
 * TLS towards a pod as ingress-nginx's proxy-ssl-* define it (annotations/backend-protocol.ts):
 * unverified unless `verify`; verified against `ca` (else the system's CAs) and the name
 * `name`, else the request's host; SNI only with `serverName`; a client certificate when given.
 */
export function tlsOptions(ssl: NonNullable<Target['proxySsl']>, host: string): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: ssl.verify === true };
  const name = ssl.name ?? bareHost(host);
  if (ssl.serverName && name !== '' && !/^[\d.]+$|:/.test(name)) options.servername = name;
  if (ssl.verify) {
    if (ssl.ca !== undefined) options.ca = ssl.ca;
    options.checkServerIdentity = (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert);
  }
  if (ssl.cert !== undefined && ssl.key !== undefined) {
    options.cert = ssl.cert;
    options.key = ssl.key;
  }
  return options;
}

/** A Host header without its port. */
function bareHost(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}
