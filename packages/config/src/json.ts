/**
 * The `--json` form of a parsed config (`portico config check --json`, docs/configuration.md):
 * plain JSON values only (no bigint), addresses as normalised text, communities as `asn:value`,
 * durations in seconds, and null for optional peer fields that are not set.
 */
import { communityToString } from './community.js';
import type { Config, NodeSelector } from './model.js';

export interface BgpAdvertisementJSON {
  aggregationLength: number;
  aggregationLengthV6: number;
  localPref: number;
  communities: string[];
}

export interface PoolJSON {
  name: string;
  protocol: 'layer2' | 'bgp';
  addresses: string[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  bgpAdvertisements: BgpAdvertisementJSON[];
}

export interface NodeSelectorJSON {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: string; values: string[] }[];
}

export interface PeerJSON {
  myASN: number;
  peerASN: number;
  peerAddress: string;
  peerPort: number;
  holdTime: number;
  /** null: not configured, the speaker uses hold time / 3. */
  keepaliveTime: number | null;
  sourceAddress: string | null;
  routerID: string | null;
  /** Present only when configured. */
  password?: string;
  bfdProfile: string | null;
  ebgpMultiHop: boolean;
  /** Empty: every node. */
  nodeSelectors: NodeSelectorJSON[];
}

export interface ConfigJSON {
  pools: PoolJSON[];
  peers: PeerJSON[];
}

function selectorToJSON(selector: NodeSelector): NodeSelectorJSON {
  return {
    matchLabels: { ...selector.matchLabels },
    matchExpressions: selector.matchExpressions.map((e) => ({
      key: e.key,
      operator: e.operator,
      values: [...e.values],
    })),
  };
}

export function configToJSON(config: Config): ConfigJSON {
  return {
    pools: config.pools.map((pool) => ({
      name: pool.name,
      protocol: pool.protocol,
      addresses: pool.addresses.map((a) => a.text),
      autoAssign: pool.autoAssign,
      avoidBuggyIPs: pool.avoidBuggyIPs,
      bgpAdvertisements: pool.bgpAdvertisements.map((ad) => ({
        aggregationLength: ad.aggregationLength,
        aggregationLengthV6: ad.aggregationLengthV6,
        localPref: ad.localPref,
        communities: ad.communities.map(communityToString),
      })),
    })),
    peers: config.peers.map((peer) => ({
      myASN: peer.myASN,
      peerASN: peer.peerASN,
      peerAddress: peer.peerAddress,
      peerPort: peer.peerPort,
      holdTime: peer.holdTime,
      keepaliveTime: peer.keepaliveTime ?? null,
      sourceAddress: peer.sourceAddress ?? null,
      routerID: peer.routerID ?? null,
      ...(peer.password !== undefined && { password: peer.password }),
      bfdProfile: peer.bfdProfile ?? null,
      ebgpMultiHop: peer.ebgpMultiHop,
      nodeSelectors: peer.nodeSelectors.map(selectorToJSON),
    })),
  };
}
