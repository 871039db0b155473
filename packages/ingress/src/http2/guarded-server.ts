/**
 * Node's HTTP/2 server with the request guard (request-guard.ts) in front of every session: the
 * client's bytes pass through the guard before nghttp2 reads them, streams the guard refuses are
 * answered 431 or reset, and a connection the guard gives up on gets the guard's GOAWAY and is
 * closed (the bytes that made it give up never reach nghttp2).
 *
 * `guardRequests` wires a server whose connections are handed over with a guard
 * (`handOverGuarded` below, from the Ingress's TLS listener, http1/listener.ts, and from the
 * Gateway's ports); `GuardedHttp2Server` is a whole server for connections accepted elsewhere (the
 * Gateway listener ports), with the drain the Ingress server does on shutdown: GOAWAY, streams in
 * flight finish, then the rest is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Proxy } from '../proxy.js';
import { attachRequestGuard, Http2RequestGuard, requestGuardOf, type Refusal } from './request-guard.js';
import { StandInSocket } from './stand-in-socket.js';

type Serve = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves the requests of `server` with `serve`, except those the guard of their session refused:
 * those get the proxy's refusal (431 for a header list over the limit, a reset for a malformed one).
 * Must be called before any other 'request' listener is added: Node's compatibility layer makes a
 * request of each stream in a 'stream' listener of its own, added with the first 'request' listener.
 */
export function guardRequests(
  server: http2.Http2Server | http2.Http2SecureServer,
  proxy: Pick<Proxy, 'refuseHttp2' | 'countConnectionError'>,
  serve: Serve,
): void {
  const guards = new WeakMap<
    object,
    { guard: Http2RequestGuard; open: Map<number, http2.ServerHttp2Stream> }
  >();
  const refusals = new WeakMap<http2.ServerHttp2Stream, Refusal>();
  server.on('session', (session: http2.ServerHttp2Session) => {
    // Node runs the session on its wrapper of the handed-over stand-in socket.
    const guard = requestGuardOf((session.socket as unknown as { stream?: unknown }).stream);
    if (!guard) return;
    const open = new Map<number, http2.ServerHttp2Stream>();
    guards.set(session, { guard, open });
    // A stream the guard refuses after Node handed it over (a malformed trailer block) is reset.
    guard.onRefused = (id) => {
      const stream = open.get(id);
      if (!stream) return false;
      proxy.countConnectionError('node', 'malformed');
      stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      return true;
    };
  });
  server.on('stream', (stream: http2.ServerHttp2Stream) => {
    const guarded = stream.session && guards.get(stream.session);
    if (!guarded || stream.id === undefined) return;
    const id = stream.id;
    guarded.open.set(id, stream);
    stream.once('close', () => guarded.open.delete(id));
    const refusal = guarded.guard.take(id);
    if (refusal !== undefined) refusals.set(stream, refusal);
  });
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const refusal = refusals.get(req.stream);
    if (refusal !== undefined)
      return proxy.refuseHttp2(req as unknown as IncomingMessage, res as unknown as ServerResponse, refusal);
    serve(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
}

/** A new request guard with the limits the Ingress's HTTP/2 server uses for `maxHeaderSize`. */
export function newRequestGuard(maxHeaderSize: number): Http2RequestGuard {
  return new Http2RequestGuard({ maxHeaderListSize: maxHeaderSize, maxBlockBytes: 4 * maxHeaderSize });
}

/**
 * Hands a client connection to an HTTP/2 server on a stand-in socket (stand-in-socket.ts), the
 * guard reading every byte first (`first`: bytes already read from the socket). `serve` gives the
 * stand-in to Node's server; `extra`: more properties for it (what the proxy reads off the
 * connection). `onGiveUp` is called when the guard gives up on the connection (its GOAWAY is then
 * written and the socket closed).
 */
export function handOverGuarded(
  socket: Socket,
  first: Buffer | undefined,
  serve: (standIn: Duplex) => void,
  guard: Http2RequestGuard,
  onGiveUp: () => void,
  extra?: object,
): void {
  const standIn = new StandInSocket(socket);
  // What Node's HTTP/2 server and the proxy (peerOf) read from the session's socket. No
  // alpnProtocol for h2c: Node's HTTP/2 server takes `false` for "not h2" and would refuse it.
  const tls = socket as Socket & {
    alpnProtocol?: string | false;
    encrypted?: boolean;
    servername?: string | false;
  };
  Object.assign(standIn, {
    ...(tls.alpnProtocol ? { alpnProtocol: tls.alpnProtocol } : {}),
    // The SNI server name, which a Gateway HTTPS port compares with the Host (421).
    ...(tls.servername ? { servername: tls.servername } : {}),
    encrypted: tls.encrypted || undefined,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    remoteFamily: socket.remoteFamily,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    setNoDelay: () => standIn,
    setKeepAlive: () => standIn,
    setTimeout: () => standIn,
    ...extra,
  });
  attachRequestGuard(standIn, guard);
  // Node's HTTP/2 session turns Nagle's algorithm off on its socket, which here is a stand-in:
  // left on, each small response write waits for the client's delayed ACK (40 ms a request).
  socket.setNoDelay(true);
  const feed = (chunk: Buffer): void => {
    if (standIn.refusing) return;
    if (!guard.push(chunk)) {
      standIn.refusing = true;
      onGiveUp();
      socket.end(guard.goaway());
      socket.destroySoon();
      return;
    }
    standIn.feed(chunk);
  };
  if (first?.length) feed(first);
  socket.on('data', feed);
  // The session learns the client left from this (see stand-in-socket.ts: never an EOF).
  const gone = (): void => {
    standIn.destroy();
  };
  socket.on('error', gone);
  socket.on('close', gone);
  socket.resume();
  serve(standIn);
}

/**
 * An HTTP/2 server (cleartext or over a TLS socket another server accepted) with the request guard
 * in front of each connection, and the drain of a graceful shutdown.
 */
export class GuardedHttp2Server {
  /** Node's server, for its events ('connect'); it never listens. */
  readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private draining = false;

  constructor(
    private readonly proxy: Pick<Proxy, 'refuseHttp2' | 'countConnectionError'>,
    serve: Serve,
    private readonly maxHeaderSize: number,
  ) {
    // nghttp2's memory for one session bounded as on the Ingress's HTTP/2 server.
    this.server = http2.createServer({ maxSessionMemory: 64 });
    guardRequests(this.server, proxy, serve);
    this.server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      // Decided to be HTTP/2 after the drain began: told GOAWAY at once, like the others.
      if (this.draining) session.close();
    });
  }

  /** Serves an HTTP/2 connection; `first`: the bytes already read from it (the preface, for h2c). */
  accept(socket: Socket, first?: Buffer): void {
    handOverGuarded(
      socket,
      first,
      (standIn) => this.server.emit('connection', standIn),
      newRequestGuard(this.maxHeaderSize),
      () => this.proxy.countConnectionError('node', 'malformed'),
    );
  }

  /** GOAWAY on every session: no new streams, those in flight finish, then the session closes. */
  drain(): void {
    this.draining = true;
    for (const session of this.sessions) session.close();
  }

  /** Closes every session at once. */
  destroy(): void {
    for (const session of this.sessions) session.destroy();
  }
}
