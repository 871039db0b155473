/**
 * The listeners of one proxy process: plain HTTP/1.1 on the fast path (http1/listener.ts), and
 * HTTPS with HTTP/2 by ALPN (http2.createSecureServer with allowHTTP1).
 *
 * Node's HTTP server stays the judge of everything unusual: the fast path hands it any connection
 * whose next head it does not take. Its limits then apply: maxHeaderSize (431), headersTimeout and
 * requestTimeout (408 for slow clients), and llhttp's strict framing (400 for Content-Length with
 * Transfer-Encoding or conflicting Content-Lengths, RFC 9112 §6.3), so requests cannot be smuggled
 * past us. The fast path enforces the same size limit and timeouts for the heads it takes.
 *
 * HTTP/2 connections reach Node's HTTP/2 server through a request guard (http2/request-guard.ts)
 * that sees what Node would silently drop: malformed fields and oversized header lists.
 */
import type * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import { CertStore, selfSignedPair, TLS_MIN_VERSION, type PemPair } from './certs.js';
import { Http1Listener } from './http1/listener.js';
import { guardRequests } from './http2/guarded-server.js';
import { defaultProxyOptions, Proxy, type ProxyOptions } from './proxy.js';
import { enableProxyProtocol, type ProxyProtocolPorts } from './proxy-protocol-ports.js';
import type { RouteTable } from './table.js';
import { upgradeProtocols } from './tunnel.js';
import { http as nodeHttp } from './node-http.js';

export interface ServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly httpPort: number;
  /** null disables HTTPS. */
  readonly httpsPort: number | null;
  readonly maxHeaderSize: number;
  /** Whole request head must arrive within this, ms (408). */
  readonly headersTimeout: number;
  /** Whole request (head and body) must arrive within this, ms (408). */
  readonly requestTimeout: number;
  /**
   * A request body may take this long, ms, plus one second for every `minBodyRate` bytes it
   * delivered (408 after; Apache's RequestReadTimeout body=…,MinRate=…).
   */
  readonly bodyTimeout: number;
  /** Bytes a second a body must keep up after `bodyTimeout`; 0 disables the rate check. */
  readonly minBodyRate: number;
  /** Idle time between keep-alive requests, ms. */
  readonly keepAliveTimeout: number;
  /** How often Node checks the two timers above, ms. */
  readonly timeoutCheckInterval: number;
  /** Default certificate; a self-signed one is generated when absent. */
  readonly defaultCert?: PemPair | undefined;
  /** Listeners that require a PROXY protocol header on each connection (proxy-protocol-ports.ts). */
  readonly proxyProtocol?: ProxyProtocolPorts | undefined;
  readonly proxy: Partial<ProxyOptions>;
}

export const defaultServerOptions: ServerOptions = {
  host: '::',
  httpPort: 80,
  httpsPort: 443,
  maxHeaderSize: 16 * 1024,
  headersTimeout: 20_000,
  requestTimeout: 60_000,
  bodyTimeout: 10_000,
  minBodyRate: 1024,
  keepAliveTimeout: 75_000,
  timeoutCheckInterval: 1_000,
  proxy: {},
};

/**
 * Which Upgrade requests Node hands to Proxy.upgrade (a tunnel if the pod answers 101). h2c is
 * served as an ordinary request, its Upgrade and HTTP2-Settings dropped as hop-by-hop: an h2c
 * tunnel would carry HTTP/2 requests to the pod past routing.
 */
export function tunnels(req: IncomingMessage): boolean {
  const protocols = upgradeProtocols(req.headers.upgrade);
  return protocols.length > 0 && !protocols.includes('h2c');
}

/**
 * The limits of Node's HTTP/1.1 server on our ports (the Ingress ports and, with the defaults, the
 * Gateway ports): an `Upgrade: h2c` is an ordinary request, other upgrades (WebSocket) tunnelled.
 */
export function http1ServerLimits(o: ServerOptions) {
  return {
    maxHeaderSize: o.maxHeaderSize,
    headersTimeout: o.headersTimeout,
    requestTimeout: o.requestTimeout,
    keepAliveTimeout: o.keepAliveTimeout,
    connectionsCheckingInterval: o.timeoutCheckInterval,
    shouldUpgradeCallback: tunnels,
  } satisfies http.ServerOptions;
}

export class IngressServer {
  readonly proxy: Proxy;
  readonly certs: CertStore | undefined;
  /** Serves what the plain-HTTP fast path hands over; it does not listen itself. */
  readonly http: http.Server;
  readonly http1: Http1Listener;
  /** Serves HTTP/2, and what the TLS fast path hands over; it does not listen itself. */
  readonly https: http2.Http2SecureServer | undefined;
  readonly tls1: Http1Listener | undefined;
  private readonly options: ServerOptions;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly tlsSockets = new Set<TLSSocket>();
  /** Closes connections still waiting for a PROXY protocol header. */
  private closeHeaderWaits = (): void => undefined;

  constructor(options: Partial<ServerOptions> = {}) {
    this.options = { ...defaultServerOptions, ...options };
    const o = this.options;
    this.proxy = new Proxy({ ...defaultProxyOptions, httpsPort: o.httpsPort ?? 443, ...o.proxy });
    const limits = http1ServerLimits(o);
    this.http = nodeHttp.createServer(limits, (req, res) => this.proxy.serve(req, res, 'http'));
    this.http.on('upgrade', (req: IncomingMessage, socket, head: Buffer) =>
      this.proxy.serveUpgrade(req, socket, head, 'http'),
    );
    this.http.on('connect', (req: IncomingMessage, socket: Duplex) => this.proxy.refuseConnect(req, socket));
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.proxy.clientError(err, socket),
    );
    const bodyTimeouts = {
      requestTimeout: o.requestTimeout,
      bodyTimeout: o.bodyTimeout,
      minBodyRate: o.minBodyRate,
    };
    this.proxy.bodies.limits = bodyTimeouts;
    this.proxy.bodies.interval = o.timeoutCheckInterval;
    // Node's servers check headersTimeout and requestTimeout only once they emitted 'listening'
    // (that starts their connection tracking). They never listen here: the fast path hands them
    // their connections. Without this, a handed-over connection had no header or request timeout.
    this.http.emit('listening');
    const http1Limits = { ...limits, ...bodyTimeouts, timeoutCheckInterval: o.timeoutCheckInterval };
    this.http1 = new Http1Listener(this.proxy, http1Limits, (socket) => this.http.emit('connection', socket));
    if (o.httpsPort !== null) {
      const certs = new CertStore(o.defaultCert ?? selfSignedPair());
      this.certs = certs;
      const tlsOptions = {
        ...certs.defaultPair,
        minVersion: TLS_MIN_VERSION,
        // A function, not an arrow: Node calls it on the handshake's TLSSocket (certs.ts).
        SNICallback(
          this: TLSSocket,
          servername: string,
          cb: (err: Error | null, ctx?: SecureContext) => void,
        ) {
          certs.sniCallback(this, servername, cb);
        },
      };
      // Does the TLS handshakes of nothing: the TLS listener below hands it HTTP/2 connections
      // after the handshake, and the HTTP/1.1 ones the fast path does not take.
      const https = http2.createSecureServer({
        ...tlsOptions,
        allowHTTP1: true,
        maxSessionMemory: 64,
        ...limits,
      } as http2.SecureServerOptions);
      this.https = https;
      // Set after construction: Http2SecureServer replaces the option with its own default.
      (
        https as unknown as { shouldUpgradeCallback: (req: IncomingMessage) => boolean }
      ).shouldUpgradeCallback = tunnels;
      https.emit('listening');
      this.tls1 = new Http1Listener(
        this.proxy,
        { ...http1Limits, tls: { ...tlsOptions, ALPNProtocols: ['h2', 'http/1.1'] } },
        (socket) => https.emit('secureConnection', socket),
      );
      // The TLS listener sweeps the core's keep-alive pool: HTTP/2 requests may use it too.
      this.proxy.node.http2ToPool = true;
      // Requests the request guard of their session refused are answered by the proxy's refusal.
      guardRequests(https, this.proxy, (req, res) => this.proxy.serve(req, res, 'https'));
      this.https.on('upgrade', (req: IncomingMessage, socket, head: Buffer) =>
        this.proxy.serveUpgrade(req, socket, head, 'https'),
      );
      this.https.on('tlsClientError', () => undefined);
      this.https.on('connect', (req: IncomingMessage, socket: Duplex | ServerResponse) =>
        this.proxy.refuseConnect(req, socket),
      );
      this.https.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
        this.proxy.clientError(err, socket),
      );
      // Tracked so close() can end them: Http2SecureServer has no closeAllConnections().
      this.https.on('session', (session: http2.ServerHttp2Session) => {
        this.sessions.add(session);
        session.once('close', () => this.sessions.delete(session));
      });
      this.https.on('secureConnection', (socket: TLSSocket) => {
        this.tlsSockets.add(socket);
        socket.once('close', () => this.tlsSockets.delete(socket));
      });
    }
    if (o.proxyProtocol) this.closeHeaderWaits = enableProxyProtocol(this, o.proxyProtocol, o.headersTimeout);
  }

  /** Atomically swaps routing and certificates; never closes a listener or a connection. */
  setTable(table: RouteTable): void {
    this.certs?.setTable(table);
    this.proxy.setTable(table);
  }

  /** `reusePort`: one SO_REUSEPORT listener per worker process (kernel load-balancing). */
  async listen(reusePort = false): Promise<{ httpPort: number; httpsPort: number | null }> {
    const o = this.options;
    const httpPort = await this.http1.listen(o.host, o.httpPort, reusePort);
    const httpsPort =
      this.tls1 && o.httpsPort !== null ? await this.tls1.listen(o.host, o.httpsPort, reusePort) : null;
    return { httpPort, httpsPort };
  }

  /**
   * Stops accepting, lets requests in flight finish for up to `graceMs` (idle keep-alive
   * connections are closed at once, HTTP/2 sessions get a GOAWAY), then closes what is left.
   */
  async close(graceMs = 0): Promise<void> {
    const closing = [this.http1.stop()];
    if (this.tls1) closing.push(this.tls1.stop());
    this.closeHeaderWaits();
    this.http.closeIdleConnections();
    for (const session of this.sessions) session.close();
    const all = Promise.all(closing);
    if (graceMs > 0) await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
    this.http.closeAllConnections();
    // Stops their connection-tracking timers (see the constructor); they were never listening.
    this.http.close(() => undefined);
    this.https?.close(() => undefined);
    this.proxy.bodies.close();
    // Sessions before their sockets: a session destroyed while Node's wrapper of a handed-over
    // socket is being torn down may write into it and trip an assertion inside Node.
    for (const session of this.sessions) session.destroy();
    this.http1.destroy();
    this.tls1?.destroy();
    for (const socket of this.tlsSockets) socket.destroy();
    this.proxy.pool.close();
    this.proxy.http2Pool.close();
    this.proxy.h2.close();
    await Promise.all([
      all,
      this.proxy.upstreams.close(),
      this.proxy.forwardAuth.close().catch(() => undefined),
    ]);
  }
}
