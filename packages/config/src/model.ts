/**
 * The parsed, validated configuration. This is the contract between @portico/config and its users
 * (allocator, controller, speaker): everything here is normalised and checked, with every default
 * of MetalLB v0.12's ConfigMap format applied (see docs/configuration.md).
 */

export type IPFamily = 'IPv4' | 'IPv6';

/** One CIDR block, host bits cleared. `base` is the network address as an unsigned integer. */
export interface Cidr {
  readonly family: IPFamily;
  readonly base: bigint;
  readonly prefixLength: number;
  /** Canonical text, e.g. `192.0.2.0/24` or `2001:db8::/64` (RFC 5952 for IPv6). */
  readonly text: string;
}

/** One entry of a pool's `addresses` list: a CIDR, or an `a-b` range summarised into CIDRs. */
export interface AddressEntry {
  /** Normalised text: `192.0.2.0/24` for a CIDR, `192.0.2.10-192.0.2.20` for a range. */
  readonly text: string;
  /** The minimal list of CIDR blocks covering the entry, ascending. */
  readonly cidrs: readonly Cidr[];
}

export interface BgpAdvertisement {
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  readonly localPref: number;
  /** Communities as written (alias names resolved), each as a 32-bit value `asn << 16 | value`. */
  readonly communities: readonly number[];
}

export interface AddressPool {
  readonly name: string;
  readonly protocol: 'layer2' | 'bgp';
  readonly addresses: readonly AddressEntry[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly bgpAdvertisements: readonly BgpAdvertisement[];
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

export interface Peer {
  readonly myASN: number;
  readonly peerASN: number;
  readonly peerAddress: string;
  readonly peerPort: number;
  /** Seconds; 0 disables keepalives and the hold timer. */
  readonly holdTime: number;
  /** Seconds; undefined means hold time / 3. */
  readonly keepaliveTime?: number;
  readonly sourceAddress?: string;
  readonly routerID?: string;
  readonly password?: string;
  readonly bfdProfile?: string;
  readonly ebgpMultiHop: boolean;
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
  /** `bgp-communities` aliases, name → 32-bit value. */
  readonly communities: Readonly<Record<string, number>>;
}
