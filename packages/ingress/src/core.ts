/**
 * The ingress core: what both data planes share and are handed. It holds the routing table (the
 * Router, swapped atomically by setTable), the routing decision (decide: 400, 308, 404, 503, 413 of
 * our own, or a backend and the target to forward), admission, the balancer and its ejection, the
 * pools to pods (the fast path's keep-alive connections, undici's pools, HTTP/2 sessions), the
 * metrics and the access log. The data planes (http1/ the fast path, node-data-plane.ts Node's
 * HTTP/1 and HTTP/2 servers) turn bytes into requests and call in here; the core knows no sockets.
 *
 * When a trip to a pod fails, upstream-policy.ts decides retry, ejection, status and metric reason
 * for both data planes alike; the core applies its verdict (upstreamFailed).
 *
 * The Router is read once per request from `this.router`; setTable() replaces that reference, so a
 * swap is atomic: a request sees the old table or the new one, never a mix, and nothing is closed.
 */
import type { Logger } from 'pino';
import { Balancer, type EjectionOptions } from './balancer.js';
import { plainAddress, realClient, TrustedProxies } from './forwarded.js';
import type { ProxyMetrics } from './metrics.js';
import { normalizeTarget } from './paths.js';
import { bodyLimitOf, goesToCanary, redirectsToHttps, type CookieAffinity } from './annotations/index.js';
import { applyRequestPolicy, type RequestView } from './route-policy.js';
import { normalizeHost, Router, type Backend, type RoutedEndpoint } from './router.js';
import { stickyPick, type StickyChoice } from './affinity.js';
import { emptyTable, type RouteTable, type Target } from './table.js';
import { UpstreamPool } from './http1/upstream-pool.js';
import { admit, type AdmissionFacts, type Refusal, type Release } from './admission.js';
import { limitedTargets, RateLimits } from './rate-limiter.js';
import { defaultHsts, hstsValue } from './hsts.js';
import { combinedLine, type AccessEntry, type AccessLogFormat } from './access-log.js';
import { ForwardAuth } from './forward-auth.js';
import { CertificateRefusalLog } from './certificate-refusal-log.js';
import { Upstreams, type UpstreamOptions } from './upstreams.js';
import { H2Upstreams } from './upstream-h2.js';
import { judge, type FailedAttempt, type RetryScope, type Verdict } from './upstream-policy.js';

export interface ProxyOptions {
  /** Value of the Server header added when the pod sends none. */
  readonly serverName: string;
  /** Request bodies above this many bytes get 413 (ingress-nginx proxy-body-size). */
  readonly maxBodyBytes: number;
  /** Time to wait for the pod's response headers, ms (504 after). */
  readonly upstreamHeadersTimeout: number;
  /** Max silence between two response body chunks, ms. */
  readonly upstreamBodyTimeout: number;
  /** Port in the Location of HTTP->HTTPS redirects (omitted when 443). */
  readonly httpsPort: number;
  readonly upstream: UpstreamOptions;
  readonly ejection: EjectionOptions;
  /** CIDRs of proxies whose X-Forwarded-* and Forwarded are believed (forwarded.ts); default none. */
  readonly trustedProxies?: readonly string[] | undefined;
  /** Strict-Transport-Security for HTTPS responses of TLS hosts (hsts.ts); undefined: none. */
  readonly hsts?: string | undefined;
  /** `json` (pino fields through `logger`, the default) or `combined` lines (access-log.ts). */
  readonly accessLogFormat?: AccessLogFormat | undefined;
  /** Where `combined` lines go (default: stdout); lines are written only when `logger` is set. */
  readonly accessLogStream?: { write(line: string): unknown } | undefined;
  /** Where access-log lines go (`json`); none without it. */
  readonly logger?: Logger | undefined;
  /**
   * The proxy's own warnings and errors: an exception while serving a connection, a refused client
   * certificate, a refused PROXY header (debug). Apart from `logger`, so that they are written
   * with the access log switched off (--no-access-log).
   */
  readonly log?: Logger | undefined;
  readonly metrics?: ProxyMetrics | undefined;
}

export const defaultProxyOptions: ProxyOptions = {
  serverName: 'portico',
  maxBodyBytes: 1024 * 1024,
  upstreamHeadersTimeout: 60_000,
  upstreamBodyTimeout: 60_000,
  httpsPort: 443,
  upstream: { connections: 256, keepAliveTimeout: 4_000, connectTimeout: 5_000 },
  ejection: { failures: 3, ejectMs: 10_000 },
  hsts: hstsValue(defaultHsts),
};

export class IngressCore {
  router: Router = new Router(emptyTable);
  readonly balancer: Balancer;
  /** undici pools for what Node's servers handle (HTTPS, HTTP/2, handed-over connections). */
  readonly upstreams: Upstreams;
  /** Keep-alive connections of the plain-HTTP fast path. */
  readonly pool: UpstreamPool;
  /**
   * The same kind of connections for HTTP/2 clients' requests (http2/pooled-exchange.ts), apart
   * from the fast path's: a pod that breaks HTTP/1.1 keep-alive on one of them (an unsolicited
   * response) cannot hand its stray bytes to the other path's clients.
   */
  readonly http2Pool: UpstreamPool;
  /** HTTP/2 sessions to pods (backend-protocol GRPC, GRPCS). */
  readonly h2 = new H2Upstreams();
  readonly trusted: TrustedProxies;
  /** Subrequests of forward auth (auth-url). */
  readonly forwardAuth: ForwardAuth;
  /** The counters of the rate-limit annotations (this process's own). */
  readonly limits = new RateLimits();
  /** Log lines of client certificates refused for failing verification; none without `log`. */
  private readonly certificateRefusals: CertificateRefusalLog | undefined;

  constructor(readonly options: ProxyOptions = defaultProxyOptions) {
    this.trusted = new TrustedProxies(options.trustedProxies ?? []);
    this.forwardAuth = new ForwardAuth(undefined, () => options.metrics?.forwardAuthConnections.inc());
    this.certificateRefusals = options.log && new CertificateRefusalLog(options.log);
    this.balancer = new Balancer(options.ejection);
    this.upstreams = new Upstreams(options.upstream);
    const poolOptions = {
      keepAliveTimeout: options.upstream.keepAliveTimeout,
      connectTimeout: options.upstream.connectTimeout,
      serverName: options.serverName,
    };
    this.pool = new UpstreamPool({
      ...poolOptions,
      onException: (err, close) => this.connectionException('fast', err, close),
    });
    this.http2Pool = new UpstreamPool({
      ...poolOptions,
      onException: (err, close) => this.connectionException('node', err, close),
    });
  }

  /** Atomically replaces the routing table. Pools of endpoints that disappeared drain and close. */

  setTable(table: RouteTable): void {
    const router = new Router(table);
    this.router = router;
    const live = new Set<string>();
    const keys = new Set<string>();
    // The Router has already computed every endpoint's origin.
    for (const b of router.allBackends()) {
      keys.add(b.key);
      for (const e of b.endpoints) live.add(e.origin);
    }
    this.upstreams.retain(live);
    this.pool.retain(live);
    this.http2Pool.retain(live);
    this.h2.retain(live);
    this.balancer.prune(keys, live);
    this.limits.retain(limitedTargets(table));
    this.forwardAuth.retain(table);
    this.options.metrics?.tableVersion.set(table.version);
    this.options.metrics?.swaps.inc();
  }

  /**
   * Where a request goes, shared by both data planes: a response of our own (400 for a target
   * paths.ts refuses, 308 to HTTPS, 404, 503, 413) or a backend with at least one endpoint and the
   * normalised target to forward (`path`). `target` is the origin-form request-target as sent.
   * `request` is what the route's annotations may look at (route-policy.ts); without it they are
   * not applied; a canary (annotations/canary.ts) reads its headers.
   */
  decide(
    rawHost: string,
    target: string,
    proto: 'http' | 'https',
    contentLength: number,
    plane: 'fast' | 'node',
    request?: RequestView,
  ): Decision {
    const router = this.router;
    const path = normalizeTarget(target);
    if (path === undefined) {
      this.countConnectionError(plane, 'path');
      return { status: 400 };
    }
    // A Host that is no authority (`a:80:80`, spaces, `@`) would reach the pod as sent (nginx: 400).
    if (!VALID_HOST.test(rawHost)) {
      this.countConnectionError(plane, 'malformed');
      return { status: 400 };
    }
    const host = normalizeHost(rawHost);
    const q = path.indexOf('?');
    let route = router.route(host, q < 0 ? path : path.slice(0, q));
    if (proto === 'http' && redirectsToHttps(route ?? undefined, router.isTlsHost(host), path)) {
      const port = this.options.httpsPort === 443 ? '' : `:${this.options.httpsPort}`;
      const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
      return { status: 308, location: `https://${bracketed}${port}${path}` };
    }
    if (!route) return { status: 404 };
    // A canary Ingress beside this path (annotations/canary.ts) may take the request.
    if (route.canary !== undefined && goesToCanary(route.canary.rule, request, Math.random))
      route = route.canary.target;
    let forward = path;
    let headers: readonly string[] | undefined;
    const compiled = request ? router.policy(route) : undefined;
    if (request && compiled) {
      const outcome = applyRequestPolicy(route, compiled, request, rawHost, proto, path, this.trusted);
      if (outcome.action) this.options.metrics?.policyActions.inc(route, outcome.action);
      if (outcome.status !== 0)
        return {
          status: outcome.status as LocalStatus,
          target: route,
          ...(outcome.location !== undefined && { location: outcome.location }),
          ...(outcome.headers && { headers: outcome.headers }),
        };
      if (outcome.path !== undefined) forward = outcome.path;
      headers = outcome.headers;
    }
    const backend = route.backend === null ? undefined : router.backend(route.backend);
    if (!backend || backend.endpoints.length === 0) return { status: 503, target: route, headers };
    // proxy-body-size (annotations/proxy-limits.ts): the route's own limit, else ours.
    if (contentLength > bodyLimitOf(route, this.options.maxBodyBytes))
      return { status: 413, target: route, headers };
    return headers
      ? { status: 0, target: route, backend, path: forward, headers }
      : { status: 0, target: route, backend, path: forward };
  }

  /**
   * Whether a routed request may go on (admission.ts): a refusal (counted), a Release to call when
   * the request ends, or undefined. Call only when mustAdmit(target).
   */
  admit(target: Target, facts: AdmissionFacts): Refusal | Release | undefined {
    const result = admit(target, facts, this.limits, performance.now());
    if (result !== undefined && typeof result !== 'function') {
      this.options.metrics?.admissionRefusals.inc({ ingress: target.ingress, reason: result.reason });
      if (result.reason === 'client_certificate' || result.reason === 'client_certificate_revoked')
        this.certificateRefusals?.refused(target, facts, result.reason);
    }
    return result;
  }

  /**
   * The pod for a request on a route with cookie affinity (affinity.ts), the same on every data
   * plane: the one the client's cookie names, or the balancer's pick and a cookie for it (counted).
   * Routes without affinity call the balancer directly: no object per request.
   */
  stickyPick(
    backend: Backend,
    affinity: CookieAffinity,
    cookieHeader: string | undefined,
    secure: boolean,
    avoid?: RoutedEndpoint,
  ): StickyChoice {
    const choice = stickyPick(this.balancer, backend, affinity, cookieHeader, secure, avoid);
    if (choice.setCookie !== undefined) this.options.metrics?.affinityCookies.inc({ service: backend.key });
    return choice;
  }

  /** The client address rate limits count by: the one the access log shows. */
  clientAddress(peer: string, forwardedFor: string | undefined): string {
    return plainAddress(this.trusted.empty ? peer : realClient(peer, forwardedFor, this.trusted));
  }

  /** The Strict-Transport-Security value for a response to `rawHost` over `proto`, if any (hsts.ts). */
  hstsFor(rawHost: string, proto: 'http' | 'https'): string | undefined {
    const value = this.options.hsts;
    if (value === undefined || proto !== 'https') return undefined;
    return this.router.isTlsHost(normalizeHost(rawHost)) ? value : undefined;
  }

  /**
   * A failed attempt to reach `origin` for `backend`: the one upstream policy's verdict
   * (upstream-policy.ts), with the ejection and the metrics it calls for applied. The data plane
   * retries or answers as the verdict says.
   */
  upstreamFailed(backend: Backend, origin: string, attempt: FailedAttempt, scope: RetryScope): Verdict {
    const verdict = judge(attempt, scope);
    if (verdict.eject) this.balancer.failed(origin);
    const metrics = this.options.metrics;
    if (verdict.reason !== undefined)
      metrics?.upstreamErrors.inc({ service: backend.key, reason: verdict.reason });
    if (verdict.retry !== 'none') metrics?.upstreamRetries.inc({ service: backend.key });
    return verdict;
  }

  /**
   * An exception while serving one connection (a bug reached by some input): the connection is
   * closed by `close`, the exception counted (connection_errors_total{reason="exception"}) and
   * logged. It never reaches the process, so no worker dies from what a client sends.
   */
  connectionException(plane: 'fast' | 'node', err: unknown, close: () => void): void {
    this.countConnectionError(plane, 'exception');
    this.options.log?.error({ err, plane }, 'exception while serving a connection; connection closed');
    try {
      close();
    } catch {
      // Closing failed too: the connection is as closed as it will get.
    }
  }

  /** Counts a client connection (or HTTP/2 stream) we closed for what the client sent. */
  countConnectionError(plane: 'fast' | 'node', reason: ConnectionErrorReason): void {
    this.options.metrics?.connectionErrors.inc({ plane, reason });
  }

  /** Counts a finished request and writes its access-log line (both data planes). */
  record(
    req: AccessInfo,
    status: number,
    target: Target | undefined,
    upstream: string | undefined,
    started: number,
  ): void {
    const ms = this.count(status, target, started);
    const logger = this.options.logger;
    if (logger === undefined) return;
    const entry: AccessEntry = {
      method: req.method,
      host: req.host,
      path: req.path,
      protocol: req.protocol ?? 'HTTP/1.1',
      status,
      ingress: target?.ingress ?? '',
      service: target?.backend ?? '',
      upstream,
      requestId: req.requestId,
      ms: Math.round(ms * 100) / 100,
      upstreamMs: req.upstreamMs === undefined ? undefined : Math.round(req.upstreamMs * 100) / 100,
      bytes: req.bytes,
      // Behind trusted proxies: the client their chain names, and the peer that sent it.
      client: this.trusted.empty ? req.client : realClient(req.client ?? '', req.forwardedFor, this.trusted),
      peer: this.trusted.empty ? undefined : req.client,
      referer: req.referer,
      userAgent: req.userAgent,
    };
    if (this.options.accessLogFormat === 'combined')
      (this.options.accessLogStream ?? process.stdout).write(combinedLine(entry));
    else logger.info(entry);
  }

  /**
   * Counts a finished request in the metrics alone, for a data plane that knows no line is logged
   * (!logging) and so builds no AccessInfo. Returns its duration, ms. `now`: performance.now() at
   * the request's end, when the caller has just read it (the fast path: its last read from the pod).
   */
  count(status: number, target: Target | undefined, started: number, now = performance.now()): number {
    const ms = now - started;
    this.options.metrics?.observe(target, status, ms / 1000);
    return ms;
  }

  /** Whether finished requests are written to the access log (record() needs their AccessInfo). */
  get logging(): boolean {
    return this.options.logger !== undefined;
  }

  /** Whether access-log lines need the Referer and User-Agent (the combined format). */
  get logsAgents(): boolean {
    return this.options.logger !== undefined && this.options.accessLogFormat === 'combined';
  }
}

/** What an access-log line says about the request. */
export interface AccessInfo {
  readonly method: string | undefined;
  readonly host: string | undefined;
  readonly path: string | undefined;
  /** The peer address (connection or PROXY protocol). */
  readonly client: string | undefined;
  /** X-Forwarded-For as received; read only when proxies are trusted. */
  readonly forwardedFor?: string | undefined;
  /** The X-Request-ID sent to the pod (request-id.ts); none for responses of our own. */
  readonly requestId?: string | undefined;
  /** `HTTP/1.1`, `HTTP/2.0`…; HTTP/1.1 when absent. */
  readonly protocol?: string | undefined;
  /** Response body bytes sent (proxied responses). */
  readonly bytes?: number | undefined;
  /** Time to the pod's response head, ms. */
  readonly upstreamMs?: number | undefined;
  /** Read for the combined format only. */
  readonly referer?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** Why a client connection or stream was closed by us (the reason label of connection_errors_total). */
export type ConnectionErrorReason =
  'exception' | 'version' | 'malformed' | 'path' | 'timeout' | 'slow_body' | 'upgrade' | 'proxy_protocol';

/** uri-host [":" port] (RFC 9110 §7.2): an IP literal or a reg-name, at most one port. Empty is allowed. */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::\d{0,5})?$/;

export type LocalStatus =
  204 | 300 | 301 | 302 | 303 | 304 | 305 | 306 | 307 | 308 | 400 | 403 | 404 | 413 | 421 | 500 | 503;

export type Decision =
  | {
      readonly status: 0;
      readonly target: Target;
      readonly backend: Backend;
      /** The origin-form target the pod is sent: the normalised one the rules matched, or its rewrite. */
      readonly path: string;
      readonly location?: undefined;
      /** Gateway API timeouts (GEP-1742), ms: 504 when one expires. */
      readonly deadlines?: Deadlines;
      /** Headers added to the pod's response, [name, value, …] (route-policy.ts). */
      readonly headers?: readonly string[] | undefined;
    }
  | {
      readonly status: LocalStatus;
      readonly target?: Target;
      readonly location?: string;
      /** Headers of our answer, [name, value, …]. */
      readonly headers?: readonly string[] | undefined;
    };

/**
 * `request`: from the request's arrival to the end of the response; `backendRequest`: one attempt
 * to a pod, from its start to the end of its response. 504 when one expires before the response
 * starts; the response is cut when it expires after.
 */
export interface Deadlines {
  readonly request?: number | undefined;
  readonly backendRequest?: number | undefined;
}
