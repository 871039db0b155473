/**
 * A head (latin1 text) and, when there is one, a body chunk in one new Buffer, for one write.
 * Written as a string, a head built by concatenation is first flattened into a new string by V8,
 * then copied again by the socket; here each part is copied once. A head and a body written
 * apart would be two system calls (no cork on the fast path's sockets).
 */
export function joined(head: string, body?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(head.length + (body?.length ?? 0));
  out.write(head, 0, 'latin1');
  body?.copy(out, head.length);
  return out;
}
