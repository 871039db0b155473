/**
 * Header rules for a forwarding proxy (RFC 9110 §7.6.1, RFC 9113 §8.2.2): hop-by-hop headers stay
 * on their own hop; the request otherwise reaches the pod as the client sent it (Host included),
 * plus the X-Forwarded-* family describing the client hop.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isFieldName } from './field-name.js';
import {
  forwardingHeaders,
  ownForwardingHeaders,
  TrustedProxies,
  type ArrivedForwarding,
} from './forwarded.js';

/**
 * Always hop-by-hop (RFC 9110 §7.6.1), plus whatever the Connection header lists. A switch, not a
 * Set: no hash of a fresh string per field on the hot path.
 */
export function isHopByHop(lowerName: string): boolean {
  switch (lowerName) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'te':
    case 'trailer':
    case 'transfer-encoding':
    case 'upgrade':
    case 'http2-settings':
      return true;
    default:
      return false;
  }
}

/** Node's server answers `Expect` itself, so it never travels on (nor comes back). */
const dropped = (lowerName: string): boolean => isHopByHop(lowerName) || lowerName === 'expect';

/** A Connection value naming no field: the usual `keep-alive` or `close`. */
const ONLY_FRAMING = /^\s*(?:keep-alive|close)\s*$/i;

/** What upstreamHeaders does with a request field, by name. */
const enum Kind {
  Keep,
  Host,
  /** Hop-by-hop, kept for a WebSocket handshake (keepUpgrade). */
  ConnectionOrUpgrade,
  /** The other hop-by-hop fields, and Expect. */
  Dropped,
  /**
   * Headers we set ourselves (forwarded.ts): a client's values are dropped, a trusted proxy's are
   * read (X-Real-IP never is: it is recomputed from the chain).
   */
  Forwarded,
}

/**
 * The kind of a field by its name, any case, told apart by length and compared where it stands:
 * no lower-cased copy of every name (isHopByHop's names, Expect, Host and the forwarding headers).
 */
function kindOf(name: string): Kind {
  switch (name.length) {
    case 2:
      return isFieldName(name, 'te') ? Kind.Dropped : Kind.Keep;
    case 4:
      return isFieldName(name, 'host') ? Kind.Host : Kind.Keep;
    case 6:
      return isFieldName(name, 'expect') ? Kind.Dropped : Kind.Keep;
    case 7:
      if (isFieldName(name, 'upgrade')) return Kind.ConnectionOrUpgrade;
      return isFieldName(name, 'trailer') ? Kind.Dropped : Kind.Keep;
    case 9:
      return isFieldName(name, 'x-real-ip') || isFieldName(name, 'forwarded') ? Kind.Forwarded : Kind.Keep;
    case 10:
      if (isFieldName(name, 'connection')) return Kind.ConnectionOrUpgrade;
      return isFieldName(name, 'keep-alive') ? Kind.Dropped : Kind.Keep;
    case 14:
      return isFieldName(name, 'http2-settings') ? Kind.Dropped : Kind.Keep;
    case 15:
      return isFieldName(name, 'x-forwarded-for') ? Kind.Forwarded : Kind.Keep;
    case 16:
      if (isFieldName(name, 'x-forwarded-host') || isFieldName(name, 'x-forwarded-port'))
        return Kind.Forwarded;
      return isFieldName(name, 'proxy-connection') ? Kind.Dropped : Kind.Keep;
    case 17:
      if (isFieldName(name, 'x-forwarded-proto')) return Kind.Forwarded;
      return isFieldName(name, 'transfer-encoding') ? Kind.Dropped : Kind.Keep;
    default:
      return Kind.Keep;
  }
}

/**
 * Fields a Connection header can never remove, whatever it lists: the message's framing and the Host
 * it was routed on. Dropping them would let the client (or a pod) change where a message ends for
 * the next hop (request smuggling, response splitting). nginx 1.22 ignores every Connection token;
 * we still honour the others (RFC 9110 §7.6.1), only never these.
 */
export function isProtectedField(lowerName: string): boolean {
  return lowerName === 'content-length' || lowerName === 'transfer-encoding' || lowerName === 'host';
}

/**
 * The field names a Connection value lists (lower-case), or null when it lists none. `close`,
 * `keep-alive` and the protected fields (isProtectedField) are not listed.
 */
export function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (!value) return null;
  const joined = Array.isArray(value) ? value.join(',') : value;
  if (ONLY_FRAMING.test(joined)) return null;
  const tokens = new Set<string>();
  for (const t of joined.split(',')) {
    const token = t.trim().toLowerCase();
    if (token && token !== 'close' && token !== 'keep-alive' && !isProtectedField(token)) tokens.add(token);
  }
  return tokens.size ? tokens : null;
}

/** The default: no proxy's forwarding headers are believed. */
const NOBODY = new TrustedProxies([]);

export interface ClientHop {
  readonly address: string;
  readonly proto: 'http' | 'https';
  readonly port: number;
  /** The Host header (HTTP/1) or :authority (HTTP/2) as received. */
  readonly host: string;
}

/**
 * The upstream request headers as a flat [name, value, ...] list built from rawHeaders, so names,
 * order and duplicates survive. HTTP/2 pseudo-headers are dropped and :authority becomes Host.
 * With `keepUpgrade` the Connection/Upgrade pair is kept (WebSocket handshakes). With `replaceHost`
 * the Host header becomes hop.host (absolute-form targets, RFC 9112 §3.2.2).
 */
export function upstreamHeaders(
  raw: readonly string[],
  parsed: IncomingHttpHeaders,
  hop: ClientHop,
  keepUpgrade = false,
  replaceHost = false,
  trusted: TrustedProxies = NOBODY,
): string[] {
  const listed = connectionTokens(parsed.connection);
  const out: string[] = [];
  let sawHost = false;
  // What a trusted proxy in front of us said; never collected for anyone else.
  const arrived: Record<string, string> | undefined = trusted.trusts(hop.address) ? {} : undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 0x3a) continue; // ':' pseudo-header (HTTP/2)
    const kind = kindOf(name);
    if (kind === Kind.ConnectionOrUpgrade && keepUpgrade) {
      out.push(name, raw[i + 1]!);
      continue;
    }
    if (kind === Kind.Forwarded) {
      if (arrived) {
        const lower = name.toLowerCase();
        arrived[lower] = arrived[lower] ? `${arrived[lower]}, ${raw[i + 1]!}` : raw[i + 1]!;
      }
      continue;
    }
    if (kind === Kind.Dropped || kind === Kind.ConnectionOrUpgrade) continue;
    if (listed !== null && listed.has(name.toLowerCase())) continue;
    if (kind === Kind.Host) {
      if (replaceHost) continue;
      sawHost = true;
    }
    out.push(name, raw[i + 1]!);
  }
  if (!sawHost && hop.host) out.push('host', hop.host);
  if (!arrived) return ownForwardingHeaders(hop, out, !trusted.empty);
  for (const field of forwardingHeaders(hop, arrivedOf(arrived), trusted)) out.push(field);
  return out;
}

function arrivedOf(fields: Record<string, string>): ArrivedForwarding {
  return {
    xForwardedFor: fields['x-forwarded-for'],
    xForwardedProto: fields['x-forwarded-proto'],
    xForwardedHost: fields['x-forwarded-host'],
    xForwardedPort: fields['x-forwarded-port'],
    forwarded: fields.forwarded,
  };
}

/**
 * An HTTP/1.1 request head for the pod, blank line included, from a flat [name, value, ...] list;
 * `extra`: field lines (CRLF-terminated) appended as they are, so a field of our own (X-Request-ID)
 * costs no copy of the list.
 */
export function requestHead(method: string, target: string, fields: readonly string[], extra = ''): string {
  let text = `${method} ${target} HTTP/1.1\r\n`;
  for (let i = 0; i < fields.length; i += 2) text += `${fields[i]}: ${fields[i + 1]}\r\n`;
  return text + extra + '\r\n';
}

/** Response headers for the client: hop-by-hop removed, `Server` added when the pod sent none. */
export function downstreamHeaders(headers: IncomingHttpHeaders, serverName: string): OutgoingHttpHeaders {
  const listed = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (dropped(name) || listed?.has(name)) continue;
    out[name] = headers[name];
  }
  if (out.server === undefined) out.server = serverName;
  return out;
}
