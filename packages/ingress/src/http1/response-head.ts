/**
 * The response head from a pod, parsed and rewritten for the client in one pass: hop-by-hop fields
 * dropped (RFC 9110 §7.6.1, including those the Connection field names), a Server field added when
 * the pod sent none, and the body's framing decided as RFC 9112 §6.3 says. Anything malformed or
 * ambiguous is refused (the caller answers 502): a proxy must not guess where a response ends.
 */
import { connectionTokens, isHopByHop } from '../headers.js';
import { hasToken } from './request-head.js';

const HEAD =
  /^HTTP\/1\.[01] [1-9]\d\d(?: [\t -~\x80-\xff]*)?(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t -~\x80-\xff]*)*$/;
const DIGITS = /^\d{1,15}$/;
/**
 * Indexed by a field name's length: whether a name that long can be one this parser looks at
 * (the hop-by-hop names of headers.ts isHopByHop, Content-Length, Server).
 */
const MATTERS_BY_LENGTH: readonly boolean[] = (() => {
  const names = [
    'connection',
    'keep-alive',
    'proxy-connection',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'http2-settings',
    'content-length',
    'server',
  ];
  const byLength: boolean[] = [];
  for (const n of names) byLength[n.length] = true;
  return byLength;
})();

export type Framing =
  /** No body: HEAD, 1xx, 204, 304 (§6.3 rule 1–2). */
  | 'none'
  | 'length'
  | 'chunked'
  /** Read until the pod closes (§6.3 rule 8); the client connection closes after it. */
  | 'close';

export interface ResponseHead {
  readonly status: number;
  readonly framing: Framing;
  /** Body length for 'length'. */
  readonly length: number;
  /** The connection may carry another request afterwards. */
  readonly reusable: boolean;
  /** Status line and fields for the client, without the final blank line and without framing. */
  readonly forClient: string;
}

/** `head` is the latin1 text before the blank line. Returns a reason string when refused. */
export function parseResponseHead(
  head: string,
  requestMethod: string,
  serverName: string,
): ResponseHead | string {
  if (!HEAD.test(head)) return 'malformed response head';
  const http10 = head.charCodeAt(7) === 0x30;
  const status = Number(head.slice(9, 12));
  // The output is the input minus dropped lines: copied in spans, so a typical head is 2 slices.
  let out = http10 ? 'HTTP/1.1' : '';
  let keptFrom = http10 ? 8 : 0;
  let lineEnd = head.indexOf('\r\n');
  let length = -1;
  let transferEncoding: string | undefined;
  let connection: string | undefined;
  let server = false;
  while (lineEnd >= 0) {
    const start = lineEnd + 2;
    lineEnd = head.indexOf('\r\n', start);
    const end = lineEnd < 0 ? head.length : lineEnd;
    const colon = head.indexOf(':', start);
    // Only a few names matter here (all 2, 6, 7, 10, 14, 16 or 17 long): the others (Date,
    // Content-Type, …) are kept as they are without being copied or lower-cased.
    if (!MATTERS_BY_LENGTH[colon - start]) continue;
    const name = head.slice(start, colon).toLowerCase();
    let drop = isHopByHop(name);
    if (drop) {
      const value = head.slice(colon + 1, end).trim();
      if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      else if (name === 'transfer-encoding')
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
    } else if (name === 'content-length') {
      const value = head.slice(colon + 1, end).trim();
      // Repeated identical values are one length (§6.3 rule 5); anything else is an error.
      if (!DIGITS.test(value) || (length >= 0 && Number(value) !== length)) return 'invalid Content-Length';
      drop = length >= 0;
      length = Number(value);
    } else if (name === 'server') server = true;
    if (drop) {
      out += head.slice(keptFrom, start);
      keptFrom = end + 2;
    }
  }
  if (keptFrom < head.length) out += head.slice(keptFrom) + '\r\n';
  if (!server) out += `server: ${serverName}\r\n`;
  // `Connection: keep-alive`, what most pods send, names no field and does not ask to close.
  const plain = connection === undefined || connection === 'keep-alive';
  const listed = plain ? null : connectionTokens(connection);
  if (listed) out = dropListed(out, listed);
  const closeAsked = !plain && hasToken(connection!, 'close');
  // §6.3 rule 3: both is a smuggling signature; a coding list not ending in chunked is read until
  // close, which we do not relay. Refused whatever the method or status: a pod that sends either
  // is broken or hostile even where the response has no body (HEAD, 204, 304), as llhttp judges.
  if (transferEncoding !== undefined) {
    if (length >= 0) return 'both Content-Length and Transfer-Encoding';
    if (transferEncoding.trim().toLowerCase() !== 'chunked')
      return `unsupported Transfer-Encoding ${transferEncoding}`;
  }
  let framing: Framing;
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) framing = 'none';
  else if (transferEncoding !== undefined) {
    framing = 'chunked';
    out += 'transfer-encoding: chunked\r\n';
  } else if (length >= 0) framing = 'length';
  else framing = 'close';
  return {
    status,
    framing,
    length,
    reusable: !http10 && !closeAsked && framing !== 'close',
    forClient: out,
  };
}

/** Removes the fields a Connection header names (rare, so done as a second pass). */
function dropListed(block: string, names: ReadonlySet<string>): string {
  return block
    .split('\r\n')
    .filter((line, i) => i === 0 || !names.has(line.slice(0, line.indexOf(':')).toLowerCase()))
    .join('\r\n');
}

/**
 * `forClient` with the fields of `flat` ([name, value, …], lower-case names) in place of the pod's
 * fields of the same names (route-policy.ts: CORS headers replace the pod's, as nginx's
 * more_set_headers does).
 */
export function withFields(forClient: string, flat: readonly string[]): string {
  const fields = routeFields(flat);
  // Most pods send none of these fields: the block is only taken apart when one is there.
  if (fields.present !== undefined && !fields.present.test(forClient)) return forClient + fields.lines;
  let names: Set<string> | undefined;
  const lower = forClient.toLowerCase();
  for (let i = 0; i < flat.length; i += 2)
    if (lower.includes(`\n${flat[i]}:`)) (names ??= new Set()).add(flat[i]!);
  return (names === undefined ? forClient : dropListed(forClient, names)) + fields.lines;
}

interface RouteFields {
  /** Their lines, as written to the client. */
  readonly lines: string;
  /** Finds a line of the pod's with one of their names, in any case (kept lists only). */
  readonly present?: RegExp;
}

/**
 * A route's fields as withFields uses them. A frozen list is a route's constant one (CORS for any
 * origin, route-policy.ts): its lines and pattern are made once and kept with it.
 */
const fieldsOf = new WeakMap<readonly string[], RouteFields>();
function routeFields(flat: readonly string[]): RouteFields {
  let fields = fieldsOf.get(flat);
  if (fields !== undefined) return fields;
  let lines = '';
  for (let i = 0; i < flat.length; i += 2) lines += `${flat[i]}: ${flat[i + 1]}\r\n`;
  if (!Object.isFrozen(flat)) return { lines };
  const names: string[] = [];
  for (let i = 0; i < flat.length; i += 2) names.push(flat[i]!.replace(/[^a-z0-9]/g, '\\$&'));
  fields = { lines, present: new RegExp(`\\n(?:${names.join('|')}):`, 'i') };
  fieldsOf.set(flat, fields);
  return fields;
}
