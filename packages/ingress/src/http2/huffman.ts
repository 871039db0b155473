/**
 * The Huffman code of HPACK (RFC 7541 Appendix B), decoding only. The code is canonical: codes of
 * one length are consecutive and sorted by symbol, each length starting where the shorter ones
 * ended. So the 257 code lengths below (symbols 0-255, then EOS) are the whole table.
 */

/** Code length in bits of each symbol 0..256 (256 is EOS), as RFC 7541 Appendix B lists them. */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

export const EOS = 256;
const MAX_BITS = 30;

/** Per code length: the first code, how many codes, and where their symbols start in SYMBOLS. */
const FIRST = new Int32Array(MAX_BITS + 1);
const COUNT = new Int32Array(MAX_BITS + 1);
const OFFSET = new Int32Array(MAX_BITS + 1);
/** Symbols sorted by (code length, symbol): the canonical order. */
const SYMBOLS = new Uint16Array(LENGTHS.length);

{
  for (const len of LENGTHS) COUNT[len]!++;
  let code = 0;
  let offset = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    FIRST[len] = code;
    OFFSET[len] = offset;
    code = (code + COUNT[len]!) << 1;
    offset += COUNT[len]!;
  }
  const next = OFFSET.slice();
  for (let len = 1; len <= MAX_BITS; len++)
    for (let s = 0; s < LENGTHS.length; s++) if (LENGTHS[s] === len) SYMBOLS[next[len]!++] = s;
}

/** The canonical code of `symbol` (for tests and encoders): [code, bits]. */
export function huffmanCode(symbol: number): [number, number] {
  const len = LENGTHS[symbol]!;
  let rank = 0;
  while (SYMBOLS[OFFSET[len]! + rank] !== symbol) rank++;
  return [FIRST[len]! + rank, len];
}

/**
 * Decodes `bytes[start, end)` into latin1 text, or undefined when they are no valid Huffman string:
 * EOS inside it, or padding longer than 7 bits or not all ones (RFC 7541 §5.2: a decoding error).
 */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string | undefined {
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5));
  let n = 0;
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const rank = code - FIRST[len]!;
      if (rank >= 0 && rank < COUNT[len]!) {
        const symbol = SYMBOLS[OFFSET[len]! + rank]!;
        if (symbol === EOS) return undefined;
        out[n++] = symbol;
        code = 0;
        len = 0;
      } else if (len >= MAX_BITS) return undefined;
    }
  }
  // What is left must be a prefix of EOS (all ones), shorter than a byte.
  if (len > 7 || code !== (1 << len) - 1) return undefined;
  return out.toString('latin1', 0, n);
}
