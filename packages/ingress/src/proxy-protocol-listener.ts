/**
 * Makes a listener require a PROXY protocol header (proxy-protocol.ts) on every connection, before
 * its own handling (HTTP, or the TLS handshake) sees a byte. A connection without a valid header
 * within the deadline is closed, never served: with the option on, only the load balancer may
 * connect, and a client reaching the port directly cannot claim an address.
 *
 * The header's source address becomes the socket's peer address (see claimPeer), so everything
 * that reads `remoteAddress` (both data planes, the TLS socket wrapped around it, HTTP/2 sessions,
 * access logs, X-Forwarded-For) sees the client, with no change to them and no per-request cost.
 */
import type { Server, Socket } from 'node:net';
import { DEFAULT_MAX_V2_LENGTH, parseProxyHeader, type ProxyAddress } from './proxy-protocol.js';

export interface ProxyProtocolOptions {
  /** The whole header must arrive within this, ms. */
  readonly timeoutMs: number;
  readonly maxV2Length?: number;
  /** A connection closed for its header (counted and logged by the caller). */
  readonly onRefused?: (reason: string, socket: Socket) => void;
}

type ConnectionListener = (socket: Socket) => void;

/**
 * Puts the header check in front of the server's 'connection' listeners (net.Server or tls.Server).
 * Returns a function that closes the connections still waiting for their header: a server being
 * stopped must not wait for them (net.Server's close waits for every connection it accepted).
 */
export function requireProxyProtocol(server: Server, options: ProxyProtocolOptions): () => void {
  const listeners = server.listeners('connection') as ConnectionListener[];
  const waiting = new Set<Socket>();
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    waiting.add(socket);
    socket.once('close', () => waiting.delete(socket));
    readProxyHeader(socket, options, () => {
      waiting.delete(socket);
      for (const listener of listeners) listener.call(server, socket);
    });
  });
  return () => {
    for (const socket of waiting) socket.destroy();
    waiting.clear();
  };
}

/** Reads the header off `socket`, then calls `next` with the socket positioned after it. */
export function readProxyHeader(socket: Socket, options: ProxyProtocolOptions, next: () => void): void {
  let received: Buffer | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
  };
  const refuse = (reason: string): void => {
    stop();
    options.onRefused?.(reason, socket);
    socket.destroy();
  };
  const onError = (): void => {
    stop();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    received = received ? Buffer.concat([received, chunk]) : chunk;
    const parsed = parseProxyHeader(received, options.maxV2Length ?? DEFAULT_MAX_V2_LENGTH);
    if (parsed.state === 'more') return;
    if (parsed.state === 'refused') return refuse(parsed.reason);
    stop();
    socket.pause();
    if (parsed.header.kind === 'proxied') claimPeer(socket, parsed.header.source);
    if (parsed.length < received.length) socket.unshift(received.subarray(parsed.length));
    next();
    // A plain listener reads through 'data' events and needs the stream flowing again; a TLS one
    // reads from the socket's handle and has added no 'data' listener.
    if (!socket.destroyed && socket.listenerCount('data') > 0) socket.resume();
  };
  const timer = setTimeout(
    () => refuse(`no complete PROXY protocol header within ${options.timeoutMs} ms`),
    options.timeoutMs,
  ).unref();
  socket.on('data', onData);
  socket.on('error', onError);
  socket.once('close', () => clearTimeout(timer));
}

interface PeerHandle {
  getpeername?: (out: { address?: string; port?: number; family?: string }) => number;
}

/**
 * The socket reports `peer` as its remote address. Node's sockets (and a TLS socket wrapped around
 * one, which forwards getpeername to the same handle) ask their handle once and cache the answer;
 * answering for the handle is the one place that covers every reader.
 */
function claimPeer(socket: Socket, peer: ProxyAddress): void {
  const handle = (socket as unknown as { _handle?: PeerHandle | null })._handle;
  if (!handle) return;
  handle.getpeername = (out) => {
    out.address = peer.address;
    out.port = peer.port;
    out.family = peer.family;
    return 0;
  };
  delete (socket as unknown as { _peername?: unknown })._peername;
}
