/**
 * The server name (SNI, RFC 6066 §3) of a TLS ClientHello, read from the first bytes of a
 * connection without terminating TLS, for passthrough listeners. Our own small parser: it takes
 * the bytes as they arrive (a ClientHello may be split over several records, and the records over
 * several reads), answers "need more" until the handshake message is complete, and refuses
 * anything that is not a well-formed ClientHello (no TLS handshake record, a record or message over
 * the bounds, lengths that do not add up, a repeated extension, a malformed or non-ASCII name).
 */

/** The most bytes read before deciding: a ClientHello with post-quantum key shares is ~2 KiB. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;
const RECORD_HEADER = 5;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_NAME = 0;
const HOST_NAME = 0;
/** RFC 1035 limits and LDH labels; underscores are allowed (some clients send them). */
const HOSTNAME =
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

export type ClientHelloResult =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly serverName: string | undefined }
  | { readonly state: 'invalid'; readonly reason: string };

/** Reads `bytes` (everything the client has sent so far). */
export function readClientHello(bytes: Buffer): ClientHelloResult {
  // Reassemble the handshake layer from the records present so far.
  const fragments: Buffer[] = [];
  let handshakeBytes = 0;
  let at = 0;
  let needed: number | undefined;
  while (at + RECORD_HEADER <= bytes.length) {
    const type = bytes[at]!;
    const major = bytes[at + 1]!;
    const length = bytes.readUInt16BE(at + 3);
    if (type !== HANDSHAKE) return invalid(`record type ${type} where a TLS handshake record was expected`);
    if (major !== 3) return invalid(`record version ${major}.${bytes[at + 2]} is not TLS`);
    if (length === 0 || length > 16_384) return invalid(`record length ${length} is out of bounds`);
    if (at + RECORD_HEADER + length > bytes.length) break;
    const fragment = bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
    fragments.push(fragment);
    handshakeBytes += fragment.length;
    at += RECORD_HEADER + length;
    if (needed === undefined && handshakeBytes >= 4) {
      const head = Buffer.concat(fragments).subarray(0, 4);
      if (head[0] !== CLIENT_HELLO) return invalid(`handshake message type ${head[0]} is not a ClientHello`);
      needed = 4 + head.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO_BYTES)
        return invalid(`a ClientHello of ${needed} bytes is over the bound`);
    }
    if (needed !== undefined && handshakeBytes >= needed)
      return parseClientHello(Buffer.concat(fragments).subarray(4, needed));
  }
  if (bytes.length > 0 && bytes[0] !== HANDSHAKE)
    return invalid(`record type ${bytes[0]} where a TLS handshake record was expected`);
  if (bytes.length >= MAX_CLIENT_HELLO_BYTES + RECORD_HEADER * 4)
    return invalid(`no complete ClientHello in ${bytes.length} bytes`);
  return { state: 'more' };
}

function parseClientHello(body: Buffer): ClientHelloResult {
  const r = new Reader(body);
  r.skip(2 + 32); // legacy_version, random
  r.skip(r.u8()); // legacy_session_id
  const suites = r.u16();
  if (suites < 2 || suites % 2) return invalid(`cipher_suites length ${suites}`);
  r.skip(suites);
  const compressions = r.u8();
  if (compressions < 1) return invalid('no compression method');
  r.skip(compressions);
  if (r.failed) return invalid('the ClientHello is shorter than its fields');
  if (r.left === 0) return { state: 'done', serverName: undefined }; // no extensions at all
  const extensionsEnd = r.u16() + r.offset;
  if (extensionsEnd !== body.length) return invalid('the extensions do not fill the ClientHello');
  const seen = new Set<number>();
  let serverName: string | undefined;
  while (r.offset < extensionsEnd && !r.failed) {
    const type = r.u16();
    const length = r.u16();
    if (seen.has(type)) return invalid(`extension ${type} appears twice`);
    seen.add(type);
    const data = r.bytes(length);
    if (r.failed) break;
    if (type !== SERVER_NAME) continue;
    const name = parseServerName(data);
    if (typeof name !== 'string') return name;
    serverName = name;
  }
  if (r.failed || r.offset !== extensionsEnd) return invalid('an extension runs past the ClientHello');
  return { state: 'done', serverName };
}

function parseServerName(data: Buffer): string | ClientHelloResult {
  const r = new Reader(data);
  const listEnd = r.u16() + r.offset;
  if (r.failed || listEnd !== data.length) return invalid('server_name list length does not match');
  let host: string | undefined;
  while (r.offset < listEnd && !r.failed) {
    const type = r.u8();
    const name = r.bytes(r.u16());
    if (r.failed) break;
    if (type !== HOST_NAME) continue;
    if (host !== undefined) return invalid('two host names in server_name');
    // RFC 6066: ASCII, no trailing dot; compared case-insensitively.
    const text = name.toString('latin1').toLowerCase();
    if (!HOSTNAME.test(text))
      return invalid(`server name ${JSON.stringify(text.slice(0, 64))} is not a hostname`);
    host = text;
  }
  if (r.failed) return invalid('server_name entry runs past its list');
  if (host === undefined) return invalid('server_name without a host name');
  return host;
}

function invalid(reason: string): ClientHelloResult {
  return { state: 'invalid', reason };
}

/** Bounds-checked big-endian reads: past the end, `failed` is set and zeros are returned. */
class Reader {
  offset = 0;
  failed = false;
  constructor(private readonly buf: Buffer) {}

  get left(): number {
    return this.buf.length - this.offset;
  }

  private take(n: number): number {
    if (this.failed || this.offset + n > this.buf.length) {
      this.failed = true;
      return -1;
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buf[at]!;
  }

  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buf.readUInt16BE(at);
  }

  skip(n: number): void {
    this.take(n);
  }

  bytes(n: number): Buffer {
    const at = this.take(n);
    return at < 0 ? Buffer.alloc(0) : this.buf.subarray(at, at + n);
  }
}
