/**
 * One request's trip to a pod over HTTP/2 (backend-protocol GRPC or GRPCS) on the Node path: the
 * request goes out as a stream on the endpoint's pooled session (upstream-h2.ts), the response
 * comes back with back-pressure, trailers included (gRPC's grpc-status and grpc-message travel in
 * them), to an HTTP/2 client as trailers and to an HTTP/1.1 one as chunked trailers.
 *
 * Failures are judged by the one upstream policy (upstream-policy.ts), as on HTTP/1: 502 when the
 * pod cannot be reached or resets the stream before answering, 504 on a connect or read timeout,
 * the connection (or the client's stream) cut when the pod fails mid-response; counted in
 * upstream_errors_total and fed to the balancer's ejection; a bodiless GET, HEAD or OPTIONS is
 * retried once on another endpoint when the policy says so (a gRPC call, a POST, never is).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants as h2, type ClientHttp2Stream, type Http2ServerRequest } from 'node:http2';
import { downstreamHeaders } from './headers.js';
import type { ExchangeExtras } from './node-exchange.js';
import { headerObject, pickEndpoint } from './node-request.js';
import type { BodyLimit } from './limits.js';
import type { IngressCore } from './core.js';
import type { NodeDataPlane } from './node-data-plane.js';
import type { Backend, RoutedEndpoint } from './router.js';
import type { Target } from './table.js';
import { tlsOptions } from './upstreams.js';
import { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } from './upstream-h2.js';
import { errorCode } from './upstream-policy.js';

const { NGHTTP2_FLAG_END_STREAM } = h2;

export class H2Exchange {
  private stream: ClientHttp2Stream | undefined;
  private endpoint: RoutedEndpoint | undefined;
  private trailers: IncomingHttpHeaders | undefined;
  private error: Error | undefined;
  private retried = false;
  private timedOut = false;
  /** Runs for the attempt when the route sets a backendRequest timeout. */
  private attemptTimer: NodeJS.Timeout | undefined;
  private done = false;
  private readonly started = performance.now();
  /** The affinity cookie this response sets (affinity.ts). */
  private setCookie: string | undefined;

  constructor(
    private readonly core: IngressCore,
    private readonly plane: NodeDataPlane,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly url: string,
    /** The upstream fields (headers.ts upstreamHeaders): flat name, value, … */
    private readonly fields: readonly string[],
    private readonly body: BodyLimit | null,
    private readonly target: Target,
    private readonly backend: Backend,
    private readonly host: string,
    private readonly extras: ExchangeExtras,
  ) {
    const deadline = extras.deadlines?.request;
    const timer = deadline ? setTimeout(() => this.expire(), deadline) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      clearTimeout(this.attemptTimer);
      if (!this.done) this.stream?.close(NGHTTP2_CANCEL);
    });
  }

  /** A Gateway API timeout (GEP-1742) expired: a timeout, 504 or a cut response. */
  private expire(): void {
    if (this.done) return;
    this.timedOut = true;
    this.stream?.close(NGHTTP2_CANCEL);
  }

  /** Sends the request on a stream; `avoid`: the endpoint a retry must not pick again. */
  start(avoid?: RoutedEndpoint): void {
    const core = this.core;
    const choice = pickEndpoint(core, this.backend, this.target.affinity, this.req, avoid);
    const endpoint = choice.endpoint;
    this.setCookie = choice.setCookie;
    if (!endpoint) return this.fail(502);
    this.endpoint = endpoint;
    const backendRequest = this.extras.deadlines?.backendRequest;
    if (backendRequest) this.attemptTimer = setTimeout(() => this.expire(), backendRequest);
    const secure = this.target.backendProtocol === 'GRPCS';
    const headers: OutgoingHttpHeaders = {
      ':method': this.req.method ?? 'GET',
      ':path': this.url,
      ':scheme': secure ? 'https' : 'http',
      ':authority': this.host,
    };
    for (let i = 0; i < this.fields.length; i += 2) {
      const name = this.fields[i]!.toLowerCase();
      if (name === 'host') continue; // :authority carries it
      const value = this.fields[i + 1]!;
      const had = headers[name];
      headers[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [String(had), value];
    }
    // TE is hop-by-hop, but `te: trailers` is how a gRPC client says it takes trailers: passed on.
    if (/(?:^|,)\s*trailers\s*(?:,|$)/i.test(String(this.req.headers.te ?? ''))) headers.te = 'trailers';
    const ssl = this.target.proxySsl ?? {};
    const stream = core.h2.request(endpoint.origin, headers, {
      tls: secure ? tlsOptions(ssl, this.host) : undefined,
      tlsKey: secure
        ? JSON.stringify([ssl.verify, ssl.name, ssl.serverName, ssl.secret, this.host])
        : undefined,
      connectTimeout: this.target.connectTimeoutMs ?? core.options.upstream.connectTimeout,
      endStream: this.body === null,
    });
    this.stream = stream;
    stream.setTimeout(this.target.readTimeoutMs ?? core.options.upstreamHeadersTimeout, () => {
      this.timedOut = true;
      stream.close(NGHTTP2_CANCEL);
    });
    stream.on('response', (h, flags) => this.onResponse(h, (flags & NGHTTP2_FLAG_END_STREAM) !== 0));
    stream.on('data', (chunk: Buffer) => {
      if (!this.res.write(chunk)) {
        stream.pause();
        this.res.once('drain', () => stream.resume());
      }
    });
    stream.on('trailers', (t) => (this.trailers = t));
    stream.on('end', () => this.onEnd());
    stream.on('error', (err) => (this.error = err));
    stream.on('close', () => this.onClose());
    if (this.body) {
      const body = this.body;
      body.on('error', () => {
        // A pod that took none of the body for proxy-send-timeout: a timeout (504), as on HTTP/1.
        if (body.podStalled) this.timedOut = true;
        stream.close(NGHTTP2_CANCEL);
      });
      this.body.pipe(stream);
    }
  }

  /** `endStream`: a headers-only response (gRPC's trailers-only form carries its status so). */
  private onResponse(headers: IncomingHttpHeaders, endStream: boolean): void {
    const status = Number(headers[':status']);
    this.core.balancer.succeeded(this.endpoint!.origin);
    const out = downstreamHeaders(withoutPseudo(headers), this.core.options.serverName);
    const extras = this.extras;
    if (extras.responseHeaders) headerObject(extras.responseHeaders, out);
    if (this.setCookie !== undefined) {
      const had = out['set-cookie'];
      out['set-cookie'] =
        had === undefined ? this.setCookie : [...(Array.isArray(had) ? had : [String(had)]), this.setCookie];
    }
    if (extras.hsts !== undefined && out['strict-transport-security'] === undefined)
      out['strict-transport-security'] = extras.hsts;
    const cookies = extras.cookies;
    if (cookies !== undefined && cookies.length > 0 && status < 400) {
      const own = out['set-cookie'];
      out['set-cookie'] = [
        ...(own === undefined ? [] : Array.isArray(own) ? own : [String(own)]),
        ...cookies,
      ];
    }
    const client = (this.req as unknown as Partial<Http2ServerRequest>).stream;
    if (endStream && client) {
      // One HEADERS frame that ends the stream, as the pod sent it: a gRPC client reads the status
      // of a trailers-only response only there (Node's writeHead + end would add a DATA frame).
      this.done = true;
      client.respond({ ...out, ':status': status }, { endStream: true });
      return this.record(status);
    }
    this.res.writeHead(status, out);
  }

  private onEnd(): void {
    if (this.done || !this.res.headersSent) return;
    this.done = true;
    if (this.trailers)
      this.res.addTrailers(downstreamHeaders(withoutPseudo(this.trailers), '') as OutgoingHttpHeaders);
    this.res.end();
    this.record(this.res.statusCode);
  }

  /** The stream closed: fine after onEnd; otherwise the pod failed, reset, or timed out. */
  private onClose(): void {
    if (this.done) return;
    if (this.res.destroyed) {
      this.done = true;
      return this.record(499);
    }
    const code = this.timedOut
      ? 'UND_ERR_HEADERS_TIMEOUT'
      : this.error
        ? errorCode(this.error)
        : 'ECONNRESET';
    const verdict = this.core.upstreamFailed(
      this.backend,
      this.endpoint!.origin,
      // A session is HTTP/2's pooled connection: one that fails makes a new one (never stale).
      { code, responded: this.res.headersSent, reused: false },
      {
        method: this.req.method,
        hasBody: this.body !== null,
        retried: this.retried,
        endpoints: this.backend.endpoints.length,
      },
    );
    if (!this.res.headersSent && verdict.retry !== 'none') {
      // Bodiless and idempotent (a gRPC call, a POST, never is): sent again on a new stream.
      this.retried = true;
      this.error = undefined;
      this.trailers = undefined;
      clearTimeout(this.attemptTimer);
      return this.start(verdict.retry === 'another-endpoint' ? this.endpoint : undefined);
    }
    if (!this.res.headersSent) return this.fail(verdict.status);
    // Part of the response is out: the client's stream is reset (HTTP/2) or its connection cut.
    this.done = true;
    const client = (this.req as unknown as Partial<Http2ServerRequest>).stream;
    if (client) client.close(NGHTTP2_INTERNAL_ERROR);
    else this.res.destroy();
    this.record(this.res.statusCode);
  }

  private fail(status: number): void {
    this.done = true;
    this.plane.local(
      this.req,
      this.res,
      status,
      this.target,
      undefined,
      this.body !== null,
      this.extras.requestId,
    );
  }

  private record(status: number): void {
    const req = this.req;
    this.core.record(
      {
        method: req.method,
        host: this.host,
        path: req.url,
        client: req.socket.remoteAddress,
        requestId: this.extras.requestId,
      },
      status,
      this.target,
      this.endpoint?.origin,
      this.started,
    );
  }
}

function withoutPseudo(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in headers) if (name.charCodeAt(0) !== 0x3a) out[name] = headers[name];
  return out;
}
