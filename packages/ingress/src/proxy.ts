/**
 * The data plane: routes one request with the current Router and streams it to a pod through the
 * endpoint's keep-alive pool, streaming the response back with back-pressure both ways.
 *
 * The Router is read once per request from `this.router`; setTable() replaces that reference, so a
 * swap is atomic: a request sees the old table or the new one, never a mix, and nothing is closed.
 *
 * Status codes of our own: 404 no rule, 503 no ready endpoint, 502 upstream connection failure,
 * 504 upstream timeout, 413 body too large, 408 body too slow, 308 to HTTPS for TLS hosts
 * (annotations/redirect.ts: per Ingress, never for ACME challenges), 431 for an HTTP/2 header list
 * the request guard found over the limit.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants as http2Constants, type Http2ServerRequest } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { stickyPick } from './affinity.js';
import { Balancer, type EjectionOptions } from './balancer.js';
import { downstreamHeaders, requestHead, upstreamHeaders, type ClientHop } from './headers.js';
import { plainAddress, realClient, TrustedProxies } from './forwarded.js';
import { BodyLimit, BodyWatch } from './limits.js';
import type { ProxyMetrics } from './metrics.js';
import { normalizeTarget } from './paths.js';
import { bodyLimitOf, goesToCanary, redirectsToHttps } from './annotations/index.js';
import { applyRequestPolicy, type RequestView } from './route-policy.js';
import { normalizeHost, Router, type Backend, type RoutedEndpoint } from './router.js';
import { emptyTable, type RouteTable, type Target } from './table.js';
import { UpstreamPool } from './http1/upstream-pool.js';
import {
  errorCode,
  errorReason,
  isConnectError,
  isIdempotentRetry,
  isResetError,
  isTimeoutError,
} from './upstream-errors.js';
import { Tunnel, upgradeProtocols } from './tunnel.js';
import {
  admit,
  keepsAuthorization,
  mustAdmit,
  withoutField,
  type AdmissionFacts,
  type Refusal,
  type Release,
} from './admission.js';
import { limitedTargets, RateLimits } from './rate-limiter.js';
import { defaultHsts, hstsValue } from './hsts.js';
import { combinedLine, type AccessEntry, type AccessLogFormat } from './access-log.js';
import { isSaneRequestId, newRequestId, requestIdFor } from './request-id.js';
import { ForwardAuth } from './forward-auth.js';
import { UPSTREAM_SERVERNAME, Upstreams, type UpstreamOptions } from './upstreams.js';
import { H2Upstreams } from './upstream-h2.js';
import { H2Exchange } from './h2-exchange.js';

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
  readonly logger?: Logger | undefined;
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

export class Proxy {
  router: Router = new Router(emptyTable);
  readonly balancer: Balancer;
  /** undici pools for what Node's servers handle (HTTPS, HTTP/2, handed-over connections). */
  readonly upstreams: Upstreams;
  /** Keep-alive connections of the plain-HTTP fast path. */
  readonly pool: UpstreamPool;
  /** HTTP/2 sessions to pods (backend-protocol GRPC, GRPCS). */
  readonly h2 = new H2Upstreams();
  /** HTTP/1 connections of the Node path answered with Connection: close (see local()). */
  private readonly closing = new WeakSet<object>();
  /** Request bodies in flight on the Node path, held to their deadlines (server.ts sets the limits). */
  readonly bodies = new BodyWatch((reason) => this.countConnectionError('node', reason));
  readonly trusted: TrustedProxies;
  /** Subrequests of forward auth (auth-url). */
  readonly forwardAuth = new ForwardAuth();
  /** The counters of the rate-limit annotations (this process's own). */
  readonly limits = new RateLimits();

  constructor(readonly options: ProxyOptions = defaultProxyOptions) {
    this.trusted = new TrustedProxies(options.trustedProxies ?? []);
    this.balancer = new Balancer(options.ejection);
    this.upstreams = new Upstreams(options.upstream);
    this.pool = new UpstreamPool({
      keepAliveTimeout: options.upstream.keepAliveTimeout,
      connectTimeout: options.upstream.connectTimeout,
      serverName: options.serverName,
      onException: (err, close) => this.connectionException('fast', err, close),
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
    this.h2.retain(live);
    this.balancer.prune(keys, live);
    this.limits.retain(limitedTargets(table));
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
    if (result !== undefined && typeof result !== 'function')
      this.options.metrics?.admissionRefusals.inc({ ingress: target.ingress, reason: result.reason });
    return result;
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
   * The Node path's entry point for a request: handle(), guarded. An exception closes that
   * request's connection (HTTP/1) or stream (HTTP/2), is counted and logged, and goes no further.
   */
  serve(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https'): void {
    // 'aborted' and similar after the client left: nothing to do, and without a listener the
    // emitter would throw it out of the process.
    req.on('error', ignore);
    try {
      this.handle(req, res, proto);
    } catch (err) {
      this.connectionException('node', err, () => {
        const stream = (req as unknown as Partial<Http2ServerRequest>).stream;
        if (stream) stream.destroy();
        else req.socket.destroy();
      });
    }
  }

  /** The Node path's entry point for an Upgrade request: upgrade(), guarded as serve() is. */
  serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: 'http' | 'https'): void {
    req.on('error', ignore);
    try {
      this.upgrade(req, socket, head, proto);
    } catch (err) {
      this.connectionException('node', err, () => socket.destroy());
    }
  }

  /**
   * An exception while serving one connection (a bug reached by some input): the connection is
   * closed by `close`, the exception counted (connection_errors_total{reason="exception"}) and
   * logged. It never reaches the process, so no worker dies from what a client sends.
   */
  connectionException(plane: 'fast' | 'node', err: unknown, close: () => void): void {
    this.countConnectionError(plane, 'exception');
    this.options.logger?.error({ err, plane }, 'exception while serving a connection; connection closed');
    try {
      close();
    } catch {
      // Closing failed too: the connection is as closed as it will get.
    }
  }

  handle(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https'): void {
    const h2 = isHttp2(req);
    // llhttp parses `HTTP/2.0` and `HTTP/0.9` request lines as requests: only 1.0 and 1.1 are HTTP/1.
    if (!h2 && req.httpVersion !== '1.1' && req.httpVersion !== '1.0') {
      this.countConnectionError('node', 'version');
      return this.local(req, res, 505, undefined, undefined, true);
    }
    if (h2) {
      // A stream the client already reset (rapid reset): nothing to forward.
      const stream = (req as unknown as Http2ServerRequest).stream;
      if (stream.destroyed || stream.closed) return;
    }
    // Pipelined behind a request we answered with Connection: close: not served.
    if (!h2 && this.closing.has(req.socket)) return;
    let url = req.url ?? '/';
    const authority = req.headers[':authority'] as string | undefined;
    let rawHost = h2 ? (authority ?? req.headers.host ?? '') : (req.headers.host ?? '');
    // HTTP/2: a host field that differs from :authority makes the request malformed (RFC 9113
    // §8.3.1); we route on :authority and the pod must not read another host.
    if (h2 && authority !== undefined && req.headers.host !== undefined && req.headers.host !== authority) {
      this.countConnectionError('node', 'malformed');
      return this.local(req, res, 400);
    }
    const te = req.headers['transfer-encoding'];
    if (!h2 && te !== undefined) {
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing (400); a coding other than
      // chunked alone is one we cannot pass on (the pod would get the coded bytes as plain: 501).
      const http10 = req.httpVersion === '1.0';
      if (http10 || te.trim().toLowerCase() !== 'chunked') {
        this.countConnectionError('node', 'malformed');
        return this.local(req, res, http10 ? 400 : 501, undefined, undefined, true);
      }
    }
    const absolute = url.charCodeAt(0) !== 0x2f;
    // An HTTP/2 :path is origin-form (RFC 9113 §8.3.1); :authority says where it goes.
    if (absolute && h2) return this.local(req, res, 400);
    if (absolute) {
      // absolute-form (RFC 9112 §3.2.2): route on its authority, forward origin-form.
      const abs = parseAbsoluteForm(url);
      if (!abs) return this.local(req, res, 400, undefined, undefined, true);
      url = abs.path;
      rawHost = abs.authority;
    }
    // Two Host fields: we would route on one and the pod might read the other (nginx: 400 too).
    if (!h2 && hostCount(req.rawHeaders) > 1) {
      this.countConnectionError('node', 'malformed');
      return this.local(req, res, 400, undefined, undefined, true);
    }
    const length = req.headers['content-length'];
    const decision = this.decide(
      rawHost,
      url,
      proto,
      length === undefined ? -1 : Number(length),
      'node',
      requestView(req),
    );
    const hsts = this.hstsFor(rawHost, proto);
    if (decision.status !== 0) {
      let extra: OutgoingHttpHeaders | undefined = decision.location
        ? { location: decision.location }
        : undefined;
      if (decision.headers) extra = headerObject(decision.headers, extra);
      if (hsts !== undefined) extra = { ...extra, 'strict-transport-security': hsts };
      const close = decision.status === 413 || decision.status === 400;
      return this.local(req, res, decision.status, decision.target, extra, close);
    }
    const { target } = decision;
    if (mustAdmit(target)) {
      const refusal = this.admit(target, this.factsOf(req));
      if (typeof refusal === 'function') res.once('close', refusal);
      // A body we will not read: the HTTP/1 connection closes after the answer.
      const unread = length !== undefined || te !== undefined;
      if (refusal !== undefined && typeof refusal !== 'function') {
        const extra =
          hsts === undefined ? refusal.headers : { ...refusal.headers, 'strict-transport-security': hsts };
        return this.local(req, res, refusal.status, target, extra, unread);
      }
    }
    const auth = target.forwardAuth;
    if (auth !== undefined) {
      const unread = length !== undefined || te !== undefined;
      const withHsts = (h: Record<string, string>): OutgoingHttpHeaders =>
        hsts === undefined ? h : { ...h, 'strict-transport-security': hsts };
      if (auth.denied !== undefined) {
        this.options.metrics?.admissionRefusals.inc({
          ingress: target.ingress,
          reason: 'forward_auth_denied',
        });
        return this.local(req, res, 503, target, withHsts({}), unread);
      }
      const sent = joined(req.headers['x-request-id']);
      const requestId = isSaneRequestId(sent) ? sent : newRequestId();
      const client = this.clientAddress(
        peerOf(req).remoteAddress ?? '',
        joined(req.headers['x-forwarded-for']),
      );
      const check = this.forwardAuth.check(auth, {
        method: req.method ?? 'GET',
        scheme: proto,
        host: rawHost,
        uri: url,
        rawHeaders: req.rawHeaders,
        client,
        requestId,
      });
      void check.then((outcome) => {
        if (res.headersSent || res.destroyed) return;
        try {
          if (outcome.allowed)
            return this.forward(req, res, proto, decision, rawHost, absolute, hsts, requestId, outcome);
          const reason = outcome.status === 500 ? 'forward_auth_error' : 'forward_auth';
          this.options.metrics?.admissionRefusals.inc({ ingress: target.ingress, reason });
          this.local(req, res, outcome.status, target, withHsts(outcome.headers), unread);
        } catch (err) {
          this.connectionException('node', err, () => res.destroy());
        }
      });
      return;
    }
    this.forward(req, res, proto, decision, rawHost, absolute, hsts, undefined, undefined);
  }

  /** Sends a request that passed routing and admission to its pod (the rest of handle()). */
  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    proto: 'http' | 'https',
    decision: Decision & { status: 0 },
    rawHost: string,
    absolute: boolean,
    hsts: string | undefined,
    requestId: string | undefined,
    authorized: { headers: readonly [string, string][]; cookies: readonly string[] } | undefined,
  ): void {
    const h2 = isHttp2(req);
    const length = req.headers['content-length'];
    const { target, backend } = decision;
    const url = decision.path;
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const hasBody =
      chunked ||
      (length !== undefined && length !== '0') ||
      (h2 && !(req as unknown as Http2ServerRequest).stream.endAfterHeaders);
    // Every body goes through a BodyLimit: size (chunked), and time (requestTimeout, minimum rate).
    let limit: BodyLimit | undefined;
    if (hasBody) {
      // proxy-send-timeout: a pod that leaves the body unread this long ends the exchange (504).
      const send = target.sendTimeoutMs ?? this.options.upstreamHeadersTimeout;
      limit = new BodyLimit(bodyLimitOf(target, this.options.maxBodyBytes), send);
      req.on('error', (e) => limit!.destroy(e));
      req.pipe(limit);
      this.bodies.add(limit);
    }
    const hop = hopOf(req, proto, rawHost);
    let headers = upstreamHeaders(req.rawHeaders, req.headers, hop, false, absolute, this.trusted);
    if (!keepsAuthorization(target)) headers = withoutField(headers, 'authorization');
    if (authorized !== undefined)
      for (const [name, value] of authorized.headers) {
        headers = withoutField(headers, name.toLowerCase());
        headers.push(name, value);
      }
    const tagged = requestIdFor(headers, joined(req.headers['x-request-id']), requestId);
    headers = tagged.fields;
    const extras: ExchangeExtras = {
      requestId: tagged.id,
      hsts,
      cookies: authorized?.cookies,
      deadlines: decision.deadlines,
      responseHeaders: decision.headers,
    };
    const protocol = target.backendProtocol;
    if (protocol === 'GRPC' || protocol === 'GRPCS') {
      // HTTP/2 to the pod (h2-exchange.ts); from an HTTP/1.1 client too, as nginx's grpc_pass does.
      new H2Exchange(this, req, res, url, headers, limit ?? null, target, backend, rawHost).start();
      return;
    }
    if (h2 && limit && length !== undefined && Number(length) <= H2_BUFFERED_BODY) {
      // An HTTP/2 body whose content-length the DATA frames may contradict (RFC 9113 §8.1.1):
      // nghttp2 finds out only at the end of the stream, so a small one is read whole first and
      // forwarded only once it is known to be valid; a malformed one never reaches a pod.
      const chunks: Buffer[] = [];
      const body = limit;
      body.on('data', (c: Buffer) => chunks.push(c));
      body.once('end', () => {
        // A stream nghttp2 reset for its framing ends too: then there is nothing to forward.
        const stream = (req as unknown as Http2ServerRequest).stream;
        if (req.aborted || stream.destroyed || (stream.rstCode ?? 0) !== 0) return;
        const exchange = new Exchange(
          this,
          req,
          res,
          url,
          headers,
          Buffer.concat(chunks),
          body,
          target,
          backend,
          extras,
        );
        exchange.start(undefined);
      });
      body.once('error', () => {
        if (res.headersSent || res.destroyed) return;
        if (body.expired) this.local(req, res, 408, target);
        else if (body.tripped) this.local(req, res, 413, target);
      });
      return;
    }
    new Exchange(this, req, res, url, headers, limit ?? null, limit, target, backend, extras).start(
      undefined,
    );
  }

  private factsOf(req: IncomingMessage): AdmissionFacts {
    return {
      authorization: joined(req.headers.authorization),
      client: () =>
        this.clientAddress(peerOf(req).remoteAddress ?? '', joined(req.headers['x-forwarded-for'])),
    };
  }

  /** WebSocket and other Upgrade requests: the handshake is forwarded, then bytes are piped raw. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: 'http' | 'https'): void {
    if (req.httpVersion !== '1.1' && req.httpVersion !== '1.0') {
      this.countConnectionError('node', 'version');
      socket.end(rawResponse(505, this.options.serverName));
      return;
    }
    const started = performance.now();
    const serverName = this.options.serverName;
    socket.on('error', () => socket.destroy());
    const refuse = (
      status: number,
      target?: Target,
      location?: string,
      extra?: Readonly<Record<string, string>>,
    ): void => {
      socket.end(rawResponse(status, serverName, location, extra));
      this.record(accessOf(req), status, target, undefined, started);
    };
    // A body on a handshake has no place to go before the 101: refused rather than guessed at.
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined)
      return refuse(400);
    let url = req.url ?? '/';
    let rawHost = req.headers.host ?? '';
    const absolute = url.charCodeAt(0) !== 0x2f;
    if (absolute) {
      const abs = parseAbsoluteForm(url);
      if (!abs) return refuse(400);
      url = abs.path;
      rawHost = abs.authority;
    }
    if (hostCount(req.rawHeaders) > 1) return refuse(400);
    const decision = this.decide(rawHost, url, proto, -1, 'node', requestView(req));
    if (decision.status !== 0) return refuse(decision.status, decision.target, decision.location);
    const { target, backend } = decision;
    if (mustAdmit(target)) {
      const refusal = this.admit(target, this.factsOf(req));
      if (typeof refusal === 'function') socket.once('close', refusal);
      else if (refusal) return refuse(refusal.status, target, undefined, refusal.headers);
    }
    url = decision.path;
    const sentId = joined(req.headers['x-request-id']);
    // Forward auth: the auth service and the pod get the same request ID.
    const requestId =
      target.forwardAuth === undefined || isSaneRequestId(sentId) ? undefined : newRequestId();
    let authHeaders: readonly [string, string][] | undefined;
    const tunnel = (): void => {
      const endpoint = this.balancer.pick(backend.key, backend.endpoints);
      if (!endpoint) return refuse(502, target);
      // h2c is never tunnelled (server.ts normally serves it as an ordinary request; Node's HTTPS
      // server has no such choice): forwarded without its Upgrade, answered, then closed.
      const asked = upgradeProtocols(req.headers.upgrade).filter((p) => p !== 'h2c');
      const hop = hopOf(req, proto, rawHost);
      let headers = upstreamHeaders(
        req.rawHeaders,
        req.headers,
        hop,
        asked.length > 0,
        absolute,
        this.trusted,
      );
      if (!keepsAuthorization(target)) headers = withoutField(headers, 'authorization');
      for (const [name, value] of authHeaders ?? []) {
        headers = withoutField(headers, name.toLowerCase());
        headers.push(name, value);
      }
      const tagged = requestIdFor(headers, joined(req.headers['x-request-id']), requestId);
      const lines = requestHead(req.method ?? 'GET', url, tagged.fields);
      new Tunnel(socket, head, endpoint, lines, asked, {
        serverName,
        headersTimeout: this.options.upstreamHeadersTimeout,
        done: (status, connectFailed) => {
          if (connectFailed) this.balancer.failed(endpoint.origin);
          else if (status !== 499) this.balancer.succeeded(endpoint.origin);
          if (status === 502 || status === 504)
            this.options.metrics?.upstreamErrors.inc({
              service: backend.key,
              reason: status === 504 ? 'timeout' : connectFailed ? 'connect' : 'other',
            });
          this.record(accessOf(req, tagged.id), status, target, endpoint.origin, started);
        },
      });
    };
    const auth = target.forwardAuth;
    if (auth === undefined) return tunnel();
    // Forward auth holds the handshake until the auth service answers (see handle()).
    if (auth.denied !== undefined) return refuse(503, target);
    void this.forwardAuth
      .check(auth, {
        method: req.method ?? 'GET',
        scheme: proto,
        host: rawHost,
        uri: req.url ?? '/',
        rawHeaders: req.rawHeaders,
        client: this.clientAddress(peerOf(req).remoteAddress ?? '', joined(req.headers['x-forwarded-for'])),
        requestId: requestId ?? sentId!,
      })
      .then((outcome) => {
        if (socket.destroyed) return;
        try {
          if (outcome.allowed) {
            authHeaders = outcome.headers;
            return tunnel();
          }
          const location = outcome.headers.location;
          const { location: _omitted, ...rest } = outcome.headers;
          refuse(outcome.status, target, location, rest);
        } catch (err) {
          this.connectionException('node', err, () => socket.destroy());
        }
      });
  }

  /** A response of our own (no upstream involved). */
  local(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    target?: Target,
    extra?: OutgoingHttpHeaders,
    close = false,
  ): void {
    // 204 and 304 have no body (RFC 9110 §15.3.5, §15.4.5), and a 204 no Content-Length.
    const empty = status === 204 || status === 304;
    const body = empty ? '' : `${status} ${STATUS_TEXT[status] ?? ''}\n`;
    const headers: OutgoingHttpHeaders = empty
      ? { server: this.options.serverName, ...extra }
      : {
          server: this.options.serverName,
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          ...extra,
        };
    // We did not read the request body: do not let Node keep the connection and parse it as a
    // request, nor serve what it already parsed after this one (pipelined behind a body we refused).
    if (close && !isHttp2(req)) {
      headers.connection = 'close';
      this.closing.add(req.socket);
    }
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' || empty ? undefined : body);
    this.record(accessOf(req), status, target, undefined, performance.now());
  }

  /**
   * What Node's HTTP/1 parser refused (its 'clientError'): answered as Node would (400, 431 for a
   * head over the limit, 408 for a slow one, 413 for oversized chunk extensions), except that an
   * HTTP version llhttp does not take (`HTTP/1.2`, `HTTP/3.0`) gets 505, like one it takes but we
   * do not serve. The connection is closed either way.
   */
  clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const code = err.code ?? '';
    if (this.closing.has(socket)) {
      // Its request was answered already: closing is all that is left to do.
      socket.destroy();
      return;
    }
    const status =
      code === 'HPE_INVALID_VERSION' || code === 'HPE_PAUSED_H2_UPGRADE'
        ? 505
        : code === 'HPE_HEADER_OVERFLOW'
          ? 431
          : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
            ? 413
            : code === 'ERR_HTTP_REQUEST_TIMEOUT'
              ? 408
              : 400;
    const quiet = code === 'ECONNRESET' || code === 'EPIPE';
    if (!quiet)
      this.countConnectionError(
        'node',
        status === 505 ? 'version' : status === 408 ? 'timeout' : 'malformed',
      );
    const message = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (quiet || !socket.writable || message?.headersSent) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(rawResponse(status, this.options.serverName));
  }

  /**
   * CONNECT (HTTP/1): not served. A pod would read whatever follows the head as tunnel data, so a
   * pod connection that carried one would be a tunnel past routing (nginx answers 405 too).
   */
  refuseConnect(req: IncomingMessage, socket: Duplex | ServerResponse): void {
    this.countConnectionError('node', 'malformed');
    // HTTP/2 (Node's compatibility API) hands over a response for the stream, HTTP/1 the socket.
    if ('writeHead' in socket) return this.local(req, socket, 405);
    socket.on('error', () => socket.destroy());
    socket.end(rawResponse(405, this.options.serverName));
  }

  /**
   * An HTTP/2 request the request guard refused (http2/request-guard.ts): a malformed one is reset
   * with PROTOCOL_ERROR (RFC 9113 §8.1.1, as nginx does), one whose header list is over the limit
   * gets 431 (as the same head over HTTP/1 does). Nothing reaches a pod.
   */
  refuseHttp2(req: IncomingMessage, res: ServerResponse, refusal: 'malformed' | 'too_large'): void {
    req.on('error', ignore);
    this.countConnectionError('node', 'malformed');
    if (refusal === 'too_large') return this.local(req, res, 431);
    (req as unknown as Http2ServerRequest).stream.close(NGHTTP2_PROTOCOL_ERROR);
  }

  /** `req` (HTTP/1) has its answer: its connection carries nothing more (see local()). */
  answered(req: IncomingMessage): void {
    this.closing.add(req.socket);
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
    const ms = performance.now() - started;
    this.options.metrics?.observe(target, status, ms / 1000);
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

/** What a Node-path exchange adds to the request's trip besides routing. */
interface ExchangeExtras {
  readonly requestId: string;
  /** Gateway API timeouts (GEP-1742). */
  readonly deadlines?: Deadlines | undefined;
  /** Headers the route adds to the response, [name, value, …] (route-policy.ts). */
  readonly responseHeaders?: readonly string[] | undefined;
  /** Strict-Transport-Security for the response (hsts.ts), when the pod sends none. */
  readonly hsts: string | undefined;
  /** Set-Cookie values of a forward-auth service, added to a response below 400. */
  readonly cookies?: readonly string[] | undefined;
}

/** The client hop of a request served by Node's servers (X-Forwarded-*). */
function hopOf(req: IncomingMessage, proto: 'http' | 'https', host: string): ClientHop {
  const peer = peerOf(req);
  return { address: peer.remoteAddress ?? '', proto, port: peer.localPort ?? 0, host };
}

/**
 * The connection's addresses. An HTTP/2 session behind the request guard runs on Node's wrapper for
 * a JavaScript stream (a net.Socket without a handle of its own, so without addresses); the stream
 * it wraps, its `stream`, is the TLS listener's stand-in, which carries the TLS socket's addresses.
 */
export function peerOf(req: IncomingMessage): {
  remoteAddress?: string | undefined;
  localPort?: number | undefined;
} {
  const socket = req.socket as IncomingMessage['socket'] & {
    stream?: { remoteAddress?: string; localPort?: number };
  };
  return socket.remoteAddress === undefined && socket.stream ? socket.stream : socket;
}

const joined = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v.join(', ') : v;

/** A Node-path request as route policies see it (route-policy.ts). */
function requestView(req: IncomingMessage): RequestView {
  return {
    method: req.method ?? 'GET',
    peer: peerOf(req).remoteAddress ?? '',
    header: (name) => joined(req.headers[name]),
  };
}

function accessOf(req: IncomingMessage, requestId?: string, bytes?: number, upstreamMs?: number): AccessInfo {
  return {
    method: req.method,
    host: req.headers.host ?? (req.headers[':authority'] as string | undefined),
    path: req.url,
    client: peerOf(req).remoteAddress,
    forwardedFor: joined(req.headers['x-forwarded-for']),
    requestId,
    protocol: `HTTP/${req.httpVersion}`,
    bytes,
    upstreamMs,
    referer: req.headers.referer,
    userAgent: req.headers['user-agent'],
  };
}

/** Why a client connection or stream was closed by us (the reason label of connection_errors_total). */
export type ConnectionErrorReason =
  'exception' | 'version' | 'malformed' | 'path' | 'timeout' | 'slow_body' | 'upgrade' | 'proxy_protocol';

const ignore = (): void => undefined;

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2Constants;

/** HTTP/2 bodies up to this declared length are read whole before they are forwarded. */
const H2_BUFFERED_BODY = 64 * 1024;

/** uri-host [":" port] (RFC 9110 §7.2): an IP literal or a reg-name, at most one port. Empty is allowed. */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::\d{0,5})?$/;

/** An HTTP/2 stream (Node's compatibility API), as opposed to an HTTP/1 request of any version. */
function isHttp2(req: IncomingMessage): boolean {
  return (req as unknown as Partial<Http2ServerRequest>).stream !== undefined;
}

/** A whole response of our own for a raw socket, closing the connection. */
export function rawResponse(
  status: number,
  serverName: string,
  location?: string,
  extra?: Readonly<Record<string, string>>,
): string {
  const body = `${status} ${STATUS_TEXT[status] ?? ''}\n`;
  let fields = '';
  if (extra !== undefined) for (const name in extra) fields += `${name}: ${extra[name]}\r\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\nserver: ${serverName}\r\n` +
    (location === undefined ? '' : `location: ${location}\r\n`) +
    fields +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** The statuses of our own answers a decision can give. */
export type LocalStatus =
  204 | 300 | 301 | 302 | 303 | 304 | 305 | 306 | 307 | 308 | 400 | 403 | 404 | 413 | 500 | 503;

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

/** A flat [name, value, …] list as an object for Node's writeHead. */
export function headerObject(
  flat: readonly string[] | undefined,
  into: OutgoingHttpHeaders = {},
): OutgoingHttpHeaders {
  if (flat) for (let i = 0; i < flat.length; i += 2) into[flat[i]!] = flat[i + 1]!;
  return into;
}

/**
 * `request`: from the request's arrival to the end of the response; `backendRequest`: one attempt
 * to a pod, from its start to the end of its response. 504 when one expires before the response
 * starts; the response is cut when it expires after.
 */
export interface Deadlines {
  readonly request?: number | undefined;
  readonly backendRequest?: number | undefined;
}

/** Aborts an upstream exchange as a timeout (504, reason "timeout"). */
class DeadlineExpired extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/** How many Host fields a request has (rawHeaders keeps duplicates, headers.host does not). */
function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}

export const STATUS_TEXT: Record<number, string> = {
  204: 'No Content',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  306: 'Switch Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

/**
 * One request's trip to a pod, as an undici dispatch handler. At most one retry, on another
 * endpoint, when the connection failed before the request was sent and there is no body to replay.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private endpoint: RoutedEndpoint | undefined;
  private origin = '';
  private retried = false;
  /** The affinity cookie this response sets (affinity.ts). */
  private setCookie: string | undefined;
  private done = false;
  private clientGone = false;
  /** Runs while the client takes none of the response (see onResponseData). */
  private stall: NodeJS.Timeout | undefined;
  /** Runs for one attempt when the route sets a backendRequest timeout. */
  private attemptTimer: NodeJS.Timeout | undefined;
  /** A deadline expired before the exchange had a controller: aborted as soon as it has one. */
  private expired: DeadlineExpired | undefined;
  private readonly started = performance.now();
  /** Response body bytes written, and the time to the pod's response head (access log). */
  private bytes = 0;
  private headMs: number | undefined;

  constructor(
    private readonly proxy: Proxy,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly url: string,
    private readonly headers: string[],
    private readonly body: BodyLimit | Buffer | null,
    private readonly limit: BodyLimit | undefined,
    private readonly target: Target,
    private readonly backend: Backend,
    private readonly extras: ExchangeExtras,
  ) {
    const deadlines = extras.deadlines ?? {};
    if (deadlines.request) {
      const timer = setTimeout(() => this.expire('request'), deadlines.request);
      res.once('close', () => clearTimeout(timer));
    }
    res.on('close', () => {
      clearTimeout(this.stall);
      clearTimeout(this.attemptTimer);
      // The client went away before we finished (an HTTP/2 stream reset, too): stop the upstream
      // exchange, or cancel it before it is sent if it is still queued for a connection.
      if (this.done) return;
      this.clientGone = true;
      this.controller?.abort(new Error('client closed the connection'));
    });
  }

  start(avoid: RoutedEndpoint | undefined): void {
    const affinity = this.target.affinity;
    let endpoint: RoutedEndpoint | undefined;
    if (affinity === undefined)
      endpoint = this.proxy.balancer.pick(this.backend.key, this.backend.endpoints, avoid);
    else {
      // affinity.ts: the endpoint the client's cookie names, or a new one and a cookie for it.
      const secure = (this.req.socket as { encrypted?: boolean }).encrypted === true;
      const choice = stickyPick(
        this.proxy.balancer,
        this.backend,
        affinity,
        joined(this.req.headers.cookie),
        secure,
        avoid,
      );
      endpoint = choice.endpoint;
      this.setCookie = choice.setCookie;
      if (choice.setCookie !== undefined)
        this.proxy.options.metrics?.affinityCookies.inc({ service: this.backend.key });
    }
    if (!endpoint) return this.fail(502);
    this.endpoint = endpoint;
    this.origin = endpoint.origin;
    const opts = this.proxy.options;
    const target = this.target;
    clearTimeout(this.attemptTimer);
    const backendRequest = this.extras.deadlines?.backendRequest;
    if (backendRequest) this.attemptTimer = setTimeout(() => this.expire('backendRequest'), backendRequest);
    const protocol = this.backend.protocol;
    // proxy-read-timeout (annotations/proxy-limits.ts) bounds both waits, as nginx's does.
    // TLS to the pod may name the request's host (SNI, verification): read only then.
    const host = target.backendProtocol === undefined ? '' : requestHost(this.req);
    // undici reads `servername` at run time, its types do not list it (upstreams.ts, connector()).
    const dispatch: Dispatcher.DispatchOptions & { servername: string } = {
      path: this.url,
      method: this.req.method as Dispatcher.HttpMethod,
      // HTTP/2 allows TE: trailers (RFC 9113 §8.2.2), and gRPC servers want it.
      headers:
        protocol === 'h2c' && wantsTrailers(this.req) ? [...this.headers, 'te', 'trailers'] : this.headers,
      body: this.body,
      servername: UPSTREAM_SERVERNAME,
      headersTimeout: target.readTimeoutMs ?? opts.upstreamHeadersTimeout,
      bodyTimeout: target.readTimeoutMs ?? opts.upstreamBodyTimeout,
    };
    this.proxy.upstreams.get(this.origin, target, host, protocol).dispatch(dispatch, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('client closed the connection'));
    else if (this.expired) controller.abort(this.expired);
  }

  /** A Gateway API timeout expired: the exchange ends as a timeout (504, or a cut response). */
  private expire(which: keyof Deadlines): void {
    if (this.done) return;
    this.expired = new DeadlineExpired(`the ${which} timeout expired`);
    if (this.controller) this.controller.abort(this.expired);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: Node answers Expect itself; nothing to relay.
    this.headMs = performance.now() - this.started;
    this.proxy.balancer.succeeded(this.origin);
    const out = downstreamHeaders(headers, this.proxy.options.serverName);
    if (this.setCookie !== undefined) {
      const had = out['set-cookie'];
      out['set-cookie'] =
        had === undefined ? this.setCookie : [...(Array.isArray(had) ? had : [String(had)]), this.setCookie];
    }
    if (this.extras.responseHeaders) headerObject(this.extras.responseHeaders, out);
    const hsts = this.extras.hsts;
    if (hsts !== undefined && out['strict-transport-security'] === undefined)
      out['strict-transport-security'] = hsts;
    const cookies = this.extras.cookies;
    if (cookies !== undefined && cookies.length > 0 && statusCode < 400) {
      const own = out['set-cookie'];
      out['set-cookie'] = [
        ...(own === undefined ? [] : Array.isArray(own) ? own : [String(own)]),
        ...cookies,
      ];
    }
    // An answer before the request body is in (the pod answered early): the connection closes
    // after it, and a deadline that passes meanwhile only closes it, never adds a second response.
    if (!this.req.complete && !isHttp2(this.req)) {
      out.connection = 'close';
      this.proxy.answered(this.req);
    }
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.res.write(chunk) && !controller.paused) {
      controller.pause();
      // undici's bodyTimeout does not run while an exchange is paused: a client that takes none of
      // the response for that long is timed out here (nginx's send_timeout; the fast path's too),
      // or it would hold the pod connection for as long as it likes.
      this.stall = setTimeout(() => this.sendTimedOut(), this.proxy.options.upstreamBodyTimeout);
      this.res.once('drain', () => {
        clearTimeout(this.stall);
        controller.resume();
      });
    }
  }

  private access(): AccessInfo {
    return accessOf(this.req, this.extras.requestId, this.bytes, this.headMs);
  }

  /** The client took none of the response for upstreamBodyTimeout: both connections are closed. */
  private sendTimedOut(): void {
    if (this.done) return;
    this.done = true;
    this.proxy.countConnectionError('node', 'timeout');
    this.controller?.abort(new Error('the client took none of the response'));
    // HTTP/2: RST_STREAM INTERNAL_ERROR (the response is cut short, the connection goes on).
    const stream = (this.req as unknown as Partial<Http2ServerRequest>).stream;
    if (stream) stream.close(NGHTTP2_INTERNAL_ERROR);
    else this.res.destroy();
    this.proxy.record(this.access(), this.res.statusCode, this.target, this.origin, this.started);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers?: Record<string, unknown>): void {
    this.done = true;
    clearTimeout(this.attemptTimer);
    // Trailers (gRPC's grpc-status) reach an HTTP/2 or chunked HTTP/1.1 client; others drop them.
    if (trailers && Object.keys(trailers).length) this.res.addTrailers(trailers as OutgoingHttpHeaders);
    this.res.end();
    this.proxy.record(this.access(), this.res.statusCode, this.target, this.origin, this.started);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    const code = errorCode(err);
    const metrics = this.proxy.options.metrics;
    // Cut short by the body limit (413) or a pod that stopped reading it (proxy-send-timeout, 504).
    // A pod that already answered (an echo streams back as it reads) leaves only cutting off.
    const cut = this.limit?.tripped ? 413 : this.limit?.podStalled ? 504 : 0;
    if (cut === 504) metrics?.upstreamErrors.inc({ service: this.backend.key, reason: 'timeout' });
    if (cut !== 0) {
      if (!this.res.headersSent) return this.fail(cut, true);
      this.done = true;
      this.res.destroy();
      return this.proxy.record(accessOf(this.req), cut, this.target, this.origin, this.started);
    }
    if (this.limit?.expired) {
      if (!this.res.headersSent) return this.fail(408, true);
      this.done = true;
      this.res.destroy();
      return this.proxy.record(this.access(), 408, this.target, this.origin, this.started);
    }
    // Not req.destroyed: a request whose body was read in full is destroyed too, and its client
    // still waits for an answer (a 504 after a body went up).
    if (this.res.destroyed || this.clientGone) {
      this.done = true;
      this.proxy.record(this.access(), 499, this.target, this.origin, this.started);
      return;
    }
    const connectFailed = isConnectError(code);
    const reset = isResetError(code);
    if (connectFailed || reset) this.proxy.balancer.failed(this.origin);
    metrics?.upstreamErrors.inc({ service: this.backend.key, reason: errorReason(code, 'other') });
    if (this.res.headersSent) {
      this.done = true;
      this.res.destroy(err);
      this.proxy.record(this.access(), this.res.statusCode, this.target, this.origin, this.started);
      return;
    }
    if (
      (connectFailed || reset) &&
      !this.body &&
      isIdempotentRetry(this.req.method) &&
      !this.retried &&
      this.backend.endpoints.length > 1
    ) {
      this.retried = true;
      this.controller = undefined;
      return this.start(this.endpoint);
    }
    this.fail(isTimeoutError(code) ? 504 : 502);
  }

  private fail(status: number, close = false): void {
    this.done = true;
    clearTimeout(this.attemptTimer);
    this.proxy.local(this.req, this.res, status, this.target, undefined, close);
  }
}

/** The host a request names (HTTP/2 :authority, else Host). */
function requestHost(req: IncomingMessage): string {
  return (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? '';
}

function wantsTrailers(req: IncomingMessage): boolean {
  const te = req.headers.te;
  return te !== undefined && /(?:^|,)\s*trailers\s*(?:;|,|$)/i.test(String(te));
}

function parseAbsoluteForm(target: string): { authority: string; path: string } | undefined {
  const m = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(target);
  if (!m) return undefined;
  const rest = m[2] ?? '';
  return { authority: m[1] ?? '', path: rest.startsWith('/') ? rest : `/${rest}` };
}
