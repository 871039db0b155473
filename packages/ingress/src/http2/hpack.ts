/**
 * An HPACK decoder (RFC 7541) that mirrors the dynamic table of the peer's encoder exactly, so the
 * proxy can read the header fields an HTTP/2 client sent as sent, before Node's HTTP/2 layer drops
 * the ones it finds invalid. It decodes; it never encodes.
 */
import { huffmanDecode } from './huffman.js';

/** RFC 7541 Appendix A. Index 1 is the first entry. */
const STATIC: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

export class HpackError extends Error {
  readonly code = 'PORTICO_HPACK';
}

/** Called for each field of a block in order; names and values are latin1 (one char per byte). */
export type FieldSink = (name: string, value: string) => void;

export class HpackDecoder {
  /** Newest first. */
  private readonly table: [string, string][] = [];
  private size = 0;
  private maxSize: number;

  /** `maxTableSize`: our SETTINGS_HEADER_TABLE_SIZE, the most the peer may make the table. */
  constructor(private readonly maxTableSize = 4096) {
    this.maxSize = maxTableSize;
  }

  /** Decodes one whole header block; throws HpackError where RFC 7541 says decoding fails. */
  decode(block: Uint8Array, sink: FieldSink): void {
    let at = 0;
    let fields = 0;
    const int = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = block[at++]! & mask;
      if (value < mask) return value;
      for (let shift = 0; ; shift += 7) {
        if (at >= block.length) throw new HpackError('truncated integer');
        // Four continuation bytes carry 28 bits: more than any table index or string length here.
        if (shift > 21) throw new HpackError('integer too large');
        const b = block[at++]!;
        value += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) return value;
      }
    };
    const string = (): string => {
      if (at >= block.length) throw new HpackError('truncated string');
      const huffman = (block[at]! & 0x80) !== 0;
      const len = int(7);
      if (at + len > block.length) throw new HpackError('truncated string');
      const start = at;
      at += len;
      if (!huffman) return Buffer.from(block.buffer, block.byteOffset + start, len).toString('latin1');
      const text = huffmanDecode(block, start, at);
      if (text === undefined) throw new HpackError('invalid Huffman string');
      return text;
    };
    while (at < block.length) {
      const b = block[at]!;
      if (b & 0x80) {
        // Indexed field (§6.1).
        const [name, value] = this.entry(int(7));
        sink(name, value);
        fields++;
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block.
        if (fields > 0) throw new HpackError('table size update after a field');
        const size = int(5);
        if (size > this.maxTableSize) throw new HpackError('table size above the limit');
        this.maxSize = size;
        this.evict(0);
      } else {
        // Literal (§6.2): with incremental indexing (01), without (0000), never indexed (0001).
        const indexing = (b & 0xc0) === 0x40;
        const index = int(indexing ? 6 : 4);
        const name = index === 0 ? string() : this.entry(index)[0];
        const value = string();
        if (indexing) this.add(name, value);
        sink(name, value);
        fields++;
      }
    }
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC.length) return STATIC[index - 1]!;
    const e = this.table[index - STATIC.length - 1];
    if (!e) throw new HpackError(`index ${index} beyond the table`);
    return e;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + 32;
    this.evict(size);
    // An entry larger than the table empties it and is not added (§4.4).
    if (size > this.maxSize) return;
    this.table.unshift([name, value]);
    this.size += size;
  }

  /** Evicts oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.table.length > 0 && this.size + room > this.maxSize) {
      const [n, v] = this.table.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
}
