/**
 * One request's trip to a pod on the Node data plane (node-data-plane.ts), as an undici dispatch
 * handler: the request goes out on the endpoint's pool (upstreams.ts), the response streams back
 * with back-pressure both ways. A failure is judged by the one upstream policy (upstream-policy.ts).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants as http2Constants, type Http2ServerRequest } from 'node:http2';
import type { Dispatcher } from 'undici';
import type { AccessInfo, Deadlines, IngressCore } from './core.js';
import { downstreamHeaders } from './headers.js';
import type { BodyLimit } from './limits.js';
import type { NodeDataPlane } from './node-data-plane.js';
import { accessOf, headerObject, isHttp2, pickEndpoint } from './node-request.js';
import type { Backend, RoutedEndpoint } from './router.js';
import type { Target } from './table.js';
import { errorCode } from './upstream-policy.js';
import { ResponsePace } from './response-rate.js';
import { UPSTREAM_SERVERNAME } from './upstreams.js';

const { NGHTTP2_INTERNAL_ERROR } = http2Constants;

/**
 * Whether undici's connection had carried an earlier exchange when it failed, asked only when the
 * pod sent nothing for this attempt: then any byte the connection read (undici's SocketError
 * carries the socket's counters) was an earlier response. A reset (ECONNRESET) carries no
 * counters and counts as a fresh connection's.
 */
function reusedConnection(err: Error): boolean {
  const socket = (err as { socket?: { bytesRead?: number } }).socket;
  return (socket?.bytesRead ?? 0) > 0;
}

export interface ExchangeExtras {
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

/** Aborts an upstream exchange as a timeout (504, reason "timeout"). */
class DeadlineExpired extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/**
 * One request's trip to a pod, as an undici dispatch handler. A failed attempt is judged by the
 * one upstream policy (upstream-policy.ts): at most one retry, on another endpoint or a fresh
 * connection, only for an idempotent request without a body that got no response yet.
 */
export class NodeExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private endpoint: RoutedEndpoint | undefined;
  private origin = '';
  private retried = false;
  /** The pod began a response to this attempt (its first byte; a 1xx counts). */
  private podAnswered = false;
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
  /** limit-rate of the route (response-rate.ts), and the wait it imposes. */
  private readonly pace: ResponsePace | undefined;
  private paceTimer: NodeJS.Timeout | undefined;
  /** Body bytes the pace holds back, the end of the response behind them, a wait for 'drain'. */
  private held: Buffer | undefined;
  private heldEnd: (() => void) | undefined;
  private draining = false;

  constructor(
    private readonly core: IngressCore,
    private readonly plane: NodeDataPlane,
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
    this.pace = target.responseRate === undefined ? undefined : new ResponsePace(target.responseRate);
    const deadlines = extras.deadlines ?? {};
    if (deadlines.request) {
      const timer = setTimeout(() => this.expire('request'), deadlines.request);
      res.once('close', () => clearTimeout(timer));
    }
    res.on('close', () => {
      clearTimeout(this.stall);
      clearTimeout(this.paceTimer);
      clearTimeout(this.attemptTimer);
      // The client went away before we finished (an HTTP/2 stream reset, too): stop the upstream
      // exchange, or cancel it before it is sent if it is still queued for a connection.
      if (this.done) return;
      this.clientGone = true;
      this.controller?.abort(new Error('client closed the connection'));
    });
  }

  start(avoid: RoutedEndpoint | undefined): void {
    const choice = pickEndpoint(this.core, this.backend, this.target.affinity, this.req, avoid);
    const endpoint = choice.endpoint;
    this.setCookie = choice.setCookie;
    if (!endpoint) return this.fail(502);
    this.endpoint = endpoint;
    this.origin = endpoint.origin;
    const opts = this.core.options;
    const target = this.target;
    clearTimeout(this.attemptTimer);
    const backendRequest = this.extras.deadlines?.backendRequest;
    if (backendRequest) this.attemptTimer = setTimeout(() => this.expire('backendRequest'), backendRequest);
    // proxy-read-timeout (annotations/proxy-limits.ts) bounds both waits, as nginx's does.
    // TLS to the pod may name the request's host (SNI, verification): read only then.
    const host = target.backendProtocol === undefined ? '' : requestHost(this.req);
    // undici reads `servername` at run time, its types do not list it (upstreams.ts, connector()).
    const dispatch: Dispatcher.DispatchOptions & { servername: string } = {
      path: this.url,
      method: this.req.method as Dispatcher.HttpMethod,
      headers: this.headers,
      body: this.body,
      servername: UPSTREAM_SERVERNAME,
      headersTimeout: target.readTimeoutMs ?? opts.upstreamHeadersTimeout,
      bodyTimeout: target.readTimeoutMs ?? opts.upstreamBodyTimeout,
    };
    this.core.upstreams.get(this.origin, target, host).dispatch(dispatch, this);
  }

  /** undici: the first byte of the pod's response to this attempt was parsed. */
  onResponseStarted(): void {
    this.podAnswered = true;
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
    this.core.balancer.succeeded(this.origin);
    const out = downstreamHeaders(headers, this.core.options.serverName);
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
      this.plane.answered(this.req);
    }
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.pace !== undefined) return this.pacedData(controller, chunk, this.pace);
    this.bytes += chunk.length;
    if (!this.res.write(chunk) && !controller.paused) {
      controller.pause();
      // undici's bodyTimeout does not run while an exchange is paused: a client that takes none of
      // the response for that long is timed out here (nginx's send_timeout; the fast path's too),
      // or it would hold the pod connection for as long as it likes.
      this.stall = setTimeout(() => this.sendTimedOut(), this.core.options.upstreamBodyTimeout);
      this.res.once('drain', () => {
        clearTimeout(this.stall);
        controller.resume();
      });
    }
  }

  /**
   * limit-rate (response-rate.ts): the chunk joins what is held, and what the pace leaves room for
   * is written; the pod is not read while anything is held or the client has not taken it all.
   */
  private pacedData(controller: Dispatcher.DispatchController, chunk: Buffer, pace: ResponsePace): void {
    this.bytes += chunk.length;
    this.held = this.held === undefined ? chunk : Buffer.concat([this.held, chunk]);
    if (this.paceTimer === undefined && !this.draining) this.flush(controller, pace);
  }

  private flush(controller: Dispatcher.DispatchController, pace: ResponsePace): void {
    this.paceTimer = undefined;
    this.draining = false;
    let held = this.held;
    while (held !== undefined) {
      const room = pace.room();
      if (room <= 0) {
        if (!controller.paused) controller.pause();
        this.paceTimer = setTimeout(() => this.flush(controller, pace), pace.waitFor(held.length));
        return;
      }
      const part = room >= held.length ? held : held.subarray(0, room);
      held = this.held = part === held ? undefined : held.subarray(room);
      pace.wrote(part.length);
      if (!this.res.write(part)) {
        if (!controller.paused) controller.pause();
        this.draining = true;
        this.stall = setTimeout(() => this.sendTimedOut(), this.core.options.upstreamBodyTimeout);
        this.res.once('drain', () => {
          clearTimeout(this.stall);
          this.flush(controller, pace);
        });
        return;
      }
    }
    const end = this.heldEnd;
    this.heldEnd = undefined;
    if (end !== undefined) return end();
    if (controller.paused) controller.resume();
  }

  private access(): AccessInfo {
    return accessOf(this.req, this.extras.requestId, this.bytes, this.headMs);
  }

  /** The client took none of the response for upstreamBodyTimeout: both connections are closed. */
  private sendTimedOut(): void {
    if (this.done) return;
    this.done = true;
    this.core.countConnectionError('node', 'timeout');
    this.controller?.abort(new Error('the client took none of the response'));
    // HTTP/2: RST_STREAM INTERNAL_ERROR (the response is cut short, the connection goes on).
    const stream = (this.req as unknown as Partial<Http2ServerRequest>).stream;
    if (stream) stream.close(NGHTTP2_INTERNAL_ERROR);
    else this.res.destroy();
    this.core.record(this.access(), this.res.statusCode, this.target, this.origin, this.started);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers?: Record<string, unknown>): void {
    // limit-rate: the end waits for the body the pace still holds.
    if (this.held !== undefined || this.draining) {
      this.heldEnd = () => this.onResponseEnd(controller, trailers);
      return;
    }
    this.done = true;
    clearTimeout(this.attemptTimer);
    // Trailers (gRPC's grpc-status) reach an HTTP/2 or chunked HTTP/1.1 client; others drop them.
    if (trailers && Object.keys(trailers).length) this.res.addTrailers(trailers as OutgoingHttpHeaders);
    this.res.end();
    this.core.record(this.access(), this.res.statusCode, this.target, this.origin, this.started);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    const code = errorCode(err);
    const metrics = this.core.options.metrics;
    // Cut short by the body limit (413) or a pod that stopped reading it (proxy-send-timeout, 504).
    // A pod that already answered (an echo streams back as it reads) leaves only cutting off.
    const cut = this.limit?.tripped ? 413 : this.limit?.podStalled ? 504 : 0;
    if (cut === 504) metrics?.upstreamErrors.inc({ service: this.backend.key, reason: 'timeout' });
    if (cut !== 0) {
      if (!this.res.headersSent) return this.fail(cut, true);
      this.done = true;
      this.res.destroy();
      return this.core.record(this.access(), cut, this.target, this.origin, this.started);
    }
    if (this.limit?.expired) {
      if (!this.res.headersSent) return this.fail(408, true);
      this.done = true;
      this.res.destroy();
      return this.core.record(this.access(), 408, this.target, this.origin, this.started);
    }
    // Not req.destroyed: a request whose body was read in full is destroyed too, and its client
    // still waits for an answer (a 504 after a body went up).
    if (this.res.destroyed || this.clientGone) {
      this.done = true;
      this.core.record(this.access(), 499, this.target, this.origin, this.started);
      return;
    }
    const verdict = this.core.upstreamFailed(
      this.backend,
      this.origin,
      {
        code,
        responded: this.res.headersSent || this.podAnswered,
        reused: !this.podAnswered && reusedConnection(err),
      },
      {
        method: this.req.method,
        hasBody: this.body !== null,
        retried: this.retried,
        endpoints: this.backend.endpoints.length,
      },
    );
    if (this.res.headersSent) {
      this.done = true;
      this.res.destroy(err);
      this.core.record(this.access(), this.res.statusCode, this.target, this.origin, this.started);
      return;
    }
    if (verdict.retry !== 'none') {
      this.retried = true;
      this.controller = undefined;
      return this.start(verdict.retry === 'another-endpoint' ? this.endpoint : undefined);
    }
    this.fail(verdict.status);
  }

  private fail(status: number, close = false): void {
    this.done = true;
    clearTimeout(this.attemptTimer);
    this.plane.local(this.req, this.res, status, this.target, undefined, close, this.extras.requestId);
  }
}

/** The host a request names (HTTP/2 :authority, else Host). */
function requestHost(req: IncomingMessage): string {
  return (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? '';
}
