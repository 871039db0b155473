/**
 * The request path the proxy routes on, and forwards: normalised per RFC 3986 §6.2.2 before any
 * rule is matched, so the pod is given exactly the path the rules matched and cannot serve another
 * one by normalising it differently (`/public/../api`, `/%70ublic`, `//api`):
 *
 * 1. percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded, the hex digits of
 *    the others upper-cased (§6.2.2.1–2);
 * 2. `.` and `..` segments are removed (§5.2.4; `..` above the root stays at the root);
 * 3. runs of `/` are merged into one (as nginx's `merge_slashes on` and Envoy's `merge_slashes`).
 *
 * Refused (400), because no normalisation makes them unambiguous: a `#` anywhere in the target (a
 * fragment is never sent, RFC 9112 §3.2), an encoded `/` or `\` (`%2F`, `%5C`: a pod that decodes
 * them sees other segments than we matched), a raw `\`, an encoded NUL, a malformed escape, and a
 * segment starting `.;` or `..;` (Tomcat and Jetty read `/..;/` as `/../`). The query is forwarded
 * as sent.
 */

/** Anything that may need work: the common path skips the slow pass entirely. */
const SUSPECT = /[%\\#;]|\/\.|\/\//;

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3). */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

/**
 * The normalised origin-form target (path normalised, query as sent), or undefined when it must
 * be refused with 400. `target` must start with `/`.
 */
export function normalizeTarget(target: string): string | undefined {
  if (!SUSPECT.test(target)) return target;
  if (target.includes('#')) return undefined;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  const normalized = normalizePath(path);
  return normalized === undefined ? undefined : normalized + query;
}

/** The normalised path (no query), or undefined when it must be refused. */
export function normalizePath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 0x2f) return undefined;
  // 1. Escapes.
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x5c) return undefined; // raw '\'
    if (c !== 0x25) {
      decoded += path[i];
      continue;
    }
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const v = hi * 16 + lo;
    if (v === 0x2f || v === 0x5c || v === 0) return undefined;
    decoded += isUnreserved(v) ? String.fromCharCode(v) : `%${HEX[hi]}${HEX[lo]}`;
    i += 2;
  }
  // 2 and 3. Dot segments and empty segments, in one pass over the segments.
  const segments = decoded.split('/');
  const out: string[] = [];
  let trailing = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '' || seg === '.') trailing = last;
    else if (seg === '..') {
      out.pop();
      trailing = last;
    } else if (seg.startsWith('.;') || seg.startsWith('..;')) return undefined;
    else {
      out.push(seg);
      trailing = false;
    }
  }
  return '/' + out.join('/') + (trailing && out.length > 0 ? '/' : '');
}
