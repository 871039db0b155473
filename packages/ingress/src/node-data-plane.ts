/**
 * The Node data plane: an adapter from Node's servers (HTTP/1 over TLS and what the fast path hands
 * over, HTTP/2, Upgrade requests) to the ingress core (core.ts), which it is handed. It checks what
 * Node's parser lets through, asks the core where a request goes, answers our own statuses, and
 * sends the rest to a pod: over HTTP/1 through undici (node-exchange.ts), over HTTP/2 for GRPC and
 * GRPCS (h2-exchange.ts), as a raw tunnel for Upgrade (tunnel.ts).
 *
 * Status codes of our own: 404 no rule, 503 no ready endpoint, 502 upstream connection failure,
 * 504 upstream timeout (upstream-policy.ts), 413 body too large, 408 body too slow, 308 to HTTPS for
 * TLS hosts (annotations/redirect.ts: per Ingress, never for ACME challenges), 431 for an HTTP/2
 * header list the request guard found over the limit.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants as http2Constants, type Http2ServerRequest } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Decision, IngressCore } from './core.js';
import { requestHead, upstreamHeaders } from './headers.js';
import { BodyLimit, BodyWatch } from './limits.js';
import { bodyLimitOf } from './annotations/index.js';
import type { Target } from './table.js';
import { Tunnel, upgradeProtocols } from './tunnel.js';
import { keepsAuthorization, mustAdmit, withoutField, type AdmissionFacts } from './admission.js';
import { isSaneRequestId, requestIdFor, requestIdOf } from './request-id.js';
import { H2Exchange } from './h2-exchange.js';
import { NodeExchange, type ExchangeExtras } from './node-exchange.js';
import { PooledExchange, poolServes } from './http2/pooled-exchange.js';
import { accessOf, headerObject, hopOf, isHttp2, joined, peerOf, requestView } from './node-request.js';
import { STATUS_TEXT } from './status-text.js';
import { clientCertificateOf, tlsConnectionOf, withClientCertificateFields } from './client-certificate.js';
import { tlsOptions } from './upstreams.js';
import type { RoutedEndpoint } from './router.js';

export class NodeDataPlane {
  /** HTTP/1 connections answered with Connection: close (see local()). */
  private readonly closing = new WeakSet<object>();
  /** Request bodies in flight, held to their deadlines (server.ts sets the limits). */
  readonly bodies: BodyWatch;
  /**
   * HTTP/2 requests without a body go to HTTP/1.1 pods on the core's keep-alive pool for them
   * (`http2Pool`, http2/pooled-exchange.ts) rather than undici. Set by a server whose listeners
   * sweep that pool's idle connections (server.ts); others keep undici, which times its own out.
   */
  http2ToPool = false;

  constructor(readonly core: IngressCore) {
    this.bodies = new BodyWatch((reason) => core.countConnectionError('node', reason));
  }

  handle(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https'): void {
    const h2 = isHttp2(req);
    // llhttp parses `HTTP/2.0` and `HTTP/0.9` request lines as requests: only 1.0 and 1.1 are HTTP/1.
    if (!h2 && req.httpVersion !== '1.1' && req.httpVersion !== '1.0') {
      this.core.countConnectionError('node', 'version');
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
      this.core.countConnectionError('node', 'malformed');
      return this.local(req, res, 400);
    }
    const te = req.headers['transfer-encoding'];
    if (!h2 && te !== undefined) {
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing (400); a coding other than
      // chunked alone is one we cannot pass on (the pod would get the coded bytes as plain: 501).
      const http10 = req.httpVersion === '1.0';
      if (http10 || te.trim().toLowerCase() !== 'chunked') {
        this.core.countConnectionError('node', 'malformed');
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
      this.core.countConnectionError('node', 'malformed');
      return this.local(req, res, 400, undefined, undefined, true);
    }
    const length = req.headers['content-length'];
    const decision = this.core.decide(
      rawHost,
      url,
      proto,
      length === undefined ? -1 : Number(length),
      'node',
      requestView(req),
    );
    const hsts = this.core.hstsFor(rawHost, proto);
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
      const refusal = this.core.admit(target, this.factsOf(req, rawHost));
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
        this.core.options.metrics?.admissionRefusals.inc({
          ingress: target.ingress,
          reason: 'forward_auth_denied',
        });
        return this.local(req, res, 503, target, withHsts({}), unread);
      }
      const requestId = requestIdOf(joined(req.headers['x-request-id']));
      const client = this.core.clientAddress(
        peerOf(req).remoteAddress ?? '',
        joined(req.headers['x-forwarded-for']),
      );
      const check = this.core.forwardAuth.check(auth, {
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
          this.core.options.metrics?.admissionRefusals.inc({ ingress: target.ingress, reason });
          this.local(req, res, outcome.status, target, withHsts(outcome.headers), unread, requestId);
        } catch (err) {
          this.core.connectionException('node', err, () => res.destroy());
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
      const send = target.sendTimeoutMs ?? this.core.options.upstreamHeadersTimeout;
      limit = new BodyLimit(bodyLimitOf(target, this.core.options.maxBodyBytes), send);
      req.on('error', (e) => limit!.destroy(e));
      req.pipe(limit);
      this.bodies.add(limit);
    }
    const hop = hopOf(req, proto, rawHost);
    let headers = upstreamHeaders(req.rawHeaders, req.headers, hop, false, absolute, this.core.trusted);
    if (!keepsAuthorization(target)) headers = withoutField(headers, 'authorization');
    if (authorized !== undefined)
      for (const [name, value] of authorized.headers) {
        headers = withoutField(headers, name.toLowerCase());
        headers.push(name, value);
      }
    if (target.clientTls !== undefined) {
      const clientTls = target.clientTls;
      headers = withClientCertificateFields(
        headers,
        clientTls,
        clientCertificateOf(tlsSocketOf(req), clientTls),
      );
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
    if (protocol === 'GRPC' || protocol === 'GRPCS' || backend.protocol === 'h2c') {
      // HTTP/2 to the pod (h2-exchange.ts); from an HTTP/1.1 client too, as nginx's grpc_pass does.
      const body = limit ?? null;
      new H2Exchange(this.core, this, req, res, url, headers, body, target, backend, rawHost, extras).start();
      return;
    }
    if (h2 && limit === undefined && this.http2ToPool && poolServes(req.method, url, target, extras)) {
      // HTTP/1.1 to the pod on the fast path's connections (http2/pooled-exchange.ts).
      const head = requestHead(req.method!, url, headers);
      new PooledExchange(this.core, this, req, res, head, target, backend, extras).start();
      return;
    }
    // HTTP/1.1 to the pod through undici (node-exchange.ts); `body`: what to send, `limit` counts it.
    const forward = (body: BodyLimit | Buffer | null): void =>
      new NodeExchange(this.core, this, req, res, url, headers, body, limit, target, backend, extras).start(
        undefined,
      );
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
        forward(Buffer.concat(chunks));
      });
      body.once('error', () => {
        if (res.headersSent || res.destroyed) return;
        if (body.expired) this.local(req, res, 408, target, undefined, false, extras.requestId);
        else if (body.tripped) this.local(req, res, 413, target, undefined, false, extras.requestId);
      });
      return;
    }
    forward(limit ?? null);
  }

  private factsOf(req: IncomingMessage, host: string): AdmissionFacts {
    return {
      host,
      authorization: joined(req.headers.authorization),
      client: () =>
        this.core.clientAddress(peerOf(req).remoteAddress ?? '', joined(req.headers['x-forwarded-for'])),
      tls: () => tlsSocketOf(req),
    };
  }

  /** WebSocket and other Upgrade requests: the handshake is forwarded, then bytes are piped raw. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: 'http' | 'https'): void {
    if (req.httpVersion !== '1.1' && req.httpVersion !== '1.0') {
      this.core.countConnectionError('node', 'version');
      socket.end(rawResponse(505, this.core.options.serverName));
      return;
    }
    const started = performance.now();
    const serverName = this.core.options.serverName;
    socket.on('error', () => socket.destroy());
    const sentId = joined(req.headers['x-request-id']);
    // Forward auth and answers of our own need it before the pod does: chosen once, up front.
    const ownId = requestIdOf(sentId);
    const refuse = (
      status: number,
      target?: Target,
      location?: string,
      extra?: Readonly<Record<string, string>>,
    ): void => {
      socket.end(rawResponse(status, serverName, location, { ...extra, 'x-request-id': ownId }));
      this.core.record(accessOf(req, ownId), status, target, undefined, started);
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
    const decision = this.core.decide(rawHost, url, proto, -1, 'node', requestView(req));
    if (decision.status !== 0)
      return refuse(
        decision.status,
        decision.target,
        decision.location,
        decision.headers && (headerObject(decision.headers) as Record<string, string>),
      );
    const { target, backend } = decision;
    if (mustAdmit(target)) {
      const refusal = this.core.admit(target, this.factsOf(req, rawHost));
      if (typeof refusal === 'function') socket.once('close', refusal);
      else if (refusal) return refuse(refusal.status, target, undefined, refusal.headers);
    }
    url = decision.path;
    // The auth service, the pod and our own answers all get the same request ID.
    const requestId = isSaneRequestId(sentId) ? undefined : ownId;
    let authHeaders: readonly [string, string][] | undefined;
    const tunnel = (): void => {
      let endpoint: RoutedEndpoint | undefined;
      let setCookie: string | undefined;
      if (target.affinity === undefined) endpoint = this.core.balancer.pick(backend.key, backend.endpoints);
      else {
        // Cookie affinity holds for WebSockets too: the handshake goes where the cookie says.
        const choice = this.core.stickyPick(
          backend,
          target.affinity,
          joined(req.headers.cookie),
          proto === 'https',
        );
        endpoint = choice.endpoint;
        setCookie = choice.setCookie;
      }
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
        this.core.trusted,
      );
      if (!keepsAuthorization(target)) headers = withoutField(headers, 'authorization');
      for (const [name, value] of authHeaders ?? []) {
        headers = withoutField(headers, name.toLowerCase());
        headers.push(name, value);
      }
      const clientTls = target.clientTls;
      if (clientTls !== undefined)
        headers = withClientCertificateFields(
          headers,
          clientTls,
          clientCertificateOf(tlsSocketOf(req), clientTls),
        );
      const tagged = requestIdFor(headers, joined(req.headers['x-request-id']), requestId);
      const lines = requestHead(req.method ?? 'GET', url, tagged.fields);
      new Tunnel(socket, head, endpoint, lines, asked, {
        serverName,
        headersTimeout: this.core.options.upstreamHeadersTimeout,
        requestId: tagged.id,
        // backend-protocol HTTPS (and GRPCS): the handshake goes to the pod over TLS too.
        tls:
          target.backendProtocol === 'HTTPS' || target.backendProtocol === 'GRPCS'
            ? tlsOptions(target.proxySsl ?? {}, rawHost)
            : undefined,
        responseFields: decision.headers,
        setCookie,
        done: (status, connectFailed) => {
          if (connectFailed) this.core.balancer.failed(endpoint.origin);
          else if (status !== 499) this.core.balancer.succeeded(endpoint.origin);
          if (status === 502 || status === 504)
            this.core.options.metrics?.upstreamErrors.inc({
              service: backend.key,
              reason: status === 504 ? 'timeout' : connectFailed ? 'connect' : 'other',
            });
          this.core.record(accessOf(req, tagged.id), status, target, endpoint.origin, started);
        },
      });
    };
    const auth = target.forwardAuth;
    if (auth === undefined) return tunnel();
    // Forward auth holds the handshake until the auth service answers (see handle()).
    if (auth.denied !== undefined) return refuse(503, target);
    void this.core.forwardAuth
      .check(auth, {
        method: req.method ?? 'GET',
        scheme: proto,
        host: rawHost,
        uri: req.url ?? '/',
        rawHeaders: req.rawHeaders,
        client: this.core.clientAddress(
          peerOf(req).remoteAddress ?? '',
          joined(req.headers['x-forwarded-for']),
        ),
        requestId: ownId,
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
          this.core.connectionException('node', err, () => socket.destroy());
        }
      });
  }

  /**
   * An answer of our own. `requestId`: the one already chosen for this request (an auth service or
   * a pod saw it); otherwise the client's when sane, else a new one (request-id.ts).
   */
  local(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    target?: Target,
    extra?: OutgoingHttpHeaders,
    close = false,
    requestId?: string,
  ): void {
    const id = requestId ?? requestIdOf(joined(req.headers['x-request-id']));
    // 204 and 304 have no body (RFC 9110 §15.3.5, §15.4.5), and a 204 no Content-Length.
    const empty = status === 204 || status === 304;
    const body = empty ? '' : `${status} ${STATUS_TEXT[status] ?? ''}\n`;
    const headers: OutgoingHttpHeaders = empty
      ? { server: this.core.options.serverName, 'x-request-id': id, ...extra }
      : {
          server: this.core.options.serverName,
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'x-request-id': id,
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
    this.core.record(accessOf(req, id), status, target, undefined, performance.now());
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
      this.core.countConnectionError(
        'node',
        status === 505 ? 'version' : status === 408 ? 'timeout' : 'malformed',
      );
    const message = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (quiet || !socket.writable || message?.headersSent) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(rawResponse(status, this.core.options.serverName));
  }

  /**
   * CONNECT (HTTP/1): not served. A pod would read whatever follows the head as tunnel data, so a
   * pod connection that carried one would be a tunnel past routing (nginx answers 405 too).
   */
  refuseConnect(req: IncomingMessage, socket: Duplex | ServerResponse): void {
    this.core.countConnectionError('node', 'malformed');
    // HTTP/2 (Node's compatibility API) hands over a response for the stream, HTTP/1 the socket.
    if ('writeHead' in socket) return this.local(req, socket, 405);
    socket.on('error', () => socket.destroy());
    socket.end(rawResponse(405, this.core.options.serverName));
  }

  /**
   * An HTTP/2 request the request guard refused (http2/request-guard.ts): a malformed one is reset
   * with PROTOCOL_ERROR (RFC 9113 §8.1.1, as nginx does), one whose header list is over the limit
   * gets 431 (as the same head over HTTP/1 does). Nothing reaches a pod.
   */
  refuseHttp2(req: IncomingMessage, res: ServerResponse, refusal: 'malformed' | 'too_large'): void {
    req.on('error', ignore);
    this.core.countConnectionError('node', 'malformed');
    if (refusal === 'too_large') return this.local(req, res, 431);
    (req as unknown as Http2ServerRequest).stream.close(NGHTTP2_PROTOCOL_ERROR);
  }

  /** `req` (HTTP/1) has its answer: its connection carries nothing more (see local()). */
  answered(req: IncomingMessage): void {
    this.closing.add(req.socket);
  }
}

const ignore = (): void => undefined;

const { NGHTTP2_PROTOCOL_ERROR } = http2Constants;

/** HTTP/2 bodies up to this declared length are read whole before they are forwarded. */
const H2_BUFFERED_BODY = 64 * 1024;

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

/** The TLS connection a request came on (HTTP/2: its session's); undefined over plain HTTP. */
function tlsSocketOf(req: IncomingMessage): TLSSocket | undefined {
  return tlsConnectionOf(
    isHttp2(req) ? (req as unknown as Http2ServerRequest).stream.session?.socket : req.socket,
  );
}

/** How many Host fields a request has (rawHeaders keeps duplicates, headers.host does not). */
function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}

function parseAbsoluteForm(target: string): { authority: string; path: string } | undefined {
  const m = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(target);
  if (!m) return undefined;
  const rest = m[2] ?? '';
  return { authority: m[1] ?? '', path: rest.startsWith('/') ? rest : `/${rest}` };
}
