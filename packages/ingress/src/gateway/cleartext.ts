/**
 * A cleartext Gateway port that speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c, RFC 9113
 * §3.3): the first bytes of a connection say which. A connection that starts with the HTTP/2
 * preface goes to an HTTP/2 server, any other to the HTTP/1.1 server. Deciding needs at most the
 * preface's 24 bytes, read as they come (a client may send them one at a time), and must happen
 * within `decideWithin` ms, or the connection is closed. The HTTP/2 side is behind the request
 * guard, as the Ingress's HTTP/2 is.
 *
 * A drain closes the connections still undecided at once: they have not sent a request (only the
 * start of a preface), and neither server knows them, so nothing else would end them before the
 * grace runs out.
 */
import type http from 'node:http';
import net from 'node:net';
import type { GuardedHttp2Server } from '../http2/guarded-server.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface CleartextServer extends net.Server {
  /** Starts a drain: closes the undecided connections, and any accepted from now on. */
  drain(): void;
}

export function cleartextServer(
  http1: http.Server,
  h2c: Pick<GuardedHttp2Server, 'accept'>,
  decideWithin = 10_000,
): CleartextServer {
  // Node's HTTP servers check their header and request timeouts only once they emitted
  // 'listening'; these never listen themselves, the net server hands them their connections.
  http1.emit('listening');
  const undecided = new Set<net.Socket>();
  let draining = false;
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (draining) return void socket.destroy();
    let seen = Buffer.alloc(0);
    undecided.add(socket);
    const timer = setTimeout(() => socket.destroy(), decideWithin);
    socket.once('close', () => {
      clearTimeout(timer);
      undecided.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const http2Preface = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (http2Preface && n < PREFACE.length) return; // undecided: wait for more
      clearTimeout(timer);
      undecided.delete(socket);
      socket.off('data', onData);
      socket.pause();
      // Through the request guard, which reads the preface first (http2/guarded-server.ts).
      if (http2Preface) return h2c.accept(socket, seen);
      // Node's HTTP/1.1 server reads the socket's buffered bytes first.
      socket.unshift(seen);
      http1.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
  });
  return Object.assign(server, {
    drain(): void {
      draining = true;
      for (const socket of undecided) socket.destroy();
      undecided.clear();
    },
  });
}
