/**
 * A head (latin1 text) and, when there is one, a body chunk in one new Buffer, for one write.
 * Written as a string, a head built by concatenation is first flattened into a new string by V8,
 * then copied again by the socket; here each part is copied once. A head and a body written
 * apart would be two system calls (no cork on the fast path's sockets).
 */
export function joined(head: string, body?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(head.length + (body?.length ?? 0));
  writeLatin1(out, head);
  // TypedArray#set: a plain memory copy, without Buffer#copy's argument checks.
  if (body !== undefined) out.set(body, head.length);
  return out;
}

interface Latin1Writable {
  latin1Write(text: string, offset: number): number;
}

/**
 * Buffer#latin1Write is what Buffer#write(text, 0, 'latin1') ends in after resolving its arguments
 * and encoding name (~15 ns a call, measured in docs/benchmarks.md, issue 15, session 9). It is
 * not documented: where a Node lacks it, Buffer#write.
 */
const writeLatin1: (out: Buffer, text: string) => void =
  typeof (Buffer.prototype as Partial<Latin1Writable>).latin1Write === 'function'
    ? (out, text) => void (out as unknown as Latin1Writable).latin1Write(text, 0)
    : (out, text) => void out.write(text, 0, 'latin1');
