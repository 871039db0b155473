/**
 * The response head from a pod, parsed and rewritten for the client in one pass: hop-by-hop fields
 * dropped (RFC 9110 §7.6.1, including those the Connection field names), a Server field added when
 * the pod sent none, and the body's framing decided as RFC 9112 §6.3 says. Anything malformed or
 * ambiguous is refused (the caller answers 502): a proxy must not guess where a response ends.
 */
import { isFieldNameAt } from '../field-name.js';
import { connectionTokens } from '../headers.js';
import { hasToken } from './request-head.js';

const HEAD =
  /^HTTP\/1\.[01] [1-9]\d\d(?: [\t -~\x80-\xff]*)?(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t -~\x80-\xff]*)*$/;
/** What a response field is to this parser, told from its name where it stands (fieldAt). */
const enum Field {
  /** Date, Content-Type, …: kept as sent, never copied or lower-cased. */
  Other,
  Connection,
  TransferEncoding,
  /** The other hop-by-hop fields of headers.ts isHopByHop: dropped. */
  HopByHop,
  ContentLength,
  Server,
}

/** The kind of the field named by `head` from `start` to `end`, any case (isHopByHop's names). */
function fieldAt(head: string, start: number, end: number): Field {
  // By length first: most names (all but 2, 6, 7, 10, 14, 16 or 17 long) are Other at once.
  switch (end - start) {
    case 2:
      return isFieldNameAt(head, start, end, 'te') ? Field.HopByHop : Field.Other;
    case 6:
      return isFieldNameAt(head, start, end, 'server') ? Field.Server : Field.Other;
    case 7:
      return isFieldNameAt(head, start, end, 'trailer') || isFieldNameAt(head, start, end, 'upgrade')
        ? Field.HopByHop
        : Field.Other;
    case 10:
      if (isFieldNameAt(head, start, end, 'connection')) return Field.Connection;
      return isFieldNameAt(head, start, end, 'keep-alive') ? Field.HopByHop : Field.Other;
    case 14:
      if (isFieldNameAt(head, start, end, 'content-length')) return Field.ContentLength;
      return isFieldNameAt(head, start, end, 'http2-settings') ? Field.HopByHop : Field.Other;
    case 16:
      return isFieldNameAt(head, start, end, 'proxy-connection') ? Field.HopByHop : Field.Other;
    case 17:
      return isFieldNameAt(head, start, end, 'transfer-encoding') ? Field.TransferEncoding : Field.Other;
    default:
      return Field.Other;
  }
}

/**
 * What String#trim leaves of `head` from `start` to `end`, as [start, end) in `head`: in a head the
 * pattern passed, the only white space a value can hold is HTAB, SP and NBSP (obs-text 0xA0).
 */
function trimmedStart(head: string, start: number, end: number): number {
  while (start < end && isTrimmed(head.charCodeAt(start))) start++;
  return start;
}
function trimmedEnd(head: string, start: number, end: number): number {
  while (end > start && isTrimmed(head.charCodeAt(end - 1))) end--;
  return end;
}
const isTrimmed = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0xa0;

/**
 * A Content-Length value (from `start` to `end` in `head`) read as /^\d{1,15}$/ after String#trim
 * would, without the copies: the length, or -1 when it is not 1 to 15 digits.
 */
function lengthAt(head: string, start: number, end: number): number {
  const from = trimmedStart(head, start, end);
  const to = trimmedEnd(head, from, end);
  if (to === from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = head.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Whether the value from `start` to `end` is exactly `keep-alive` once trimmed (what most pods send). */
function isKeepAlive(head: string, start: number, end: number): boolean {
  const from = trimmedStart(head, start, end);
  return head.startsWith('keep-alive', from) && trimmedEnd(head, from, end) === from + 10;
}

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
  // Three digits (the pattern checked them): read where they stand rather than from a copy.
  const status = head.charCodeAt(9) * 100 + head.charCodeAt(10) * 10 + head.charCodeAt(11) - 0x30 * 111;
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
    let drop = false;
    switch (fieldAt(head, start, colon)) {
      case Field.Other:
        continue;
      case Field.Connection: {
        drop = true;
        // The usual lone `Connection: keep-alive` is recognised where it stands, without a copy.
        const value =
          connection === undefined && isKeepAlive(head, colon + 1, end)
            ? 'keep-alive'
            : head.slice(colon + 1, end).trim();
        connection = connection === undefined ? value : `${connection},${value}`;
        break;
      }
      case Field.TransferEncoding: {
        drop = true;
        const value = head.slice(colon + 1, end).trim();
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
      }
      case Field.HopByHop:
        drop = true;
        break;
      case Field.ContentLength: {
        const value = lengthAt(head, colon + 1, end);
        // Repeated identical values are one length (§6.3 rule 5); anything else is an error.
        if (value < 0 || (length >= 0 && value !== length)) return 'invalid Content-Length';
        drop = length >= 0;
        length = value;
        break;
      }
      case Field.Server:
        server = true;
        break;
    }
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
