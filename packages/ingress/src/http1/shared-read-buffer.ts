/**
 * Reads an accepted connection's bytes (decrypted, over TLS) into one buffer shared by every
 * connection of the process, instead of a new ArrayBuffer per read that then travels through the socket's
 * Readable. This is net's `onread` option (upstream-connection.ts uses it for pod connections),
 * which Node honours only for sockets it connects itself, never for those a server accepts. It is
 * set here the way net.Socket sets it for `onread`: the socket's own kBuffer and kBufferCb fields
 * and the handle's useUserBuffer(). Those are Node internals: where they are missing (another Node
 * version) the socket is left as it is.
 *
 * When the socket flows with nothing buffered, a read is lent to `borrow` where it lies in the
 * shared buffer, valid during the call only: the fast path parses a whole head at once and copies
 * only the bytes it keeps (owned()), so the common request is never copied. Without a borrower it
 * is copied out (a small slice of Buffer's pool) and emitted as 'data'. A read that finds the
 * socket paused or bytes buffered is copied and goes through the Readable as before. So pause(),
 * resume(), pipe() and the order of the bytes stay those of any socket (the fast path pauses,
 * Node's server pipes). Measured in docs/benchmarks.md (issue 15, HTTPS; session 9).
 */
import type { Socket } from 'node:net';

const shared = Buffer.allocUnsafe(64 * 1024);

/** Set on a socket whose reads must go through its Readable: one handed over to Node's server. */
const throughReadable = Symbol('throughReadable');

interface UserBufferHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/** The two symbols net.Socket keeps `onread` under; found on the first socket, the same for all. */
let fields: { buffer: symbol; callback: symbol } | null | undefined;

function onreadFields(socket: Socket): { buffer: symbol; callback: symbol } | null {
  if (fields !== undefined) return fields;
  const own = Object.getOwnPropertySymbols(socket);
  const buffer = own.find((s) => s.description === 'kBuffer');
  const callback = own.find((s) => s.description === 'kBufferCb');
  fields = buffer && callback ? { buffer, callback } : null;
  return fields;
}

/**
 * Switches `socket` to the shared read buffer; false (nothing changed) where Node lacks the means.
 * `borrow`, when given, takes the reads that would be emitted as 'data', uncopied (see above).
 */
export function readIntoSharedBuffer(socket: Socket, borrow?: (view: Buffer) => void): boolean {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  const f = onreadFields(socket);
  if (f === null || typeof handle?.useUserBuffer !== 'function') return false;
  const slots = socket as unknown as Record<symbol, unknown>;
  // Both are null on a socket created without `onread`; anything else is not the layout we know.
  if (slots[f.buffer] !== null || slots[f.callback] !== null) return false;
  slots[f.buffer] = shared;
  // Returns false to stop reading (net's onread contract): the Readable is full.
  slots[f.callback] = (length: number, buffer: Buffer): boolean => {
    const view = buffer.subarray(0, length);
    const direct = (socket as unknown as Record<symbol, unknown>)[throughReadable] !== true;
    if (direct && socket.readableFlowing === true && socket.readableLength === 0) {
      if (borrow !== undefined) borrow(view);
      else socket.emit('data', Buffer.from(view));
      return true;
    }
    return socket.push(Buffer.from(view));
  };
  handle.useUserBuffer(shared);
  return true;
}

/**
 * From now on `socket`'s reads go through its Readable only: for a socket handed over to Node's
 * server, which pipes it. With 'data' emitted around the Readable, such a connection whose client
 * had stopped reading was often not closed after the send timeout (security-slow-reader.test.ts,
 * node-https: 2 runs in 3 failed under load, none in 8 with this).
 */
export function readThroughReadable(socket: Socket): void {
  (socket as unknown as Record<symbol, unknown>)[throughReadable] = true;
}

/** `bytes`, or a copy of them when they lie in the shared buffer (a lent read is kept). */
export function owned(bytes: Buffer): Buffer {
  return bytes.buffer === shared.buffer ? Buffer.from(bytes) : bytes;
}
