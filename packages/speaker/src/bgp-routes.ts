/**
 * The BGP routes for one Service IP: one per BGP advertisement that applies (of its pool, selecting
 * this node and the Service), with the IP masked to the advertisement's aggregation length,
 * LOCAL_PREF (sent to iBGP peers only, by @portico/bgp), communities and large communities, and
 * the BGPPeers it goes to (the advertisement's `peers`; empty: every peer). Under Local policy each route also carries the link-bandwidth extended
 * community (draft-ietf-idr-link-bandwidth, an RFC 4360 extended community) weighted by this
 * node's ready endpoints, so a router doing weighted ECMP sends each node its share of traffic.
 */
import type { Route } from '@portico/bgp';
import type { BgpAdvertisement } from '@portico/config';
import { formatCommunity, formatLargeCommunity, makeCidr, parseIP } from '@portico/net';

/** A route and the BGPPeers (by name) it is for; empty: every peer of the node. */
export interface PeerRoute {
  route: Route;
  peers: readonly string[];
}

/** A BGP session of this node: its address (the session key) and its BGPPeer name, if any. */
export interface SessionPeer {
  address: string;
  name?: string;
}

/** Bandwidth advertised per ready local endpoint: 1 Mbit/s, in bytes per second. */
export const BANDWIDTH_PER_ENDPOINT = 125_000;

/** AS_TRANS (RFC 6793): the link-bandwidth community has room for a 2-octet AS only. */
const AS_TRANS = 23456;

export function bgpRoutesFor(
  ip: string,
  ads: readonly BgpAdvertisement[],
  localEndpoints: number | undefined,
  localAsn: number,
): PeerRoute[] {
  const parsed = parseIP(ip);
  if (!parsed) return [];
  const asn = localAsn > 0xffff ? AS_TRANS : localAsn;
  return ads.map((adv) => {
    const length = parsed.family === 'IPv4' ? adv.aggregationLength : adv.aggregationLengthV6;
    const route: Route = {
      prefix: makeCidr(parsed.family, parsed.value, length).text,
      localPref: adv.localPref,
    };
    if (adv.communities.length > 0) route.communities = adv.communities.map(formatCommunity);
    if (adv.largeCommunities.length > 0)
      route.largeCommunities = adv.largeCommunities.map(formatLargeCommunity);
    if (localEndpoints !== undefined)
      route.extendedCommunities = [`lb:${asn}:${localEndpoints * BANDWIDTH_PER_ENDPOINT}`];
    return { route, peers: adv.peers };
  });
}

/** The route goes to this session (its advertisement lists no peer, or names this one). */
export function routeGoesTo(r: PeerRoute, peer: SessionPeer): boolean {
  return r.peers.length === 0 || (peer.name !== undefined && r.peers.includes(peer.name));
}

/**
 * The routes of a node: `all`, every route some session of the node gets (what the BGP speaker
 * holds), and, only when some advertisement names its peers, `byPeer`: each session's own routes
 * by session address (a session not in it gets `all`). Merged per prefix (mergeRoutes).
 */
export function routesForSessions(
  routes: readonly PeerRoute[],
  sessions: readonly SessionPeer[],
): { all: Route[]; byPeer: Map<string, Route[]> } {
  const byPeer = new Map<string, Route[]>();
  if (!routes.some((r) => r.peers.length > 0))
    return { all: mergeRoutes(routes.map((r) => r.route)), byPeer };
  for (const s of sessions)
    byPeer.set(s.address, mergeRoutes(routes.filter((r) => routeGoesTo(r, s)).map((r) => r.route)));
  const all = routes.filter((r) => sessions.some((s) => routeGoesTo(r, s))).map((r) => r.route);
  return { all: mergeRoutes(all), byPeer };
}

/**
 * The table entry of one prefix from the routes of the Services behind it (all with that prefix):
 * what routesForSessions gives for the prefix, computed alone. The merged route, and, when some
 * of them name their peers, each session's own merge (null: the session does not get the
 * prefix); undefined when no session gets it.
 */
export function prefixEntry(
  routes: readonly PeerRoute[],
  sessions: readonly SessionPeer[],
): { route: Route; variants?: Map<string, Route | null> } | undefined {
  if (routes.length === 0) return undefined;
  if (!routes.some((r) => r.peers.length > 0)) return { route: mergeRoutes(routes.map((r) => r.route))[0]! };
  const going = routes.filter((r) => sessions.some((s) => routeGoesTo(r, s)));
  if (going.length === 0) return undefined;
  const variants = new Map<string, Route | null>();
  for (const s of sessions) {
    const own = routes.filter((r) => routeGoesTo(r, s)).map((r) => r.route);
    variants.set(s.address, own.length > 0 ? mergeRoutes(own)[0]! : null);
  }
  return { route: mergeRoutes(going.map((r) => r.route))[0]!, variants };
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
    const large = new Set([...(prev.largeCommunities ?? []), ...(r.largeCommunities ?? [])]);
    if (large.size > 0) prev.largeCommunities = [...large].sort();
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
