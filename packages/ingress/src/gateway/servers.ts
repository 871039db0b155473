/**
 * One server per Gateway listener port on the gateway address (`--gateway-address`): opened when a
 * Gateway of ours first needs the port, closed when none does any more. HTTPS ports pick the
 * certificate of the listener whose hostname matches the SNI server name. A port that cannot be
 * opened (already in use) is reported and retried on the next update; the other ports are served.
 */
import type * as http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { TLS_MIN_VERSION } from '../certs.js';
import type { ServedListener } from './compile.js';
import { cleartextServer } from './cleartext.js';
import { TlsPassthrough } from './passthrough.js';
import type { GatewayProxy } from './gateway-proxy.js';
import { selectListener } from './match.js';
import { http as nodeHttp } from '../node-http.js';

interface PortServer {
  readonly protocol: ServedListener['protocol'];
  readonly server: Server;
  /** The clients' connections, closed with the server. */
  readonly sockets: Set<Socket>;
  /** Listeners of this port, for SNI. */
  listeners: readonly ServedListener[];
}

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
        await close(s);
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

  async close(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((s) => close(s)));
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
    if (protocol === 'HTTP') {
      const http1 = nodeHttp.createServer((req, res) => this.proxy.serve(req, res, 'http'));
      http1.on('upgrade', (req, socket, head: Buffer) => this.proxy.serveUpgrade(req, socket, head, 'http'));
      refuseWith(this.proxy, http1);
      // nghttp2's memory for one session bounded as on the Ingress's HTTP/2 server.
      const h2c = http2.createServer({ maxSessionMemory: 64 }, (req, res) =>
        this.proxy.serve(
          req as unknown as http.IncomingMessage,
          res as unknown as http.ServerResponse,
          'http',
        ),
      );
      return { protocol, server: track(cleartextServer(http1, h2c)), sockets, listeners };
    }
    if (protocol === 'TLS') {
      // The passthrough reads the entry's listeners, which update() replaces as Gateways change.
      const entry: { current?: PortServer } = {};
      const server = this.passthrough.server(() => entry.current!.listeners);
      entry.current = { protocol, server: track(server), sockets, listeners };
      return entry.current;
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
    const server = http2.createSecureServer(
      {
        allowHTTP1: true,
        maxSessionMemory: 64,
        cert: first.cert,
        key: first.key,
        minVersion: TLS_MIN_VERSION,
        SNICallback: (name, done) => done(null, contextFor(name)),
      },
      (req, res) =>
        this.proxy.serve(
          req as unknown as http.IncomingMessage,
          res as unknown as http.ServerResponse,
          'https',
        ),
    );
    server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) =>
      this.proxy.serveUpgrade(req, socket, head, 'https'),
    );
    server.on('tlsClientError', () => undefined);
    refuseWith(this.proxy, server);
    entry.current = { protocol, server: track(server), sockets, listeners };
    return entry.current;
  }
}

/** CONNECT refused and malformed requests answered (and counted) as on the Ingress's servers. */
function refuseWith(proxy: GatewayProxy, server: http.Server | http2.Http2SecureServer): void {
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

function close(s: PortServer): Promise<void> {
  return new Promise((resolve) => {
    s.server.close(() => resolve());
    for (const socket of s.sockets) socket.destroy();
  });
}
