/**
 * The plain-HTTP listener: a net.Server whose connections are served by the fast path, with Node's
 * HTTP server (never listening itself) as the fallback for whatever the fast path hands over.
 *
 * Why not node:http for everything: per request it builds IncomingMessage and ServerResponse
 * streams and header objects we immediately take apart again; relaying bytes between two sockets
 * with one strict head parser per side costs a fraction of that (docs/benchmarks.md).
 */
import type http from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { duplexPair } from 'node:stream';
import type { Proxy } from '../proxy.js';
import { ClientConnection, type ClientLimits, type ListenerContext } from './client-connection.js';

export interface Http1ListenerOptions extends ClientLimits {
  /** How often timeouts are checked, ms. */
  readonly timeoutCheckInterval: number;
}

export class Http1Listener implements ListenerContext {
  readonly server: Server;
  private readonly connections = new Set<ClientConnection>();
  private readonly handedOver = new Set<Socket>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly proxy: Proxy,
    readonly limits: Http1ListenerOptions,
    /** Serves what the fast path hands over; it does not listen itself. */
    private readonly fallback: http.Server,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => {
      this.connections.add(new ClientConnection(socket, this));
    });
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
   * Node's HTTP server takes over through an in-process socket pair: it reads what we had
   * buffered, then the rest of the client's bytes, and its answers go back to the client.
   */
  handover(socket: Socket, buffered: Buffer | undefined): void {
    const [inner, outer] = duplexPair();
    // What the HTTP server and the proxy read from req.socket.
    Object.assign(inner, {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      remoteFamily: socket.remoteFamily,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      setNoDelay: () => inner,
      setKeepAlive: () => inner,
      setTimeout: () => inner,
    });
    this.handedOver.add(socket);
    if (buffered) outer.write(buffered);
    socket.pipe(outer);
    outer.pipe(socket);
    socket.on('error', () => outer.destroy());
    socket.on('close', () => {
      this.handedOver.delete(socket);
      outer.destroy();
    });
    outer.on('error', () => socket.destroy());
    outer.on('close', () => socket.destroy());
    socket.resume();
    this.fallback.emit('connection', inner);
  }

  private sweep(): void {
    const now = performance.now();
    for (const conn of this.connections) conn.sweep(now);
    this.proxy.pool.sweep(Date.now());
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
