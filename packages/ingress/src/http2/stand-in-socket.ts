/**
 * The socket Node's HTTP/2 session runs on when the request guard (request-guard.ts) reads the
 * client's bytes first: one Duplex in front of the client's socket. What the guard lets through is
 * pushed into it (Node's wrapper of a JavaScript stream, JSStreamSocket, hands it to nghttp2); what
 * nghttp2 writes goes straight to the client's socket, all writes of one turn of the event loop in
 * one socket write (over TLS: one record, one system call).
 *
 * It replaces an in-process socket pair and a relay (http1/corked-relay.ts): that pair passed every
 * chunk through a second stream and let one chunk at a time through, each a trip through both
 * streams' machinery (docs/benchmarks.md, session 8).
 *
 * EOF is never passed on: on EOF Node's wrapper ends its own side, and a write nghttp2 makes while
 * that shutdown is pending trips an assertion in Node that kills the process (a client that sends
 * a request and closes was enough). The session learns the client left from destroy() instead.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export class StandInSocket extends Duplex {
  /** Set when the guard gave up on the connection: nghttp2's writes are dropped from then on. */
  refusing = false;
  private corked = false;
  private paused = false;
  private readonly flush = (): void => {
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  };

  constructor(private readonly socket: Socket) {
    super();
  }

  /** Bytes from the client (the guard read them) for nghttp2. */
  feed(chunk: Buffer): void {
    if (this.destroyed) return;
    if (!this.push(chunk) && !this.paused) {
      // nghttp2 is not reading (it pauses with its own flow control): neither is the client's socket.
      this.paused = true;
      this.socket.pause();
    }
  }

  override _read(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.send(chunk);
    this.afterWrite(done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) this.send(chunk);
    this.afterWrite(done);
  }

  private send(chunk: Buffer): void {
    const socket = this.socket;
    if (this.refusing || socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      // setImmediate, not nextTick: nghttp2's next frames of this turn come after the tick.
      setImmediate(this.flush);
    }
    socket.write(chunk);
  }

  /** A write is done when the client's socket can take more (back-pressure reaches nghttp2). */
  private afterWrite(done: (err?: Error | null) => void): void {
    const socket = this.socket;
    if (!socket.writableNeedDrain || socket.destroyed || this.refusing) return done();
    const drained = (): void => {
      socket.off('drain', drained);
      socket.off('close', drained);
      done();
    };
    socket.on('drain', drained);
    socket.on('close', drained);
  }

  /** Node's session shut its side down (after its GOAWAY): the client's socket is ended too. */
  override _final(done: (err?: Error | null) => void): void {
    if (!this.refusing) this.socket.end();
    done();
  }

  /** Node's session is gone: so is the client's connection (what was written still goes out). */
  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!this.socket.destroyed) this.socket.destroySoon();
    done(err);
  }
}
