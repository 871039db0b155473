/**
 * Field names compared where they stand, case-insensitively, without the lower-cased copy
 * `name.toLowerCase() === lower` makes: on the hot path that copy (a new string per field, often
 * hashed or compared afterwards) was a measurable share of a request's CPU (docs/benchmarks.md,
 * session 8). For the strings field names come in (latin1: HTTP/1 heads, Node's rawHeaders,
 * HTTP/2's lower-case names) the answer is the same as the copy's: only A–Z fold onto a–z.
 */

/** Whether `text` from `start` to `end` is the field name `lower` (lower-case ASCII) in any case. */
export function isFieldNameAt(text: string, start: number, end: number, lower: string): boolean {
  const n = lower.length;
  if (end - start !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(start + i);
    const l = lower.charCodeAt(i);
    if (c !== l && (c < 0x41 || c > 0x5a || c + 0x20 !== l)) return false;
  }
  return true;
}

/** Whether `name` is the field name `lower` (lower-case ASCII) in any case. */
export function isFieldName(name: string, lower: string): boolean {
  return isFieldNameAt(name, 0, name.length, lower);
}
