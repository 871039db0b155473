/**
 * One server per Gateway listener port on the gateway address (`--gateway-address`): opened when a
 * Gateway of ours first needs the port, closed when none does any more. HTTPS ports pick the
 * certificate of the listener whose hostname matches the SNI server name. A port that cannot be
 * opened (already in use) is reported and retried on the next update; the other ports are served.
 *
 * As on the Ingress ports: HTTP/1.1 has the Ingress server's limits (header size, header, request
 * and keep-alive timeouts), HTTP/2 (h2c and h2 by ALPN) passes the request guard
 * (http2/guarded-server.ts) before nghttp2 reads it, and close(graceMs) drains: no new
 * connections, idle keep-alives closed, GOAWAY on HTTP/2 sessions, requests in flight given up to
 * graceMs, then whatever is left closed.
 */
import type * as http from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import type { Logger } from 'pino';
import { TLS_MIN_VERSION } from '../certs.js';
import { GuardedHttp2Server } from '../http2/guarded-server.js';
import { http as nodeHttp } from '../node-http.js';
import { defaultServerOptions, http1ServerLimits } from '../server.js';
import type { ServedListener } from './compile.js';
import { cleartextServer, type CleartextServer } from './cleartext.js';
import { TlsPassthrough } from './passthrough.js';
import type { GatewayProxy } from './gateway-proxy.js';
import { selectListener } from './match.js';

interface PortServer {
  readonly protocol: ServedListener['protocol'];
  readonly server: Server;
  /** The clients' connections, closed with the server. */
  readonly sockets: Set<Socket>;
  /** Listeners of this port, for SNI. */
  listeners: readonly ServedListener[];
  /** HTTP/1.1 connections of an HTTP or HTTPS port (it never listens: they are handed to it). */
  readonly http1?: http.Server;
  /** HTTP/2 sessions of an HTTP or HTTPS port, behind the request guard. */
  readonly h2?: GuardedHttp2Server;
  /** An HTTP port's protocol sniffing (h2c or HTTP/1.1), whose undecided connections a drain closes. */
  readonly cleartext?: CleartextServer;
  /**
   * Set when the port drains: HTTP/1.1 responses then close their connection, those in flight
   * (`responses`) too when their head is not sent yet.
   */
  readonly drain: { draining: boolean; readonly responses: Set<http.ServerResponse> };
}

/** The Ingress server's HTTP/1.1 limits (server.ts), for the Gateway ports' HTTP/1.1 server. */
const HTTP1_LIMITS = http1ServerLimits(defaultServerOptions);

export class GatewayServers {
  private readonly servers = new Map<number, PortServer>();
  private readonly contexts = new Map<string, SecureContext>();
  private readonly passthrough: TlsPassthrough;

  constructor(
    private readonly proxy: GatewayProxy,
    private readonly address: string,
    private readonly logger?: Logger,
    /** In a cluster worker: bind its own SO_REUSEPORT socket instead of sharing the primary's. */
    private readonly reusePort = false,
  ) {
    this.passthrough = new TlsPassthrough(proxy, proxy.options.metrics?.registry, logger);
  }

  /** The ports being served, with the port actually bound (differs only for port 0 in tests). */
  ports(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [port, s] of this.servers) {
      const a = s.server.address() as AddressInfo | null;
      if (a) out.set(port, a.port);
    }
    return out;
  }

  /** Serves these listeners; returns the ports that could not be opened (retried on the next update). */
  async update(listeners: readonly ServedListener[]): Promise<{ port: number; error: string }[]> {
    const failed: { port: number; error: string }[] = [];
    this.proxy.setListeners(listeners);
    const byPort = new Map<number, ServedListener[]>();
    for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
    for (const [port, s] of [...this.servers]) {
      const wanted = byPort.get(port);
      if (!wanted || wanted[0]!.protocol !== s.protocol) {
        this.servers.delete(port);
        await close(s, 0);
      } else s.listeners = wanted;
    }
    const live = new Set(listeners.flatMap((l) => l.certificates.map((c) => c.id)));
    for (const id of this.contexts.keys()) if (!live.has(id)) this.contexts.delete(id);
    for (const [port, ls] of byPort) {
      if (this.servers.has(port)) continue;
      const entry = this.open(ls[0]!.protocol, ls);
      try {
        await listen(entry.server, this.address, port, this.reusePort);
        this.servers.set(port, entry);
        this.logger?.info(
          { address: this.address, port, protocol: entry.protocol },
          'serving Gateway listener port',
        );
      } catch (err) {
        failed.push({ port, error: String(err) });
        this.logger?.error(
          { err: String(err), address: this.address, port },
          'cannot open a Gateway listener port',
        );
      }
    }
    return failed;
  }

  /**
   * Stops accepting on every port and drains: requests in flight get up to `graceMs` to finish
   * (idle keep-alive connections are closed at once, HTTP/2 sessions get a GOAWAY, TLS passthrough
   * connections go on), then everything left is closed.
   */
  async close(graceMs = 0): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((s) => close(s, graceMs)));
  }

  /**
   * HTTP ports take HTTP/1.1 and h2c with prior knowledge (cleartext.ts); HTTPS ports HTTP/1.1
   * and HTTP/2 by ALPN, as gRPC clients need.
   */
  private open(protocol: ServedListener['protocol'], listeners: ServedListener[]): PortServer {
    const sockets = new Set<Socket>();
    const track = (server: Server): Server =>
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
    const drain = { draining: false, responses: new Set<http.ServerResponse>() };
    if (protocol === 'TLS') {
      // The passthrough reads the entry's listeners, which update() replaces as Gateways change.
      const entry: { current?: PortServer } = {};
      const server = this.passthrough.server(() => entry.current!.listeners);
      entry.current = { protocol, server: track(server), sockets, listeners, drain };
      return entry.current;
    }
    const proto = protocol === 'HTTP' ? 'http' : 'https';
    const http1 = nodeHttp.createServer(HTTP1_LIMITS, (req, res) => {
      // Draining: this response is the connection's last.
      if (drain.draining) res.shouldKeepAlive = false;
      else {
        drain.responses.add(res);
        res.once('close', () => drain.responses.delete(res));
      }
      this.proxy.serve(req, res, proto);
    });
    http1.on('upgrade', (req, socket, head: Buffer) => this.proxy.serveUpgrade(req, socket, head, proto));
    refuseWith(this.proxy, http1);
    const h2 = new GuardedHttp2Server(
      this.proxy,
      (req, res) => this.proxy.serve(req, res, proto),
      defaultServerOptions.maxHeaderSize,
    );
    refuseWith(this.proxy, h2.server);
    if (protocol === 'HTTP') {
      const cleartext = cleartextServer(http1, h2);
      return { protocol, server: track(cleartext), sockets, listeners, http1, h2, cleartext, drain };
    }
    // The SNI callback reads entry.listeners, which update() replaces as Gateways change.
    const entry: { current?: PortServer } = {};
    const contextFor = (servername: string): SecureContext | undefined => {
      const l =
        selectListener(entry.current!.listeners, servername.toLowerCase()) ?? entry.current!.listeners[0];
      const pair = l?.certificates[0];
      if (!pair) return undefined;
      let ctx = this.contexts.get(pair.id);
      if (!ctx)
        this.contexts.set(
          pair.id,
          (ctx = createSecureContext({ cert: pair.cert, key: pair.key, minVersion: TLS_MIN_VERSION })),
        );
      return ctx;
    };
    const first = listeners[0]!.certificates[0]!;
    // TLS here; then HTTP/2 (ALPN h2) through the request guard, anything else to HTTP/1.1.
    const server = createTlsServer({
      ALPNProtocols: ['h2', 'http/1.1'],
      cert: first.cert,
      key: first.key,
      minVersion: TLS_MIN_VERSION,
      SNICallback: (name, done) => done(null, contextFor(name)),
    });
    // Node's HTTP server checks its timeouts only once it emitted 'listening' (cleartext.ts does
    // the same for HTTP ports); it never listens itself.
    http1.emit('listening');
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2') h2.accept(socket);
      else http1.emit('connection', socket);
    });
    server.on('tlsClientError', () => undefined);
    entry.current = { protocol, server: track(server), sockets, listeners, http1, h2, drain };
    return entry.current;
  }
}

/** CONNECT refused and malformed requests answered (and counted) as on the Ingress's servers. */
function refuseWith(proxy: GatewayProxy, server: http.Server | GuardedHttp2Server['server']): void {
  server.on('connect', (req: http.IncomingMessage, socket: Duplex) => proxy.refuseConnect(req, socket));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => proxy.clientError(err, socket));
}

function listen(server: Server, address: string, port: number, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: address, exclusive: reusePort, reusePort }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, drains for up to `graceMs` (see GatewayServers.close), then closes what is left. */
async function close(s: PortServer, graceMs: number): Promise<void> {
  s.drain.draining = true;
  for (const res of s.drain.responses) if (!res.headersSent) res.shouldKeepAlive = false;
  const closed = new Promise<void>((resolve) => s.server.close(() => resolve()));
  // Connections that have not said h2c or HTTP/1.1 yet are closed; sessions get GOAWAY.
  s.cleartext?.drain();
  s.h2?.drain();
  if (graceMs > 0 && s.sockets.size > 0) {
    // A keep-alive connection whose request finishes meanwhile is idle then: closed as it becomes so.
    const closeIdle = (): void => s.http1?.closeIdleConnections();
    closeIdle();
    const sweep = setInterval(closeIdle, 50);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearInterval(sweep);
    clearTimeout(timer);
  }
  s.http1?.closeAllConnections();
  // Stops its connection-checking timer; it never listened, so the callback gets an error.
  s.http1?.close(() => undefined);
  s.h2?.destroy();
  for (const socket of s.sockets) socket.destroy();
  await closed;
}
