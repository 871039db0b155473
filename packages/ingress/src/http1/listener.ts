/**
 * A listener whose HTTP/1.1 connections are served by the fast path: plain (a net.Server) or TLS (a
 * tls.Server whose HTTP/1.1 connections, by ALPN or without it, get the same fast path after the
 * handshake). Node's servers, never listening themselves, take whatever the fast path hands over,
 * and every HTTP/2 connection.
 *
 * Why not node:http for everything: per request it builds IncomingMessage and ServerResponse
 * streams and header objects we immediately take apart again; relaying bytes between two sockets
 * with one strict head parser per side costs a fraction of that (docs/benchmarks.md).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { type Duplex, duplexPair } from 'node:stream';
import { createServer as createTlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import { handOverGuarded, newRequestGuard } from '../http2/guarded-server.js';
import type { IngressCore } from '../core.js';
import { relayCorked } from './corked-relay.js';
import { readIntoSharedBuffer, readThroughReadable } from './shared-read-buffer.js';
import { ClientConnection, type ClientLimits, type ListenerContext } from './client-connection.js';
import { TLS_CONNECTION } from '../client-certificate.js';

export interface Http1ListenerOptions extends ClientLimits {
  /** How often timeouts are checked, ms. */
  readonly timeoutCheckInterval: number;
  /** Present: a TLS listener (ALPN should offer h2 and http/1.1). */
  readonly tls?: TlsOptions | undefined;
}

/** Gives a connection (a socket, or the in-process stand-in of a handed-over one) to Node's server. */
export type Fallback = (socket: Duplex) => void;

export class Http1Listener implements ListenerContext {
  readonly server: Server;
  private readonly connections = new Set<ClientConnection>();
  private readonly handedOver = new Set<Socket>();
  /** Connections the fast path handed to Node's server (metrics: they count under `node`). */
  private readonly moved = new WeakSet<Socket>();
  private readonly timer: NodeJS.Timeout;

  readonly proto: 'http' | 'https';

  constructor(
    readonly proxy: IngressCore,
    readonly limits: Http1ListenerOptions,
    private readonly fallback: Fallback,
  ) {
    const accept = (socket: Socket): void => {
      this.track(socket, 'fast');
      try {
        const conn = new ClientConnection(socket, this);
        this.connections.add(conn);
        // Reads without an ArrayBuffer, a trip through the Readable or a copy each
        // (shared-read-buffer.ts): the connection borrows them.
        readIntoSharedBuffer(socket, conn.onData);
      } catch (err) {
        proxy.connectionException('fast', err, () => socket.destroy());
      }
    };
    this.proto = limits.tls ? 'https' : 'http';
    if (limits.tls) {
      this.server = createTlsServer(limits.tls, (socket: TLSSocket) => {
        if (socket.alpnProtocol === 'h2') return this.handoverHttp2(socket);
        accept(socket);
      });
      this.server.on('tlsClientError', () => undefined);
    } else this.server = createServer({ noDelay: true }, accept);
    this.timer = setInterval(() => this.sweep(), limits.timeoutCheckInterval).unref();
  }

  listen(host: string, port: number, reusePort: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // exclusive: a cluster worker binds its own socket instead of sharing the primary's.
      this.server.listen({ host, port, exclusive: true, reusePort }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  closed(conn: ClientConnection): void {
    this.connections.delete(conn);
  }

  /**
   * An HTTP/2 connection (ALPN h2) goes to Node's HTTP/2 server with a request guard in front:
   * every byte the client sends is read by the guard before nghttp2 reads it (http2/request-guard.ts).
   * A connection the guard gives up on gets a GOAWAY of its own and is closed; the bytes that made
   * the guard give up never reach nghttp2.
   */
  /** Counts a client connection open under `plane`, and its bytes when it closes (metrics.ts). */
  private track(socket: Socket, plane: 'fast' | 'node'): void {
    const traffic = this.proxy.options.metrics?.traffic;
    if (traffic === undefined) return;
    traffic[plane].open++;
    socket.once('close', () => {
      const t = traffic[this.moved.has(socket) ? 'node' : plane];
      t.open--;
      t.bytesIn += socket.bytesRead;
      t.bytesOut += socket.bytesWritten;
    });
  }

  private handoverHttp2(socket: Socket): void {
    this.track(socket, 'node');
    readThroughReadable(socket);
    this.handedOver.add(socket);
    socket.once('close', () => this.handedOver.delete(socket));
    handOverGuarded(
      socket,
      undefined,
      this.fallback,
      newRequestGuard(this.limits.maxHeaderSize),
      () => this.proxy.countConnectionError('node', 'malformed'),
      // The real connection, for its client certificate (client-certificate.ts).
      { [TLS_CONNECTION]: socket },
    );
  }

  /**
   * Node's HTTP server takes over through an in-process socket pair: it reads what we had
   * buffered, then the rest of the client's bytes, and its answers go back to the client.
   */
  handover(socket: Socket, buffered: Buffer | undefined): void {
    const traffic = this.proxy.options.metrics?.traffic;
    if (traffic !== undefined) {
      // From the fast path: counted under node from now on.
      this.moved.add(socket);
      traffic.fast.open--;
      traffic.node.open++;
    }
    readThroughReadable(socket);
    const [inner, outer] = duplexPair();
    // What the HTTP server and the proxy read from req.socket.
    Object.assign(inner, {
      alpnProtocol: (socket as Partial<TLSSocket>).alpnProtocol ?? false,
      encrypted: this.proto === 'https' || undefined,
      // The real connection, for its client certificate (client-certificate.ts).
      [TLS_CONNECTION]: this.proto === 'https' ? socket : undefined,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      remoteFamily: socket.remoteFamily,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      setNoDelay: () => inner,
      setKeepAlive: () => inner,
      setTimeout: (ms: number, cb?: () => void) => {
        idleMs = ms;
        if (cb) inner.once('timeout', cb);
        arm();
        return inner;
      },
    });
    // socket.setTimeout for Node's server (its keep-alive timeout): 'timeout' after `idleMs` without
    // a byte either way, as on a real socket.
    let idleMs = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(idle);
      idle = idleMs > 0 ? setTimeout(() => inner.emit('timeout'), idleMs).unref() : undefined;
    };
    socket.on('data', arm);
    outer.on('data', arm);
    inner.once('close', () => clearTimeout(idle));
    this.handedOver.add(socket);
    if (buffered) outer.write(buffered);
    relayCorked(outer, socket);
    socket.pipe(outer);
    // Node's side first, destroyed outright: destroying `outer` first would hand `inner` an EOF,
    // and destroying one side alone does not end the other.
    const gone = (): void => {
      inner.destroy();
      outer.destroy();
    };
    socket.on('error', gone);
    socket.on('close', () => {
      this.handedOver.delete(socket);
      gone();
    });
    outer.on('error', () => socket.destroy());
    outer.on('close', () => socket.destroy());
    socket.resume();
    this.fallback(inner);
  }

  private sweep(): void {
    const now = performance.now();
    for (const conn of this.connections) {
      try {
        conn.sweep(now);
      } catch (err) {
        conn.crashed(err);
      }
    }
    this.proxy.pool.sweep(now);
    this.proxy.http2Pool.sweep(now);
  }

  /** Stops accepting; idle connections close now, busy ones after their exchange. */
  stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.connections) conn.close();
    return closed;
  }

  /** Closes everything still open. */
  destroy(): void {
    clearInterval(this.timer);
    for (const conn of this.connections) conn.socket.destroy();
    for (const socket of this.handedOver) socket.destroy();
  }
}
