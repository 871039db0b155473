/**
 * One request's trip to a pod on the fast path: picks an endpoint, sends the head (and the body as
 * it arrives), relays the response with back-pressure both ways, and reports the outcome. A failure
 * is judged by the one upstream policy (upstream-policy.ts, through the core): retry (at most once,
 * on another endpoint or a fresh connection), ejection, 502 or 504, and the metric's reason.
 */
import type { Socket } from 'node:net';
import { fieldValue } from '../forwarded.js';
import { hasHstsField } from '../hsts.js';
import type { IngressCore } from '../core.js';
import type { Backend, RoutedEndpoint } from '../router.js';
import type { Target } from '../table.js';
import { errorCode, type Verdict } from '../upstream-policy.js';
import type { RequestHead } from './request-head.js';
import { withFields, type ResponseHead } from './response-head.js';
import type { ResponseHandler, UpstreamConnection } from './upstream-connection.js';
import { joined } from './joined.js';

/** Bodies up to this size go out in the same write as the head: one syscall. */
const COALESCE = 16 * 1024;

/** The client connection, as an exchange sees it. */
export interface ClientSide {
  readonly socket: Socket;
  readonly address: string;
  /** Answers with a response of our own (nothing of the pod's response was sent). */
  local(
    status: number,
    method: string,
    close: boolean,
    location?: string,
    extra?: Readonly<Record<string, string>>,
  ): void;
  /**
   * The exchange is over; `close`: the connection must not carry another request. `now`:
   * performance.now() if the caller has just read it.
   */
  exchangeDone(close: boolean, now?: number): void;
}

export class Exchange implements ResponseHandler {
  /**
   * performance.now() after which the exchange has stalled (the listener sweeps): the pod's
   * headers are late, the pod went silent mid-body, or the client stopped taking the response
   * (nginx's send_timeout). Either way both connections are closed.
   */
  deadline = 0;
  private upstream: UpstreamConnection | undefined;
  private endpoint: RoutedEndpoint | undefined;
  private status = 0;
  private pendingHead: string | undefined;
  private closeAfter: boolean;
  private retried = false;
  /** The affinity cookie this response sets (affinity.ts). */
  private setCookie: string | undefined;
  private over = false;
  /** Response body bytes relayed, and when the pod's head arrived (access log). */
  private bytes = 0;
  private headAt = 0;
  /** resumeUpstream as a listener: made the first time the client pushes back, not per request. */
  private onClientDrain: (() => void) | undefined;
  /** proxy-read-timeout of the route (annotations/proxy-limits.ts), else the headers timeout. */
  private readonly readTimeout: number;
  /** Between two response reads: the route's proxy-read-timeout, else the body timeout. */
  private readonly bodyTimeout: number;

  constructor(
    private readonly proxy: IngressCore,
    private readonly client: ClientSide,
    private readonly request: RequestHead,
    /** The head for the pod, blank line included. */
    private readonly upstreamHead: string,
    private readonly target: Target,
    private readonly backend: Backend,
    /** The client came over TLS (an affinity cookie is then Secure). */
    private readonly secure: boolean,
    /** Fields the route adds to the response, [name, value, …] (route-policy.ts). */
    private readonly responseFields: readonly string[] | undefined,
    /** The X-Request-ID the pod was sent (logged). */
    private readonly requestId: string,
    /** Strict-Transport-Security for the response when the pod sends none (hsts.ts). */
    private readonly hsts: string | undefined,
    /** A place held in a connection limit, given back when the exchange ends (admission.ts). */
    private readonly release: (() => void) | undefined,
    /** performance.now() when the request's head was read. */
    private readonly started: number = performance.now(),
  ) {
    this.closeAfter = request.close;
    const options = proxy.options;
    this.readTimeout = target.readTimeoutMs ?? options.upstreamHeadersTimeout;
    this.bodyTimeout = target.readTimeoutMs ?? options.upstreamBodyTimeout;
  }

  /** Sends the request; `body` holds the body bytes that arrived with the head. */
  start(body: Buffer | undefined, avoid?: RoutedEndpoint): void {
    const affinity = this.target.affinity;
    let endpoint: RoutedEndpoint | undefined;
    if (affinity === undefined)
      endpoint = this.proxy.balancer.pick(this.backend.key, this.backend.endpoints, avoid);
    else {
      // affinity.ts: the endpoint the client's cookie names, or a new one and a cookie for it.
      const cookie = fieldValue(this.request.fields, 'cookie');
      const choice = this.proxy.stickyPick(this.backend, affinity, cookie, this.secure, avoid);
      endpoint = choice.endpoint;
      this.setCookie = choice.setCookie;
    }
    if (!endpoint) {
      this.failLocally(502);
      return;
    }
    this.endpoint = endpoint;
    const upstream = this.proxy.pool.acquire(endpoint, this.target.connectTimeoutMs);
    this.upstream = upstream;
    // The first attempt starts microseconds after the head was read (`started`); a retry later.
    this.deadline = (this.retried ? performance.now() : this.started) + this.readTimeout;
    upstream.send(
      this,
      this.request.method,
      this.upstreamHead,
      Math.max(this.request.contentLength, 0),
      body,
    );
  }

  /** More request body from the client; false when the client should pause until `drain`. */
  sendBody(chunk: Buffer): boolean {
    const upstream = this.upstream;
    if (!upstream || this.over) return true;
    if (upstream.write(chunk)) return true;
    // The pod is not reading: proxy-send-timeout runs until it does (nginx's proxy_send_timeout).
    const send = this.target.sendTimeoutMs ?? this.proxy.options.upstreamHeadersTimeout;
    if (this.status === 0) this.deadline = performance.now() + send;
    // A closure only here, when the pod pushes back: none per request.
    upstream.socket.once('drain', () => this.podDrained());
    return false;
  }

  /** The pod took the body bytes it had stalled on: back to waiting for its answer. */
  private podDrained(): void {
    if (this.status === 0 && !this.over) this.deadline = performance.now() + this.readTimeout;
    this.client.socket.resume();
  }

  onHead(head: ResponseHead, now: number): void {
    this.status = head.status;
    this.headAt = now;
    this.proxy.balancer.succeeded(this.endpoint!.origin);
    this.deadline = now + this.bodyTimeout;
    let text = this.responseFields ? withFields(head.forClient, this.responseFields) : head.forClient;
    if (this.setCookie !== undefined) text += `set-cookie: ${this.setCookie}\r\n`;
    if (this.hsts !== undefined && !hasHstsField(text)) text += `strict-transport-security: ${this.hsts}\r\n`;
    if (head.framing === 'close' || this.closeAfter) {
      this.closeAfter = true;
      text += 'connection: close\r\n';
    }
    this.pendingHead = text + '\r\n';
  }

  onBody(chunk: Buffer, now: number): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    this.deadline = now + this.bodyTimeout;
    const socket = this.client.socket;
    let ok: boolean;
    const head = this.pendingHead;
    // The chunk is the pod connection's shared read buffer: what we write is always a copy.
    if (head === undefined) ok = socket.write(Buffer.from(chunk));
    else {
      this.pendingHead = undefined;
      if (chunk.length <= COALESCE) ok = socket.write(joined(head, chunk));
      else {
        socket.cork();
        socket.write(head, 'latin1');
        ok = socket.write(Buffer.from(chunk));
        socket.uncork();
      }
    }
    if (!ok && this.upstream && !this.upstream.socket.isPaused()) {
      // Back-pressure: stop reading the pod until the client has taken what we gave it.
      this.upstream.socket.pause();
      socket.once('drain', (this.onClientDrain ??= () => this.resumeUpstream()));
    }
  }

  /** The client took what we wrote: read the pod again (the same timeout applies to both waits). */
  private resumeUpstream(): void {
    // Over: the pod connection went back to its pool reading, and may be paused by another
    // exchange now, for its own client.
    if (this.over) return;
    this.deadline = performance.now() + this.proxy.options.upstreamBodyTimeout;
    this.upstream?.socket.resume();
  }

  onEnd(now: number): void {
    if (this.pendingHead !== undefined) this.client.socket.write(this.pendingHead, 'latin1');
    this.pendingHead = undefined;
    this.finish(this.status, this.closeAfter, true, now);
  }

  onError(err: Error, responded: boolean): void {
    if (this.over) return;
    const verdict = this.judged(errorCode(err), responded);
    if (responded && this.status !== 0) {
      // Part of the response is on its way: all we can do is cut the client off.
      this.client.socket.destroy();
      return this.finish(this.status, true);
    }
    if (verdict.retry !== 'none') {
      this.retried = true;
      this.start(undefined, verdict.retry === 'another-endpoint' ? this.endpoint : undefined);
      return;
    }
    this.failLocally(verdict.status);
  }

  /** The pod did not answer in time (headers) or went silent (body). */
  timedOut(): void {
    if (this.over) return;
    // A connect timeout fires as an error (upstream-connection.ts): this is a read timeout.
    const verdict = this.judged('UND_ERR_HEADERS_TIMEOUT', this.status !== 0);
    this.upstream?.abandon();
    if (this.status !== 0) {
      this.client.socket.destroy();
      return this.finish(this.status, true);
    }
    this.failLocally(verdict.status);
  }

  /** The one upstream policy's verdict on this attempt, ejection and metrics applied by the core. */
  private judged(code: string, responded: boolean): Verdict {
    const upstream = this.upstream;
    return this.proxy.upstreamFailed(
      this.backend,
      this.endpoint!.origin,
      { code, responded, reused: upstream !== undefined && upstream.served > 0 },
      {
        method: this.request.method,
        hasBody: this.request.contentLength > 0,
        retried: this.retried,
        endpoints: this.backend.endpoints.length,
      },
    );
  }

  /** The client went away: stop the pod's side too (the connection cannot be reused). */
  abort(): void {
    if (this.over) return;
    this.upstream?.abandon();
    this.finish(499, true, false);
  }

  private failLocally(status: number): void {
    this.over = true;
    this.upstream?.abandon();
    // A body we may not have read in full: the connection cannot carry another request.
    const close = this.closeAfter || this.request.contentLength > 0;
    this.client.local(status, this.request.method, close, undefined, { 'x-request-id': this.requestId });
    this.record(status);
    this.client.exchangeDone(close);
  }

  /** `now`: performance.now(), read by the caller when it had a reason to. */
  private finish(status: number, close = false, tellClient = true, now = performance.now()): void {
    if (this.over) return;
    this.over = true;
    this.record(status, now);
    if (tellClient) this.client.exchangeDone(close, now);
  }

  private record(status: number, now = performance.now()): void {
    this.release?.();
    // Without an access log, only the metrics: no AccessInfo is built.
    if (!this.proxy.logging) return void this.proxy.count(status, this.target, this.started, now);
    const r = this.request;
    this.proxy.record(
      {
        method: r.method,
        host: r.host,
        path: r.target,
        client: this.client.address,
        forwardedFor: this.proxy.trusted.empty ? undefined : fieldValue(r.fields, 'x-forwarded-for'),
        requestId: this.requestId,
        bytes: this.bytes,
        upstreamMs: this.headAt === 0 ? undefined : this.headAt - this.started,
        referer: this.proxy.logsAgents ? fieldValue(r.fields, 'referer') : undefined,
        userAgent: this.proxy.logsAgents ? fieldValue(r.fields, 'user-agent') : undefined,
      },
      status,
      this.target,
      this.endpoint?.origin,
      this.started,
    );
  }
}
