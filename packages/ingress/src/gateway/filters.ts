/**
 * The HTTPRoute filters we apply, as pure functions over headers and paths (the proxy calls them):
 * RequestHeaderModifier and ResponseHeaderModifier (set replaces every value of a header, add
 * appends one, remove drops it; names are case-insensitive), RequestRedirect (scheme, hostname,
 * port, path, status code) and URLRewrite (hostname, path).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { HeaderModifier, PathModifier } from './types.js';

/** A new raw header list (name, value, name, value …) with the modifier applied. */
export function modifyRawHeaders(raw: readonly string[], modifier: HeaderModifier): string[] {
  const drop = new Set(
    [...(modifier.remove ?? []), ...(modifier.set ?? []).map((h) => h.name)].map((n) => n.toLowerCase()),
  );
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if (!drop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  for (const h of modifier.set ?? []) out.push(h.name, h.value);
  for (const h of modifier.add ?? []) {
    // add appends to an existing value (as one comma-joined field) or adds the header.
    const at = out.findIndex((name, k) => k % 2 === 0 && name.toLowerCase() === h.name.toLowerCase());
    if (at >= 0) out[at + 1] = `${out[at + 1]},${h.value}`;
    else out.push(h.name, h.value);
  }
  return out;
}

/** The modifier applied to a response header object, in place (keys are lower case). */
export function modifyHeaderObject(headers: OutgoingHttpHeaders, modifier: HeaderModifier): void {
  for (const name of modifier.remove ?? []) delete headers[name.toLowerCase()];
  for (const h of modifier.set ?? []) headers[h.name.toLowerCase()] = h.value;
  for (const h of modifier.add ?? []) {
    const key = h.name.toLowerCase();
    const old = headers[key];
    headers[key] =
      old === undefined ? h.value : Array.isArray(old) ? [...old, h.value] : `${String(old)},${h.value}`;
  }
}

/**
 * The path after a ReplaceFullPath or ReplacePrefixMatch modifier. `matchedPrefix` is the rule's
 * PathPrefix without trailing slashes ('' for '/'); ReplacePrefixMatch replaces exactly that
 * prefix, keeping the rest from its '/' on.
 */
export function modifiedPath(
  modifier: PathModifier | undefined,
  path: string,
  matchedPrefix: string | undefined,
): string {
  if (!modifier) return path;
  if (modifier.type === 'ReplaceFullPath') return modifier.replaceFullPath ?? '/';
  if (modifier.type !== 'ReplacePrefixMatch' || matchedPrefix === undefined) return path;
  const rest = path.slice(matchedPrefix.length); // '' or starts with '/'
  const replacement = (modifier.replacePrefixMatch ?? '/').replace(/\/+$/, '');
  const joined = replacement + rest;
  return joined === '' ? '/' : joined.startsWith('/') ? joined : `/${joined}`;
}

export interface RedirectInput {
  readonly proto: 'http' | 'https';
  /** The request host without port. */
  readonly host: string;
  /** The listener port the request arrived on. */
  readonly listenerPort: number;
  readonly path: string;
  /** '' or '?…'. */
  readonly query: string;
  readonly matchedPrefix: string | undefined;
}

export interface RedirectFilter {
  readonly scheme?: string;
  readonly hostname?: string;
  readonly path?: PathModifier;
  readonly port?: number;
}

/**
 * The Location of a RequestRedirect: unset fields keep the request's; without a port, the port is
 * the scheme's well-known one when the scheme is set, else the listener's; a well-known port for
 * the scheme (80 for http, 443 for https) is left out.
 */
export function redirectLocation(filter: RedirectFilter, input: RedirectInput): string {
  const scheme = filter.scheme ?? input.proto;
  const port = filter.port ?? (filter.scheme ? (scheme === 'https' ? 443 : 80) : input.listenerPort);
  const host = filter.hostname ?? input.host;
  const wellKnown = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443);
  const authority =
    (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host) + (wellKnown ? '' : `:${port}`);
  return `${scheme}://${authority}${modifiedPath(filter.path, input.path, input.matchedPrefix)}${input.query}`;
}
