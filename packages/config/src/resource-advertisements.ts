/**
 * L2Advertisement and BGPAdvertisement resources, attached to the pools they select, with the
 * rules of MetalLB's l2AdvertisementFromCR, bgpAdvertisementFromCR and validateBGPAdvPerPool:
 *
 * - an advertisement with neither `ipAddressPools` nor `ipAddressPoolSelectors` selects every pool;
 *   otherwise the pools named plus the pools whose labels match a selector. A name that is no pool
 *   is ignored, as MetalLB ignores it (the pool may come later), and reported as a notice;
 * - no list holds an entry twice, no selector list the same selector twice;
 * - BGP: `serviceSelectors` only with the default aggregation lengths; each community is the name
 *   of a Community alias or a literal (`asn:value`, `large:g:l1:l2`); the aggregation length is at
 *   least the prefix length of each address entry of the family in every pool it applies to;
 *   two advertisements of a pool that reach the same Service, peer and node with the same kind of
 *   update can not ask for different LOCAL_PREFs.
 */
import { lowestMask } from './addresses.js';
import { parseAnyCommunity } from './community.js';
import type { LargeCommunity } from '@portico/net';
import type { BgpAdvertisement, L2Advertisement, LabelSelector } from './model.js';
import { FieldReader, selectorText } from './resource-fields.js';
import { label, type Resource } from './resource-peers.js';
import type { PoolBase } from './resource-pools.js';
import { nodeSelectorMatches, nodeSelectorsMatch } from './selector.js';

export interface Communities {
  readonly legacy: Readonly<Record<string, number>>;
  readonly large: Readonly<Record<string, LargeCommunity>>;
  /** Aliases defined with a bad value (already reported): using them is not another error. */
  readonly broken: ReadonlySet<string>;
}

export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

interface Selection {
  readonly pools: string[];
}

/** The pools an advertisement selects, in pool order. */
function selectPools(
  read: FieldReader,
  spec: Record<string, unknown>,
  pools: readonly PoolBase[],
  notices: string[],
): Selection {
  const names = read.strings(spec.ipAddressPools, 'spec.ipAddressPools');
  read.unique(names, 'spec.ipAddressPools', 'ipAddressPools');
  const selectors = read.selectors(spec.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors');
  if (names.length === 0 && selectors.length === 0) return { pools: pools.map((p) => p.name) };
  names.forEach((name, i) => {
    if (!pools.some((p) => p.name === name)) {
      notices.push(
        `${read.where}: spec.ipAddressPools[${i}]: no IPAddressPool "${name}" (ignored until there is one, as MetalLB does)`,
      );
    }
  });
  return {
    pools: pools
      .filter((p) => names.includes(p.name) || selectors.some((s) => nodeSelectorMatches(s, p.labels)))
      .map((p) => p.name),
  };
}

const l2Fields = [
  'ipAddressPools',
  'ipAddressPoolSelectors',
  'nodeSelectors',
  'interfaces',
  'serviceSelectors',
  'preferredNodeSelectors',
];

export function decodeL2Advertisements(
  resources: readonly Resource[],
  pools: readonly PoolBase[],
  errors: string[],
  notices: string[],
): Map<string, L2Advertisement[]> {
  const byPool = new Map<string, L2Advertisement[]>(pools.map((p) => [p.name, []]));
  for (const resource of resources) {
    const read = new FieldReader(errors, label(resource));
    const before = read.count;
    const spec = read.map(resource.spec, 'spec', l2Fields);
    if (!spec) continue;
    const selection = selectPools(read, spec, pools, notices);
    const nodeSelectors = read.selectors(spec.nodeSelectors, 'spec.nodeSelectors');
    const interfaces = read.strings(spec.interfaces, 'spec.interfaces');
    interfaces.forEach((name, i) => {
      if (name === '') read.fail(`spec.interfaces[${i}]`, 'an interface name can not be empty');
    });
    read.unique(interfaces, 'spec.interfaces', 'interfaces');
    const serviceSelectors = read.selectors(spec.serviceSelectors, 'spec.serviceSelectors');
    const preferredNodeSelectors = read.list(
      spec.preferredNodeSelectors,
      'spec.preferredNodeSelectors',
      (v, p) => {
        const raw = read.map(v, p, ['weight', 'preference']);
        if (!raw) return undefined;
        if (raw.weight === undefined) return read.fail(`${p}.weight`, 'required');
        const weight = read.int(raw.weight, `${p}.weight`, 1, 100);
        const preference = read.selector(raw.preference, `${p}.preference`);
        return weight === undefined || preference === undefined ? undefined : { weight, preference };
      },
    );
    if (read.count !== before) continue;
    const ad: L2Advertisement = {
      name: resource.name,
      nodeSelectors,
      interfaces,
      serviceSelectors,
      preferredNodeSelectors,
    };
    for (const pool of selection.pools) {
      const list = byPool.get(pool) as L2Advertisement[];
      // MetalLB attaches an advertisement equal to one already there only once, unless it carries
      // preferences (their weights add up per advertisement).
      if (preferredNodeSelectors.length === 0 && list.some((other) => sameL2(other, ad))) continue;
      list.push(ad);
    }
  }
  return byPool;
}

function sameL2(a: L2Advertisement, b: L2Advertisement): boolean {
  return (
    a.preferredNodeSelectors.length === 0 &&
    sameSelectors(a.nodeSelectors, b.nodeSelectors) &&
    sameSelectors(a.serviceSelectors, b.serviceSelectors) &&
    [...a.interfaces].sort().join('\n') === [...b.interfaces].sort().join('\n')
  );
}

function sameSelectors(a: readonly LabelSelector[], b: readonly LabelSelector[]): boolean {
  return a.map(selectorText).sort().join('\n') === b.map(selectorText).sort().join('\n');
}

const bgpFields = [
  'aggregationLength',
  'aggregationLengthV6',
  'localPref',
  'communities',
  'ipAddressPools',
  'ipAddressPoolSelectors',
  'nodeSelectors',
  'peers',
  'serviceSelectors',
];

export function decodeBgpAdvertisements(
  resources: readonly Resource[],
  pools: readonly PoolBase[],
  communities: Communities,
  peerNames: ReadonlySet<string>,
  nodes: readonly NodeInfo[] | undefined,
  errors: string[],
  notices: string[],
): Map<string, BgpAdvertisement[]> {
  const byPool = new Map<string, BgpAdvertisement[]>(pools.map((p) => [p.name, []]));
  for (const resource of resources) {
    const read = new FieldReader(errors, label(resource));
    const before = read.count;
    const spec = read.map(resource.spec, 'spec', bgpFields);
    if (!spec) continue;
    const selection = selectPools(read, spec, pools, notices);
    const aggregationLength = read.int(spec.aggregationLength, 'spec.aggregationLength', 1, 32) ?? 32;
    const aggregationLengthV6 = read.int(spec.aggregationLengthV6, 'spec.aggregationLengthV6', 0, 128) ?? 128;
    const localPref = read.int(spec.localPref, 'spec.localPref', 0, 4294967295) ?? 0;
    const nodeSelectors = read.selectors(spec.nodeSelectors, 'spec.nodeSelectors');
    const serviceSelectors = read.selectors(spec.serviceSelectors, 'spec.serviceSelectors');
    if (serviceSelectors.length > 0) {
      if (aggregationLength !== 32) {
        read.fail(
          'spec.aggregationLength',
          `${aggregationLength}: serviceSelectors and aggregationLength are mutually exclusive, both cannot be set`,
        );
      }
      if (aggregationLengthV6 !== 128) {
        read.fail(
          'spec.aggregationLengthV6',
          `${aggregationLengthV6}: serviceSelectors and aggregationLengthV6 are mutually exclusive, both cannot be set`,
        );
      }
    }
    const peers = read.strings(spec.peers, 'spec.peers');
    read.unique(peers, 'spec.peers', 'peers');
    peers.forEach((name, i) => {
      if (!peerNames.has(name)) {
        notices.push(
          `${read.where}: spec.peers[${i}]: no BGPPeer "${name}" (announced to no peer by this name)`,
        );
      }
    });
    const texts = read.strings(spec.communities, 'spec.communities', 253);
    read.unique(texts, 'spec.communities', 'community');
    const legacy: number[] = [];
    const large: LargeCommunity[] = [];
    texts.forEach((text, i) => {
      const path = `spec.communities[${i}]`;
      if (communities.broken.has(text)) return;
      const alias = communities.legacy[text] ?? communities.large[text];
      const parsed = alias === undefined ? parseAnyCommunity(text) : undefined;
      const value = alias ?? (parsed?.kind === 'error' ? undefined : parsed?.value);
      if (value === undefined) {
        const message = parsed?.kind === 'error' ? parsed.message : '';
        read.fail(
          path,
          parsed?.kind === 'error' && parsed.format
            ? `unknown community "${text}": no Community resource defines this name, and it is not asn:value or large:global:local1:local2`
            : `invalid community "${text}" in BGP advertisement: ${message}`,
        );
      } else if (typeof value === 'number') {
        if (!legacy.includes(value)) legacy.push(value);
      } else if (!large.some((l) => l.join(':') === value.join(':'))) {
        large.push(value);
      }
    });
    if (read.count !== before) continue;
    const ad: BgpAdvertisement = {
      name: resource.name,
      aggregationLength,
      aggregationLengthV6,
      localPref,
      communities: legacy,
      largeCommunities: large,
      peers,
      nodeSelectors,
      serviceSelectors,
    };
    for (const poolName of selection.pools) {
      const pool = pools.find((p) => p.name === poolName) as PoolBase;
      const list = byPool.get(poolName) as BgpAdvertisement[];
      if (fitsPool(read, ad, pool, list, nodes)) list.push(ad);
    }
  }
  return byPool;
}

/** MetalLB's validateBGPAdvPerPool: aggregation lengths and LOCAL_PREF agreement. */
function fitsPool(
  read: FieldReader,
  ad: BgpAdvertisement,
  pool: PoolBase,
  others: readonly BgpAdvertisement[],
  nodes: readonly NodeInfo[] | undefined,
): boolean {
  const before = read.count;
  for (const entry of pool.addresses) {
    const family = entry.cidrs[0]?.family;
    const [field, length] =
      family === 'IPv4'
        ? ['spec.aggregationLength', ad.aggregationLength]
        : ['spec.aggregationLengthV6', ad.aggregationLengthV6];
    const lowest = lowestMask(entry);
    if (length < lowest) {
      read.fail(
        field,
        `invalid aggregation length ${length}: prefix ${lowest} of "${entry.text}" in IPAddressPool "${pool.name}" is more specific than the aggregation length`,
      );
    }
  }
  if (ad.serviceSelectors.length === 0) {
    for (const other of others) {
      if (other.serviceSelectors.length > 0 || compatibleLocalPref(ad, other, pool, nodes)) continue;
      read.fail(
        'spec.localPref',
        `invalid local preference ${ad.localPref}: BGPAdvertisement "${other.name ?? ''}" sets ${other.localPref} for the same kind of update of IPAddressPool "${pool.name}" (same aggregation length, peers and nodes)`,
      );
    }
  }
  return read.count === before;
}

/** MetalLB's BGPAdvertisementsHaveCompatibleLocalPref. */
function compatibleLocalPref(
  a: BgpAdvertisement,
  b: BgpAdvertisement,
  pool: PoolBase,
  nodes: readonly NodeInfo[] | undefined,
): boolean {
  if (a.localPref === b.localPref) return true;
  const families = new Set(pool.addresses.map((e) => e.cidrs[0]?.family));
  const hasV4 = families.has('IPv4');
  const hasV6 = families.has('IPv6');
  if (!hasV4 && !hasV6) return true;
  const v4Differs = a.aggregationLength !== b.aggregationLength;
  const v6Differs = a.aggregationLengthV6 !== b.aggregationLengthV6;
  if ((v4Differs && !hasV6) || (v6Differs && !hasV4) || (v4Differs && v6Differs)) return true;
  if (a.peers.length > 0 && b.peers.length > 0 && !a.peers.some((p) => b.peers.includes(p))) return true;
  return !shareNode(a.nodeSelectors, b.nodeSelectors, nodes);
}

/**
 * Whether two node selections can meet on a node. With the nodes known (the controller), exactly;
 * without (a file check), only two "every node" selections surely do.
 */
function shareNode(
  a: readonly LabelSelector[],
  b: readonly LabelSelector[],
  nodes: readonly NodeInfo[] | undefined,
): boolean {
  if (nodes === undefined) return a.length === 0 && b.length === 0;
  return nodes.some((n) => nodeSelectorsMatch(a, n.labels) && nodeSelectorsMatch(b, n.labels));
}
