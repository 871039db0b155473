/**
 * Reads what an HTTP/2 client sends before Node's HTTP/2 layer does, to find the requests Node
 * would forward although RFC 9113 says they are malformed.
 *
 * nghttp2, as Node runs it, drops a field with an invalid name or value (a space or a colon in the
 * name; NUL, CR or LF in the value) and passes the rest of the request on; RFC 9113 §8.2.1 makes
 * such a request malformed and §8.1.1 forbids an intermediary to forward it (nginx resets the
 * stream). Node also takes a header list of any size in the client's first flight, before the
 * client acknowledged our SETTINGS. So the client's bytes pass through here first: frame headers
 * are read (payloads of other frames are skipped, not copied), header blocks (HEADERS and
 * CONTINUATION) are put together and decoded with a mirror of the client's HPACK table, and each
 * stream whose block has an invalid field, or a header list over the limit, is remembered with the
 * reason. The server refuses those streams when Node hands them over (request-guard users: see
 * server.ts).
 *
 * Memory is bounded: one header block at a time, at most `maxBlockBytes` of it (beyond that the
 * connection is closed: a block that large is over any header limit, and its HPACK state could not
 * be followed without reading it whole), and at most MAX_PENDING refused streams not yet taken.
 */
import { HpackDecoder, HpackError } from './hpack.js';

export type Refusal = 'malformed' | 'too_large';

/** HTTP/2 error codes (RFC 9113 §7) used when the whole connection is closed. */
export const H2_ERROR = {
  PROTOCOL_ERROR: 1,
  FRAME_SIZE_ERROR: 6,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
};

export interface RequestGuardLimits {
  /** Header list size (RFC 9113 §6.5.2: names, values and 32 octets a field) over which a request is refused. */
  readonly maxHeaderListSize: number;
  /** Compressed header block size (HEADERS and its CONTINUATIONs) over which the connection is closed. */
  readonly maxBlockBytes: number;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const HEADERS = 0x1;
const PUSH_PROMISE = 0x5;
const CONTINUATION = 0x9;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
/** Our SETTINGS_MAX_FRAME_SIZE (Node's default, never raised): a larger frame is a connection error. */
const MAX_FRAME = 16_384;
/** Refused streams the server has not taken yet; more means a client that sends nothing else. */
const MAX_PENDING = 128;

/** RFC 9110 token characters, lower case only (RFC 9113 §8.2.1: upper case is malformed). */
const NAME_CHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_CHAR[c.charCodeAt(0)] = 1;

export class Http2RequestGuard {
  private readonly hpack = new HpackDecoder();
  /** Bytes of the client preface still to come. */
  private preface = PREFACE.length;
  private readonly head = Buffer.alloc(9);
  private headLen = 0;
  /** The frame being read: its type, flags, stream and the payload bytes still to come. */
  private type = 0;
  private flags = 0;
  private stream = 0;
  private remaining = -1;
  private payload: Buffer | undefined;
  private payloadAt = 0;
  /** The header block being put together, and the stream it belongs to (0: none). */
  private fragments: Buffer[] = [];
  private blockBytes = 0;
  private blockStream = 0;
  private readonly refused = new Map<number, Refusal>();
  /** Set once the connection must be closed: the HTTP/2 error code to close it with. */
  fatal: number | undefined;
  /** The stream of the last whole header block read: the last stream Node may have taken (GOAWAY). */
  lastStream = 0;
  /**
   * Called when a stream is refused; true when the server had handed that stream over already (a
   * malformed trailer block) and dealt with it. Otherwise the refusal waits for take().
   */
  onRefused: ((stream: number, why: Refusal) => boolean) | undefined;

  constructor(private readonly limits: RequestGuardLimits) {}

  /**
   * Reads the next bytes the client sent. false: the connection must be closed (see `fatal`) and
   * these bytes must not reach Node's HTTP/2 layer.
   */
  push(chunk: Buffer): boolean {
    if (this.fatal !== undefined) return false;
    let at = 0;
    if (this.preface > 0) {
      const n = Math.min(this.preface, chunk.length);
      const offset = PREFACE.length - this.preface;
      if (!chunk.subarray(0, n).equals(PREFACE.subarray(offset, offset + n)))
        return this.fail(H2_ERROR.PROTOCOL_ERROR);
      this.preface -= n;
      at = n;
    }
    while (at < chunk.length) {
      if (this.remaining < 0) {
        const n = Math.min(9 - this.headLen, chunk.length - at);
        chunk.copy(this.head, this.headLen, at, at + n);
        this.headLen += n;
        at += n;
        if (this.headLen < 9) break;
        this.headLen = 0;
        if (!this.startFrame()) return false;
        if (this.remaining === 0 && !this.endFrame()) return false;
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - at);
      if (this.payload) chunk.copy(this.payload, this.payloadAt, at, at + n);
      this.payloadAt += n;
      this.remaining -= n;
      at += n;
      if (this.remaining === 0 && !this.endFrame()) return false;
    }
    return true;
  }

  /** The refusal of `stream`, once; refusals of lower streams are forgotten (they were never handed over). */
  take(stream: number): Refusal | undefined {
    if (this.refused.size === 0) return undefined;
    const why = this.refused.get(stream);
    for (const id of this.refused.keys()) if (id <= stream) this.refused.delete(id);
    return why;
  }

  private startFrame(): boolean {
    const h = this.head;
    const length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
    this.type = h[3]!;
    this.flags = h[4]!;
    this.stream = h.readUInt32BE(5) & 0x7fffffff;
    this.remaining = length;
    this.payload = undefined;
    this.payloadAt = 0;
    const block = this.type === HEADERS || this.type === CONTINUATION || this.type === PUSH_PROMISE;
    // Between a HEADERS without END_HEADERS and its last CONTINUATION nothing else may come (§6.10).
    if (this.blockStream !== 0 && (this.type !== CONTINUATION || this.stream !== this.blockStream))
      return this.fail(H2_ERROR.PROTOCOL_ERROR);
    if (!block) return true;
    // A client never pushes; a CONTINUATION must continue something; header frames need a stream.
    if (this.type === PUSH_PROMISE || this.stream === 0) return this.fail(H2_ERROR.PROTOCOL_ERROR);
    if (this.type === CONTINUATION && this.blockStream === 0) return this.fail(H2_ERROR.PROTOCOL_ERROR);
    if (length > MAX_FRAME) return this.fail(H2_ERROR.FRAME_SIZE_ERROR);
    this.payload = Buffer.allocUnsafe(length);
    return true;
  }

  private endFrame(): boolean {
    this.remaining = -1;
    const payload = this.payload;
    if (!payload) return true;
    this.payload = undefined;
    let fragment = payload;
    if (this.type === HEADERS) {
      let start = 0;
      let pad = 0;
      if (this.flags & PADDED) {
        if (payload.length < 1) return this.fail(H2_ERROR.FRAME_SIZE_ERROR);
        pad = payload[0]!;
        start = 1;
      }
      if (this.flags & PRIORITY) start += 5;
      if (start + pad > payload.length) return this.fail(H2_ERROR.PROTOCOL_ERROR);
      fragment = payload.subarray(start, payload.length - pad);
      this.blockStream = this.stream;
    }
    this.blockBytes += fragment.length;
    if (this.blockBytes > this.limits.maxBlockBytes) return this.fail(H2_ERROR.ENHANCE_YOUR_CALM);
    this.fragments.push(fragment);
    if (!(this.flags & END_HEADERS)) return true;
    const block = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    const stream = this.blockStream;
    this.fragments = [];
    this.blockBytes = 0;
    this.blockStream = 0;
    if (!this.inspect(stream, block)) return false;
    this.lastStream = stream;
    return true;
  }

  /** Decodes one whole header block of `stream` and remembers the stream if it must be refused. */
  private inspect(stream: number, block: Buffer): boolean {
    let listSize = 0;
    let malformed = false;
    try {
      this.hpack.decode(block, (name, value) => {
        listSize += name.length + value.length + 32;
        if (!malformed && !(validName(name) && validValue(value))) malformed = true;
      });
    } catch (err) {
      if (err instanceof HpackError) return this.fail(H2_ERROR.COMPRESSION_ERROR);
      throw err;
    }
    const why: Refusal | undefined = malformed
      ? 'malformed'
      : listSize > this.limits.maxHeaderListSize
        ? 'too_large'
        : undefined;
    if (why === undefined) return true;
    if (this.onRefused?.(stream, why)) return true;
    if (this.refused.size >= MAX_PENDING) return this.fail(H2_ERROR.ENHANCE_YOUR_CALM);
    this.refused.set(stream, why);
    return true;
  }

  /** The GOAWAY frame that closes the connection after `fatal`. */
  goaway(): Buffer {
    const f = Buffer.alloc(17);
    f.writeUIntBE(8, 0, 3);
    f[3] = 0x7;
    f.writeUInt32BE(this.lastStream, 9);
    f.writeUInt32BE(this.fatal ?? 0, 13);
    return f;
  }

  private fail(code: number): false {
    this.fatal = code;
    this.fragments = [];
    this.payload = undefined;
    return false;
  }
}

/**
 * RFC 9113 §8.2.1: a field name is a lower-case token; a pseudo-header's after its one leading
 * colon (nghttp2 judges which pseudo-headers are known). Empty names are malformed too.
 */
function validName(name: string): boolean {
  const start = name.charCodeAt(0) === 0x3a ? 1 : 0;
  if (name.length <= start) return false;
  for (let i = start; i < name.length; i++) if (NAME_CHAR[name.charCodeAt(i)] !== 1) return false;
  return true;
}

/** RFC 9113 §8.2.1: no NUL, CR or LF anywhere, no space or tab at either end. */
function validValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  if (value.length === 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return first !== 0x20 && first !== 0x09 && last !== 0x20 && last !== 0x09;
}

const REQUEST_GUARD = Symbol('portico.requestGuard');
type GuardedSocket = { [REQUEST_GUARD]?: Http2RequestGuard };

/** Marks the stand-in socket an HTTP/2 session will run on with the guard in front of it. */
export function attachRequestGuard(socket: object, guard: Http2RequestGuard): void {
  (socket as GuardedSocket)[REQUEST_GUARD] = guard;
}

/** The request guard in front of the HTTP/2 session on `socket`, if one was put there. */
export function requestGuardOf(socket: unknown): Http2RequestGuard | undefined {
  return (socket as GuardedSocket | undefined)?.[REQUEST_GUARD];
}
