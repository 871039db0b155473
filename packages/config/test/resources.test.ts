/**
 * decodeResources, table-driven: each field of each metallb.io kind and what it becomes in the
 * model; each rule of MetalLB's parser and webhooks (and of our CRDs) with the exact error, which
 * names the resource, the field and the value; every problem at once; and the reading of the
 * envelope (apiVersion, kind, name, namespace, List objects, Secrets).
 */
import { describe, expect, it } from 'vitest';
import {
  configToJSON,
  decodeResources,
  parseResourceDocuments,
  type Config,
  type DecodeResourcesOptions,
} from '@portico/config';

type Obj = Record<string, unknown>;
const v1 = 'metallb.io/v1beta1';
const v2 = 'metallb.io/v1beta2';
const obj = (apiVersion: string, kind: string, name: string, spec?: unknown, extra: Obj = {}): Obj => ({
  apiVersion,
  kind,
  metadata: { name, ...((extra.metadata as Obj | undefined) ?? {}) },
  ...(spec === undefined ? {} : { spec }),
  ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'metadata')),
});
const pool = (name: string, spec: unknown, labels?: Record<string, string>) =>
  obj(v1, 'IPAddressPool', name, spec, labels ? { metadata: { labels } } : {});
const l2 = (name: string, spec?: unknown) => obj(v1, 'L2Advertisement', name, spec);
const bgpAd = (name: string, spec?: unknown) => obj(v1, 'BGPAdvertisement', name, spec);
const community = (name: string, aliases: { name: string; value: string }[]) =>
  obj(v1, 'Community', name, { communities: aliases });
const bfd = (name: string, spec: unknown) => obj(v1, 'BFDProfile', name, spec);
const peer = (name: string, spec: Obj) => obj(v2, 'BGPPeer', name, spec);
const peerV1 = (name: string, spec: Obj) => obj(v1, 'BGPPeer', name, spec);
const secret = (name: string, type: string | undefined, data: Obj) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  ...(type === undefined ? {} : { type }),
  ...data,
});
const basePeer = { myASN: 64500, peerASN: 64501, peerAddress: '192.0.2.1' };
const basePool = pool('p', { addresses: ['192.0.2.0/24'] });

function decoded(objects: unknown[], options?: DecodeResourcesOptions): Config {
  const result = decodeResources(objects, options);
  if (!result.ok) throw new Error(`expected a valid configuration, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function errorsOf(objects: unknown[], options?: DecodeResourcesOptions): string[] {
  const result = decodeResources(objects, options);
  if (result.ok) throw new Error('expected errors, the configuration is valid');
  return result.errors;
}

describe('IPAddressPool', () => {
  it('applies the defaults: auto-assign, no buggy-IP avoidance, no serviceAllocation, not announced', () => {
    const [p] = decoded([basePool]).pools;
    expect(p).toEqual({
      name: 'p',
      addresses: [expect.objectContaining({ text: '192.0.2.0/24' })],
      autoAssign: true,
      avoidBuggyIPs: false,
      l2Advertisements: [],
      bgpAdvertisements: [],
    });
    const result = decodeResources([basePool]);
    expect(result.notices).toEqual([
      'IPAddressPool "p": no L2Advertisement or BGPAdvertisement selects it: its addresses are given out but not announced',
    ]);
  });

  it.each<[string, Obj, (c: ReturnType<typeof configToJSON<never>>['pools'][number]) => unknown, unknown]>([
    ['CIDR, host bits cleared', { addresses: ['10.20.30.40/24'] }, (p) => p.addresses, ['10.20.30.0/24']],
    ['range, trimmed', { addresses: [' 10.0.0.5 - 10.0.0.9 '] }, (p) => p.addresses, ['10.0.0.5-10.0.0.9']],
    ['IPv6, canonical', { addresses: ['2001:DB8:0::/64'] }, (p) => p.addresses, ['2001:db8::/64']],
    ['autoAssign false', { addresses: ['10.0.0.0/24'], autoAssign: false }, (p) => p.autoAssign, false],
    ['avoidBuggyIPs', { addresses: ['10.0.0.0/24'], avoidBuggyIPs: true }, (p) => p.avoidBuggyIPs, true],
    [
      'serviceAllocation, every field',
      {
        addresses: ['10.0.0.0/24'],
        serviceAllocation: {
          priority: 10,
          namespaces: ['web', 'api'],
          namespaceSelectors: [{ matchLabels: { team: 'a' } }],
          serviceSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }],
        },
      },
      (p) => p.serviceAllocation,
      {
        priority: 10,
        namespaces: ['web', 'api'],
        namespaceSelectors: [{ matchLabels: { team: 'a' }, matchExpressions: [] }],
        serviceSelectors: [
          { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] },
        ],
      },
    ],
    [
      'serviceAllocation with only a priority: every Service',
      { addresses: ['10.0.0.0/24'], serviceAllocation: { priority: 1 } },
      (p) => p.serviceAllocation,
      { priority: 1, namespaces: [], namespaceSelectors: [], serviceSelectors: [] },
    ],
  ])('%s', (_what, spec, pick, expected) => {
    const config = decoded([pool('p', spec)]);
    expect(pick(configToJSON(config, { resources: true }).pools[0] as never)).toEqual(expected);
  });

  it.each<[string, unknown[], string[]]>([
    ['no addresses', [pool('p', {})], ['IPAddressPool "p": spec.addresses: pool has no prefixes defined']],
    [
      'a bare address',
      [pool('p', { addresses: ['10.0.0.1'] })],
      ['IPAddressPool "p": spec.addresses[0]: invalid CIDR "10.0.0.1": missing "/prefix-length"'],
    ],
    [
      'a prefix length out of range',
      [pool('p', { addresses: ['10.0.0.0/33'] })],
      [
        'IPAddressPool "p": spec.addresses[0]: invalid CIDR "10.0.0.0/33": invalid prefix length "33" for IPv4 (0-32)',
      ],
    ],
    [
      'a range that starts after it ends',
      [pool('p', { addresses: ['10.0.0.9-10.0.0.1'] })],
      [
        'IPAddressPool "p": spec.addresses[0]: invalid IP range "10.0.0.9-10.0.0.1": start IP "10.0.0.9" is after the end IP "10.0.0.1"',
      ],
    ],
    [
      'overlapping pools: the later pool in name order is blamed',
      [pool('b', { addresses: ['10.0.0.0/24'] }), pool('a', { addresses: ['10.0.0.128/25'] })],
      [
        'IPAddressPool "b": spec.addresses[0]: CIDR "10.0.0.0/24" in pool "b" overlaps with already defined CIDR "10.0.0.128/25" (IPAddressPool "a")',
      ],
    ],
    [
      'overlap inside one pool',
      [pool('p', { addresses: ['10.0.0.0/24', '10.0.0.5-10.0.0.6'] })],
      [
        'IPAddressPool "p": spec.addresses[1]: CIDR "10.0.0.5/32" in pool "p" overlaps with already defined CIDR "10.0.0.0/24" (IPAddressPool "p")',
      ],
    ],
    [
      'a wrong type',
      [pool('p', { addresses: ['10.0.0.0/24'], autoAssign: 'yes' })],
      ['IPAddressPool "p": spec.autoAssign: expected true or false, got "yes"'],
    ],
    [
      'an unknown field',
      [pool('p', { addresses: ['10.0.0.0/24'], protocol: 'layer2' })],
      ['IPAddressPool "p": spec: unknown field "protocol"'],
    ],
    [
      'a namespace listed twice',
      [pool('p', { addresses: ['10.0.0.0/24'], serviceAllocation: { namespaces: ['a', 'a'] } })],
      [
        'IPAddressPool "p": spec.serviceAllocation.namespaces[1]: duplicate definition in namespaces field: "a"',
      ],
    ],
    [
      'a negative priority',
      [pool('p', { addresses: ['10.0.0.0/24'], serviceAllocation: { priority: -1 } })],
      ['IPAddressPool "p": spec.serviceAllocation.priority: -1 is not in 0-2147483647'],
    ],
    [
      'a selector listed twice (values in another order)',
      [
        pool('p', {
          addresses: ['10.0.0.0/24'],
          serviceAllocation: {
            serviceSelectors: [
              { matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y'] }] },
              { matchExpressions: [{ key: 'a', operator: 'In', values: ['y', 'x'] }] },
            ],
          },
        }),
      ],
      [
        'IPAddressPool "p": spec.serviceAllocation.serviceSelectors[1]: duplicate definition of serviceSelectors "a In (x,y)"',
      ],
    ],
    [
      'a bad selector operator and a bad label value',
      [
        pool('p', {
          addresses: ['10.0.0.0/24'],
          serviceAllocation: {
            namespaceSelectors: [
              {
                matchLabels: { team: 'a b' },
                matchExpressions: [{ key: 'k', operator: 'Equals', values: ['v'] }],
              },
            ],
          },
        }),
      ],
      [
        "IPAddressPool \"p\": spec.serviceAllocation.namespaceSelectors[0].matchLabels: invalid label value \"a b\": must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        'IPAddressPool "p": spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0]: "Equals" is not a valid pod selector operator',
      ],
    ],
    [
      'In without values, a value twice',
      [
        pool('p', {
          addresses: ['10.0.0.0/24'],
          serviceAllocation: {
            serviceSelectors: [
              { matchExpressions: [{ key: 'k', operator: 'In' }] },
              { matchExpressions: [{ key: 'j', operator: 'NotIn', values: ['v', 'v'] }] },
            ],
          },
        }),
      ],
      [
        "IPAddressPool \"p\": spec.serviceAllocation.serviceSelectors[0].matchExpressions[0]: for 'in', 'notin' operators, values set can't be empty",
        'IPAddressPool "p": spec.serviceAllocation.serviceSelectors[1].matchExpressions[0].values[1]: duplicate definition of match expression value in label selector "v"',
      ],
    ],
  ])('refuses %s', (_what, objects, expected) => {
    expect(errorsOf(objects)).toEqual(expected);
  });
});

describe('L2Advertisement', () => {
  const pools = [
    pool('a', { addresses: ['10.0.0.0/24'] }, { tier: 'web' }),
    pool('b', { addresses: ['10.1.0.0/24'] }, { tier: 'db' }),
  ];
  const l2Of = (config: Config) =>
    Object.fromEntries(config.pools.map((p) => [p.name, p.l2Advertisements.map((ad) => ad.name)]));

  it.each<[string, unknown, Record<string, string[]>]>([
    ['no pool selection: every pool', undefined, { a: ['x'], b: ['x'] }],
    ['by name', { ipAddressPools: ['b'] }, { a: [], b: ['x'] }],
    ['by label', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'web' } }] }, { a: ['x'], b: [] }],
    [
      'by name and by label: both',
      { ipAddressPools: ['b'], ipAddressPoolSelectors: [{ matchLabels: { tier: 'web' } }] },
      { a: ['x'], b: ['x'] },
    ],
    [
      'a selector that matches nothing',
      { ipAddressPoolSelectors: [{ matchLabels: { tier: 'x' } }] },
      { a: [], b: [] },
    ],
  ])('selects pools %s', (_what, spec, expected) => {
    expect(l2Of(decoded([...pools, l2('x', spec)]))).toEqual(expected);
  });

  it('carries nodeSelectors, interfaces, serviceSelectors and preferredNodeSelectors', () => {
    const config = decoded([
      pools[0],
      l2('x', {
        nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'node-a' } }],
        interfaces: ['eth0', 'bond0'],
        serviceSelectors: [{ matchLabels: { app: 'web' } }],
        preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { zone: 'a' } } }],
      }),
    ]);
    expect(config.pools[0]?.l2Advertisements).toEqual([
      {
        name: 'x',
        nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'node-a' }, matchExpressions: [] }],
        interfaces: ['eth0', 'bond0'],
        serviceSelectors: [{ matchLabels: { app: 'web' }, matchExpressions: [] }],
        preferredNodeSelectors: [
          { weight: 50, preference: { matchLabels: { zone: 'a' }, matchExpressions: [] } },
        ],
      },
    ]);
  });

  it('attaches an advertisement equal to one already on the pool only once, as MetalLB does', () => {
    const config = decoded([
      pools[0],
      l2('x', { interfaces: ['eth0', 'eth1'] }),
      l2('y', { interfaces: ['eth1', 'eth0'] }),
    ]);
    expect(config.pools[0]?.l2Advertisements.map((a) => a.name)).toEqual(['x']);
  });

  it('ignores a pool name that does not exist, with a notice', () => {
    const result = decodeResources([pools[0], l2('x', { ipAddressPools: ['nope'] })]);
    expect(result.ok && result.config.pools[0]?.l2Advertisements).toEqual([]);
    expect(result.notices).toContain(
      'L2Advertisement "x": spec.ipAddressPools[0]: no IPAddressPool "nope" (ignored until there is one, as MetalLB does)',
    );
  });

  it.each<[string, unknown, string[]]>([
    [
      'a pool named twice',
      { ipAddressPools: ['a', 'a'] },
      ['L2Advertisement "x": spec.ipAddressPools[1]: duplicate definition of ipAddressPools "a"'],
    ],
    [
      'a node selector twice',
      { nodeSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }] },
      ['L2Advertisement "x": spec.nodeSelectors[1]: duplicate definition of nodeSelectors "a=b"'],
    ],
    [
      'an empty interface name',
      { interfaces: [''] },
      ['L2Advertisement "x": spec.interfaces[0]: an interface name can not be empty'],
    ],
    [
      'a preference weight out of range',
      { preferredNodeSelectors: [{ weight: 101, preference: {} }] },
      ['L2Advertisement "x": spec.preferredNodeSelectors[0].weight: 101 is not in 1-100'],
    ],
    [
      'an invalid node selector key',
      { nodeSelectors: [{ matchExpressions: [{ key: '-bad', operator: 'Exists' }] }] },
      [
        "L2Advertisement \"x\": spec.nodeSelectors[0].matchExpressions[0]: invalid label key \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      ],
    ],
  ])('refuses %s', (_what, spec, expected) => {
    expect(errorsOf([pools[0], l2('x', spec)])).toEqual(expected);
  });
});

describe('BGPAdvertisement and Community', () => {
  const p4 = pool('v4', { addresses: ['10.0.0.0/24'] });
  const p6 = pool('v6', { addresses: ['2001:db8::/64'] });
  const aliases = community('c', [
    { name: 'no-export', value: '65535:65281' },
    { name: 'big', value: 'large:64500:1:2' },
  ]);

  it('applies the defaults', () => {
    expect(decoded([p4, bgpAd('x')]).pools[0]?.bgpAdvertisements).toEqual([
      {
        name: 'x',
        aggregationLength: 32,
        aggregationLengthV6: 128,
        localPref: 0,
        communities: [],
        largeCommunities: [],
        peers: [],
        nodeSelectors: [],
        serviceSelectors: [],
      },
    ]);
  });

  it('reads every field; communities by alias or value, legacy and large, each once', () => {
    const config = decoded([
      p4,
      aliases,
      peer('r1', basePeer),
      bgpAd('x', {
        aggregationLength: 24,
        aggregationLengthV6: 64,
        localPref: 100,
        communities: ['no-export', '65535:65281', 'big', 'large:1:2:3', '64500:7'],
        peers: ['r1'],
        nodeSelectors: [{ matchLabels: { rack: 'r1' } }],
      }),
    ]);
    expect(configToJSON(config, { resources: true }).pools[0]?.bgpAdvertisements).toEqual([
      {
        name: 'x',
        aggregationLength: 24,
        aggregationLengthV6: 64,
        localPref: 100,
        communities: ['65535:65281', '64500:7'],
        largeCommunities: ['large:64500:1:2', 'large:1:2:3'],
        peers: ['r1'],
        nodeSelectors: [{ matchLabels: { rack: 'r1' }, matchExpressions: [] }],
        serviceSelectors: [],
      },
    ]);
    expect(config.communities).toEqual({ 'no-export': 0xffffff01 });
    expect(config.largeCommunities).toEqual({ big: [64500, 1, 2] });
  });

  it('serviceSelectors with the default aggregation lengths', () => {
    const config = decoded([p4, bgpAd('x', { serviceSelectors: [{ matchLabels: { app: 'a' } }] })]);
    expect(config.pools[0]?.bgpAdvertisements[0]?.serviceSelectors).toHaveLength(1);
  });

  it('a pool can be announced by layer 2 and BGP at once', () => {
    const json = configToJSON(decoded([p4, l2('a'), bgpAd('b')]));
    expect(json.pools[0]?.protocol).toBe('layer2+bgp');
  });

  it.each<[string, unknown[], string[]]>([
    [
      'an aggregation length shorter than a CIDR of the pool',
      [p4, bgpAd('x', { aggregationLength: 16 })],
      [
        'BGPAdvertisement "x": spec.aggregationLength: invalid aggregation length 16: prefix 24 of "10.0.0.0/24" in IPAddressPool "v4" is more specific than the aggregation length',
      ],
    ],
    [
      'an IPv6 aggregation length shorter than a range of the pool',
      [pool('r', { addresses: ['2001:db8::10-2001:db8::1f'] }), bgpAd('x', { aggregationLengthV6: 120 })],
      [
        'BGPAdvertisement "x": spec.aggregationLengthV6: invalid aggregation length 120: prefix 124 of "2001:db8::10-2001:db8::1f" in IPAddressPool "r" is more specific than the aggregation length',
      ],
    ],
    [
      'an aggregation length out of the CRD range',
      [p4, bgpAd('x', { aggregationLength: 33, aggregationLengthV6: 129 })],
      [
        'BGPAdvertisement "x": spec.aggregationLength: 33 is not in 1-32',
        'BGPAdvertisement "x": spec.aggregationLengthV6: 129 is not in 0-128',
      ],
    ],
    [
      'serviceSelectors with aggregation',
      [p4, bgpAd('x', { aggregationLength: 24, serviceSelectors: [{ matchLabels: { a: 'b' } }] })],
      [
        'BGPAdvertisement "x": spec.aggregationLength: 24: serviceSelectors and aggregationLength are mutually exclusive, both cannot be set',
      ],
    ],
    [
      'an unknown community name',
      [p4, bgpAd('x', { communities: ['no-export'] })],
      [
        'BGPAdvertisement "x": spec.communities[0]: unknown community "no-export": no Community resource defines this name, and it is not asn:value or large:global:local1:local2',
      ],
    ],
    [
      'a community value out of range',
      [p4, bgpAd('x', { communities: ['65536:1'] })],
      [
        'BGPAdvertisement "x": spec.communities[0]: invalid community "65536:1" in BGP advertisement: invalid first section of community "65536": strconv.ParseUint: parsing "65536": value out of range',
      ],
    ],
    [
      'a large community with a bad marker',
      [p4, bgpAd('x', { communities: ['big:1:2:3'] })],
      [
        'BGPAdvertisement "x": spec.communities[0]: invalid community "big:1:2:3" in BGP advertisement: invalid marker for large community "big:1:2:3": expected large:<uint32>:<uint32>:<uint32>',
      ],
    ],
    [
      'a community twice',
      [p4, bgpAd('x', { communities: ['1:1', '1:1'] })],
      ['BGPAdvertisement "x": spec.communities[1]: duplicate definition of community "1:1"'],
    ],
    [
      'a peer twice',
      [p4, bgpAd('x', { peers: ['a', 'a'] })],
      ['BGPAdvertisement "x": spec.peers[1]: duplicate definition of peers "a"'],
    ],
    [
      'two LOCAL_PREFs for the same updates of a pool',
      [p4, bgpAd('x', { localPref: 100 }), bgpAd('y', { localPref: 200 })],
      [
        'BGPAdvertisement "y": spec.localPref: invalid local preference 200: BGPAdvertisement "x" sets 100 for the same kind of update of IPAddressPool "v4" (same aggregation length, peers and nodes)',
      ],
    ],
    [
      'a Community alias with a bad value; using it is not another error',
      [p4, community('c', [{ name: 'bad', value: '1:2:3' }]), bgpAd('x', { communities: ['bad'] })],
      [
        'Community "c": spec.communities[0].value: parsing community "bad": "1:2:3" is neither asn:value nor large:global:local1:local2',
      ],
    ],
    [
      'an alias defined twice across Community resources',
      [community('a', [{ name: 'x', value: '1:1' }]), community('b', [{ name: 'x', value: '1:2' }])],
      [
        'Community "b": spec.communities[0].name: duplicate definition of community "x" (also in Community "a")',
      ],
    ],
  ])('refuses %s', (_what, objects, expected) => {
    expect(errorsOf(objects)).toEqual(expected);
  });

  it.each<[string, Obj, Obj]>([
    [
      'different aggregation lengths (IPv4-only pool)',
      { localPref: 1, aggregationLength: 32 },
      { localPref: 2, aggregationLength: 28 },
    ],
    ['disjoint peers', { localPref: 1, peers: ['a'] }, { localPref: 2, peers: ['b'] }],
    [
      'node selectors (nodes unknown: only "every node" twice surely meets)',
      { localPref: 1, nodeSelectors: [{ matchLabels: { r: '1' } }] },
      { localPref: 2 },
    ],
    ['serviceSelectors', { localPref: 1, serviceSelectors: [{ matchLabels: { a: 'b' } }] }, { localPref: 2 }],
  ])('accepts two LOCAL_PREFs on one pool with %s', (_what, a, b) => {
    expect(decoded([p4, bgpAd('x', a), bgpAd('y', b)]).pools[0]?.bgpAdvertisements).toHaveLength(2);
  });

  it('with the nodes known, two LOCAL_PREFs conflict only if a node is selected by both', () => {
    const objects = [
      p4,
      bgpAd('x', { localPref: 1, nodeSelectors: [{ matchLabels: { r: '1' } }] }),
      bgpAd('y', { localPref: 2, nodeSelectors: [{ matchLabels: { z: 'a' } }] }),
    ];
    expect(
      decodeResources(objects, {
        nodes: [
          { name: 'n1', labels: { r: '1' } },
          { name: 'n2', labels: { z: 'a' } },
        ],
      }).ok,
    ).toBe(true);
    expect(decodeResources(objects, { nodes: [{ name: 'n1', labels: { r: '1', z: 'a' } }] }).ok).toBe(false);
  });

  it('refuses an IPv6 pool advertised to a peer with BFD echo mode (MetalLB validateConfig)', () => {
    expect(
      errorsOf([
        p6,
        bfd('echo', { echoMode: true }),
        peer('r1', { ...basePeer, bfdProfile: 'echo' }),
        bgpAd('x'),
      ]),
    ).toEqual([
      'BGPAdvertisement "x": IPAddressPool "v6" has IPv6 addresses and goes to BGPPeer "r1", whose BFD profile "echo" enables echo mode, which is not possible',
    ]);
    // Not to that peer: fine.
    expect(
      decodeResources([
        p6,
        bfd('echo', { echoMode: true }),
        peer('r1', { ...basePeer, bfdProfile: 'echo' }),
        peer('r2', { ...basePeer, peerAddress: '192.0.2.2' }),
        bgpAd('x', { peers: ['r2'] }),
      ]).ok,
    ).toBe(true);
  });
});

describe('BFDProfile', () => {
  it('reads every field', () => {
    const spec = {
      receiveInterval: 300,
      transmitInterval: 200,
      detectMultiplier: 5,
      echoInterval: 60,
      echoMode: true,
      passiveMode: true,
      minimumTtl: 250,
    };
    expect(decoded([bfd('fast', spec)]).bfdProfiles).toEqual([{ name: 'fast', ...spec }]);
    expect(decoded([bfd('plain', {})]).bfdProfiles).toEqual([
      { name: 'plain', echoMode: false, passiveMode: false },
    ]);
  });

  it.each<[string, number, string]>([
    ['receiveInterval', 9, '9 is not in 10-60000'],
    ['transmitInterval', 60001, '60001 is not in 10-60000'],
    ['detectMultiplier', 1, '1 is not in 2-255'],
    ['echoInterval', 5, '5 is not in 10-60000'],
    ['minimumTtl', 255, '255 is not in 1-254'],
  ])('refuses %s %i', (field, value, message) => {
    expect(errorsOf([bfd('b', { [field]: value })])).toEqual([`BFDProfile "b": spec.${field}: ${message}`]);
  });
});

describe('BGPPeer', () => {
  const onePeer = (spec: Obj, extra: unknown[] = []) => {
    const config = decoded([peer('r', spec), ...extra]);
    return configToJSON(config, { resources: true }).peers[0];
  };

  it('applies the defaults', () => {
    expect(onePeer(basePeer)).toEqual({
      name: 'r',
      myASN: 64500,
      peerASN: 64501,
      peerAddress: '192.0.2.1',
      peerPort: 179,
      holdTime: 90,
      keepaliveTime: null,
      sourceAddress: null,
      routerID: null,
      bfdProfile: null,
      ebgpMultiHop: false,
      nodeSelectors: [],
      dynamicASN: null,
      connectTime: null,
      enableGracefulRestart: false,
      disableMP: false,
      dualStackAddressFamily: false,
    });
  });

  it.each<[string, Obj, Obj]>([
    [
      'dynamicASN internal instead of peerASN',
      { peerASN: undefined, dynamicASN: 'internal' },
      { peerASN: 0, dynamicASN: 'internal' },
    ],
    ['dynamicASN external', { peerASN: 0, dynamicASN: 'external' }, { peerASN: 0, dynamicASN: 'external' }],
    ['IPv6 peerAddress, canonical', { peerAddress: '2001:DB8::1' }, { peerAddress: '2001:db8::1' }],
    ['peerPort', { peerPort: 1179 }, { peerPort: 1179 }],
    [
      'sourceAddress and routerID',
      { sourceAddress: '192.0.2.10', routerID: '10.0.0.1' },
      { sourceAddress: '192.0.2.10', routerID: '10.0.0.1' },
    ],
    [
      'holdTime alone: keepalive a third of it (left undefined)',
      { holdTime: '1m30s' },
      { holdTime: 90, keepaliveTime: null },
    ],
    ['holdTime 0 disables the timers', { holdTime: '0s' }, { holdTime: 0 }],
    [
      'keepaliveTime alone: hold time three times it',
      { keepaliveTime: '20s' },
      { holdTime: 60, keepaliveTime: 20 },
    ],
    ['both timers', { holdTime: '9s', keepaliveTime: '3s' }, { holdTime: 9, keepaliveTime: 3 }],
    ['hold time truncated to whole seconds', { holdTime: '3500ms' }, { holdTime: 3 }],
    ['connectTime', { connectTime: '10s' }, { connectTime: 10 }],
    ['enableGracefulRestart', { enableGracefulRestart: true }, { enableGracefulRestart: true }],
    ['ebgpMultiHop', { ebgpMultiHop: true }, { ebgpMultiHop: true }],
    ['disableMP', { disableMP: true }, { disableMP: true }],
    ['dualStackAddressFamily', { dualStackAddressFamily: true }, { dualStackAddressFamily: true }],
    ['password', { password: 'sekrit' }, { password: 'sekrit' }],
    [
      'nodeSelectors',
      { nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'NotIn', values: ['r9'] }] }] },
      {
        nodeSelectors: [
          { matchLabels: {}, matchExpressions: [{ key: 'rack', operator: 'NotIn', values: ['r9'] }] },
        ],
      },
    ],
  ])('%s', (_what, spec, expected) => {
    expect(onePeer({ ...basePeer, ...spec })).toMatchObject(expected);
  });

  it('reads the password from a basic-auth Secret, base64 data or stringData', () => {
    const ref = { passwordSecret: { name: 's' } };
    const data = secret('s', 'kubernetes.io/basic-auth', {
      data: { password: Buffer.from('from-data').toString('base64') },
    });
    expect(onePeer({ ...basePeer, ...ref }, [data])?.password).toBe('from-data');
    const stringData = secret('s', 'kubernetes.io/basic-auth', { stringData: { password: 'from-string' } });
    expect(onePeer({ ...basePeer, ...ref }, [stringData])?.password).toBe('from-string');
  });

  it('reads v1beta1 (its fields only; peerPort 0 is the default)', () => {
    const config = decoded([
      peerV1('old', {
        ...basePeer,
        peerPort: 0,
        holdTime: '30s',
        nodeSelectors: [{ matchLabels: { a: 'b' } }],
      }),
    ]);
    expect(config.peers[0]).toMatchObject({ name: 'old', peerPort: 179, holdTime: 30 });
    expect(errorsOf([peerV1('old', { ...basePeer, dynamicASN: 'internal' })])).toEqual([
      'BGPPeer "old": spec: unknown field "dynamicASN"',
    ]);
  });

  it.each<[string, Obj, string[], unknown[]?]>([
    ['no myASN', { myASN: undefined }, ['BGPPeer "r": spec.myASN: missing local ASN']],
    [
      'no peerASN nor dynamicASN',
      { peerASN: undefined },
      ['BGPPeer "r": spec.peerASN: missing peer ASN and dynamicASN'],
    ],
    [
      'both peerASN and dynamicASN',
      { dynamicASN: 'external' },
      ['BGPPeer "r": spec.peerASN: both peer ASN 64501 and dynamicASN "external" specified'],
    ],
    [
      'a bad dynamicASN',
      { peerASN: undefined, dynamicASN: 'auto' },
      ['BGPPeer "r": spec.dynamicASN: invalid dynamicASN "auto": expected internal or external'],
    ],
    [
      'an ASN out of range',
      { myASN: 4294967296 },
      [
        'BGPPeer "r": spec.myASN: 4294967296 is not in 0-4294967295',
        'BGPPeer "r": spec.myASN: missing local ASN',
      ],
    ],
    [
      'ebgpMultiHop on an iBGP peer',
      { peerASN: 64500, ebgpMultiHop: true },
      ['BGPPeer "r": spec.ebgpMultiHop: invalid ebgp-multihop parameter set for an ibgp peer'],
    ],
    [
      'no peerAddress',
      { peerAddress: undefined },
      ['BGPPeer "r": spec.peerAddress: peer has no Address or Interface specified'],
    ],
    [
      'a bad peerAddress',
      { peerAddress: '192.0.2.300' },
      ['BGPPeer "r": spec.peerAddress: invalid BGPPeer address "192.0.2.300"'],
    ],
    [
      'a bad sourceAddress',
      { sourceAddress: 'eth0' },
      ['BGPPeer "r": spec.sourceAddress: invalid source IP "eth0"'],
    ],
    ['a bad routerID', { routerID: '1.2.3' }, ['BGPPeer "r": spec.routerID: invalid router ID "1.2.3"']],
    [
      'a peerPort out of the CRD range',
      { peerPort: 20000 },
      ['BGPPeer "r": spec.peerPort: 20000 is not in 1-16384'],
    ],
    [
      'a hold time under 3s',
      { holdTime: '2s' },
      ['BGPPeer "r": spec.holdTime: invalid hold time "2s": must be 0 or >=3s'],
    ],
    [
      'a keepalive time giving a hold time under 3s',
      { keepaliveTime: '900ms' },
      [
        'BGPPeer "r": spec.keepaliveTime: invalid hold time "2s (3 x keepaliveTime 900ms)": must be 0 or >=3s',
      ],
    ],
    [
      'keepalive longer than hold',
      { holdTime: '9s', keepaliveTime: '10s' },
      ['BGPPeer "r": spec.keepaliveTime: invalid keepaliveTime "10s", must be lower than holdTime "9s"'],
    ],
    [
      'a duration without unit',
      { holdTime: '90' },
      ['BGPPeer "r": spec.holdTime: invalid duration "90": time: missing unit in duration "90"'],
    ],
    [
      'a connectTime out of range',
      { connectTime: '0s' },
      ['BGPPeer "r": spec.connectTime: connect time "0s" must be between 1s and 65535s'],
    ],
    [
      'a connectTime with a fraction',
      { connectTime: '1500ms' },
      ['BGPPeer "r": spec.connectTime: connect time "1500ms" must be a whole number of seconds'],
    ],
    [
      'a vrf (refused clearly)',
      { vrf: 'red' },
      [
        'BGPPeer "r": spec.vrf: "red": BGP sessions in a VRF are not supported by Portico\'s speaker; leave vrf unset',
      ],
    ],
    [
      'an interface (unnumbered)',
      { peerAddress: undefined, interface: 'eth1' },
      [
        'BGPPeer "r": spec.interface: "eth1": unnumbered BGP sessions (interface instead of peerAddress) are not supported by Portico\'s speaker',
      ],
    ],
    [
      'both peerAddress and interface',
      { interface: 'eth1' },
      ['BGPPeer "r": spec.interface: peer has both Address "192.0.2.1" and Interface "eth1" specified'],
    ],
    [
      'a localASN',
      { localASN: 65000 },
      [
        'BGPPeer "r": spec.localASN: 65000: a local ASN other than myASN (FRR\'s local-as) is not supported by Portico\'s speaker',
      ],
    ],
    [
      'an unknown BFD profile',
      { bfdProfile: 'fast' },
      ['BGPPeer "r": spec.bfdProfile: referencing non existing bfd profile "fast"'],
    ],
    [
      'password and passwordSecret',
      { password: 'x', passwordSecret: { name: 's' } },
      ['BGPPeer "r": spec.passwordSecret: can not have both password and passwordSecret set'],
    ],
    [
      'a missing Secret',
      { passwordSecret: { name: 's' } },
      ['BGPPeer "r": spec.passwordSecret.name: secret ref not found: no Secret "s"'],
    ],
    [
      'a Secret of the wrong type',
      { passwordSecret: { name: 's' } },
      [
        'BGPPeer "r": spec.passwordSecret.name: Secret "s" has type "Opaque", type "kubernetes.io/basic-auth" is expected',
      ],
      [secret('s', 'Opaque', { stringData: { password: 'x' } })],
    ],
    [
      'a Secret without password',
      { passwordSecret: { name: 's' } },
      ['BGPPeer "r": spec.passwordSecret.name: password not specified in the Secret "s"'],
      [secret('s', 'kubernetes.io/basic-auth', { stringData: { username: 'x' } })],
    ],
  ])('refuses %s', (_what, spec, expected, extra = []) => {
    expect(errorsOf([peer('r', { ...basePeer, ...spec }), ...extra])).toEqual(expected);
  });

  it('a peer naming a broken BFD profile is not reported twice', () => {
    expect(
      errorsOf([bfd('fast', { detectMultiplier: 1 }), peer('r', { ...basePeer, bfdProfile: 'fast' })]),
    ).toEqual(['BFDProfile "fast": spec.detectMultiplier: 1 is not in 2-255']);
  });
});

describe('the envelope', () => {
  it('opens List objects, ignores other kinds and status kinds with a notice, reads in name order', () => {
    const result = decodeResources([
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [pool('b', { addresses: ['10.1.0.0/24'] }), pool('a', { addresses: ['10.0.0.0/24'] })],
      },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } },
      obj(v1, 'ServiceL2Status', 'st'),
    ]);
    expect(result.ok && result.config.pools.map((p) => p.name)).toEqual(['a', 'b']);
    expect(result.notices).toContain(
      'object #3: Deployment "x" (apps/v1) is not MetalLB configuration: ignored',
    );
  });

  it.each<[string, unknown[], string[], DecodeResourcesOptions?]>([
    [
      'an unknown metallb.io kind',
      [obj(v1, 'AddressPool', 'x')],
      [
        'object #1: kind: "AddressPool" is not a metallb.io kind (IPAddressPool, L2Advertisement, BGPAdvertisement, Community, BFDProfile, BGPPeer)',
      ],
    ],
    [
      'a version that is not served',
      [obj('metallb.io/v1alpha1', 'IPAddressPool', 'x')],
      ['object #1: apiVersion: IPAddressPool is served as metallb.io/v1beta1, not "metallb.io/v1alpha1"'],
    ],
    ['no name', [obj(v1, 'IPAddressPool', '')], ['object #1: metadata.name: a IPAddressPool needs a name']],
    [
      'a name Kubernetes refuses',
      [pool('Public_IPs', { addresses: ['10.0.0.0/24'] })],
      [
        'IPAddressPool "Public_IPs": metadata.name: "Public_IPs" is not a valid name (lower-case letters, digits, "-" and ".")',
      ],
    ],
    ['a name twice', [basePool, basePool], ['IPAddressPool "p": metadata.name: defined twice']],
    [
      'another namespace',
      [
        obj(
          v1,
          'IPAddressPool',
          'p',
          { addresses: ['10.0.0.0/24'] },
          { metadata: { namespace: 'metallb-system' } },
        ),
      ],
      [
        'IPAddressPool "p": metadata.namespace: "metallb-system": Portico reads its configuration from namespace "portico-system"',
      ],
      { namespace: 'portico-system' },
    ],
    ['not an object', ['text'], ['object #1: expected a Kubernetes object (a map), got "text"']],
  ])('refuses %s', (_what, objects, expected, options) => {
    expect(errorsOf(objects, options)).toEqual(expected);
  });

  it('reports every problem of every resource at once', () => {
    const errors = errorsOf([
      pool('a', { addresses: ['10.0.0.0/33'] }),
      pool('b', {}),
      bgpAd('x', { communities: ['nope'] }),
      peer('r', { myASN: 64500, peerAddress: 'x' }),
      bfd('f', { minimumTtl: 0 }),
    ]);
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'BFDProfile "f"',
      'BGPPeer "r"',
      'BGPPeer "r"',
      'IPAddressPool "a"',
      'IPAddressPool "b"',
      'BGPAdvertisement "x"',
    ]);
  });
});

describe('parseResourceDocuments', () => {
  it('reads a multi-document YAML stream, skipping empty documents', () => {
    const { objects, errors } = parseResourceDocuments(
      '---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [10.0.0.0/24]}\n---\n---\n{"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": {"name": "l"}}\n',
    );
    expect(errors).toEqual([]);
    expect(objects.map((o) => o.kind)).toEqual(['IPAddressPool', 'L2Advertisement']);
  });

  it('names the document that does not parse', () => {
    const { errors } = parseResourceDocuments('a: 1\n---\nb: [\n', 'file.yaml');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^file\.yaml: document 2: /);
  });
});
