/**
 * The BGP routes for one Service IP: one per bgp-advertisement of its pool, with the IP masked to
 * the advertisement's aggregation length, LOCAL_PREF (sent to iBGP peers only, by @portico/bgp),
 * and communities. Under Local policy each route also carries the link-bandwidth extended
 * community (draft-ietf-idr-link-bandwidth, an RFC 4360 extended community) weighted by this
 * node's ready endpoints, so a router doing weighted ECMP sends each node its share of traffic.
 */
import type { Route } from '@portico/bgp';
import { type AddressPool, communityToString, makeCidr, parseIP } from '@portico/config';

/** Bandwidth advertised per ready local endpoint: 1 Mbit/s, in bytes per second. */
export const BANDWIDTH_PER_ENDPOINT = 125_000;

/** AS_TRANS (RFC 6793): the link-bandwidth community has room for a 2-octet AS only. */
const AS_TRANS = 23456;

export function bgpRoutesFor(
  ip: string,
  pool: AddressPool,
  localEndpoints: number | undefined,
  localAsn: number,
): Route[] {
  const parsed = parseIP(ip);
  if (!parsed) return [];
  const asn = localAsn > 0xffff ? AS_TRANS : localAsn;
  return pool.bgpAdvertisements.map((adv) => {
    const length = parsed.family === 'IPv4' ? adv.aggregationLength : adv.aggregationLengthV6;
    const route: Route = {
      prefix: makeCidr(parsed.family, parsed.value, length).text,
      localPref: adv.localPref,
    };
    if (adv.communities.length > 0) route.communities = adv.communities.map(communityToString);
    if (localEndpoints !== undefined)
      route.extendedCommunities = [`lb:${asn}:${localEndpoints * BANDWIDTH_PER_ENDPOINT}`];
    return route;
  });
}

/**
 * Routes with the same prefix (Services sharing an IP, or aggregated into one block) become one:
 * communities are merged, the highest LOCAL_PREF wins, and link bandwidths add up (the node
 * serves every Service behind the prefix). Output is sorted by prefix so it is stable.
 */
export function mergeRoutes(routes: readonly Route[]): Route[] {
  const byPrefix = new Map<string, Route>();
  for (const r of routes) {
    const prev = byPrefix.get(r.prefix);
    if (!prev) {
      byPrefix.set(r.prefix, { ...r });
      continue;
    }
    prev.localPref = Math.max(prev.localPref ?? 0, r.localPref ?? 0);
    const communities = new Set([...(prev.communities ?? []), ...(r.communities ?? [])]);
    if (communities.size > 0) prev.communities = [...communities].sort();
    const bandwidth = linkBandwidth(prev) + linkBandwidth(r);
    const lb = prev.extendedCommunities?.[0] ?? r.extendedCommunities?.[0];
    if (lb) prev.extendedCommunities = [`${lb.split(':').slice(0, 2).join(':')}:${bandwidth}`];
  }
  return [...byPrefix.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

function linkBandwidth(r: Route): number {
  const lb = r.extendedCommunities?.find((c) => c.startsWith('lb:'));
  return lb ? Number(lb.split(':')[2]) : 0;
}
