/**
 * The announcement decision: from the cluster state and the speakers' liveness, what THIS node
 * announces. Pure: no I/O, no clock. It is made of three steps, so the Speaker can redo only what a
 * change touches (service-book.ts, layer2-controller.ts, bgp-controller.ts):
 *
 * 1. `worldOf`: what every Service's decision shares (configuration, Nodes, this node's sessions);
 *    rebuilt only when those change.
 * 2. `serviceFacts`: what one Service asks of this node (its BGP routes, its layer-2 IPs and
 *    candidates' filter, or why nothing), independent of the speakers' liveness.
 * 3. `electGroup`: the layer-2 owner of the Services sharing an anchor IP, from liveness and claims.
 *
 * `decide` runs all three over every Service: the whole decision at once (tests, benchmarks).
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Route } from '@portico/bgp';
import type { Config } from '@portico/config';
import type { L2Advertisement } from '@portico/config';
import { forService, hasPreferences, interfacesOf, preferenceScore, selectsNode } from './advertisements.js';
import {
  bgpRoutesFor,
  type PeerRoute,
  routeGoesTo,
  routesForSessions,
  type SessionPeer,
} from './bgp-routes.js';
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

/** What every Service's decision shares: rebuilt when the configuration or a Node changes. */
export interface World {
  /** This node. */
  node: string;
  config: Config;
  pools: PoolIndex;
  nodes: ReadonlyMap<string, V1Node>;
  /** Nodes that may announce, per the API (not excluded, not NotReady). */
  eligible: readonly string[];
  /** This node's Node object (undefined when the API has none). */
  self: V1Node | undefined;
  selfEligible: boolean;
  /** This node's BGP sessions. */
  sessions: readonly SessionPeer[];
  localAsn: number;
}

export function worldOf(node: string, config: Config, nodes: Iterable<V1Node>, localAsn: number): World {
  const byName = new Map<string, V1Node>();
  const eligible: string[] = [];
  for (const n of nodes) {
    byName.set(nodeName(n), n);
    if (nodeIneligibility(n) === undefined) eligible.push(nodeName(n));
  }
  const self = byName.get(node);
  return {
    node,
    config,
    pools: PoolIndex.of(config),
    nodes: byName,
    eligible,
    self,
    selfEligible: eligible.includes(node),
    sessions: sessionPeers(config, self?.metadata?.labels ?? {}),
    localAsn,
  };
}

/** A Service's layer-2 part: its IPs that some advertisement announces, and who may answer. */
export interface Layer2Facts {
  /** In status order; the first is the election key (anchor). */
  ips: string[];
  /** The advertisements of the first layer-2 IP's pool that apply to the Service. */
  ads: readonly L2Advertisement[];
  /** Under Local policy, the nodes with a ready endpoint (only they are candidates). */
  endpointNodes?: string[];
  /** Per IP (same order as `ips`): the interfaces this node would answer on; undefined: every one. */
  interfaces: Array<string[] | undefined>;
}

/** What one Service asks of this node, whatever the speakers' liveness. */
export interface ServiceFacts {
  key: string;
  /** Why this node announces nothing (or not everything) for it. */
  reason?: string;
  /** This node advertises it by BGP. */
  bgp: boolean;
  /** Its BGP routes (empty when none). */
  routes: readonly PeerRoute[];
  /** The sessions (BGPPeer name or address) its routes go to, sorted. */
  bgpPeers?: string[];
  layer2?: Layer2Facts;
}

const noRoutes: readonly PeerRoute[] = [];

/**
 * The facts of one Service, or undefined when it is not for us (not ours, or no IP yet).
 * `slices`: the Service's EndpointSlices.
 */
export function serviceFacts(
  svc: V1Service,
  slices: readonly V1EndpointSlice[],
  world: World,
): ServiceFacts | undefined {
  if (!isOurs(svc)) return undefined;
  const ips = ingressIPs(svc);
  if (ips.length === 0) return undefined;
  const key = serviceKey(svc);
  const ready = readyEndpointsByNode(slices);
  if (ready.size === 0) return { key, reason: 'noEndpoints', bgp: false, routes: noRoutes };
  const facts: ServiceFacts = { key, bgp: false, routes: noRoutes };
  const local = isLocalPolicy(svc);
  const localCount = ready.get(world.node) ?? 0;
  const labels = svc.metadata?.labels;
  const self = world.self;

  let layer2: Layer2Facts | undefined;
  let routes: PeerRoute[] | undefined;
  let bgpPeers: Set<string> | undefined;
  for (const ip of ips) {
    const pool = world.pools.poolOf(ip);
    if (!pool) continue;
    if (pool.l2Advertisements.length > 0) {
      const ads = forService(pool.l2Advertisements, labels);
      if (ads.length === 0) facts.reason = 'noMatchingAdvertisement';
      else if (ads !== pool.l2Advertisements && allowsSharedIP(svc))
        // MetalLB: sharing an IP and choosing advertisements by Service labels do not mix.
        facts.reason = 'sharedIPWithServiceSelector';
      else {
        const mine = self ? ads.filter((ad) => selectsNode(ad, self)) : [];
        const interfaces = mine.length > 0 ? interfacesOf(mine) : undefined;
        if (!layer2) layer2 = { ips: [ip], ads, interfaces: [interfaces] };
        else {
          layer2.ips.push(ip);
          layer2.interfaces.push(interfaces);
        }
      }
    }
    if (pool.bgpAdvertisements.length === 0) continue;
    const forSvc = forService(pool.bgpAdvertisements, labels);
    const ads = forSvc.filter((ad) => selectsNode(ad, self));
    if (forSvc.length === 0) facts.reason = 'noMatchingAdvertisement';
    else if (ads.length === 0) facts.reason = 'nodeNotSelected';
    else if (!world.selfEligible) facts.reason = 'nodeNotEligible';
    else if (local && localCount === 0) facts.reason = 'noLocalEndpoints';
    else {
      const ipRoutes = bgpRoutesFor(ip, ads, local ? localCount : undefined, world.localAsn);
      (routes ??= []).push(...ipRoutes);
      for (const s of world.sessions)
        if (ipRoutes.some((r) => routeGoesTo(r, s))) (bgpPeers ??= new Set()).add(s.name ?? s.address);
      facts.bgp = true;
    }
  }
  if (routes) facts.routes = routes;
  if (bgpPeers) facts.bgpPeers = [...bgpPeers].sort();
  if (layer2) {
    if (local) layer2.endpointNodes = [...ready.keys()].filter((n) => (ready.get(n) ?? 0) > 0);
    facts.layer2 = layer2;
  }
  return facts;
}

/**
 * The layer-2 candidates of a pass: the eligible nodes whose speaker is alive and that some
 * advertisement of a list selects. The same few advertisement lists serve many Services, so each
 * list's nodes are computed once per pass.
 */
export function liveCandidates(world: World, alive: (node: string) => boolean) {
  const live = world.eligible.filter((n) => alive(n));
  const byAds = new Map<string, string[]>();
  return (ads: readonly L2Advertisement[]): string[] => {
    const key = adsKey(ads);
    let list = byAds.get(key);
    if (!list) {
      list = live.filter((n) => ads.some((ad) => selectsNode(ad, world.nodes.get(n))));
      byAds.set(key, list);
    }
    return list;
  };
}

/**
 * The layer-2 owner of the Services sharing an anchor IP (MetalLB's rule: a Service's first IP is
 * the election key, so sharing Services agree), or undefined when no node is a candidate.
 */
export function electGroup(
  anchor: string,
  members: Iterable<Layer2Facts>,
  world: World,
  candidatesFor: (ads: readonly L2Advertisement[]) => string[],
  claims: (node: string, ip: string) => Claim,
): string | undefined {
  let candidates: string[] | undefined;
  let ads: readonly L2Advertisement[] | undefined;
  for (const m of members) {
    const selected = candidatesFor(m.ads);
    const mine = m.endpointNodes ? selected.filter((n) => m.endpointNodes!.includes(n)) : selected;
    if (!candidates) {
      candidates = mine;
      ads = m.ads;
      continue;
    }
    // Sharing Services (same selector, by the allocator's rules) have the same candidates;
    // if they differ, only nodes good for all of them qualify, unless none is.
    const both = candidates.filter((n) => mine.includes(n));
    candidates = both.length > 0 ? both : [...new Set([...candidates, ...mine])];
  }
  if (!candidates || !ads) return undefined;
  const groupAds = ads;
  const score = hasPreferences(groupAds)
    ? (n: string) => preferenceScore(groupAds, world.nodes.get(n))
    : undefined;
  return electOwner(anchor, candidates, (n) => claims(n, anchor), score);
}

/** A Service's decision, from its facts and the owner elected for its layer-2 IPs. */
export function serviceDecision(
  facts: ServiceFacts,
  owner: string | undefined,
  self: string,
): ServiceDecision {
  const d: ServiceDecision = { key: facts.key, protocols: facts.bgp ? ['bgp'] : [] };
  if (facts.reason !== undefined) d.reason = facts.reason;
  if (facts.bgpPeers) d.bgpPeers = facts.bgpPeers;
  const l2 = facts.layer2;
  if (!l2) return d;
  if (owner) d.layer2Owner = owner;
  else d.reason ??= 'noLiveCandidate';
  if (owner !== self) return d;
  d.protocols.push('layer2');
  for (const names of l2.interfaces) if (names) d.layer2Interfaces = names;
  return d;
}

export function decide(input: DecisionInput): Decision {
  const world = worldOf(input.node, input.config, input.nodes, input.localAsn);
  const all: ServiceFacts[] = [];
  // Services sharing an anchor IP elect together: collect first, elect per anchor.
  const groups = new Map<string, ServiceFacts[]>();
  for (const svc of input.services) {
    const facts = serviceFacts(svc, input.slices.get(serviceKey(svc)) ?? [], world);
    if (!facts) continue;
    all.push(facts);
    const anchor = facts.layer2?.ips[0];
    if (anchor === undefined) continue;
    const group = groups.get(anchor);
    if (group) group.push(facts);
    else groups.set(anchor, [facts]);
  }
  const candidatesFor = liveCandidates(world, input.alive);
  const owners = new Map<string, string | undefined>();
  const layer2 = new Map<string, string[]>();
  const layer2Interfaces = new Map<string, string[]>();
  for (const [anchor, members] of groups) {
    const owner = electGroup(
      anchor,
      members.map((m) => m.layer2!),
      world,
      candidatesFor,
      input.claims,
    );
    owners.set(anchor, owner);
    if (owner !== input.node) continue;
    for (const m of members) {
      const { ips, interfaces } = m.layer2!;
      ips.forEach((ip, i) => {
        const keys = layer2.get(ip);
        if (keys) keys.push(m.key);
        else layer2.set(ip, [m.key]);
        const names = interfaces[i];
        if (names) layer2Interfaces.set(ip, names);
      });
    }
  }
  for (const keys of layer2.values()) if (keys.length > 1) keys.sort();
  const services = new Map<string, ServiceDecision>();
  const routes: PeerRoute[] = [];
  for (const facts of all) {
    const anchor = facts.layer2?.ips[0];
    services.set(
      facts.key,
      serviceDecision(facts, anchor === undefined ? undefined : owners.get(anchor), input.node),
    );
    routes.push(...facts.routes);
  }
  const { all: bgp, byPeer } = routesForSessions(routes, world.sessions);
  return { layer2, layer2Interfaces, bgp, bgpByPeer: byPeer, services };
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
