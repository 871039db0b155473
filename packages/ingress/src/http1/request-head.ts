/**
 * A strict parser for the request heads the fast path serves itself: HTTP/1.1, origin-form target,
 * one Host, at most one Content-Length, no Transfer-Encoding, Upgrade or Expect. Anything else, from
 * a chunked upload to a malformed head, returns undefined and the connection is handed to Node's
 * HTTP server, whose llhttp parser answers or rejects it (400/431 and the smuggling rules of
 * RFC 9112 §6.3). So this parser only has to recognise the common case exactly, never to judge the
 * rest: when in doubt it bails.
 */
import { isFieldNameAt } from '../field-name.js';

/**
 * The whole head, validated in one linear pass: request-line (RFC 9112 §3), then field lines with
 * a token name directly followed by ':' (§5.1: no whitespace before the colon) and a value of
 * visible characters, SP, HTAB or obs-text (RFC 9110 §5.5): no CR, LF, NUL or other controls, so
 * no bare-LF line ends and no obs-fold continuation lines.
 */
const HEAD = /^[A-Z]{1,20} \/[!-~]* HTTP\/1\.1(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t -~\x80-\xff]*)*$/;
const DIGITS = /^\d{1,15}$/;
/**
 * More field lines than this and Node's server judges the head: it refuses it (431), as nginx does
 * since its `max_headers` (default 1000, a denial-of-service fix that Debian's 1.22 carries too).
 */
export const MAX_FIELDS = 1000;
/** What a request field is to this parser, told from its name where it stands (fieldAt). */
const enum Field {
  Other,
  Host,
  ContentLength,
  /** Transfer-Encoding, Upgrade, Expect: Node's server takes the request. */
  NotOurs,
  Connection,
}

/** The kind of the field named by `head` from `start` to `end`, any case. */
function fieldAt(head: string, start: number, end: number): Field {
  // By length first: most names (all but 4, 6, 7, 10, 14 or 17 long) are Other at once.
  switch (end - start) {
    case 4:
      return isFieldNameAt(head, start, end, 'host') ? Field.Host : Field.Other;
    case 6:
      return isFieldNameAt(head, start, end, 'expect') ? Field.NotOurs : Field.Other;
    case 7:
      return isFieldNameAt(head, start, end, 'upgrade') ? Field.NotOurs : Field.Other;
    case 10:
      return isFieldNameAt(head, start, end, 'connection') ? Field.Connection : Field.Other;
    case 14:
      return isFieldNameAt(head, start, end, 'content-length') ? Field.ContentLength : Field.Other;
    case 17:
      return isFieldNameAt(head, start, end, 'transfer-encoding') ? Field.NotOurs : Field.Other;
    default:
      return Field.Other;
  }
}

export interface RequestHead {
  readonly method: string;
  /** origin-form request-target, as sent. */
  readonly target: string;
  /** Field lines as [name, value, name, value, ...], names as sent, values without OWS. */
  readonly fields: string[];
  readonly host: string;
  /** -1 when there is no Content-Length (and so no body). */
  readonly contentLength: number;
  /** The Connection field value(s), joined with ','. */
  readonly connection: string | undefined;
  /** The client asked to close after this exchange (Connection: close). */
  readonly close: boolean;
}

/** `head` is the latin1 text before the blank line that ends the head. */
export function parseRequestHead(head: string): RequestHead | undefined {
  if (!HEAD.test(head)) return undefined;
  const sp1 = head.indexOf(' ');
  const sp2 = head.indexOf(' ', sp1 + 1);
  let lineEnd = head.indexOf('\r\n', sp2);
  const fields: string[] = [];
  let host: string | undefined;
  let contentLength = -1;
  let connection: string | undefined;
  while (lineEnd >= 0) {
    if (fields.length === 2 * MAX_FIELDS) return undefined;
    const start = lineEnd + 2;
    lineEnd = head.indexOf('\r\n', start);
    const end = lineEnd < 0 ? head.length : lineEnd;
    const colon = head.indexOf(':', start);
    const name = head.slice(start, colon);
    const value = trimOws(head, colon + 1, end);
    switch (fieldAt(head, start, colon)) {
      case Field.Host:
        if (host !== undefined) return undefined;
        host = value;
        break;
      case Field.ContentLength:
        if (contentLength >= 0 || !DIGITS.test(value)) return undefined;
        contentLength = Number(value);
        break;
      case Field.NotOurs:
        return undefined;
      case Field.Connection:
        connection = connection === undefined ? value : `${connection},${value}`;
        break;
    }
    fields.push(name, value);
  }
  if (host === undefined) return undefined; // RFC 9112 §3.2: Node answers 400.
  const method = head.slice(0, sp1);
  // A pod reads everything after a CONNECT head as tunnel data: Node's server refuses it (405).
  if (method === 'CONNECT') return undefined;
  return {
    method,
    target: head.slice(sp1 + 1, sp2),
    fields,
    host,
    contentLength,
    connection,
    close: connection !== undefined && hasToken(connection, 'close'),
  };
}

/** Optional whitespace is SP and HTAB only (RFC 9110 §5.6.3); String#trim would also eat NBSP. */
function trimOws(s: string, start: number, end: number): string {
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return s.slice(start, end);
}

/**
 * Whether a comma-separated list (Connection) holds `token` (lower-case ASCII), case-insensitively,
 * each element trimmed as String#trim would: read in place, without the array and strings
 * split/trim/toLowerCase made for every request that sent a Connection field.
 */
export function hasToken(list: string, token: string): boolean {
  let start = 0;
  for (;;) {
    const comma = list.indexOf(',', start);
    const end = comma < 0 ? list.length : comma;
    let from = start;
    let to = end;
    while (from < to && isWhiteSpace(list.charCodeAt(from))) from++;
    while (to > from && isWhiteSpace(list.charCodeAt(to - 1))) to--;
    if (isFieldNameAt(list, from, to, token)) return true;
    if (comma < 0) return false;
    start = comma + 1;
  }
}

/** What String#trim removes: ECMAScript WhiteSpace and LineTerminator. */
function isWhiteSpace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
