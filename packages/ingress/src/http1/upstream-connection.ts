/**
 * One keep-alive connection to a pod: writes a request, reads the response head, then relays the
 * body exactly as framed until the message ends, and goes back to its pool when it can carry
 * another request. The response is parsed only as far as framing needs (RFC 9112 §6.3).
 */
import { connect, type Socket } from 'node:net';
import { ChunkedScanner } from './chunked.js';
import { headEnd } from './head-end.js';
import { joined } from './joined.js';
import { parseResponseHead, type ResponseHead } from './response-head.js';
import { BAD_RESPONSE } from '../upstream-policy.js';

/** A pod's response head larger than this is refused (502), like a client head over the limit. */
const MAX_RESPONSE_HEAD = 64 * 1024;
/**
 * Every upstream connection reads into this one buffer (net's `onread`): no allocation per read.
 * So a chunk is valid only until the handler returns; whatever outlives the call is copied.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * What a connection tells the exchange it is serving. Body chunks are only valid during the call.
 * `now` is performance.now() when the read that carried them arrived: one clock read per read
 * serves the head's time, the next deadline and the request's duration.
 */
export interface ResponseHandler {
  onHead(head: ResponseHead, now: number): void;
  onBody(chunk: Buffer, now: number): void;
  onEnd(now: number): void;
  /** `responded`: whether any part of the response reached us (then the request cannot be retried). */
  onError(err: Error, responded: boolean): void;
}

export interface UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
  readonly origin: string;
}

const enum Phase {
  Idle,
  Head,
  Length,
  Chunked,
  UntilClose,
  Closed,
}

export class UpstreamConnection {
  readonly socket: Socket;
  /** Requests this connection carried before the current one (a reused one may have gone stale). */
  served = 0;
  /** When it went idle (performance.now() of its last read), for the pool's keep-alive sweep. */
  idleSince = 0;
  /** Set by the pool when the origin left the routing table: finish, then close. */
  retired = false;
  private handler: ResponseHandler | undefined;
  private method = 'GET';
  private phase = Phase.Idle;
  private pending: Buffer | undefined;
  private remaining = 0;
  private scanner: ChunkedScanner | undefined;
  private reusable = false;
  /**
   * Request body bytes not yet written. A pod may answer before it has read the whole body (an
   * early 401 or 413); the connection then carries an unfinished request and must never go back to
   * the pool, or the next request written to it would be read as the rest of this body.
   */
  private requestRemaining = 0;
  /** performance.now() when the read being handled arrived. */
  private readAt = 0;
  /** The last final response head parsed here, with its text and request method (parsed()). */
  private lastHead: ResponseHead | undefined;
  private lastText = '';
  private lastMethod = '';

  constructor(
    readonly endpoint: UpstreamEndpoint,
    private readonly serverName: string,
    connectTimeout: number,
    private readonly release: (conn: UpstreamConnection, reusable: boolean) => void,
    onException: (err: unknown, close: () => void) => void,
  ) {
    this.socket = connect({
      host: endpoint.address,
      port: endpoint.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number) => {
          try {
            this.readAt = performance.now();
            this.onData(READ_BUFFER.subarray(0, n));
          } catch (err) {
            // Our bug, reached by what the pod sent: the exchange fails (its client gets a 502 or
            // is cut off), and if even that throws, both connections close.
            onException(err, () => {
              try {
                this.fail(err as Error);
              } catch {
                this.socket.destroy();
              }
            });
          }
          return true; // back-pressure pauses the socket explicitly, not through this
        },
      },
    });
    this.socket.setTimeout(connectTimeout, () => {
      const err = Object.assign(new Error('upstream connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
      this.socket.destroy(err);
    });
    this.socket.once('connect', () => this.socket.setTimeout(0));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.onClose());
  }

  /**
   * Sends a request head (and the body bytes already at hand) for a body of `bodyLength` bytes in
   * all; the response goes to `handler`.
   */
  send(handler: ResponseHandler, method: string, head: string, bodyLength: number, body?: Buffer): void {
    this.handler = handler;
    this.method = method;
    this.phase = Phase.Head;
    this.reusable = false;
    this.requestRemaining = bodyLength - (body?.length ?? 0);
    this.socket.write(joined(head, body));
  }

  /** More request body. Returns false when the caller should wait for 'drain'. */
  write(chunk: Buffer): boolean {
    this.requestRemaining -= chunk.length;
    return this.socket.write(chunk);
  }

  /** Gives up on the current exchange (client gone, timeout): the connection cannot be reused. */
  abandon(): void {
    this.handler = undefined;
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    switch (this.phase) {
      case Phase.Head:
        return this.onHeadBytes(d);
      case Phase.Length:
      case Phase.Chunked:
      case Phase.UntilClose:
        return this.onBodyBytes(d, 0);
      default:
        // Bytes from an idle connection: the pod does not speak HTTP/1.1 keep-alive properly.
        this.socket.destroy();
    }
  }

  private onHeadBytes(d: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    this.pending = undefined;
    for (;;) {
      const end = headEnd(buf);
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD) return this.fail(badResponse('response head too large'));
        this.pending = Buffer.from(buf);
        return;
      }
      const head = this.parsed(buf.toString('latin1', 0, end));
      if (typeof head === 'string') return this.fail(badResponse(head));
      buf = buf.subarray(end + 4);
      if (head.status < 200) {
        // 100 and 103 are interim: the final response follows. We never ask for 101.
        if (head.status === 101) return this.fail(badResponse('unexpected 101 Switching Protocols'));
        continue;
      }
      this.reusable = head.reusable;
      const handler = this.handler;
      handler?.onHead(head, this.readAt);
      if (this.handler !== handler || this.phase === Phase.Closed) return; // abandoned in onHead
      switch (head.framing) {
        case 'none':
          return this.finish(buf, 0);
        case 'length':
          this.phase = Phase.Length;
          this.remaining = head.length;
          if (head.length === 0) return this.finish(buf, 0);
          break;
        case 'chunked':
          this.phase = Phase.Chunked;
          this.scanner = new ChunkedScanner();
          break;
        case 'close':
          this.phase = Phase.UntilClose;
          break;
      }
      if (buf.length > 0) this.onBodyBytes(buf, 0);
      return;
    }
  }

  /**
   * parseResponseHead, remembered for the last head: a pod sends the same head for the same kind
   * of response (its Date changes once a second), and the parse, pattern included, is the largest
   * part of the JavaScript a response costs. The result depends on the text and the method alone.
   * Final heads only: a 103 before every response would displace its final head.
   */
  private parsed(text: string): ResponseHead | string {
    if (this.lastHead !== undefined && text === this.lastText && this.method === this.lastMethod)
      return this.lastHead;
    const head = parseResponseHead(text, this.method, this.serverName);
    if (typeof head !== 'string' && head.status >= 200) {
      this.lastHead = head;
      this.lastText = text;
      this.lastMethod = this.method;
    }
    return head;
  }

  private onBodyBytes(buf: Buffer, start: number): void {
    const handler = this.handler;
    if (this.phase === Phase.Length) {
      const take = Math.min(this.remaining, buf.length - start);
      this.remaining -= take;
      handler?.onBody(
        start === 0 && take === buf.length ? buf : buf.subarray(start, start + take),
        this.readAt,
      );
      if (this.remaining === 0) this.finish(buf, start + take);
    } else if (this.phase === Phase.Chunked) {
      let end: number;
      try {
        end = this.scanner!.scan(buf, start);
      } catch (err) {
        return this.fail(Object.assign(err as Error, { code: BAD_RESPONSE }));
      }
      if (end < 0) handler?.onBody(start === 0 ? buf : buf.subarray(start), this.readAt);
      else {
        handler?.onBody(buf.subarray(start, end), this.readAt);
        this.finish(buf, end);
      }
    } else handler?.onBody(start === 0 ? buf : buf.subarray(start), this.readAt);
  }

  /** The response is complete at `used`; bytes after it mean the pod broke framing. */
  private finish(buf: Buffer, used: number): void {
    const handler = this.handler;
    this.handler = undefined;
    this.scanner = undefined;
    this.phase = Phase.Idle;
    this.served++;
    const reusable = this.reusable && !this.retired && used === buf.length && this.requestRemaining === 0;
    if (reusable) {
      this.idleSince = this.readAt;
      // Paused by an exchange for its client (back-pressure) and not resumed: a client gone with
      // its answer in flight never drains. An idle connection must read, or the next request's
      // answer would never be seen (nor the pod's close).
      if (this.socket.isPaused()) this.socket.resume();
      this.release(this, true);
    } else this.socket.destroy();
    handler?.onEnd(this.readAt);
  }

  private fail(err: Error): void {
    const handler = this.handler;
    const responded = this.phase !== Phase.Head || this.pending !== undefined;
    this.handler = undefined;
    this.phase = Phase.Closed;
    this.socket.destroy();
    handler?.onError(err, responded);
  }

  private onClose(): void {
    this.release(this, false);
    const handler = this.handler;
    const phase = this.phase;
    const responded = phase !== Phase.Head || this.pending !== undefined;
    this.handler = undefined;
    this.phase = Phase.Closed;
    if (!handler) return;
    if (phase === Phase.UntilClose) return handler.onEnd(performance.now());
    const err = Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' });
    handler.onError(err, responded);
  }
}

/** A response that breaks HTTP (upstream-policy.ts: reason `protocol`, no retry, no ejection). */
function badResponse(message: string): Error {
  return Object.assign(new Error(message), { code: BAD_RESPONSE });
}
