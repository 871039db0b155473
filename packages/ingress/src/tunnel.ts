/**
 * An Upgrade request (WebSocket) on its way to a pod: the request head is sent, then the pod's
 * answer decides. Only a real `101 Switching Protocols` for a protocol the client offered opens the
 * tunnel (bytes piped both ways from then on); any other final answer is relayed as it is framed
 * (RFC 9112 §6.3) and the client connection is closed after it, so nothing the client sends after
 * the upgrade request ever reaches the pod unrouted. Until the 101, the client's further bytes
 * are held back (the socket is paused), never forwarded.
 *
 * With `tls` (backend-protocol: HTTPS, upstreams.ts's tlsOptions) the pod is spoken to over TLS,
 * the head sent once the handshake is done. The route's response fields (CORS) and an affinity
 * cookie are added to the pod's answer, the 101 included, as to any response of the route.
 *
 * h2c never gets here (server.ts hands it to the ordinary request path, where Upgrade is dropped):
 * an h2c tunnel would carry HTTP/2 requests to the pod past routing.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { ChunkedScanner } from './http1/chunked.js';
import { parseResponseHead, withFields, type Framing } from './http1/response-head.js';
import type { RoutedEndpoint } from './router.js';

/** A pod's answer head larger than this is refused (502), as on the fast path. */
const MAX_RESPONSE_HEAD = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** The protocol names (without version, lower-case) of an Upgrade field value. */
export function upgradeProtocols(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((p) => p.trim().split('/')[0]!.trim().toLowerCase())
    .filter((p) => p !== '');
}

export interface TunnelOptions {
  readonly serverName: string;
  /** The pod must answer within this, ms (504). */
  readonly headersTimeout: number;
  /** The request's X-Request-ID, on our own 502 and 504 (request-id.ts). */
  readonly requestId?: string | undefined;
  /** TLS to the pod (backend-protocol: HTTPS); plain TCP without. */
  readonly tls?: ConnectionOptions | undefined;
  /** Fields the route adds to the answer, [name, value, …], replacing the pod's (route-policy.ts). */
  readonly responseFields?: readonly string[] | undefined;
  /** A Set-Cookie value for the answer (cookie affinity, affinity.ts). */
  readonly setCookie?: string | undefined;
  /**
   * Called once with the final status (101, the relayed one, 502 or 504; 499: client gone);
   * `connectFailed`: the pod could not be reached at all (passive ejection counts it).
   */
  readonly done: (status: number, connectFailed: boolean) => void;
}

export class Tunnel {
  private readonly up: Socket;
  private pending: Buffer | undefined;
  private phase: 'head' | 'body' | 'tunnel' | 'over' = 'head';
  /** The pod's final status once known. */
  private status = 0;
  private framing: Framing = 'none';
  private remaining = 0;
  private scanner: ChunkedScanner | undefined;
  private connected = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: Duplex,
    /** What the client sent after the upgrade request's head (held until a 101). */
    private readonly head: Buffer,
    endpoint: RoutedEndpoint,
    requestHead: string,
    private readonly asked: readonly string[],
    private readonly options: TunnelOptions,
  ) {
    client.pause();
    const tls = options.tls;
    this.up = tls
      ? connectTls({ ...tls, host: endpoint.address, port: endpoint.port })
      : connect({ host: endpoint.address, port: endpoint.port });
    this.up.setNoDelay(true);
    this.up.once(tls ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.up.write(requestHead, 'latin1');
    });
    this.up.on('data', (d: Buffer) => this.onPod(d));
    this.up.on('error', () => this.podGone());
    this.up.on('close', () => this.podGone());
    client.on('error', () => this.clientGone());
    client.on('close', () => this.clientGone());
    this.timer = setTimeout(() => this.fail(504), options.headersTimeout).unref();
  }

  private onPod(d: Buffer): void {
    if (this.phase === 'body') return this.relay(d, 0);
    if (this.phase !== 'head') return;
    let buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    this.pending = undefined;
    for (;;) {
      const end = buf.indexOf(CRLFCRLF);
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD) return this.fail(502);
        this.pending = buf;
        return;
      }
      const text = buf.toString('latin1', 0, end);
      const head = parseResponseHead(text, 'GET', this.options.serverName);
      if (typeof head === 'string') return this.fail(502);
      const rest = buf.subarray(end + 4);
      if (head.status === 101) return this.switched(text, rest);
      if (head.status < 200) {
        buf = rest; // 100, 103: interim, the final answer follows
        continue;
      }
      // A final answer without switching: relayed, then the connection closes (no tunnel).
      clearTimeout(this.timer);
      this.phase = 'body';
      this.framing = head.framing;
      this.remaining = head.length;
      if (head.framing === 'chunked') this.scanner = new ChunkedScanner();
      this.client.write(`${this.withRouteFields(head.forClient)}connection: close\r\n\r\n`, 'latin1');
      this.status = head.status;
      if (head.framing === 'none' || (head.framing === 'length' && head.length === 0)) return this.end();
      if (rest.length > 0) this.relay(rest, 0);
      return;
    }
  }

  /** A 101: tunnel only if it switches to a protocol the client offered. */
  private switched(text: string, rest: Buffer): void {
    clearTimeout(this.timer);
    const m = /\r\nupgrade:[ \t]*([^\r]*)/i.exec(text);
    const chosen = upgradeProtocols(m?.[1]);
    if (chosen.length !== 1 || !this.asked.includes(chosen[0]!)) return this.fail(502);
    this.phase = 'tunnel';
    this.status = 101;
    this.client.write(this.withRouteFields(text + '\r\n') + '\r\n', 'latin1');
    if (rest.length > 0) this.client.write(Buffer.from(rest));
    if (this.head.length > 0) this.up.write(this.head);
    this.up.removeAllListeners('data');
    this.up.pipe(this.client);
    this.client.pipe(this.up);
    this.client.resume();
    this.options.done(101, false);
  }

  /** A head (lines ending in CRLF, no blank line) with the route's fields and cookie added. */
  private withRouteFields(block: string): string {
    const { responseFields, setCookie } = this.options;
    let out = responseFields === undefined ? block : withFields(block, responseFields);
    if (setCookie !== undefined) out += `set-cookie: ${setCookie}\r\n`;
    return out;
  }

  /** Body bytes of a non-101 answer, as framed; the connection closes at its end. */
  private relay(buf: Buffer, start: number): void {
    if (this.framing === 'length') {
      const take = Math.min(this.remaining, buf.length - start);
      this.remaining -= take;
      this.client.write(Buffer.from(buf.subarray(start, start + take)));
      if (this.remaining === 0) this.end();
    } else if (this.framing === 'chunked') {
      let end: number;
      try {
        end = this.scanner!.scan(buf, start);
      } catch {
        this.client.destroy();
        return this.finish(this.status);
      }
      this.client.write(Buffer.from(buf.subarray(start, end < 0 ? buf.length : end)));
      if (end >= 0) this.end();
    } else this.client.write(Buffer.from(buf.subarray(start)));
  }

  private end(): void {
    this.up.destroy();
    this.client.end();
    this.finish(this.status);
  }

  private fail(status: number, connectFailed = false): void {
    if (this.phase === 'over') return;
    this.up.destroy();
    if (this.phase === 'head') {
      const reason = status === 504 ? 'Gateway Timeout' : 'Bad Gateway';
      const body = `${status} ${reason}\n`;
      this.client.end(
        `HTTP/1.1 ${status} ${reason}\r\nserver: ${this.options.serverName}\r\n` +
          (this.options.requestId === undefined ? '' : `x-request-id: ${this.options.requestId}\r\n`) +
          `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    } else this.client.destroy();
    this.finish(status, connectFailed);
  }

  private finish(status: number, connectFailed = false): void {
    if (this.phase === 'over') return;
    const tunnelled = this.phase === 'tunnel';
    this.phase = 'over';
    clearTimeout(this.timer);
    if (!tunnelled) this.options.done(status, connectFailed);
  }

  private podGone(): void {
    if (this.phase === 'tunnel' || this.phase === 'over') {
      this.client.destroy();
      this.phase = 'over';
      return;
    }
    if (this.phase === 'body' && this.framing === 'close') return this.end();
    if (this.phase === 'body') {
      this.client.destroy();
      return this.finish(this.status);
    }
    // No answer at all: refused, reset, or closed before a head.
    this.fail(502, !this.connected);
  }

  private clientGone(): void {
    if (this.phase === 'over') return;
    this.up.destroy();
    if (this.phase === 'tunnel') {
      this.phase = 'over';
      return;
    }
    this.finish(499);
  }
}
