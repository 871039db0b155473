/**
 * Routes as the user gives them (prefix + attributes in text form), validated once, and turned
 * into the attributes one peer receives (RFC 4271 §5.1: AS_PATH, NEXT_HOP, LOCAL_PREF depend on
 * whether the peer is internal or external).
 */
import { Afi, type AfiNumber, AsPathSegmentType, Origin, type OriginValue } from './constants.js';
import type { PathAttributes } from './attributes.js';
import {
  WELL_KNOWN_COMMUNITIES,
  parseAddress,
  parseCommunity,
  parseLargeCommunity,
  type LargeCommunity,
} from '@portico/net';
import { type ExtendedCommunity, parseExtendedCommunity } from './extended-communities.js';
import { parseRoutePrefix, prefixOf, type Prefix } from './prefix.js';

export interface Route {
  /** "198.51.100.10/32", "2001:db8::10/128"; a bare address is a host route. */
  prefix: string;
  /** Next hop; default: our address on the session (or the peer's nextHopIPv4/IPv6 option). */
  nextHop?: string;
  origin?: 'igp' | 'egp' | 'incomplete';
  med?: number;
  /** Sent to internal peers only (RFC 4271 §5.1.5). Default 100. */
  localPref?: number;
  /** "ASN:VALUE" or a well-known name (no-export, ...; any case). */
  communities?: string[];
  /** "GLOBAL:LOCAL1:LOCAL2". */
  largeCommunities?: string[];
  /** "lb:ASN:BYTES_PER_SECOND", "rt:ASN:VALUE" or 16 hex digits. */
  extendedCommunities?: string[];
}

export interface CompiledRoute {
  key: string;
  prefix: Prefix;
  route: Route;
  origin: OriginValue;
  communities: number[];
  largeCommunities: LargeCommunity[];
  extendedCommunities: ExtendedCommunity[];
  /** The three community lists as text, the route-invariant tail of the export group key. */
  communitiesKey: string;
  /**
   * Everything exportRoute reads from the route (family, next hop, origin, MED, LOCAL_PREF,
   * communities): routes with equal keys export identically to a peer, so a sync exports each
   * distinct key once instead of once per route.
   */
  exportKey: string;
}

const ORIGINS = { igp: Origin.IGP, egp: Origin.EGP, incomplete: Origin.INCOMPLETE } as const;

/** Validates a route; throws TypeError with a message naming the bad field. */
export function compileRoute(route: Route): CompiledRoute {
  const cidr = parseRoutePrefix(route.prefix);
  const prefix = prefixOf(cidr);
  if (route.nextHop !== undefined && !parseAddress(route.nextHop))
    throw new TypeError(`bad next hop ${route.nextHop}`);
  for (const [name, v] of [
    ['med', route.med],
    ['localPref', route.localPref],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 0xffffffff))
      throw new TypeError(`bad ${name} ${v}`);
  }
  const communities = [...new Set((route.communities ?? []).map(communityValue))].sort((a, b) => a - b);
  const largeCommunities = (route.largeCommunities ?? []).map(largeCommunityValue);
  const extendedCommunities = (route.extendedCommunities ?? []).map(parseExtendedCommunity);
  const origin = ORIGINS[route.origin ?? 'igp'];
  // Computed once here rather than on every export, which runs per route per peer on each sync.
  const communitiesKey = `${communities.join(',')}|${largeCommunities.map((c) => c.join(':')).join(',')}|${extendedCommunities.map((c) => Buffer.from(c).toString('hex')).join(',')}`;
  return {
    key: cidr.text,
    prefix,
    route,
    origin,
    communities,
    largeCommunities,
    extendedCommunities,
    communitiesKey,
    exportKey: `${prefix.afi}|${route.nextHop ?? ''}|${origin}|${route.med ?? ''}|${route.localPref ?? ''}|${communitiesKey}`,
  };
}

/** A route's community text as its value: a well-known name or ASN:VALUE; throws TypeError naming it. */
export function communityValue(text: string): number {
  const value = WELL_KNOWN_COMMUNITIES[text.toLowerCase()] ?? parseCommunity(text);
  if (typeof value === 'string') throw new TypeError(`bad community ${JSON.stringify(text)}: ${value}`);
  return value;
}

/** A route's large community text (GLOBAL:LOCAL1:LOCAL2) as its value; throws TypeError naming it. */
export function largeCommunityValue(text: string): LargeCommunity {
  const value = parseLargeCommunity(text);
  if (typeof value === 'string') throw new TypeError(`bad large community: ${value}`);
  return value;
}

export interface ExportContext {
  localAsn: number;
  peerAsn: number;
  /** Our address on the TCP connection. */
  localAddress: string;
  nextHopIPv4?: string;
  nextHopIPv6?: string;
  families: AfiNumber[];
  ipv4OverIpv6NextHop: boolean;
}

export interface ExportedRoute {
  afi: AfiNumber;
  nextHops: string[];
  attributes: PathAttributes;
  /** Equal for routes that may share one UPDATE. */
  groupKey: string;
}

function family(address: string): AfiNumber {
  return parseAddress(address)?.family === 'IPv6' ? Afi.IPV6 : Afi.IPV4;
}

/** The route as this peer receives it, or undefined when it cannot be sent (family, next hop). */
export function exportRoute(r: CompiledRoute, ctx: ExportContext): ExportedRoute | undefined {
  const afi = r.prefix.afi;
  if (!ctx.families.includes(afi)) return undefined;
  const candidates = [
    r.route.nextHop,
    afi === Afi.IPV4 ? ctx.nextHopIPv4 : ctx.nextHopIPv6,
    ctx.localAddress,
  ];
  let nextHop: string | undefined;
  for (const c of candidates) {
    if (!c) continue;
    // RFC 8950: an IPv4 route may carry an IPv6 next hop only if the peer accepts it.
    if (family(c) === afi || (afi === Afi.IPV4 && ctx.ipv4OverIpv6NextHop)) {
      nextHop = c;
      break;
    }
  }
  if (!nextHop) return undefined;
  const external = ctx.localAsn !== ctx.peerAsn;
  const attributes: PathAttributes = {
    origin: r.origin,
    // §5.1.2: an external peer sees our AS prepended; an internal one an empty path.
    asPath: external ? [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [ctx.localAsn] }] : [],
  };
  if (r.route.med !== undefined) attributes.med = r.route.med;
  if (!external) attributes.localPref = r.route.localPref ?? 100;
  if (r.communities.length > 0) attributes.communities = r.communities;
  if (r.extendedCommunities.length > 0) attributes.extendedCommunities = r.extendedCommunities;
  if (r.largeCommunities.length > 0) attributes.largeCommunities = r.largeCommunities;
  if (external && ctx.localAsn > 0xffff) {
    // RFC 6793 §4.2.2: for an old BGP speaker the path carries AS_TRANS and AS4_PATH the real AS.
    attributes.as4Path = attributes.asPath;
  }
  const groupKey = `${afi}|${nextHop}|${r.origin}|${r.route.med ?? ''}|${attributes.localPref ?? ''}|${r.communitiesKey}`;
  return { afi, nextHops: [nextHop], attributes, groupKey };
}
