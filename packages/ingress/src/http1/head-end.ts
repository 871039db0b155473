/**
 * Where a head ends: the index of the first CRLFCRLF in a buffer, -1 when there is none, exactly as
 * `buf.indexOf('\r\n\r\n')`. Buffer#indexOf is a call into C++ whose fixed cost (~100 ns) dominates
 * for a short head such as a load generator's request or a pod's response; a scan in JavaScript
 * is several times faster there. Past a few hundred bytes (a browser's request) indexOf's search
 * wins, so long buffers still use it (docs/benchmarks.md, issue 15, session 9).
 */
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Buffers up to this long are scanned in JavaScript (measured crossover: 300–400 bytes). */
const SHORT = 256;

const CR = 0x0d;
const LF = 0x0a;

export function headEnd(buf: Buffer): number {
  if (buf.length > SHORT) return buf.indexOf(CRLFCRLF);
  // Horspool: look at the last byte of the window at `i`. Not CR or LF: no match can overlap it,
  // skip 4. LF: a match here, or one starting 2 later (LF is also the pattern's second byte). CR: a
  // match can start 1 later (CR is the pattern's third byte) but not here.
  const last = buf.length - 3;
  let i = 0;
  while (i < last) {
    const c = buf[i + 3];
    if (c === LF) {
      if (buf[i] === CR && buf[i + 1] === LF && buf[i + 2] === CR) return i;
      i += 2;
    } else if (c === CR) i += 1;
    else i += 4;
  }
  return -1;
}
