/**
 * A cleartext Gateway port that speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c, RFC 9113
 * §3.3): the first bytes of a connection say which. A connection that starts with the HTTP/2
 * preface goes to an HTTP/2 server, any other to the HTTP/1.1 server. Deciding needs at most the
 * preface's 24 bytes, read as they come (a client may send them one at a time), and must happen
 * within `decideWithin` ms, or the connection is closed.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import { duplexPair } from 'node:stream';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function cleartextServer(
  http1: http.Server,
  h2c: http2.Http2Server,
  decideWithin = 10_000,
): net.Server {
  // Node's HTTP servers check their header and request timeouts only once they emitted
  // 'listening'; these never listen themselves, the net server hands them their connections.
  http1.emit('listening');
  return net.createServer({ noDelay: true }, (socket) => {
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), decideWithin);
    socket.on('error', () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const http2Preface = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (http2Preface && n < PREFACE.length) return; // undecided: wait for more
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      if (http2Preface) return handToHttp2(socket, seen, h2c);
      // Node's HTTP/1.1 server reads the socket's buffered bytes first.
      socket.unshift(seen);
      http1.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
  });
}

/**
 * Node's HTTP/2 server reads a net.Socket's handle directly, past bytes already read from it; so
 * it is given one end of an in-process pair that starts with those bytes and then carries the rest
 * of the connection. The proxy reads the client's addresses from that end (peerOf).
 */
function handToHttp2(socket: net.Socket, first: Buffer, server: http2.Http2Server): void {
  const [inner, outer] = duplexPair();
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
  outer.write(first);
  // No EOF is passed on (as in http1/listener.ts): on EOF the session's JSStreamSocket ends its own
  // side, and a write nghttp2 makes while that shutdown is pending trips an assertion in Node that
  // kills the process. The session learns the client left from the destroy below instead.
  socket.on('data', (chunk: Buffer) => {
    if (!outer.write(chunk)) {
      socket.pause();
      outer.once('drain', () => socket.resume());
    }
  });
  outer.pipe(socket);
  // Node's side first: destroying `outer` first would hand `inner` an EOF.
  const gone = (): void => {
    inner.destroy();
    outer.destroy();
  };
  socket.on('error', gone);
  socket.on('close', gone);
  outer.on('error', () => socket.destroy());
  outer.on('close', () => socket.destroy());
  socket.resume();
  server.emit('connection', inner);
}
