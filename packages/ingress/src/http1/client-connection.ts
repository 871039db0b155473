/**
 * One client connection on the fast path: reads request heads, routes them, and runs one exchange
 * at a time (a pipelined request waits in the buffer until the one before it is answered). A head
 * the strict parser does not take (chunked upload, Upgrade, Expect, HTTP/1.0, anything malformed
 * or over the size limit) hands the whole connection, bytes read so far included, to Node's HTTP
 * server, which serves or rejects it exactly as it would have from the first byte.
 */
import type { Socket } from 'node:net';
import { fieldValue } from '../forwarded.js';
import { requestHead, upstreamHeaders } from '../headers.js';
import { bodyExpired, type BodyTimeouts } from '../limits.js';
import type { IngressCore } from '../core.js';
import { STATUS_TEXT } from '../status-text.js';
import { keepsAuthorization, mustAdmit, withoutField, type Refusal, type Release } from '../admission.js';
import { requestIdLine, requestIdOf } from '../request-id.js';
import { Exchange, type ClientSide } from './exchange.js';
import { headEnd } from './head-end.js';
import { HeadView } from './head-view.js';
import { parseRequestHead, type RequestHead } from './request-head.js';
import { owned } from './shared-read-buffer.js';

export interface ClientLimits extends BodyTimeouts {
  readonly maxHeaderSize: number;
  /** The whole head must arrive within this, ms (408). */
  readonly headersTimeout: number;
  /** Idle time between keep-alive requests, ms. */
  readonly keepAliveTimeout: number;
}

/** What a connection needs from its listener. */
export interface ListenerContext {
  readonly proxy: IngressCore;
  readonly limits: ClientLimits;
  /** What X-Forwarded-Proto says, and whether TLS hosts get redirected (only over plain HTTP). */
  readonly proto: 'http' | 'https';
  /** Gives the socket, and the bytes already read from it, to Node's HTTP server. */
  handover(socket: Socket, buffered: Buffer | undefined): void;
  closed(conn: ClientConnection): void;
}

export class ClientConnection implements ClientSide {
  readonly address: string;
  private readonly port: number;
  private buf: Buffer | undefined;
  private exchange: Exchange | undefined;
  /** Request body bytes still to come from the client for the current exchange. */
  private bodyRemaining = 0;
  /** The current request's Content-Length. */
  private bodyLength = 0;
  /**
   * performance.now() when the current incomplete head began; 0 when there is none. A new
   * connection starts waiting for its first head at once, so a silent one gets the headers timeout.
   */
  private headSince = performance.now();
  private requestSince = 0;
  private idleSince = performance.now();
  private parsing = false;
  /** The head being decided, for the route's annotations. */
  private readonly view: HeadView;
  private ending = false;
  private draining = false;
  /**
   * The client's bytes: 'data', or a read lent from the shared read buffer (shared-read-buffer.ts),
   * valid during this call only. So whatever outlives it (an incomplete head, a pipelined request,
   * body bytes written on, bytes handed to Node's server) is made owned() where it is kept.
   */
  readonly onData = (d: Buffer): void => {
    try {
      this.receive(d);
      if (this.buf !== undefined) this.buf = owned(this.buf);
    } catch (err) {
      this.crashed(err);
    }
  };
  private readonly onClose = (): void => {
    this.exchange?.abort();
    this.ctx.closed(this);
  };

  constructor(
    readonly socket: Socket,
    private readonly ctx: ListenerContext,
  ) {
    this.address = socket.remoteAddress ?? '';
    this.port = socket.localPort ?? 0;
    this.view = new HeadView(this.address);
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', this.onClose);
  }

  /** True between requests: nothing in flight, nothing buffered. */
  get idle(): boolean {
    return this.exchange === undefined && this.buf === undefined;
  }

  private receive(d: Buffer): void {
    if (this.bodyRemaining > 0) {
      const take = Math.min(this.bodyRemaining, d.length);
      this.bodyRemaining -= take;
      // A socket keeps what it could not write at once: body bytes are never lent on.
      const body = owned(take === d.length ? d : d.subarray(0, take));
      if (this.exchange && !this.exchange.sendBody(body)) this.socket.pause();
      if (take === d.length) return;
      d = d.subarray(take);
    }
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    if (this.exchange) {
      // Pipelined: held until the exchange in flight is answered; stop reading if it piles up.
      if (this.buf.length > this.ctx.limits.maxHeaderSize) this.socket.pause();
      return;
    }
    this.parse();
  }

  private parse(): void {
    if (this.parsing) return; // an exchange finished synchronously inside dispatch: the loop goes on
    this.parsing = true;
    const max = this.ctx.limits.maxHeaderSize;
    while (this.buf !== undefined && this.exchange === undefined && !this.ending) {
      const buf = this.buf;
      const end = headEnd(buf);
      if (end < 0 && buf.length <= max) {
        if (this.headSince === 0) this.headSince = performance.now();
        break;
      }
      const head = end < 0 || end > max ? undefined : parseRequestHead(buf.toString('latin1', 0, end));
      if (!head) {
        this.handover();
        break;
      }
      this.buf = end + 4 === buf.length ? undefined : buf.subarray(end + 4);
      this.headSince = 0;
      this.dispatch(head, buf);
    }
    this.parsing = false;
  }

  /** `bytes`: the buffer from the start of this head (handed to Node's server when need be). */
  private dispatch(head: RequestHead, bytes: Buffer): void {
    const proxy = this.ctx.proxy;
    this.requestSince = performance.now();
    this.view.head = head;
    const decision = proxy.decide(
      head.host,
      head.target,
      this.ctx.proto,
      head.contentLength,
      'fast',
      this.view,
    );
    this.view.head = undefined;
    // Routes the fast path does not serve: a pod spoken to over TLS or HTTP/2, forward auth, which
    // waits for a subrequest, client certificates (auth-tls-*, judged on the TLS socket) and
    // limit-rate (paced by node-exchange.ts). Node's server gets the request from its first byte
    // (node-data-plane.ts).
    if (
      decision.status === 0 &&
      (decision.target.forwardAuth !== undefined ||
        decision.target.backendProtocol !== undefined ||
        decision.target.clientTls !== undefined ||
        decision.target.responseRate !== undefined)
    ) {
      this.buf = bytes;
      this.handover();
      return;
    }
    let refusal: Refusal | undefined;
    let release: Release | undefined;
    if (decision.status === 0 && mustAdmit(decision.target)) {
      const admitted = proxy.admit(decision.target, {
        authorization: fieldValue(head.fields, 'authorization'),
        client: () => proxy.clientAddress(this.address, fieldValue(head.fields, 'x-forwarded-for')),
      });
      if (typeof admitted === 'function') release = admitted;
      else refusal = admitted;
    }
    // Plain HTTP never carries HSTS: nothing to look up.
    const hsts = this.ctx.proto === 'https' ? proxy.hstsFor(head.host, 'https') : undefined;
    if (decision.status !== 0 || refusal !== undefined) {
      const status = refusal?.status ?? decision.status;
      // We do not read a body we will not forward: close instead of parsing it as a request.
      const close = head.close || head.contentLength > 0 || status === 400;
      // Our own answer carries the request ID its access-log line names (request-id.ts).
      const requestId = requestIdOf(fieldValue(head.fields, 'x-request-id'));
      const extra =
        hsts === undefined
          ? { ...refusal?.headers, 'x-request-id': requestId }
          : { ...refusal?.headers, 'x-request-id': requestId, 'strict-transport-security': hsts };
      this.local(status, head.method, close, decision.location, extra, decision.headers);
      proxy.record(
        {
          method: head.method,
          host: head.host,
          path: head.target,
          client: this.address,
          forwardedFor: proxy.trusted.empty ? undefined : fieldValue(head.fields, 'x-forwarded-for'),
          requestId,
        },
        status,
        decision.target,
        undefined,
        this.requestSince,
      );
      if (close) this.end();
      return;
    }
    let fields = upstreamHeaders(
      head.fields,
      { connection: head.connection },
      {
        address: this.address,
        proto: this.ctx.proto,
        port: this.port,
        host: head.host,
      },
      false,
      false,
      proxy.trusted,
    );
    if (!keepsAuthorization(decision.target)) fields = withoutField(fields, 'authorization');
    const tagged = requestIdLine(fields, fieldValue(head.fields, 'x-request-id'));
    const upstreamHead = requestHead(head.method, decision.path, tagged.fields, tagged.line);
    const secure = this.ctx.proto === 'https';
    const exchange = new Exchange(
      proxy,
      this,
      head,
      upstreamHead,
      decision.target,
      decision.backend,
      secure,
      decision.headers,
      tagged.id,
      hsts,
      release,
      this.requestSince,
    );
    this.exchange = exchange;
    let body: Buffer | undefined;
    if (head.contentLength > 0) {
      const buf = this.buf;
      const have = buf ? Math.min(buf.length, head.contentLength) : 0;
      if (have > 0) {
        // Copied into the pod's first write (joined.ts) before this call returns.
        body = buf!.subarray(0, have);
        this.buf = have === buf!.length ? undefined : buf!.subarray(have);
      }
      this.bodyRemaining = head.contentLength - have;
      this.bodyLength = head.contentLength;
    }
    exchange.start(body);
  }

  local(
    status: number,
    method: string,
    close: boolean,
    location?: string,
    extra?: Readonly<Record<string, string>>,
    fields?: readonly string[],
  ): void {
    const reason = STATUS_TEXT[status] ?? '';
    // 204 and 304 have no body (RFC 9110 §15.3.5, §15.4.5), and a 204 no Content-Length.
    const body = status === 204 || status === 304 ? '' : `${status} ${reason}\n`;
    let text = `HTTP/1.1 ${status} ${reason}\r\nserver: ${this.ctx.proxy.options.serverName}\r\n`;
    if (body !== '') text += `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n`;
    if (location !== undefined) text += `location: ${location}\r\n`;
    if (extra !== undefined) for (const name in extra) text += `${name}: ${extra[name]}\r\n`;
    if (fields) for (let i = 0; i < fields.length; i += 2) text += `${fields[i]}: ${fields[i + 1]}\r\n`;
    if (close) text += 'connection: close\r\n';
    this.socket.write(`${text}\r\n${method === 'HEAD' ? '' : body}`, 'latin1');
  }

  exchangeDone(close: boolean, now = performance.now()): void {
    this.exchange = undefined;
    this.requestSince = 0;
    // A body the pod did not wait for is still on its way: the connection cannot be reused.
    if (close || this.draining || this.bodyRemaining > 0) return this.end();
    this.idleSince = now;
    if (this.socket.isPaused()) this.socket.resume();
    if (this.buf !== undefined) this.parse();
  }

  /** Timeouts, checked by the listener every few hundred ms rather than with a timer per request. */
  sweep(now: number): void {
    const limits = this.ctx.limits;
    const exchange = this.exchange;
    if (exchange) {
      const expired =
        this.bodyRemaining > 0
          ? bodyExpired(limits, this.requestSince, this.bodyLength - this.bodyRemaining, now)
          : undefined;
      if (expired) {
        // The client is too slow with its body: same answer as the Node path. The pod connection,
        // with its unfinished request, is closed (abort), never reused.
        this.ctx.proxy.countConnectionError('fast', expired);
        exchange.abort();
        this.exchange = undefined;
        this.local(408, 'GET', true);
        return this.end();
      }
      if (now > exchange.deadline) exchange.timedOut();
    } else if (this.headSince !== 0 && now - this.headSince > limits.headersTimeout) {
      this.local(408, 'GET', true);
      this.end();
    } else if (this.buf === undefined && now - this.idleSince > limits.keepAliveTimeout) {
      this.socket.destroy();
    }
  }

  /** An exception while serving this connection: it is closed (with its exchange), counted, logged. */
  crashed(err: unknown): void {
    this.ctx.proxy.connectionException('fast', err, () => {
      this.exchange?.abort();
      this.socket.destroy();
    });
  }

  /** Graceful stop: an idle connection closes now, a busy one after its exchange. */
  close(): void {
    if (this.idle) this.socket.destroy();
    else this.draining = true;
  }

  private end(): void {
    this.ending = true;
    this.buf = undefined;
    this.socket.end(() => this.socket.destroy());
  }

  private handover(): void {
    const buffered = this.buf === undefined ? undefined : owned(this.buf);
    this.buf = undefined;
    this.ending = true;
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.removeAllListeners('error');
    this.socket.pause();
    this.ctx.closed(this);
    this.ctx.handover(this.socket, buffered);
  }
}
