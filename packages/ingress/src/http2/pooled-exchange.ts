/**
 * An HTTP/2 client's request without a body (GET, HEAD) sent to an HTTP/1.1 pod over keep-alive
 * connections of the fast path's kind (http1/upstream-pool.ts; a pool of their own, the core's
 * `http2Pool`) instead of undici: the head is written as
 * one string, the pod's response head is parsed by the fast path's strict parser and becomes the
 * stream's response, its body (its chunked framing taken off, chunked-body.ts) the DATA frames.
 * undici's dispatch, its header objects and request validation were most of what an HTTP/2
 * request cost us besides Node's HTTP/2 layer (docs/benchmarks.md, session 8). The response is
 * written on the stream itself, not through the compatibility API's response: that one asks for
 * trailers on every stream and, having none, ends each with an empty DATA frame of its own.
 *
 * Node-data-plane.ts sends here only what this serves as node-exchange.ts would: no request body,
 * a plain-HTTP pod, no limit-rate, no Gateway API timeouts. Everything else (retries, ejection and
 * the error statuses of the one upstream policy, affinity, response fields of the route, HSTS,
 * forward-auth cookies, back-pressure, the send timeout, the access log) is the same.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  constants as http2Constants,
  type Http2ServerRequest,
  type OutgoingHttpHeaders as Http2Headers,
  type ServerHttp2Stream,
} from 'node:http2';
import type { IngressCore } from '../core.js';
import { isHopByHop } from '../headers.js';
import type { NodeDataPlane } from '../node-data-plane.js';
import type { ExchangeExtras } from '../node-exchange.js';
import { accessOf, headerObject, pickEndpoint } from '../node-request.js';
import type { Backend, RoutedEndpoint } from '../router.js';
import type { Target } from '../table.js';
import { BAD_RESPONSE, errorCode } from '../upstream-policy.js';
import type { ResponseHead } from '../http1/response-head.js';
import type { ResponseHandler, UpstreamConnection } from '../http1/upstream-connection.js';
import { ChunkedBody } from './chunked-body.js';

const { NGHTTP2_INTERNAL_ERROR } = http2Constants;

/** A request target the HTTP/1.1 request line can carry as it is (undici's own check). */
const PLAIN_TARGET = /^[\x21-\xff]+$/;

/** Whether a request `forward()` is about to send can go this way (see the header comment). */
export function poolServes(
  method: string | undefined,
  url: string,
  target: Target,
  extras: ExchangeExtras,
): boolean {
  return (
    (method === 'GET' || method === 'HEAD') &&
    target.backendProtocol === undefined &&
    target.responseRate === undefined &&
    extras.deadlines === undefined &&
    PLAIN_TARGET.test(url)
  );
}

export class PooledExchange implements ResponseHandler {
  private upstream: UpstreamConnection | undefined;
  private endpoint: RoutedEndpoint | undefined;
  private origin = '';
  private retried = false;
  private done = false;
  /** The pod's status, once its head arrived. */
  private status = 0;
  /** The affinity cookie this response sets (affinity.ts). */
  private setCookie: string | undefined;
  private chunked: ChunkedBody | undefined;
  /** The pod's headers timeout, then its body timeout between reads. */
  private timer: NodeJS.Timeout | undefined;
  /** Runs while the client takes none of the response (see onBody). */
  private stall: NodeJS.Timeout | undefined;
  private readonly started = performance.now();
  private bytes = 0;
  private headMs: number | undefined;
  private readonly readTimeout: number;
  private readonly bodyTimeout: number;
  private readonly write = (data: Buffer): void => this.relay(data);
  private readonly stream: ServerHttp2Stream;

  constructor(
    private readonly core: IngressCore,
    private readonly plane: NodeDataPlane,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    /** The request head for the pod, blank line included. */
    private readonly head: string,
    private readonly target: Target,
    private readonly backend: Backend,
    private readonly extras: ExchangeExtras,
  ) {
    this.stream = (req as unknown as Http2ServerRequest).stream;
    this.readTimeout = target.readTimeoutMs ?? core.options.upstreamHeadersTimeout;
    this.bodyTimeout = target.readTimeoutMs ?? core.options.upstreamBodyTimeout;
    this.stream.once('close', () => {
      clearTimeout(this.timer);
      clearTimeout(this.stall);
      if (this.done) return;
      // The client reset the stream or left: the pod connection cannot finish this exchange.
      this.done = true;
      this.upstream?.abandon();
      this.record(499);
    });
  }

  start(avoid?: RoutedEndpoint): void {
    const choice = pickEndpoint(this.core, this.backend, this.target.affinity, this.req, avoid);
    const endpoint = choice.endpoint;
    this.setCookie = choice.setCookie;
    if (!endpoint) return this.fail(502);
    this.endpoint = endpoint;
    this.origin = endpoint.origin;
    const upstream = this.core.http2Pool.acquire(endpoint, this.target.connectTimeoutMs);
    this.upstream = upstream;
    this.arm(this.readTimeout);
    upstream.send(this, this.req.method ?? 'GET', this.head, 0);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.timedOut(), ms);
  }

  onHead(head: ResponseHead): void {
    if (this.done) return;
    this.status = head.status;
    this.headMs = performance.now() - this.started;
    this.core.balancer.succeeded(this.origin);
    this.arm(this.bodyTimeout);
    const out = responseFields(head.forClient) as Http2Headers;
    out[':status'] = head.status;
    if (this.setCookie !== undefined) appendCookies(out, [this.setCookie]);
    if (this.extras.responseHeaders) headerObject(this.extras.responseHeaders, out);
    const hsts = this.extras.hsts;
    if (hsts !== undefined && out['strict-transport-security'] === undefined)
      out['strict-transport-security'] = hsts;
    const cookies = this.extras.cookies;
    if (cookies !== undefined && cookies.length > 0 && head.status < 400) appendCookies(out, cookies);
    const chunked = head.framing === 'chunked';
    if (chunked) {
      this.chunked = new ChunkedBody();
      // The compatibility API's response listens for the stream's trailers too, to send its own
      // (none): only this exchange's may answer.
      this.stream.removeAllListeners('wantTrailers');
    }
    try {
      // Only a chunked body can end in trailer fields: only then are they waited for.
      this.stream.respond(out, { endStream: head.framing === 'none', waitForTrailers: chunked });
    } catch (err) {
      // A field Node's HTTP/2 layer will not send (a value HTTP/1.1 allows, HTTP/2 does not).
      this.onError(Object.assign(err as Error, { code: BAD_RESPONSE }), true);
    }
  }

  onBody(chunk: Buffer): void {
    if (this.done) return;
    this.timer?.refresh();
    if (this.chunked) this.chunked.decode(chunk, 0, this.write);
    else this.relay(chunk);
  }

  /** Body bytes for the client; `data` is the pod connection's shared read buffer, so copied. */
  private relay(data: Buffer): void {
    if (data.length === 0) return;
    this.bytes += data.length;
    const upstream = this.upstream;
    if (this.stream.write(Buffer.from(data)) || !upstream || upstream.socket.isPaused()) return;
    // Back-pressure: the pod is not read until the client took what it has. A client that takes
    // none of it for the body timeout is cut off (nginx's send_timeout), as node-exchange.ts does.
    upstream.socket.pause();
    clearTimeout(this.timer);
    this.stall = setTimeout(() => this.sendTimedOut(), this.core.options.upstreamBodyTimeout);
    this.stream.once('drain', () => {
      clearTimeout(this.stall);
      if (this.done) return;
      this.arm(this.bodyTimeout);
      upstream.socket.resume();
    });
  }

  onEnd(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    const chunked = this.chunked;
    if (chunked !== undefined)
      this.stream.once('wantTrailers', () => {
        const fields: Http2Headers = {};
        for (const [name, value] of chunked.trailers)
          if (!isHopByHop(name) && name !== 'content-length') fields[name] = value;
        // None (most chunked bodies): Node ends the stream with an empty DATA frame.
        try {
          this.stream.sendTrailers(fields);
        } catch {
          // A trailer field HTTP/2 does not take: the body is whole, the stream ends without them.
          this.stream.sendTrailers({});
        }
      });
    // 'none' (HEAD, 204, 304): the stream ended with its HEADERS frame.
    if (!this.stream.writableEnded) this.stream.end();
    this.record(this.status);
  }

  onError(err: Error, responded: boolean): void {
    if (this.done) return;
    clearTimeout(this.timer);
    // Whatever the pod connection still delivers is not for this exchange any more (a retry, a
    // 504 after a timeout): it is closed, never reused.
    this.upstream?.abandon();
    const verdict = this.core.upstreamFailed(
      this.backend,
      this.origin,
      {
        code: errorCode(err),
        responded: responded || this.stream.headersSent,
        reused: (this.upstream?.served ?? 0) > 0,
      },
      {
        method: this.req.method,
        hasBody: false,
        retried: this.retried,
        endpoints: this.backend.endpoints.length,
      },
    );
    if (this.stream.headersSent) return this.cut(this.status);
    if (verdict.retry !== 'none') {
      this.retried = true;
      return this.start(verdict.retry === 'another-endpoint' ? this.endpoint : undefined);
    }
    this.fail(verdict.status);
  }

  /** The pod sent no head, or went silent in the body, for its timeout. */
  private timedOut(): void {
    if (this.done) return;
    this.onError(Object.assign(new Error('upstream timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), false);
  }

  /** The client took none of the response for the body timeout: the stream is reset. */
  private sendTimedOut(): void {
    if (this.done) return;
    this.core.countConnectionError('node', 'timeout');
    this.cut(this.status);
  }

  /** Part of the response went out: all that is left is resetting the stream. */
  private cut(status: number): void {
    this.done = true;
    clearTimeout(this.timer);
    this.upstream?.abandon();
    this.stream.close(NGHTTP2_INTERNAL_ERROR);
    this.record(status);
  }

  private fail(status: number): void {
    this.done = true;
    clearTimeout(this.timer);
    this.plane.local(this.req, this.res, status, this.target, undefined, false, this.extras.requestId);
  }

  private record(status: number): void {
    if (!this.core.logging) return void this.core.count(status, this.target, this.started);
    this.core.record(
      accessOf(this.req, this.extras.requestId, this.bytes, this.headMs),
      status,
      this.target,
      this.origin || undefined,
      this.started,
    );
  }
}

/**
 * The response fields of a head the fast path's parser rewrote for the client (status line first,
 * hop-by-hop fields gone) as Node's writeHead takes them: lower-case names, repeated ones as a list.
 * Transfer-Encoding, which the parser keeps for an HTTP/1.1 client, has no place in HTTP/2.
 */
function responseFields(forClient: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  let at = forClient.indexOf('\r\n') + 2;
  while (at < forClient.length) {
    let end = forClient.indexOf('\r\n', at);
    if (end < 0) end = forClient.length;
    const colon = forClient.indexOf(':', at);
    const name = forClient.slice(at, colon).toLowerCase();
    const value = forClient.slice(colon + 1, end).trim();
    at = end + 2;
    if (name === 'transfer-encoding') continue;
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = [String(had), value];
  }
  return out;
}

function appendCookies(out: OutgoingHttpHeaders, cookies: readonly string[]): void {
  const had = out['set-cookie'];
  out['set-cookie'] = [...(had === undefined ? [] : Array.isArray(had) ? had : [String(had)]), ...cookies];
}
