/**
 * The announcement decision: from the cluster state and the speakers' liveness, what THIS node
 * announces. Pure: no I/O, no clock; the Speaker calls it on every change and applies the diff.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Route } from '@portico/bgp';
import type { Config } from '@portico/config';
import type { L2Advertisement } from '@portico/config';
import { forService, hasPreferences, interfacesOf, preferenceScore, selectsNode } from './advertisements.js';
import { bgpRoutesFor, type PeerRoute, routeGoesTo, routesForSessions } from './bgp-routes.js';
import { type Claim, electOwner } from './election.js';
import { readyEndpointsByNode } from './endpoints.js';
import { nodeIneligibility, nodeName } from './nodes.js';
import { sessionPeers } from './peers.js';
import { PoolIndex } from './pools.js';
import { isOurs, serviceKey } from '@portico/kube';
import { allowsSharedIP, ingressIPs, isLocalPolicy } from './service.js';

export type Protocol = 'layer2' | 'bgp';

export interface DecisionInput {
  /** This node. */
  node: string;
  config: Config;
  services: Iterable<V1Service>;
  /** EndpointSlices by Service key (`namespace/name`). */
  slices: ReadonlyMap<string, readonly V1EndpointSlice[]>;
  nodes: Iterable<V1Node>;
  /**
   * Whether a node's speaker is alive per the failure detector (for this node: whether it is a
   * candidate at all; the grants of a majority decide whether it may answer).
   */
  alive: (node: string) => boolean;
  /**
   * A node's claim on a layer-2 IP (its gossip; for this node, its own state): true or `held`
   * when it answers for it, `lapsed` when it answered and its grants ran out, `pending` while
   * it waits for its first grants.
   */
  claims: (node: string, ip: string) => Claim;
  /** Our AS number, for the link-bandwidth community. */
  localAsn: number;
}

export interface ServiceDecision {
  key: string;
  /** The layer-2 owner of the Service's IPs, when it has layer-2 IPs and an owner. */
  layer2Owner?: string;
  /**
   * The interfaces this node answers on for the Service when it is the owner: the lists of the
   * L2Advertisements that select it; undefined: every interface.
   */
  layer2Interfaces?: string[];
  /** Protocols this node announces the Service with. */
  protocols: Protocol[];
  /** The BGPPeers (name, or address for a ConfigMap peer) this node advertises the Service to, sorted. */
  bgpPeers?: string[];
  /**
   * Why this node announces nothing for it, for logs (`noEndpoints`, `noLocalEndpoints`,
   * `noMatchingAdvertisement`, `nodeNotSelected`, `sharedIPWithServiceSelector`, ...).
   */
  reason?: string;
}

export interface Decision {
  /** Layer-2 IPs this node answers for, each with the Services behind it. */
  layer2: Map<string, string[]>;
  /** The interfaces to answer on, for the layer-2 IPs whose advertisements list them (absent: every interface). */
  layer2Interfaces: Map<string, string[]>;
  /** BGP routes this node advertises: every route some session of the node gets. */
  bgp: Route[];
  /**
   * Only when an advertisement names its peers: each session's own routes, by peer address
   * (a session not listed gets `bgp`).
   */
  bgpByPeer: Map<string, Route[]>;
  services: Map<string, ServiceDecision>;
}

interface Group {
  candidates: readonly string[];
  ads: readonly L2Advertisement[];
  members: Array<{ key: string; ips: string[] }>;
}

export function decide(input: DecisionInput): Decision {
  const pools = PoolIndex.of(input.config);
  const nodes = new Map<string, V1Node>();
  const eligible = new Set<string>();
  for (const n of input.nodes) {
    nodes.set(nodeName(n), n);
    if (nodeIneligibility(n) === undefined) eligible.add(nodeName(n));
  }
  const self = nodes.get(input.node);
  const selfEligible = eligible.has(input.node);
  const sessions = sessionPeers(input.config, self?.metadata?.labels ?? {});
  // Layer-2 candidates for Cluster policy: every eligible node whose speaker is alive.
  const liveEligible = [...eligible].filter((n) => input.alive(n));
  // ... and among them those some advertisement selects: the same few advertisement lists serve
  // many Services, so the filtered list is computed once per list.
  const selectedByAds = new Map<string, string[]>();
  const liveSelected = (ads: readonly L2Advertisement[]): string[] => {
    const key = adsKey(ads);
    let list = selectedByAds.get(key);
    if (!list) {
      list = liveEligible.filter((n) => ads.some((ad) => selectsNode(ad, nodes.get(n))));
      selectedByAds.set(key, list);
    }
    return list;
  };

  const layer2 = new Map<string, string[]>();
  const layer2Interfaces = new Map<string, string[]>();
  const routes: PeerRoute[] = [];
  const services = new Map<string, ServiceDecision>();
  // Services sharing an anchor IP must elect together: collect first, elect per anchor.
  const groups = new Map<string, Group>();
  // The interfaces this node would answer on, per layer-2 IP (used if it wins the election).
  const interfacesByIP = new Map<string, string[] | undefined>();

  for (const svc of input.services) {
    if (!isOurs(svc)) continue;
    const ips = ingressIPs(svc);
    if (ips.length === 0) continue;
    const key = serviceKey(svc);
    const decision: ServiceDecision = { key, protocols: [] };
    services.set(key, decision);
    const ready = readyEndpointsByNode(input.slices.get(key) ?? []);
    if (ready.size === 0) {
      decision.reason = 'noEndpoints';
      continue;
    }
    const local = isLocalPolicy(svc);
    const localCount = ready.get(input.node) ?? 0;
    const labels = svc.metadata?.labels;

    const l2IPs: string[] = [];
    let l2Ads: readonly L2Advertisement[] | undefined;
    const bgpPeers = new Set<string>();
    for (const ip of ips) {
      const pool = pools.poolOf(ip);
      if (!pool) continue;
      if (pool.l2Advertisements.length > 0) {
        const ads = forService(pool.l2Advertisements, labels);
        if (ads.length === 0) decision.reason = 'noMatchingAdvertisement';
        else if (ads !== pool.l2Advertisements && allowsSharedIP(svc))
          // MetalLB: sharing an IP and choosing advertisements by Service labels do not mix.
          decision.reason = 'sharedIPWithServiceSelector';
        else {
          l2IPs.push(ip);
          l2Ads ??= ads;
          const mine = self ? ads.filter((ad) => selectsNode(ad, self)) : [];
          if (mine.length > 0) interfacesByIP.set(ip, interfacesOf(mine));
        }
      }
      if (pool.bgpAdvertisements.length === 0) continue;
      const forSvc = forService(pool.bgpAdvertisements, labels);
      const ads = forSvc.filter((ad) => selectsNode(ad, self));
      if (forSvc.length === 0) decision.reason = 'noMatchingAdvertisement';
      else if (ads.length === 0) decision.reason = 'nodeNotSelected';
      else if (!selfEligible) decision.reason = 'nodeNotEligible';
      else if (local && localCount === 0) decision.reason = 'noLocalEndpoints';
      else {
        const ipRoutes = bgpRoutesFor(ip, ads, local ? localCount : undefined, input.localAsn);
        routes.push(...ipRoutes);
        for (const s of sessions)
          if (ipRoutes.some((r) => routeGoesTo(r, s))) bgpPeers.add(s.name ?? s.address);
        if (!decision.protocols.includes('bgp')) decision.protocols.push('bgp');
      }
    }
    if (bgpPeers.size > 0) decision.bgpPeers = [...bgpPeers].sort();
    if (l2IPs.length === 0 || !l2Ads) continue;
    const selected = liveSelected(l2Ads);
    const candidates = local ? selected.filter((n) => (ready.get(n) ?? 0) > 0) : selected;
    // MetalLB's rule: the Service's first IP is the election key, so sharing Services agree.
    const anchor = l2IPs[0]!;
    const group = groups.get(anchor);
    if (!group) groups.set(anchor, { candidates, ads: l2Ads, members: [{ key, ips: l2IPs }] });
    else {
      // Sharing Services (same selector, by the allocator's rules) have the same candidates;
      // if they differ, only nodes good for all of them qualify, unless none is.
      const both = group.candidates.filter((n) => candidates.includes(n));
      group.candidates = both.length > 0 ? both : [...new Set([...group.candidates, ...candidates])];
      group.members.push({ key, ips: l2IPs });
    }
  }

  for (const [anchor, group] of groups) {
    const score = hasPreferences(group.ads)
      ? (n: string) => preferenceScore(group.ads, nodes.get(n))
      : undefined;
    const owner = electOwner(anchor, group.candidates, (n) => input.claims(n, anchor), score);
    for (const { key } of group.members) {
      const d = services.get(key)!;
      if (owner) d.layer2Owner = owner;
      else d.reason ??= 'noLiveCandidate';
      if (owner === input.node) d.protocols.push('layer2');
    }
    if (owner !== input.node) continue;
    for (const { key, ips } of group.members) {
      const d = services.get(key)!;
      for (const ip of ips) {
        const keys = layer2.get(ip);
        if (keys) keys.push(key);
        else layer2.set(ip, [key]);
        const names = interfacesByIP.get(ip);
        if (names) {
          layer2Interfaces.set(ip, names);
          d.layer2Interfaces = names;
        }
      }
    }
  }
  for (const keys of layer2.values()) if (keys.length > 1) keys.sort();
  const { all, byPeer } = routesForSessions(routes, sessions);
  return { layer2, layer2Interfaces, bgp: all, bgpByPeer: byPeer, services };
}

/** A key naming a list of advertisements (each advertisement object gets a number once). */
const adIds = new WeakMap<L2Advertisement, number>();
let nextAdId = 0;
function adsKey(ads: readonly L2Advertisement[]): string {
  return ads
    .map((ad) => {
      let id = adIds.get(ad);
      if (id === undefined) adIds.set(ad, (id = nextAdId++));
      return id;
    })
    .join(',');
}
