/**
 * parseConfig: the MetalLB v0.12 legacy ConfigMap format (the value of `data.config`), decoded
 * strictly and validated with every rule and default of MetalLB's config.Parse, in its order:
 * decoding, BFD profiles, peers (then the BFD reference and duplicate peers), `bgp-communities`,
 * address pools (then duplicate names and overlapping CIDRs), BGP advertisements.
 *
 * Unlike MetalLB, which stops at the first problem, every error that can be found is reported;
 * an entry that fails to decode is left out of the later checks so one mistake is reported once.
 * Each error starts with where it is (`address-pools[1] "blue": addresses[0]: …`, 0-based
 * indexes) and keeps MetalLB's wording after that.
 */
import { LineCounter, parseDocument } from 'yaml';
import { lowestMask, parseAddressEntry } from './addresses.js';
import { decode, isInvalid, setOwn, type DecodeContext, type Shape } from './decode.js';
import { parseGoDuration, truncateToSeconds } from './duration.js';
import { DisjointCidrSet } from './cidr-set.js';
import { canonicalIP, parseCommunity } from '@portico/net';

/** Go's net.ParseIP: like canonicalIP, but surrounding spaces make the text invalid. */
function strictIP(text: string): string | undefined {
  return text === text.trim() ? canonicalIP(text) : undefined;
}
import type {
  AddressEntry,
  AddressPool,
  BfdProfile,
  BgpAdvertisement,
  Config,
  L2Advertisement,
  LabelSelectorRequirement,
  NodeSelector,
  Peer,
} from './model.js';
import { labelKeyErrors, labelValueErrors, requirementErrors } from './selector.js';

export type ParseResult = { ok: true; config: Config } | { ok: false; errors: string[] };

const uint32: Shape = { kind: 'int', min: 0, max: 4294967295 };
const goInt: Shape = { kind: 'int', min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
const string: Shape = { kind: 'string' };
const bool: Shape = { kind: 'bool' };
const stringList: Shape = { kind: 'list', of: string };

/** The keys of MetalLB v0.12's configFile and its nested structs, with their Go types. */
const configShape: Shape = {
  kind: 'struct',
  fields: {
    peers: {
      kind: 'list',
      of: {
        kind: 'struct',
        fields: {
          'my-asn': uint32,
          'peer-asn': uint32,
          'peer-address': string,
          'source-address': string,
          'peer-port': { kind: 'int', min: 0, max: 65535 },
          'hold-time': string,
          'keepalive-time': string,
          'router-id': string,
          'node-selectors': {
            kind: 'list',
            of: {
              kind: 'struct',
              fields: {
                'match-labels': { kind: 'stringMap' },
                'match-expressions': {
                  kind: 'list',
                  of: { kind: 'struct', fields: { key: string, operator: string, values: stringList } },
                },
              },
            },
          },
          password: string,
          'bfd-profile': string,
          'ebgp-multihop': bool,
        },
      },
    },
    'bgp-communities': { kind: 'stringMap' },
    'address-pools': {
      kind: 'list',
      named: true,
      of: {
        kind: 'struct',
        fields: {
          protocol: string,
          name: string,
          addresses: stringList,
          'avoid-buggy-ips': bool,
          'auto-assign': bool,
          'bgp-advertisements': {
            kind: 'list',
            of: {
              kind: 'struct',
              fields: {
                'aggregation-length': goInt,
                'aggregation-length-v6': goInt,
                localpref: uint32,
                communities: stringList,
              },
            },
          },
        },
      },
    },
    'bfd-profiles': {
      kind: 'list',
      named: true,
      of: {
        kind: 'struct',
        fields: {
          name: string,
          'receive-interval': uint32,
          'transmit-interval': uint32,
          'detect-multiplier': uint32,
          'echo-interval': uint32,
          'echo-mode': bool,
          'passive-mode': bool,
          'minimum-ttl': uint32,
        },
      },
    },
  },
};

interface RawSelector {
  'match-labels'?: Record<string, string>;
  'match-expressions'?: ({ key?: string; operator?: string; values?: string[] } | undefined)[];
}

interface RawPeer {
  'my-asn'?: number;
  'peer-asn'?: number;
  'peer-address'?: string;
  'source-address'?: string;
  'peer-port'?: number;
  'hold-time'?: string;
  'keepalive-time'?: string;
  'router-id'?: string;
  'node-selectors'?: (RawSelector | undefined)[];
  password?: string;
  'bfd-profile'?: string;
  'ebgp-multihop'?: boolean;
}

interface RawAdvertisement {
  'aggregation-length'?: number;
  'aggregation-length-v6'?: number;
  localpref?: number;
  communities?: string[];
}

interface RawPool {
  protocol?: string;
  name?: string;
  addresses?: string[];
  'avoid-buggy-ips'?: boolean;
  'auto-assign'?: boolean;
  'bgp-advertisements'?: (RawAdvertisement | undefined)[];
}

interface RawBfdProfile {
  name?: string;
  'receive-interval'?: number;
  'transmit-interval'?: number;
  'detect-multiplier'?: number;
  'echo-interval'?: number;
  'echo-mode'?: boolean;
  'passive-mode'?: boolean;
  'minimum-ttl'?: number;
}

interface RawConfig {
  peers?: (RawPeer | undefined)[];
  'bgp-communities'?: Record<string, string | symbol>;
  'address-pools'?: (RawPool | undefined)[];
  'bfd-profiles'?: (RawBfdProfile | undefined)[];
}

const defaultHoldTimeSeconds = 90;
const defaultPeerPort = 179;

/** Parses and validates the text of the `config` key. */
export function parseConfig(text: string): ParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    uniqueKeys: true,
    version: '1.1',
    lineCounter: lines,
    prettyErrors: false,
  });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        const what = e.code === 'DUPLICATE_KEY' ? `duplicate key ${keyAt(text, e.pos[0])}` : e.message;
        return `could not parse config: line ${line}, column ${col}: ${what.split('\n')[0]}`;
      }),
    };
  }
  const ctx: DecodeContext = { doc, lines, errors: [] };
  const raw = (decode(ctx, doc.contents, configShape, '').value ?? {}) as RawConfig;
  const errors = ctx.errors;

  const bfdProfiles = parseBfdProfiles(raw['bfd-profiles'] ?? [], errors);
  const peers = parsePeers(raw.peers ?? [], bfdProfiles.names, errors);
  const communities = parseCommunityAliases(raw['bgp-communities'] ?? {}, errors);
  const pools = parsePools(raw['address-pools'] ?? [], communities, errors);

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      pools,
      peers,
      bfdProfiles: bfdProfiles.profiles,
      communities: communities.values,
      largeCommunities: {},
    },
  };
}

/** The key written at an offset (the yaml package points at a duplicate key's first character). */
function keyAt(text: string, offset: number): string {
  const key = /^("[^"\n]*"|'[^'\n]*'|[^:\n]*?)\s*:/.exec(text.slice(offset))?.[1];
  return key === undefined ? '' : key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`;
}

// ---------------------------------------------------------------------------------------------
// BFD profiles

const bfdRanges = [
  ['receive-interval', 'receiveInterval', 'receive interval', 10, 60000],
  ['transmit-interval', 'transmitInterval', 'transmit interval', 10, 60000],
  ['detect-multiplier', 'detectMultiplier', 'detect multiplier', 2, 255],
  ['echo-interval', 'echoInterval', 'echo interval', 10, 60000],
  ['minimum-ttl', 'minimumTtl', 'minimum ttl', 1, 254],
] as const;

function parseBfdProfiles(
  raws: readonly (RawBfdProfile | undefined)[],
  errors: string[],
): { profiles: BfdProfile[]; names: Set<string> } {
  const profiles: BfdProfile[] = [];
  // Names of every profile, even broken ones, so a peer referencing one is not reported again.
  const names = new Set<string>();
  raws.forEach((raw = {}, i) => {
    const name = raw.name ?? '';
    const label = name ? `bfd-profiles[${i}] "${name}"` : `bfd-profiles[${i}]`;
    if (isInvalid(raw)) {
      if (name) names.add(name);
      return;
    }
    const before = errors.length;
    if (!name) errors.push(`${label}: name: missing bfd profile name`);
    const profile: Record<string, unknown> = {
      name,
      echoMode: raw['echo-mode'] ?? false,
      passiveMode: raw['passive-mode'] ?? false,
    };
    for (const [key, field, what, min, max] of bfdRanges) {
      const value = raw[key];
      if (value === undefined) continue;
      if (value < min || value > max) {
        errors.push(
          `${label}: ${key}: invalid ${what} value: invalid value ${value}, must be in ${min}-${max} range`,
        );
      }
      profile[field] = value;
    }
    if (name && names.has(name)) errors.push(`${label}: name: found duplicate bfd profile name ${name}`);
    if (name) names.add(name);
    if (errors.length === before) profiles.push(profile as unknown as BfdProfile);
  });
  return { profiles, names };
}

// ---------------------------------------------------------------------------------------------
// Peers

function parseDuration(text: string, field: string, what: string, label: string, errors: string[]) {
  const nanos = parseGoDuration(text);
  if (typeof nanos === 'string') {
    errors.push(`${label}: ${field}: invalid ${what} "${text}": ${nanos}`);
    return undefined;
  }
  return truncateToSeconds(nanos);
}

function parsePeers(raws: readonly (RawPeer | undefined)[], bfdNames: Set<string>, errors: string[]): Peer[] {
  const peers: Peer[] = [];
  const seen: { key: string; index: number }[] = [];
  raws.forEach((raw = {}, i) => {
    if (isInvalid(raw)) return;
    const label = `peers[${i}]`;
    const before = errors.length;
    const myASN = raw['my-asn'] ?? 0;
    const peerASN = raw['peer-asn'] ?? 0;
    if (myASN === 0) errors.push(`${label}: my-asn: missing local ASN`);
    if (peerASN === 0) errors.push(`${label}: peer-asn: missing peer ASN`);
    const ebgpMultiHop = raw['ebgp-multihop'] ?? false;
    if (myASN !== 0 && myASN === peerASN && ebgpMultiHop) {
      errors.push(`${label}: ebgp-multihop: invalid ebgp-multihop parameter set for an ibgp peer`);
    }
    const peerAddressText = raw['peer-address'] ?? '';
    const peerAddress = strictIP(peerAddressText);
    if (peerAddress === undefined)
      errors.push(`${label}: peer-address: invalid peer IP "${peerAddressText}"`);

    let holdTime: number | undefined = defaultHoldTimeSeconds;
    const holdText = raw['hold-time'] ?? '';
    if (holdText !== '') {
      holdTime = parseDuration(holdText, 'hold-time', 'hold time', label, errors);
      if (holdTime !== undefined && holdTime !== 0 && holdTime < 3) {
        errors.push(`${label}: hold-time: invalid hold time "${holdText}": must be 0 or >=3s`);
        holdTime = undefined;
      }
    }
    const keepaliveText = raw['keepalive-time'] ?? '';
    let keepaliveTime: number | undefined;
    if (keepaliveText !== '') {
      keepaliveTime = parseDuration(keepaliveText, 'keepalive-time', 'keepalive time', label, errors);
      if (keepaliveTime !== undefined && holdTime !== undefined && keepaliveTime > holdTime) {
        errors.push(
          `${label}: keepalive-time: invalid keepaliveTime "${keepaliveText}": longer than the hold time (${holdTime}s)`,
        );
      }
    }
    const routerIDText = raw['router-id'] ?? '';
    const routerID = routerIDText === '' ? undefined : strictIP(routerIDText);
    if (routerIDText !== '' && routerID === undefined) {
      errors.push(`${label}: router-id: invalid router ID "${routerIDText}"`);
    }
    const sourceText = raw['source-address'] ?? '';
    const sourceAddress = sourceText === '' ? undefined : strictIP(sourceText);
    if (sourceText !== '' && sourceAddress === undefined) {
      errors.push(`${label}: source-address: invalid source IP "${sourceText}"`);
    }
    const nodeSelectors = (raw['node-selectors'] ?? []).map((sel, j) =>
      parseNodeSelector(sel ?? {}, `${label}: node-selectors[${j}]`, errors),
    );
    const bfdProfile = raw['bfd-profile'] || undefined;
    if (bfdProfile !== undefined && !bfdNames.has(bfdProfile)) {
      errors.push(`${label}: bfd-profile: referencing non existing bfd profile ${bfdProfile}`);
    }
    if (errors.length !== before) return;

    const peer: Peer = {
      myASN,
      peerASN,
      peerAddress: peerAddress as string,
      peerPort: raw['peer-port'] || defaultPeerPort,
      holdTime: holdTime as number,
      ...(keepaliveTime !== undefined && { keepaliveTime }),
      ...(sourceAddress !== undefined && { sourceAddress }),
      ...(routerID !== undefined && { routerID }),
      ...(raw.password ? { password: raw.password } : {}),
      ...(bfdProfile !== undefined && { bfdProfile }),
      ebgpMultiHop,
      enableGracefulRestart: false,
      disableMP: false,
      dualStackAddressFamily: false,
      nodeSelectors,
    };
    // MetalLB rejects only a peer identical in every field (reflect.DeepEqual of the parsed peer).
    const key = canonicalJSON(peer);
    const twin = seen.find((s) => s.key === key);
    if (twin) {
      errors.push(`${label}: peer #${i + 1} already exists (identical to peers[${twin.index}])`);
      return;
    }
    seen.push({ key, index: i });
    peers.push(peer);
  });
  return peers;
}

function parseNodeSelector(raw: RawSelector, label: string, errors: string[]): NodeSelector {
  const matchLabels = raw['match-labels'] ?? {};
  for (const [key, value] of Object.entries(matchLabels)) {
    for (const e of [...labelKeyErrors(key), ...labelValueErrors(value)]) {
      errors.push(`${label}: match-labels: parsing node selector: ${e}`);
    }
  }
  const matchExpressions = (raw['match-expressions'] ?? []).map((expr = {}, k): LabelSelectorRequirement => {
    const key = expr.key ?? '';
    const operator = expr.operator ?? '';
    const values = expr.values ?? [];
    for (const e of requirementErrors(key, operator, values)) {
      errors.push(`${label}: match-expressions[${k}]: parsing node selector: ${e}`);
    }
    return { key, operator: operator as LabelSelectorRequirement['operator'], values };
  });
  return { matchLabels, matchExpressions };
}

// ---------------------------------------------------------------------------------------------
// bgp-communities

interface Communities {
  /** Valid aliases. */
  values: Record<string, number>;
  /** Aliases that exist but are broken (already reported): using them is not another error. */
  broken: Set<string>;
}

function parseCommunityAliases(raw: Record<string, string | symbol>, errors: string[]): Communities {
  const result: Communities = { values: {}, broken: new Set() };
  for (const [name, text] of Object.entries(raw)) {
    if (typeof text !== 'string') {
      result.broken.add(name);
      continue;
    }
    const value = parseCommunity(text);
    if (typeof value === 'string') {
      errors.push(`bgp-communities: parsing community "${name}": ${value}`);
      result.broken.add(name);
    } else {
      setOwn(result.values, name, value);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Address pools

function parsePools(raws: readonly (RawPool | undefined)[], communities: Communities, errors: string[]) {
  const pools: AddressPool[] = [];
  const names = new Set<string>();
  const accepted = new DisjointCidrSet<string>();
  raws.forEach((raw = {}, i) => {
    const name = raw.name ?? '';
    if (isInvalid(raw)) {
      if (name) names.add(name);
      return;
    }
    const label = name ? `address-pools[${i}] "${name}"` : `address-pools[${i}]`;
    const before = errors.length;
    if (!name) errors.push(`${label}: name: missing pool name`);

    const addressTexts = raw.addresses ?? [];
    if (addressTexts.length === 0) errors.push(`${label}: addresses: pool has no prefixes defined`);
    const addresses: (AddressEntry | undefined)[] = addressTexts.map((text, j) => {
      const entry = parseAddressEntry(text);
      if (typeof entry !== 'string') return entry;
      errors.push(`${label}: addresses[${j}]: ${entry}`);
      return undefined;
    });

    const rawAds = raw['bgp-advertisements'] ?? [];
    let bgpAdvertisements: BgpAdvertisement[] = [];
    if (raw.protocol === 'layer2') {
      if (rawAds.length > 0) {
        errors.push(
          `${label}: bgp-advertisements: cannot have bgp-advertisements configuration element in a layer2 address pool`,
        );
      }
    } else if (raw.protocol === 'bgp') {
      bgpAdvertisements = parseAdvertisements(rawAds, addresses, communities, label, errors);
    } else if (!raw.protocol) {
      errors.push(`${label}: protocol: address pool is missing the protocol field`);
    } else {
      errors.push(`${label}: protocol: unknown protocol "${raw.protocol}"`);
    }

    if (name && names.has(name)) {
      // A second pool of the same name is most likely a copy: its CIDRs would only add noise.
      errors.push(`${label}: name: duplicate definition of pool "${name}"`);
      return;
    }
    if (name) names.add(name);

    // Every CIDR against every CIDR accepted so far, earlier pools and earlier entries of this pool.
    // One error per entry: a range summarised into many blocks would otherwise repeat it.
    addresses.forEach((entry, j) => {
      let reported = false;
      for (const cidr of entry?.cidrs ?? []) {
        const clash = accepted.findOverlap(cidr);
        if (!clash) accepted.add(cidr, name);
        else if (!reported) {
          reported = true;
          errors.push(
            `${label}: addresses[${j}]: CIDR "${cidr.text}" in pool "${name}" overlaps with already defined CIDR "${clash.cidr.text}" (pool "${clash.owner}")`,
          );
        }
      }
    });

    if (errors.length !== before) return;
    pools.push({
      name,
      addresses: addresses as AddressEntry[],
      autoAssign: raw['auto-assign'] ?? true,
      avoidBuggyIPs: raw['avoid-buggy-ips'] ?? false,
      l2Advertisements: raw.protocol === 'layer2' ? [everywhereL2] : [],
      bgpAdvertisements,
    });
  });
  return pools;
}

/** `protocol: layer2`: every node, every interface, every Service. */
const everywhereL2: L2Advertisement = {
  nodeSelectors: [],
  interfaces: [],
  serviceSelectors: [],
  preferredNodeSelectors: [],
};

/** What the CRs have and the ConfigMap has not: every peer, node and Service. */
const unrestricted = { largeCommunities: [], peers: [], nodeSelectors: [], serviceSelectors: [] };

const defaultAdvertisement: BgpAdvertisement = {
  aggregationLength: 32,
  aggregationLengthV6: 128,
  localPref: 0,
  communities: [],
  ...unrestricted,
};

function parseAdvertisements(
  raws: readonly (RawAdvertisement | undefined)[],
  addresses: readonly (AddressEntry | undefined)[],
  communities: Communities,
  poolLabel: string,
  errors: string[],
): BgpAdvertisement[] {
  if (raws.length === 0) return [defaultAdvertisement];
  const result: BgpAdvertisement[] = [];
  raws.forEach((raw = {}, k) => {
    if (isInvalid(raw)) return;
    const label = `${poolLabel}: bgp-advertisements[${k}]`;
    // Duplicates compare the advertisements as written: `{}` and `aggregation-length: 32` differ.
    const twin = raws.findIndex((other, j) => j < k && canonicalJSON(other ?? {}) === canonicalJSON(raw));
    if (twin >= 0) {
      errors.push(
        `${label}: duplicate definition of bgpadvertisements. advertisement ${twin} and ${k} are equal`,
      );
    }
    const texts = raw.communities ?? [];
    texts.forEach((text, m) => {
      if (texts.indexOf(text) < m) {
        errors.push(`${label}: communities[${m}]: duplicate definition of community "${text}"`);
      }
    });

    const lengths = [
      ['aggregation-length', 'IPv4', 32, raw['aggregation-length'] ?? 32],
      ['aggregation-length-v6', 'IPv6', 128, raw['aggregation-length-v6'] ?? 128],
    ] as const;
    for (const [key, family, max, length] of lengths) {
      // MetalLB rejects only lengths above the maximum here; a negative length fails its
      // per-entry check below when the pool has entries of that family. Rejecting it always is
      // stricter, and a negative length never means anything.
      if (length > max || length < 0) {
        errors.push(`${label}: ${key}: invalid aggregation length ${length} for ${family}`);
        continue;
      }
      for (const entry of addresses) {
        if (!entry || entry.cidrs[0]?.family !== family) continue;
        const lowest = lowestMask(entry);
        if (length < lowest) {
          const prefix = entry.cidrs.find((c) => c.prefixLength === lowest)?.text;
          errors.push(
            `${label}: ${key}: invalid aggregation length ${length}: prefix "${prefix}" in this pool is more specific than the aggregation length for addresses ${entry.text}`,
          );
        }
      }
    }

    const values: number[] = [];
    texts.forEach((text, m) => {
      let value: number | string | undefined = communities.values[text];
      if (value === undefined) {
        if (communities.broken.has(text)) return;
        value = parseCommunity(text);
      }
      if (typeof value === 'string') {
        errors.push(
          `${label}: communities[${m}]: invalid community "${text}" in BGP advertisement: ${value}`,
        );
      } else if (!values.includes(value)) {
        values.push(value);
      }
    });
    result.push({
      aggregationLength: raw['aggregation-length'] ?? 32,
      aggregationLengthV6: raw['aggregation-length-v6'] ?? 128,
      localPref: raw.localpref ?? 0,
      communities: values,
      ...unrestricted,
    });
  });
  return result;
}

/** JSON with object keys sorted, for "equal in every field" comparisons. */
function canonicalJSON(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
