/**
 * The parsed, validated configuration. This is the contract between @portico/config and its users
 * (allocator, controller, speaker): everything here is normalised and checked, with every default
 * applied. Two sources produce it: MetalLB v0.12's ConfigMap (parseConfig) and MetalLB's metallb.io
 * custom resources (decodeResources); see docs/configuration.md. Fields only the custom resources
 * can set have the value that means "not used" when the source is the ConfigMap.
 */

import type { Cidr, LargeCommunity } from '@portico/net';

/** One entry of a pool's `addresses` list: a CIDR, or an `a-b` range summarised into CIDRs. */
export interface AddressEntry {
  /** Normalised text: `192.0.2.0/24` for a CIDR, `192.0.2.10-192.0.2.20` for a range. */
  readonly text: string;
  /** The minimal list of CIDR blocks covering the entry, ascending. */
  readonly cidrs: readonly Cidr[];
}

export interface BgpAdvertisement {
  /** The BGPAdvertisement it comes from; undefined for the ConfigMap. */
  readonly name?: string;
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  readonly localPref: number;
  /** Communities as written (alias names resolved), each as a 32-bit value `asn << 16 | value`. */
  readonly communities: readonly number[];
  /** Large communities (alias names resolved), in the order written. */
  readonly largeCommunities: readonly LargeCommunity[];
  /** Names of the BGPPeers to announce to; empty: every peer. */
  readonly peers: readonly string[];
  /** Empty: every node announces. Otherwise a node announces when any selector matches it. */
  readonly nodeSelectors: readonly NodeSelector[];
  /** Empty: every Service of the pool. Otherwise a Service matching any selector. */
  readonly serviceSelectors: readonly LabelSelector[];
}

/** One L2Advertisement as it applies to a pool: which nodes answer, on which interfaces, for whom. */
export interface L2Advertisement {
  /** The L2Advertisement it comes from; undefined for the ConfigMap. */
  readonly name?: string;
  /** Empty: every node may answer. Otherwise a node matching any selector. */
  readonly nodeSelectors: readonly NodeSelector[];
  /** Interface names to answer on; empty: every interface. */
  readonly interfaces: readonly string[];
  /** Empty: every Service of the pool. Otherwise a Service matching any selector. */
  readonly serviceSelectors: readonly LabelSelector[];
  /** Soft preferences for the answering node: the weights of matching selectors add up. */
  readonly preferredNodeSelectors: readonly { readonly weight: number; readonly preference: LabelSelector }[];
}

/**
 * IPAddressPool `serviceAllocation`: the pool is reserved to the Services it matches (see
 * poolsForService). A Service matches when its namespace is listed or its namespace's labels match
 * a namespace selector (when either is given), and its labels match a service selector (when any
 * is given).
 */
export interface ServiceAllocation {
  /** Lower is tried first; 0 means no priority and comes after every pool that has one. */
  readonly priority: number;
  readonly namespaces: readonly string[];
  readonly namespaceSelectors: readonly LabelSelector[];
  readonly serviceSelectors: readonly LabelSelector[];
}

export interface AddressPool {
  readonly name: string;
  readonly addresses: readonly AddressEntry[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  /**
   * How the pool's addresses are announced by layer 2: one entry per L2Advertisement selecting it
   * (the ConfigMap's `protocol: layer2` is one entry with no restrictions). Empty: not by layer 2.
   */
  readonly l2Advertisements: readonly L2Advertisement[];
  /**
   * How the pool's addresses are announced by BGP (the ConfigMap's `bgp-advertisements`, or the
   * BGPAdvertisements selecting it). Empty: not by BGP. A pool with neither is allocated from but
   * not announced, as in MetalLB.
   */
  readonly bgpAdvertisements: readonly BgpAdvertisement[];
  /** Undefined: the pool serves every Service (if autoAssign) after the reserved pools. */
  readonly serviceAllocation?: ServiceAllocation;
}

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

export interface NodeSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

/** A Kubernetes label selector; `{}` matches everything. The same shape selects nodes. */
export type LabelSelector = NodeSelector;

export interface Peer {
  /** The BGPPeer it comes from; undefined for the ConfigMap. BGPAdvertisement `peers` name it. */
  readonly name?: string;
  readonly myASN: number;
  /** 0 when dynamicASN is set. */
  readonly peerASN: number;
  /** Accept the peer's ASN: `internal` (equal to myASN) or `external` (any other). */
  readonly dynamicASN?: 'internal' | 'external';
  readonly peerAddress: string;
  readonly peerPort: number;
  /** Seconds; 0 disables keepalives and the hold timer. */
  readonly holdTime: number;
  /** Seconds; undefined means hold time / 3. */
  readonly keepaliveTime?: number;
  /** Seconds between connection attempts; undefined: the speaker's own back-off. */
  readonly connectTime?: number;
  readonly sourceAddress?: string;
  readonly routerID?: string;
  readonly password?: string;
  readonly bfdProfile?: string;
  readonly ebgpMultiHop: boolean;
  /** Graceful restart (RFC 4724) for this session. */
  readonly enableGracefulRestart: boolean;
  /** MetalLB's deprecated disableMP: IPv4 prefixes only on IPv4 sessions, IPv6 on IPv6 ones. */
  readonly disableMP: boolean;
  /** Announce both families on this session, whatever its transport. */
  readonly dualStackAddressFamily: boolean;
  /** Empty: every node. Otherwise a node matches when any selector matches. */
  readonly nodeSelectors: readonly NodeSelector[];
}

export interface BfdProfile {
  readonly name: string;
  readonly receiveInterval?: number;
  readonly transmitInterval?: number;
  readonly echoInterval?: number;
  readonly detectMultiplier?: number;
  readonly minimumTtl?: number;
  readonly echoMode: boolean;
  readonly passiveMode: boolean;
}

export interface Config {
  /** In config order, which is also the order the allocator tries them in. */
  readonly pools: readonly AddressPool[];
  readonly peers: readonly Peer[];
  readonly bfdProfiles: readonly BfdProfile[];
  /** `bgp-communities` aliases (Community resources), name → 32-bit value. */
  readonly communities: Readonly<Record<string, number>>;
  /** Community resources' aliases for large communities, name → value. */
  readonly largeCommunities: Readonly<Record<string, LargeCommunity>>;
}

/** The protocols a pool is announced with: layer2 when an L2Advertisement, bgp when a BGP one. */
export function poolProtocols(pool: AddressPool): ('layer2' | 'bgp')[] {
  return [
    ...(pool.l2Advertisements.length > 0 ? (['layer2'] as const) : []),
    ...(pool.bgpAdvertisements.length > 0 ? (['bgp'] as const) : []),
  ];
}
