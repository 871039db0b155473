/**
 * Relays what Node's HTTP server writes on the in-process stand-in of a handed-over connection
 * (http1/listener.ts `handover`) to the client's socket, all bytes of one turn of the event loop in
 * one write. Node's server writes a response's head and body apart, and the socket pair hands them
 * over one chunk at a time: relayed one by one, over TLS each became a TLS record and a system call
 * of its own (docs/benchmarks.md, issue 15). HTTP/2 sessions run on their own stand-in
 * (http2/stand-in-socket.ts), which does the same.
 */
import type { Duplex } from 'node:stream';

/** Starts relaying `from` to `to` (ending `to` when `from` ends); the result stops it. */
export function relayCorked(from: Duplex, to: Duplex): () => void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    if (!to.destroyed) to.uncork();
  };
  const resume = (): void => {
    from.resume();
  };
  const onData = (chunk: Buffer): void => {
    if (!corked) {
      corked = true;
      to.cork();
      // setImmediate, not nextTick: the pair delivers one frame per tick, all within this turn.
      setImmediate(flush);
    }
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', resume);
    }
  };
  const onEnd = (): void => {
    to.end();
  };
  from.on('data', onData);
  from.once('end', onEnd);
  return () => {
    from.off('data', onData);
    from.off('end', onEnd);
    to.off('drain', resume);
  };
}
