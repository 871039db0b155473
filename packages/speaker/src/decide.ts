/**
 * The announcement decision: from the cluster state and the speakers' liveness, what THIS node
 * announces. Pure: no I/O, no clock; the Speaker calls it on every change and applies the diff.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Route } from '@portico/bgp';
import type { Config } from '@portico/config';
import { bgpRoutesFor, mergeRoutes } from './bgp-routes.js';
import { type Claim, electOwner } from './election.js';
import { readyEndpointsByNode } from './endpoints.js';
import { nodeIneligibility, nodeName } from './nodes.js';
import { PoolIndex } from './pools.js';
import { isOurs, serviceKey } from '@portico/kube';
import { ingressIPs, isLocalPolicy } from './service.js';

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
  /** Protocols this node announces the Service with. */
  protocols: Protocol[];
  /** Why this node announces nothing for it, for logs (`noEndpoints`, `noLocalEndpoints`, ...). */
  reason?: string;
}

export interface Decision {
  /** Layer-2 IPs this node answers for, each with the Services behind it. */
  layer2: Map<string, string[]>;
  /** BGP routes this node advertises to its peers. */
  bgp: Route[];
  services: Map<string, ServiceDecision>;
}

export function decide(input: DecisionInput): Decision {
  const pools = PoolIndex.of(input.config);
  const eligible = new Set<string>();
  for (const n of input.nodes) if (nodeIneligibility(n) === undefined) eligible.add(nodeName(n));
  const selfEligible = eligible.has(input.node);
  // Layer-2 candidates for Cluster policy: every eligible node whose speaker is alive.
  const liveEligible = [...eligible].filter((n) => input.alive(n));

  const layer2 = new Map<string, string[]>();
  const routes: Route[] = [];
  const services = new Map<string, ServiceDecision>();
  // Services sharing an anchor IP must elect together: collect first, elect per anchor.
  const groups = new Map<
    string,
    { candidates: readonly string[]; members: Array<{ key: string; ips: string[] }> }
  >();

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

    const l2IPs: string[] = [];
    for (const ip of ips) {
      const pool = pools.poolOf(ip);
      if (!pool) continue;
      if (pool.l2Advertisements.length > 0) l2IPs.push(ip);
      if (pool.bgpAdvertisements.length === 0) continue;
      if (!selfEligible) decision.reason = 'nodeNotEligible';
      else if (local && localCount === 0) decision.reason = 'noLocalEndpoints';
      else {
        routes.push(...bgpRoutesFor(ip, pool, local ? localCount : undefined, input.localAsn));
        if (!decision.protocols.includes('bgp')) decision.protocols.push('bgp');
      }
    }
    if (l2IPs.length === 0) continue;
    const candidates = local ? liveEligible.filter((n) => (ready.get(n) ?? 0) > 0) : liveEligible;
    // MetalLB's rule: the Service's first IP is the election key, so sharing Services agree.
    const anchor = l2IPs[0]!;
    const group = groups.get(anchor);
    if (!group) groups.set(anchor, { candidates, members: [{ key, ips: l2IPs }] });
    else {
      // Sharing Services (same selector, by the allocator's rules) have the same candidates;
      // if they differ, only nodes good for all of them qualify, unless none is.
      const both = group.candidates.filter((n) => candidates.includes(n));
      group.candidates = both.length > 0 ? both : [...new Set([...group.candidates, ...candidates])];
      group.members.push({ key, ips: l2IPs });
    }
  }

  for (const [anchor, group] of groups) {
    const owner = electOwner(anchor, group.candidates, (n) => input.claims(n, anchor));
    for (const { key } of group.members) {
      const d = services.get(key)!;
      if (owner) d.layer2Owner = owner;
      else d.reason ??= 'noLiveCandidate';
      if (owner === input.node) d.protocols.push('layer2');
    }
    if (owner !== input.node) continue;
    for (const { key, ips } of group.members) {
      for (const ip of ips) {
        const keys = layer2.get(ip);
        if (keys) keys.push(key);
        else layer2.set(ip, [key]);
      }
    }
  }
  for (const keys of layer2.values()) if (keys.length > 1) keys.sort();
  return { layer2, bgp: mergeRoutes(routes), services };
}
