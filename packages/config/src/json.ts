/**
 * The `--json` form of a parsed config (`portico config check --json`, docs/configuration.md):
 * plain JSON values only (no bigint), addresses as normalised text, communities as `asn:value`,
 * durations in seconds, and null for optional peer fields that are not set.
 */
import { formatCommunity, formatLargeCommunity } from '@portico/net';
import {
  poolProtocols,
  type AddressPool,
  type BgpAdvertisement,
  type Config,
  type NodeSelector,
  type Peer,
} from './model.js';

export interface BgpAdvertisementJSON {
  aggregationLength: number;
  aggregationLengthV6: number;
  localPref: number;
  communities: string[];
}

export interface PoolJSON {
  name: string;
  /** From custom resources a pool can be announced by both or by neither. */
  protocol: 'layer2' | 'bgp' | 'layer2+bgp' | 'none';
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

/** `portico config check --json` of custom resources: the v0.12 shape plus what only CRs set. */
export interface ResourcesConfigJSON extends ConfigJSON {
  pools: (PoolJSON & {
    serviceAllocation: {
      priority: number;
      namespaces: string[];
      namespaceSelectors: NodeSelectorJSON[];
      serviceSelectors: NodeSelectorJSON[];
    } | null;
    l2Advertisements: {
      name: string | null;
      nodeSelectors: NodeSelectorJSON[];
      interfaces: string[];
      serviceSelectors: NodeSelectorJSON[];
      preferredNodeSelectors: { weight: number; preference: NodeSelectorJSON }[];
    }[];
    bgpAdvertisements: (BgpAdvertisementJSON & {
      name: string | null;
      /** `large:global:local1:local2`. */
      largeCommunities: string[];
      peers: string[];
      nodeSelectors: NodeSelectorJSON[];
      serviceSelectors: NodeSelectorJSON[];
    })[];
  })[];
  peers: (PeerJSON & {
    name: string | null;
    dynamicASN: 'internal' | 'external' | null;
    connectTime: number | null;
    enableGracefulRestart: boolean;
    disableMP: boolean;
    dualStackAddressFamily: boolean;
  })[];
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

function protocolText(pool: AddressPool): PoolJSON['protocol'] {
  const protocols = poolProtocols(pool);
  return protocols.length === 0 ? 'none' : (protocols.join('+') as PoolJSON['protocol']);
}

/**
 * The JSON of a config. With `resources`, for a config read from custom resources, every field
 * they can set is added (see ResourcesConfigJSON); without, the v0.12 shape, unchanged.
 */
export function configToJSON(config: Config): ConfigJSON;
export function configToJSON(config: Config, options: { resources: true }): ResourcesConfigJSON;
export function configToJSON(config: Config, options?: { resources: true }): ConfigJSON {
  const base = baseJSON(config);
  if (!options?.resources) return base;
  const extended: ResourcesConfigJSON = {
    pools: base.pools.map((json, i) => {
      const pool = config.pools[i] as AddressPool;
      return {
        ...json,
        serviceAllocation: pool.serviceAllocation
          ? {
              priority: pool.serviceAllocation.priority,
              namespaces: [...pool.serviceAllocation.namespaces],
              namespaceSelectors: pool.serviceAllocation.namespaceSelectors.map(selectorToJSON),
              serviceSelectors: pool.serviceAllocation.serviceSelectors.map(selectorToJSON),
            }
          : null,
        l2Advertisements: pool.l2Advertisements.map((ad) => ({
          name: ad.name ?? null,
          nodeSelectors: ad.nodeSelectors.map(selectorToJSON),
          interfaces: [...ad.interfaces],
          serviceSelectors: ad.serviceSelectors.map(selectorToJSON),
          preferredNodeSelectors: ad.preferredNodeSelectors.map((p) => ({
            weight: p.weight,
            preference: selectorToJSON(p.preference),
          })),
        })),
        bgpAdvertisements: json.bgpAdvertisements.map((adJSON, j) => {
          const ad = pool.bgpAdvertisements[j] as BgpAdvertisement;
          return {
            name: ad.name ?? null,
            ...adJSON,
            largeCommunities: ad.largeCommunities.map((c) => `large:${formatLargeCommunity(c)}`),
            peers: [...ad.peers],
            nodeSelectors: ad.nodeSelectors.map(selectorToJSON),
            serviceSelectors: ad.serviceSelectors.map(selectorToJSON),
          };
        }),
      };
    }),
    peers: base.peers.map((json, i) => {
      const peer = config.peers[i] as Peer;
      return {
        name: peer.name ?? null,
        ...json,
        dynamicASN: peer.dynamicASN ?? null,
        connectTime: peer.connectTime ?? null,
        enableGracefulRestart: peer.enableGracefulRestart,
        disableMP: peer.disableMP,
        dualStackAddressFamily: peer.dualStackAddressFamily,
      };
    }),
  };
  return extended;
}

function baseJSON(config: Config): ConfigJSON {
  return {
    pools: config.pools.map((pool) => ({
      name: pool.name,
      protocol: protocolText(pool),
      addresses: pool.addresses.map((a) => a.text),
      autoAssign: pool.autoAssign,
      avoidBuggyIPs: pool.avoidBuggyIPs,
      bgpAdvertisements: pool.bgpAdvertisements.map((ad) => ({
        aggregationLength: ad.aggregationLength,
        aggregationLengthV6: ad.aggregationLengthV6,
        localPref: ad.localPref,
        communities: ad.communities.map(formatCommunity),
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
