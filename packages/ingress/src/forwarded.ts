/**
 * The headers that tell a pod about the client: X-Forwarded-For, X-Real-IP, X-Forwarded-Proto,
 * -Host, -Port, and Forwarded (RFC 7239). Whether the values a request arrives with are believed
 * depends on who sent it (`--trusted-proxies`):
 *
 * - a peer outside the list (the default: the list is empty) is a client: whatever it claims is
 *   replaced by what the proxy saw (ingress-nginx with `use-forwarded-headers: false`);
 * - a peer in the list is a proxy in front of us: its X-Forwarded-For and Forwarded get our hop
 *   appended, its X-Forwarded-Proto/-Host/-Port are kept, and X-Real-IP is the nearest address in
 *   the chain that is not a trusted proxy (ingress-nginx with `use-forwarded-headers: true`,
 *   `compute-full-forwarded-for: true` and `proxy-real-ip-cidr` as the list; nginx's realip module
 *   with `real_ip_recursive on`).
 *
 * The peer is the connection's, or the PROXY protocol header's source where the listener requires
 * one (the header is the load balancer's word, taken before any of this).
 */
import { BlockList, isIP } from 'node:net';
import { isFieldName } from './field-name.js';

/** Addresses whose trust is remembered (see trusts()). */
const ANSWERS_KEPT = 4096;

/** A CIDR list of proxies whose forwarding headers are believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly answers = new Map<string, boolean>();
  readonly empty: boolean;

  /**
   * Throws an Error naming the first entry that is not an address or `address/prefix`, after `what`
   * (the setting it came from).
   */
  constructor(
    readonly cidrs: readonly string[],
    what = 'trusted proxies',
  ) {
    for (const cidr of cidrs) {
      const { address, prefix, family } = parseCidr(cidr, what);
      this.list.addSubnet(address, prefix, family);
    }
    this.empty = cidrs.length === 0;
  }

  /** Whether `address` (IPv4, IPv6, or IPv4-mapped IPv6 as dual-stack sockets report it) is listed. */
  trusts(address: string): boolean {
    if (this.empty) return false;
    // Asked for every request, mostly about the same few load balancers: a map lookup costs a
    // tenth of BlockList's check. Bounded: cleared when full, so random addresses cannot grow it.
    let known = this.answers.get(address);
    if (known === undefined) {
      const version = isIP(address);
      known = version !== 0 && this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
      if (this.answers.size >= ANSWERS_KEPT) this.answers.clear();
      this.answers.set(address, known);
    }
    return known;
  }
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a single address (a /32 or /128). */
export function parseCidr(
  text: string,
  what = 'trusted proxies',
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (version === 0 || extra !== undefined || prefix < 0 || prefix > max)
    throw new Error(`${what}: ${JSON.stringify(text)} is not an IP address or CIDR`);
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** What the proxy saw of the client hop. */
export interface Hop {
  /** The peer address (connection or PROXY protocol). */
  readonly address: string;
  readonly proto: 'http' | 'https';
  readonly port: number;
  readonly host: string;
}

/** The forwarding headers a request arrived with (repeated fields joined with ", "). */
export interface ArrivedForwarding {
  readonly xForwardedFor?: string | undefined;
  readonly xForwardedProto?: string | undefined;
  readonly xForwardedHost?: string | undefined;
  readonly xForwardedPort?: string | undefined;
  readonly forwarded?: string | undefined;
}

/** The forwarding headers for the pod, as a flat [name, value, ...] list. */
export function forwardingHeaders(hop: Hop, arrived: ArrivedForwarding, trusted: TrustedProxies): string[] {
  if (!trusted.trusts(hop.address)) return ownForwardingHeaders(hop, [], !trusted.empty);
  const peer = plainAddress(hop.address);
  const element = forwardedElement(peer, hop.host, hop.proto);
  const chain = arrived.xForwardedFor?.trim();
  return [
    'x-forwarded-for',
    chain ? `${chain}, ${peer}` : peer,
    'x-real-ip',
    realClient(peer, chain, trusted),
    'x-forwarded-proto',
    arrived.xForwardedProto || hop.proto,
    'x-forwarded-host',
    arrived.xForwardedHost || hop.host,
    'x-forwarded-port',
    arrived.xForwardedPort || String(hop.port),
    'forwarded',
    arrived.forwarded?.trim() ? `${arrived.forwarded.trim()}, ${element}` : element,
  ];
}

/**
 * The headers for an untrusted peer (nothing it sent is believed), pushed onto `out`: the hot path
 * of every request, so it builds only the strings it sends. Forwarded only `withForwarded` (when a
 * trust list is configured): building it costs more than the X-Forwarded-* together, and without a
 * list the proxy adds nothing per request to what it always did (ingress-nginx writes no
 * Forwarded either). A client's Forwarded is removed either way.
 */
export function ownForwardingHeaders(hop: Hop, out: string[], withForwarded: boolean): string[] {
  const peer = plainAddress(hop.address);
  out.push(
    'x-forwarded-for',
    peer,
    'x-real-ip',
    peer,
    'x-forwarded-proto',
    hop.proto,
    'x-forwarded-host',
    hop.host,
    'x-forwarded-port',
    String(hop.port),
  );
  if (withForwarded) out.push('forwarded', forwardedElement(peer, hop.host, hop.proto));
  return out;
}

/**
 * The client behind a chain of trusted proxies: walking X-Forwarded-For from the right (the peer
 * last), the first address that is not trusted. If every address is trusted, the leftmost. An entry
 * that is not an address stops the walk: the address to its right, which a trusted proxy vouched
 * for, is as far as the chain can be believed.
 */
export function realClient(peer: string, chain: string | undefined, trusted: TrustedProxies): string {
  if (!trusted.trusts(peer) || !chain) return peer;
  const entries = chain.split(',');
  let client = peer;
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = plainAddress(entries[i]!.trim());
    if (isIP(address) === 0) return client;
    client = address;
    if (!trusted.trusts(address)) return client;
  }
  return client;
}

/** An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as dual-stack sockets report IPv4 peers) as IPv4. */
export function plainAddress(address: string): string {
  return address.charCodeAt(0) === 0x3a && address.startsWith('::ffff:') && address.includes('.', 7)
    ? address.slice(7)
    : address;
}

/** One Forwarded element (RFC 7239 §4): `for=…;host=…;proto=…`, IPv6 bracketed and quoted. */
export function forwardedElement(address: string, host: string, proto: string): string {
  const node = address.includes(':') ? `"[${address}]"` : address;
  return `for=${node};host=${quoteIfNeeded(host)};proto=${proto}`;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A token as is, anything else as a quoted-string (RFC 9110 §5.6.2, §5.6.4). */
function quoteIfNeeded(value: string): string {
  if (TOKEN.test(value)) return value;
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** A field's values in a flat [name, value, ...] list (name in lower case), joined with ", ". */
export function fieldValue(fields: readonly string[], lowerName: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (!isFieldName(fields[i]!, lowerName)) continue;
    value = value === undefined ? fields[i + 1]! : `${value}, ${fields[i + 1]!}`;
  }
  return value;
}
