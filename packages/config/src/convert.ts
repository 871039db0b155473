/**
 * convertConfig: a MetalLB v0.12 configuration (the ConfigMap format Portico reads) turned into the
 * equivalent metallb.io custom resources, the way MetalLB's own `configmaptocrs` tool does it:
 *
 * - one IPAddressPool per pool, named after it;
 * - one L2Advertisement (`l2advertisementN`) per layer2 pool, and one BGPAdvertisement
 *   (`bgpadvertisementN`) per bgp-advertisements entry of a bgp pool (one with no attributes when
 *   the pool has none), each selecting its pool by name;
 * - one Community named `communities` holding every bgp-communities alias, sorted by name;
 * - one BFDProfile per bfd-profiles entry;
 * - one BGPPeer v1beta2 per peer (`peerN`), with the hold time written out (90s when unset).
 *
 * Pool and BFD profile names that are not Kubernetes names are changed as MetalLB changes them
 * (see k8sName), and every change is reported as a notice. Pure: no I/O.
 */
import { stringify } from 'yaml';
import { formatCommunity, type Cidr } from '@portico/net';
import type { BfdProfile, BgpAdvertisement, Config, NodeSelector, Peer } from './model.js';

export const metallbV1beta1 = 'metallb.io/v1beta1';
export const metallbV1beta2 = 'metallb.io/v1beta2';

/** A custom resource as written to YAML: only the fields that are set. */
export interface MetalLBResource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: Record<string, unknown>;
}

export type ConvertResult =
  { ok: true; resources: MetalLBResource[]; notices: string[] } | { ok: false; errors: string[] };

export interface ConvertOptions {
  /** The namespace of every resource; Portico reads its configuration from portico-system. */
  namespace?: string;
}

export const defaultConvertNamespace = 'portico-system';

// The names MetalLB's tool leaves alone. Anything else is rewritten by k8sName.
const metallbNamePattern = /^[a-z][-a-z0-9]{0,61}[a-z0-9]$/;
// What the API server accepts as the name of a custom resource (a DNS subdomain).
const k8sNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * MetalLB's rewrite of a name that is not Kubernetes-compatible: cut to 63 characters, lower-case,
 * `_` to `-`, then drop everything before the first letter. Undefined when there is no letter.
 */
export function k8sName(name: string): string | undefined {
  if (metallbNamePattern.test(name)) return name;
  const rewritten = name.slice(0, 63).toLowerCase().replaceAll('_', '-');
  const firstLetter = rewritten.search(/[a-z]/);
  return firstLetter < 0 ? undefined : rewritten.slice(firstLetter);
}

export function convertConfig(config: Config, options: ConvertOptions = {}): ConvertResult {
  const namespace = options.namespace ?? defaultConvertNamespace;
  const errors: string[] = [];
  const notices: string[] = [];
  const resource = (
    apiVersion: string,
    kind: string,
    name: string,
    spec: Record<string, unknown>,
  ): MetalLBResource => ({
    apiVersion,
    kind,
    metadata: { name, namespace },
    spec,
  });

  // Renames each name of one kind once, and refuses results the API server would refuse or that
  // two different names share (MetalLB's tool checks neither; its output then fails to apply).
  const renamer = (kind: string, what: string) => {
    const renamed = new Map<string, string>();
    const owners = new Map<string, string>();
    return (name: string): string => {
      const known = renamed.get(name);
      if (known !== undefined) return known;
      const result = k8sName(name);
      if (result === undefined) {
        errors.push(`${what} "${name}": cannot make a ${kind} name of it: it has no letter`);
      } else if (result.length > 253 || !k8sNamePattern.test(result)) {
        errors.push(
          `${what} "${name}": "${result}" is not a valid ${kind} name: use lower-case letters, digits and "-"`,
        );
      } else if (owners.has(result) && owners.get(result) !== name) {
        errors.push(
          `${what} "${name}": becomes "${result}", the same ${kind} name as "${owners.get(result)}"`,
        );
      } else if (result !== name) {
        notices.push(`${kind} name changed from "${name}" to "${result}"`);
      }
      const final = result ?? name;
      renamed.set(name, final);
      owners.set(final, name);
      return final;
    };
  };
  const poolName = renamer('IPAddressPool', 'address pool');
  const bfdName = renamer('BFDProfile', 'bfd profile');

  // Communities come parsed as numbers; an advertisement names one by its alias when it has one,
  // so the output reads like the input (the first alias by name when several share a value).
  const aliases = Object.entries(config.communities).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const communityText = (value: number): string =>
    aliases.find(([, v]) => v === value)?.[0] ?? formatCommunity(value);

  const peers = config.peers.map((peer, i) =>
    resource(metallbV1beta2, 'BGPPeer', `peer${i + 1}`, peerSpec(peer, bfdName)),
  );
  for (const [i, peer] of config.peers.entries()) {
    if (peer.password !== undefined) {
      notices.push(
        `BGPPeer peer${i + 1}: the password is written in clear, as in the ConfigMap; consider passwordSecret`,
      );
    }
  }

  // The API server's CIDR check (and so the CRDs) refuses IPv4-mapped IPv6 prefixes, which the
  // v0.12 format takes as IPv6. Rewriting one as IPv4 would change its family: refuse instead.
  for (const pool of config.pools) {
    for (const entry of pool.addresses) {
      if (entry.cidrs.some(isIPv4MappedPrefix)) {
        errors.push(
          `address pool "${pool.name}": addresses: "${entry.text}" is an IPv4-mapped IPv6 prefix, which IPAddressPool refuses: write it as IPv4 or as plain IPv6`,
        );
      }
    }
  }

  const pools = config.pools.map((pool) =>
    resource(metallbV1beta1, 'IPAddressPool', poolName(pool.name), {
      addresses: pool.addresses.map((a) => a.text),
      ...(pool.autoAssign ? {} : { autoAssign: false }),
      ...(pool.avoidBuggyIPs ? { avoidBuggyIPs: true } : {}),
    }),
  );

  const bgpAdvertisements = config.pools
    .filter((pool) => pool.bgpAdvertisements.length > 0)
    .flatMap((pool) =>
      pool.bgpAdvertisements.map((ad) => advertisementSpec(ad, poolName(pool.name), communityText)),
    )
    .map((spec, i) => resource(metallbV1beta1, 'BGPAdvertisement', `bgpadvertisement${i + 1}`, spec));

  const l2Advertisements = config.pools
    .filter((pool) => pool.l2Advertisements.length > 0)
    .map((pool, i) =>
      resource(metallbV1beta1, 'L2Advertisement', `l2advertisement${i + 1}`, {
        ipAddressPools: [poolName(pool.name)],
      }),
    );

  const bfdProfiles = config.bfdProfiles.map((profile) =>
    resource(metallbV1beta1, 'BFDProfile', bfdName(profile.name), bfdSpec(profile)),
  );

  const communities =
    aliases.length === 0
      ? []
      : [
          resource(metallbV1beta1, 'Community', 'communities', {
            communities: aliases.map(([name, value]) => ({ name, value: formatCommunity(value) })),
          }),
        ];

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    // MetalLB's order: peers, pools, BGP and L2 advertisements, BFD profiles, communities.
    resources: [
      ...peers,
      ...pools,
      ...bgpAdvertisements,
      ...l2Advertisements,
      ...bfdProfiles,
      ...communities,
    ],
    notices,
  };
}

/** Inside ::ffff:0:0/96 (an IPv4 address written as IPv6). */
function isIPv4MappedPrefix(cidr: Cidr): boolean {
  return cidr.family === 'IPv6' && cidr.prefixLength >= 96 && cidr.base >> 32n === 0xffffn;
}

function peerSpec(peer: Peer, bfdName: (name: string) => string): Record<string, unknown> {
  return {
    myASN: peer.myASN,
    peerASN: peer.peerASN,
    peerAddress: peer.peerAddress,
    ...(peer.peerPort === 179 ? {} : { peerPort: peer.peerPort }),
    ...(peer.sourceAddress === undefined ? {} : { sourceAddress: peer.sourceAddress }),
    // Always written, as MetalLB's tool does: the ConfigMap's default (90s) becomes explicit.
    holdTime: `${peer.holdTime}s`,
    ...(peer.keepaliveTime === undefined ? {} : { keepaliveTime: `${peer.keepaliveTime}s` }),
    ...(peer.routerID === undefined ? {} : { routerID: peer.routerID }),
    ...(peer.nodeSelectors.length === 0 ? {} : { nodeSelectors: peer.nodeSelectors.map(labelSelector) }),
    ...(peer.password === undefined ? {} : { password: peer.password }),
    ...(peer.bfdProfile === undefined ? {} : { bfdProfile: bfdName(peer.bfdProfile) }),
    ...(peer.ebgpMultiHop ? { ebgpMultiHop: true } : {}),
  };
}

function labelSelector(selector: NodeSelector): Record<string, unknown> {
  const matchExpressions = selector.matchExpressions.map((e) => ({
    key: e.key,
    operator: e.operator,
    ...(e.values.length === 0 ? {} : { values: [...e.values] }),
  }));
  return {
    ...(Object.keys(selector.matchLabels).length === 0 ? {} : { matchLabels: { ...selector.matchLabels } }),
    ...(matchExpressions.length === 0 ? {} : { matchExpressions }),
  };
}

function advertisementSpec(
  ad: BgpAdvertisement,
  pool: string,
  communityText: (value: number) => string,
): Record<string, unknown> {
  return {
    ...(ad.aggregationLength === 32 ? {} : { aggregationLength: ad.aggregationLength }),
    ...(ad.aggregationLengthV6 === 128 ? {} : { aggregationLengthV6: ad.aggregationLengthV6 }),
    ...(ad.localPref === 0 ? {} : { localPref: ad.localPref }),
    ...(ad.communities.length === 0 ? {} : { communities: ad.communities.map(communityText) }),
    ipAddressPools: [pool],
  };
}

function bfdSpec(profile: BfdProfile): Record<string, unknown> {
  return {
    ...(profile.receiveInterval === undefined ? {} : { receiveInterval: profile.receiveInterval }),
    ...(profile.transmitInterval === undefined ? {} : { transmitInterval: profile.transmitInterval }),
    ...(profile.detectMultiplier === undefined ? {} : { detectMultiplier: profile.detectMultiplier }),
    ...(profile.echoInterval === undefined ? {} : { echoInterval: profile.echoInterval }),
    // Written even when false, as MetalLB's tool does.
    echoMode: profile.echoMode,
    passiveMode: profile.passiveMode,
    ...(profile.minimumTtl === undefined ? {} : { minimumTtl: profile.minimumTtl }),
  };
}

/** The resources as one multi-document YAML stream, each document starting with `---`. */
export function resourcesToYAML(resources: readonly MetalLBResource[]): string {
  return resources.map((r) => `---\n${stringify(r)}`).join('');
}
