/**
 * Table-driven tests of parseConfig: every key, every default, every rule of MetalLB v0.12's
 * config.Parse. Each negative case breaks exactly ONE rule of an otherwise valid config and
 * checks that exactly one error is reported, naming the entry, the field and the value (several
 * upstream cases fail for a different reason than their name says; these can not).
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig, type AddressPool, type Config, type Peer } from '@portico/config';

const peer = { 'my-asn': 64500, 'peer-asn': 64501, 'peer-address': '192.0.2.1' };
const l2pool = { name: 'l2', protocol: 'layer2', addresses: ['198.51.100.0/24'] };
const bgpPool = { name: 'b', protocol: 'bgp', addresses: ['203.0.113.0/24'] };

function yaml(document: unknown): string {
  return stringify(document, { version: '1.1' });
}

function valid(text: string): Config {
  const result = parseConfig(text);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function errorsOf(text: string): string[] {
  const result = parseConfig(text);
  if (result.ok) throw new Error('expected an invalid config, it parsed');
  return result.errors;
}

function onePeer(fields: Record<string, unknown>): Peer {
  const config = valid(yaml({ peers: [{ ...peer, ...fields }], 'bfd-profiles': [{ name: 'fast' }] }));
  expect(config.peers).toHaveLength(1);
  return config.peers[0] as Peer;
}

function onePool(fields: Record<string, unknown>, extra: Record<string, unknown> = {}): AddressPool {
  const config = valid(yaml({ 'address-pools': [{ ...bgpPool, ...fields }], ...extra }));
  expect(config.pools).toHaveLength(1);
  return config.pools[0] as AddressPool;
}

describe('peers: keys and defaults', () => {
  it('applies the defaults of an entry with only the required keys', () => {
    expect(onePeer({})).toEqual({
      myASN: 64500,
      peerASN: 64501,
      peerAddress: '192.0.2.1',
      peerPort: 179,
      holdTime: 90,
      ebgpMultiHop: false,
      enableGracefulRestart: false,
      disableMP: false,
      dualStackAddressFamily: false,
      nodeSelectors: [],
    });
  });

  it.each<[string, Record<string, unknown>, Partial<Peer>]>([
    ['peer-port', { 'peer-port': 1179 }, { peerPort: 1179 }],
    ['peer-port 0 is the default', { 'peer-port': 0 }, { peerPort: 179 }],
    ['my-asn up to 2^32-1', { 'my-asn': 4294967295 }, { myASN: 4294967295 }],
    ['IPv6 peer-address, canonical', { 'peer-address': '2001:DB8:0::1' }, { peerAddress: '2001:db8::1' }],
    [
      'IPv4-mapped peer-address is IPv4',
      { 'peer-address': '::ffff:192.0.2.9' },
      { peerAddress: '192.0.2.9' },
    ],
    ['hold-time', { 'hold-time': '3s' }, { holdTime: 3 }],
    ['hold-time 0 disables the hold timer', { 'hold-time': '0' }, { holdTime: 0 }],
    ['hold-time truncates to seconds', { 'hold-time': '3999ms' }, { holdTime: 3 }],
    ['hold-time 500ms truncates to 0', { 'hold-time': '500ms' }, { holdTime: 0 }],
    ['hold-time -500ms truncates to 0', { 'hold-time': '-500ms' }, { holdTime: 0 }],
    ['hold-time in minutes', { 'hold-time': '1m30s' }, { holdTime: 90 }],
    ['keepalive-time', { 'keepalive-time': '10s' }, { keepaliveTime: 10 }],
    ['keepalive-time truncates', { 'keepalive-time': '1500ms' }, { keepaliveTime: 1 }],
    [
      'keepalive-time equal to hold-time',
      { 'hold-time': '30s', 'keepalive-time': '30s' },
      { keepaliveTime: 30 },
    ],
    ['router-id', { 'router-id': '10.0.0.1' }, { routerID: '10.0.0.1' }],
    [
      'IPv6 router-id is kept (MetalLB: native uses IPv4 only)',
      { 'router-id': '2001:db8::9' },
      { routerID: '2001:db8::9' },
    ],
    ['source-address', { 'source-address': '192.0.2.200' }, { sourceAddress: '192.0.2.200' }],
    ['password', { password: 's3cret' }, { password: 's3cret' }],
    ['password that looks like a number stays text', { password: 1234 }, { password: '1234' }],
    ['bfd-profile', { 'bfd-profile': 'fast' }, { bfdProfile: 'fast' }],
    ['ebgp-multihop for an eBGP peer', { 'ebgp-multihop': true }, { ebgpMultiHop: true }],
    ['iBGP without ebgp-multihop', { 'peer-asn': 64500 }, { peerASN: 64500, ebgpMultiHop: false }],
  ])('%s', (_name, fields, expected) => {
    expect(onePeer(fields)).toMatchObject(expected);
  });

  it('parses node-selectors into match labels and expressions', () => {
    const parsed = onePeer({
      'node-selectors': [
        {
          'match-labels': { 'kubernetes.io/hostname': 'node-a' },
          'match-expressions': [
            { key: 'rack', operator: 'In', values: ['r1', 'r2'] },
            { key: 'example.com/spine', operator: 'NotIn', values: ['s1'] },
            { key: 'bgp', operator: 'Exists' },
            { key: 'drain', operator: 'DoesNotExist', values: [] },
          ],
        },
        {},
      ],
    });
    expect(parsed.nodeSelectors).toEqual([
      {
        matchLabels: { 'kubernetes.io/hostname': 'node-a' },
        matchExpressions: [
          { key: 'rack', operator: 'In', values: ['r1', 'r2'] },
          { key: 'example.com/spine', operator: 'NotIn', values: ['s1'] },
          { key: 'bgp', operator: 'Exists', values: [] },
          { key: 'drain', operator: 'DoesNotExist', values: [] },
        ],
      },
      { matchLabels: {}, matchExpressions: [] },
    ]);
  });

  it('accepts two peers to the same router that differ in any field (upstream TODO)', () => {
    const config = valid(yaml({ peers: [peer, { ...peer, 'hold-time': '30s' }] }));
    expect(config.peers.map((p) => p.holdTime)).toEqual([90, 30]);
  });

  it('keeps peers in config order', () => {
    const config = valid(yaml({ peers: [peer, { ...peer, 'peer-address': '192.0.2.2' }] }));
    expect(config.peers.map((p) => p.peerAddress)).toEqual(['192.0.2.1', '192.0.2.2']);
  });
});

describe('address-pools: keys and defaults', () => {
  it('applies the defaults of a layer2 pool', () => {
    const config = valid(yaml({ 'address-pools': [l2pool] }));
    expect(config.pools[0]).toMatchObject({
      name: 'l2',
      autoAssign: true,
      avoidBuggyIPs: false,
      // protocol: layer2 is one L2 advertisement with no restrictions, and no BGP.
      l2Advertisements: [
        { nodeSelectors: [], interfaces: [], serviceSelectors: [], preferredNodeSelectors: [] },
      ],
      bgpAdvertisements: [],
    });
    expect(config.pools[0]?.serviceAllocation).toBeUndefined();
  });

  it('gives a bgp pool without advertisements one default advertisement', () => {
    expect(onePool({}).bgpAdvertisements).toEqual([
      {
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
    expect(onePool({}).l2Advertisements).toEqual([]);
    expect(onePool({ 'bgp-advertisements': [] }).bgpAdvertisements).toHaveLength(1);
  });

  it.each<[string, Record<string, unknown>, Partial<AddressPool>]>([
    ['auto-assign false', { 'auto-assign': false }, { autoAssign: false }],
    ['avoid-buggy-ips true', { 'avoid-buggy-ips': true }, { avoidBuggyIPs: true }],
  ])('%s', (_name, fields, expected) => {
    expect(onePool(fields)).toMatchObject(expected);
  });

  it('reads YAML 1.1 booleans like yaml.v2 (auto-assign: no)', () => {
    const config = valid(
      'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/24]\n  auto-assign: no\n',
    );
    expect(config.pools[0]?.autoAssign).toBe(false);
  });

  it('reads y/n as booleans like yaml.v2', () => {
    const config = valid(
      'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/24]\n  auto-assign: n\n  avoid-buggy-ips: Y\n',
    );
    expect(config.pools[0]).toMatchObject({ autoAssign: false, avoidBuggyIPs: true });
  });

  it('reads any scalar as a string like yaml.v2 (name: 123)', () => {
    const config = valid('address-pools:\n- name: 123\n  protocol: layer2\n  addresses: [192.0.2.0/24]\n');
    expect(config.pools[0]?.name).toBe('123');
  });

  it.each([
    ['10.20.30.40/24', '10.20.30.0/24', ['10.20.30.0/24']],
    ['2001:db8::1/64', '2001:db8::/64', ['2001:db8::/64']],
    ['192.0.2.10-192.0.2.13', '192.0.2.10-192.0.2.13', ['192.0.2.10/31', '192.0.2.12/31']],
    [' 192.0.2.10 - 192.0.2.11 ', '192.0.2.10-192.0.2.11', ['192.0.2.10/31']],
    ['2001:db8::10-2001:db8::1f', '2001:db8::10-2001:db8::1f', ['2001:db8::10/124']],
  ])('addresses entry %j is normalised to %s', (text, normalised, blocks) => {
    const pool = onePool({ addresses: [text] });
    expect(pool.addresses.map((a) => a.text)).toEqual([normalised]);
    expect(pool.addresses[0]?.cidrs.map((c) => c.text)).toEqual(blocks);
  });

  it('accepts dual-stack and IPv6-only bgp pools (no IPv6 refusal)', () => {
    const config = valid(
      yaml({
        'address-pools': [
          { name: 'dual', protocol: 'bgp', addresses: ['192.0.2.0/24', '2001:db8:1::/64'] },
          { name: 'v6', protocol: 'bgp', addresses: ['2001:db8:2::/64'] },
        ],
      }),
    );
    expect(config.pools.map((p) => p.addresses.map((a) => a.cidrs[0]?.family))).toEqual([
      ['IPv4', 'IPv6'],
      ['IPv6'],
    ]);
  });

  it('keeps pools in config order', () => {
    const config = valid(
      yaml({
        'address-pools': [
          { ...bgpPool, name: 'z' },
          { ...l2pool, name: 'a' },
        ],
      }),
    );
    expect(config.pools.map((p) => p.name)).toEqual(['z', 'a']);
  });

  it('accepts an empty bgp-advertisements list on a layer2 pool', () => {
    expect(valid(yaml({ 'address-pools': [{ ...l2pool, 'bgp-advertisements': [] }] })).pools).toHaveLength(1);
  });
});

describe('bgp-advertisements and bgp-communities', () => {
  const communities = { 'bgp-communities': { 'no-advertise': '65535:65282', mine: '64500:100' } };

  it('reads every key, resolving aliases and literals to 32-bit values', () => {
    const pool = onePool(
      {
        addresses: ['203.0.113.0/24', '2001:db8::/64'],
        'bgp-advertisements': [
          {
            'aggregation-length': 24,
            'aggregation-length-v6': 64,
            localpref: 100,
            communities: ['no-advertise', '64500:7'],
          },
        ],
      },
      communities,
    );
    expect(pool.bgpAdvertisements).toEqual([
      {
        aggregationLength: 24,
        aggregationLengthV6: 64,
        localPref: 100,
        communities: [0xffffff02, 64500 * 65536 + 7],
        largeCommunities: [],
        peers: [],
        nodeSelectors: [],
        serviceSelectors: [],
      },
    ]);
  });

  it('collapses an alias and its literal value into one community (a set, as in MetalLB)', () => {
    const pool = onePool({ 'bgp-advertisements': [{ communities: ['mine', '64500:100'] }] }, communities);
    expect(pool.bgpAdvertisements[0]?.communities).toEqual([64500 * 65536 + 100]);
  });

  it('reads unquoted asn:value as written (YAML 1.1 would make 64500:100 a base-60 number)', () => {
    const config = valid(
      [
        'bgp-communities: {mine: 64500:100}',
        'address-pools:',
        '- {name: b, protocol: bgp, addresses: [203.0.113.0/24], bgp-advertisements: [{communities: [mine, 1:20]}]}',
      ].join('\n'),
    );
    expect(config.communities).toEqual({ mine: 64500 * 65536 + 100 });
    expect(config.pools[0]?.bgpAdvertisements[0]?.communities).toEqual([64500 * 65536 + 100, 65536 + 20]);
  });

  it('keeps the alias table in the config', () => {
    const config = valid(yaml(communities));
    expect(config.communities).toEqual({ 'no-advertise': 0xffffff02, mine: 64500 * 65536 + 100 });
  });

  it('`{}` and `aggregation-length: 32` are not duplicates (raw comparison)', () => {
    const pool = onePool({ 'bgp-advertisements': [{}, { 'aggregation-length': 32 }] });
    expect(pool.bgpAdvertisements).toHaveLength(2);
  });

  it.each([
    ['aggregation up to the pool prefix', ['203.0.113.0/24'], { 'aggregation-length': 24 }],
    ['aggregation 32 on a /24', ['203.0.113.0/24'], { 'aggregation-length': 32 }],
    ['a range containing /26 blocks allows 26', ['203.0.113.2-203.0.113.254'], { 'aggregation-length': 26 }],
    ['IPv6 aggregation up to the prefix', ['2001:db8::/48'], { 'aggregation-length-v6': 48 }],
    ['an IPv4 length is not checked against IPv6 entries', ['2001:db8::/64'], { 'aggregation-length': 8 }],
    [
      'an IPv6 length is not checked against IPv4 entries',
      ['203.0.113.0/24'],
      { 'aggregation-length-v6': 8 },
    ],
  ])('%s', (_name, addresses, ad) => {
    expect(onePool({ addresses, 'bgp-advertisements': [ad] }).bgpAdvertisements).toHaveLength(1);
  });
});

describe('bfd-profiles', () => {
  it('reads every key; optional values stay unset', () => {
    const config = valid(
      yaml({
        'bfd-profiles': [
          {
            name: 'full',
            'receive-interval': 10,
            'transmit-interval': 60000,
            'detect-multiplier': 255,
            'echo-interval': 50,
            'echo-mode': true,
            'passive-mode': true,
            'minimum-ttl': 254,
          },
          { name: 'bare' },
        ],
      }),
    );
    expect(config.bfdProfiles).toEqual([
      {
        name: 'full',
        receiveInterval: 10,
        transmitInterval: 60000,
        detectMultiplier: 255,
        echoInterval: 50,
        echoMode: true,
        passiveMode: true,
        minimumTtl: 254,
      },
      { name: 'bare', echoMode: false, passiveMode: false },
    ]);
  });
});

/** [case, config, fragments the single error must contain]. */
type NegativeCase = [string, string, string[]];

const decodingCases: NegativeCase[] = [
  [
    'unknown top-level key',
    yaml({ 'address-pool': [] }),
    ['top level: unknown field "address-pool"', 'line 1'],
  ],
  ['unknown peer key', yaml({ peers: [{ ...peer, 'peer-as': 1 }] }), ['peers[0]: unknown field "peer-as"']],
  [
    'unknown pool key',
    yaml({ 'address-pools': [{ ...l2pool, adresses: ['192.0.2.0/24'] }] }),
    ['address-pools[0] "l2": unknown field "adresses"'],
  ],
  [
    'unknown advertisement key',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ 'local-pref': 1 }] }] }),
    ['address-pools[0] "b": bgp-advertisements[0]: unknown field "local-pref"'],
  ],
  [
    'unknown bfd profile key',
    yaml({ 'bfd-profiles': [{ name: 'x', 'rx-interval': 10 }] }),
    ['bfd-profiles[0] "x": unknown field "rx-interval"'],
  ],
  [
    'unknown node selector key',
    yaml({ peers: [{ ...peer, 'node-selectors': [{ matchLabels: { a: 'b' } }] }] }),
    ['peers[0]: node-selectors[0]: unknown field "matchLabels"'],
  ],
  [
    'unknown match expression key',
    yaml({ peers: [{ ...peer, 'node-selectors': [{ 'match-expressions': [{ key: 'a', op: 'In' }] }] }] }),
    ['peers[0]: node-selectors[0]: match-expressions[0]: unknown field "op"'],
  ],
  ['keys are case-sensitive', yaml({ Peers: [] }), ['unknown field "Peers"']],
  ['duplicate top-level key', 'peers: []\npeers: []\n', ['duplicate key "peers"', 'line 2']],
  [
    'duplicate key inside a pool',
    'address-pools:\n- name: a\n  name: b\n  protocol: layer2\n  addresses: [192.0.2.0/24]\n',
    ['duplicate key "name"', 'line 3'],
  ],
  ['YAML syntax error', 'address-pools: [\n', ['could not parse config: line']],
  ['negative my-asn', yaml({ peers: [{ ...peer, 'my-asn': -1 }] }), ['peers[0]: my-asn:', 'got -1']],
  [
    'my-asn above 2^32-1',
    yaml({ peers: [{ ...peer, 'my-asn': 4294967296 }] }),
    ['peers[0]: my-asn:', '4294967296'],
  ],
  [
    'quoted my-asn',
    'peers:\n- my-asn: "64500"\n  peer-asn: 1\n  peer-address: 192.0.2.1\n',
    ['my-asn:', 'string "64500"'],
  ],
  [
    'peer-port above 65535',
    yaml({ peers: [{ ...peer, 'peer-port': 65536 }] }),
    ['peers[0]: peer-port:', '65536'],
  ],
  [
    'quoted boolean',
    yaml({ peers: [{ ...peer, 'ebgp-multihop': 'true' }] }),
    ['ebgp-multihop: expected true or false'],
  ],
  [
    'non-boolean auto-assign',
    yaml({ 'address-pools': [{ ...l2pool, 'auto-assign': 'maybe' }] }),
    ['auto-assign:', 'maybe'],
  ],
  [
    'addresses not a list',
    yaml({ 'address-pools': [{ ...l2pool, addresses: '192.0.2.0/24' }] }),
    ['addresses: expected a list'],
  ],
  ['peers not a list', yaml({ peers: peer }), ['peers: expected a list, got a map']],
  [
    'a map where a string is expected',
    yaml({ 'address-pools': [{ ...l2pool, name: { a: 1 } }] }),
    ['name: expected a string, got a map'],
  ],
  [
    'fractional aggregation-length',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ 'aggregation-length': 24.5 }] }] }),
    ['aggregation-length:', '24.5'],
  ],
  [
    'negative localpref',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ localpref: -1 }] }] }),
    ['localpref:', '-1'],
  ],
  [
    'bgp-communities not a map',
    yaml({ 'bgp-communities': ['a'] }),
    ['bgp-communities: expected a map, got a list'],
  ],
  [
    'match-labels not a map',
    yaml({ peers: [{ ...peer, 'node-selectors': [{ 'match-labels': ['a'] }] }] }),
    ['match-labels: expected a map'],
  ],
  ['top level not a map', 'just text\n', ['top level: expected a map, got string "just text"']],
  [
    'a pool that is not a map',
    'address-pools: [blue]\n',
    ['address-pools[0]: expected a map, got string "blue"'],
  ],
  ['a peer that is a list', 'peers: [[1, 2]]\n', ['peers[0]: expected a map, got a list']],
];

const peerCases: NegativeCase[] = [
  [
    'missing my-asn',
    yaml({ peers: [{ 'peer-asn': 64501, 'peer-address': '192.0.2.1' }] }),
    ['peers[0]: my-asn: missing local ASN'],
  ],
  ['my-asn 0', yaml({ peers: [{ ...peer, 'my-asn': 0 }] }), ['peers[0]: my-asn: missing local ASN']],
  [
    'missing peer-asn',
    yaml({ peers: [{ 'my-asn': 64500, 'peer-address': '192.0.2.1' }] }),
    ['peers[0]: peer-asn: missing peer ASN'],
  ],
  [
    'ebgp-multihop on an iBGP peer',
    yaml({ peers: [{ ...peer, 'peer-asn': 64500, 'ebgp-multihop': true }] }),
    ['peers[0]: ebgp-multihop: invalid ebgp-multihop parameter set for an ibgp peer'],
  ],
  [
    'invalid peer-address',
    yaml({ peers: [{ ...peer, 'peer-address': '192.0.2' }] }),
    ['peers[0]: peer-address: invalid peer IP "192.0.2"'],
  ],
  [
    'missing peer-address',
    yaml({ peers: [{ 'my-asn': 1, 'peer-asn': 2 }] }),
    ['peers[0]: peer-address: invalid peer IP ""'],
  ],
  [
    'peer-address with spaces (Go does not trim)',
    'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: " 192.0.2.1"}\n',
    ['invalid peer IP " 192.0.2.1"'],
  ],
  [
    'peer-address with a prefix',
    yaml({ peers: [{ ...peer, 'peer-address': '192.0.2.1/32' }] }),
    ['invalid peer IP "192.0.2.1/32"'],
  ],
  [
    'hold-time 2999ms truncates to 2s',
    yaml({ peers: [{ ...peer, 'hold-time': '2999ms' }] }),
    ['peers[0]: hold-time: invalid hold time "2999ms": must be 0 or >=3s'],
  ],
  [
    'hold-time 1s',
    yaml({ peers: [{ ...peer, 'hold-time': '1s' }] }),
    ['invalid hold time "1s": must be 0 or >=3s'],
  ],
  [
    'negative hold-time',
    yaml({ peers: [{ ...peer, 'hold-time': '-5s' }] }),
    ['invalid hold time "-5s": must be 0 or >=3s'],
  ],
  [
    'hold-time without a unit',
    'peers:\n- my-asn: 1\n  peer-asn: 2\n  peer-address: 192.0.2.1\n  hold-time: 90\n',
    ['peers[0]: hold-time: invalid hold time "90": time: missing unit in duration "90"'],
  ],
  [
    'hold-time with an unknown unit',
    yaml({ peers: [{ ...peer, 'hold-time': '90sec' }] }),
    ['invalid hold time "90sec": time: unknown unit "sec"'],
  ],
  [
    'keepalive-time longer than hold-time',
    yaml({ peers: [{ ...peer, 'hold-time': '30s', 'keepalive-time': '31s' }] }),
    ['peers[0]: keepalive-time: invalid keepaliveTime "31s"'],
  ],
  [
    'keepalive-time longer than the default hold-time',
    yaml({ peers: [{ ...peer, 'keepalive-time': '91s' }] }),
    ['invalid keepaliveTime "91s"'],
  ],
  [
    'keepalive-time with hold-time 0',
    yaml({ peers: [{ ...peer, 'hold-time': '0s', 'keepalive-time': '1s' }] }),
    ['invalid keepaliveTime "1s"'],
  ],
  [
    'unparsable keepalive-time',
    yaml({ peers: [{ ...peer, 'keepalive-time': 'often' }] }),
    ['peers[0]: keepalive-time: invalid keepalive time "often": time: invalid duration'],
  ],
  [
    'invalid router-id',
    yaml({ peers: [{ ...peer, 'router-id': '1.2.3' }] }),
    ['peers[0]: router-id: invalid router ID "1.2.3"'],
  ],
  [
    'invalid source-address',
    yaml({ peers: [{ ...peer, 'source-address': 'eth0' }] }),
    ['peers[0]: source-address: invalid source IP "eth0"'],
  ],
  [
    'unknown selector operator',
    yaml({
      peers: [
        {
          ...peer,
          'node-selectors': [{ 'match-expressions': [{ key: 'a', operator: 'in', values: ['b'] }] }],
        },
      ],
    }),
    [
      'peers[0]: node-selectors[0]: match-expressions[0]: parsing node selector: "in" is not a valid pod selector operator',
    ],
  ],
  [
    'In without values',
    yaml({
      peers: [{ ...peer, 'node-selectors': [{ 'match-expressions': [{ key: 'a', operator: 'In' }] }] }],
    }),
    ["for 'in', 'notin' operators, values set can't be empty"],
  ],
  [
    'NotIn with an empty values list',
    yaml({
      peers: [
        {
          ...peer,
          'node-selectors': [{ 'match-expressions': [{ key: 'a', operator: 'NotIn', values: [] }] }],
        },
      ],
    }),
    ["for 'in', 'notin' operators, values set can't be empty"],
  ],
  [
    'Exists with values',
    yaml({
      peers: [
        {
          ...peer,
          'node-selectors': [{ 'match-expressions': [{ key: 'a', operator: 'Exists', values: ['b'] }] }],
        },
      ],
    }),
    ['values set must be empty for exists and does not exist'],
  ],
  [
    'DoesNotExist with values',
    yaml({
      peers: [
        {
          ...peer,
          'node-selectors': [
            { 'match-expressions': [{ key: 'a', operator: 'DoesNotExist', values: ['b'] }] },
          ],
        },
      ],
    }),
    ['values set must be empty for exists and does not exist'],
  ],
  [
    'invalid label key in match-labels',
    yaml({ peers: [{ ...peer, 'node-selectors': [{ 'match-labels': { 'bad key': 'x' } }] }] }),
    ['peers[0]: node-selectors[0]: match-labels: parsing node selector: invalid label key "bad key"'],
  ],
  [
    'invalid label key prefix in an expression',
    yaml({
      peers: [
        {
          ...peer,
          'node-selectors': [{ 'match-expressions': [{ key: 'Example.COM/x', operator: 'Exists' }] }],
        },
      ],
    }),
    ['invalid label key "Example.COM/x": prefix part'],
  ],
  [
    'invalid label value',
    yaml({ peers: [{ ...peer, 'node-selectors': [{ 'match-labels': { rack: '-r1' } }] }] }),
    ['invalid label value "-r1"'],
  ],
  [
    'label value longer than 63 characters',
    yaml({
      peers: [
        {
          ...peer,
          'node-selectors': [
            { 'match-expressions': [{ key: 'a', operator: 'In', values: ['x'.repeat(64)] }] },
          ],
        },
      ],
    }),
    ['must be no more than 63 characters'],
  ],
  [
    'bfd-profile that does not exist',
    yaml({ peers: [{ ...peer, 'bfd-profile': 'nope' }] }),
    ['peers[0]: bfd-profile: referencing non existing bfd profile nope'],
  ],
  [
    'identical peers',
    yaml({ peers: [peer, { ...peer }] }),
    ['peers[1]: peer #2 already exists (identical to peers[0])'],
  ],
  [
    'identical after normalisation',
    yaml({
      peers: [peer, { ...peer, 'peer-address': '::ffff:192.0.2.1', 'peer-port': 179, 'hold-time': '90s' }],
    }),
    ['peers[1]: peer #2 already exists'],
  ],
];

const communityCases: NegativeCase[] = [
  [
    'unused alias is still parsed',
    yaml({ 'bgp-communities': { bad: '64500' } }),
    ['bgp-communities: parsing community "bad": invalid community string "64500"'],
  ],
  [
    'alias with a bad first section',
    yaml({ 'bgp-communities': { bad: '65536:1' } }),
    ['parsing community "bad": invalid first section of community "65536"'],
  ],
  [
    'alias with a bad second section',
    yaml({ 'bgp-communities': { bad: '1:x' } }),
    ['parsing community "bad": invalid second section of community "x"'],
  ],
];

const poolCases: NegativeCase[] = [
  [
    'missing pool name',
    yaml({ 'address-pools': [{ protocol: 'layer2', addresses: ['192.0.2.0/24'] }] }),
    ['address-pools[0]: name: missing pool name'],
  ],
  [
    'missing addresses',
    yaml({ 'address-pools': [{ name: 'a', protocol: 'layer2' }] }),
    ['address-pools[0] "a": addresses: pool has no prefixes defined'],
  ],
  [
    'empty addresses',
    yaml({ 'address-pools': [{ ...l2pool, addresses: [] }] }),
    ['addresses: pool has no prefixes defined'],
  ],
  [
    'a null entry is the empty string',
    'address-pools:\n- {name: l2, protocol: layer2, addresses: [~]}\n',
    ['address-pools[0] "l2": addresses[0]: invalid CIDR ""'],
  ],
  [
    'bare IP (no prefix length)',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2.1'] }] }),
    ['address-pools[0] "l2": addresses[0]: invalid CIDR "192.0.2.1"'],
  ],
  [
    'prefix length 33',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2.0/33'] }] }),
    ['addresses[0]: invalid CIDR "192.0.2.0/33"'],
  ],
  [
    'IPv6 prefix length 129',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['2001:db8::/129'] }] }),
    ['addresses[0]: invalid CIDR "2001:db8::/129"'],
  ],
  [
    'second entry invalid',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2.0/24', 'x/8'] }] }),
    ['addresses[1]: invalid CIDR "x/8"'],
  ],
  [
    'range with a bad start',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2-192.0.2.5'] }] }),
    ['addresses[0]: invalid IP range "192.0.2-192.0.2.5": invalid start IP "192.0.2"'],
  ],
  [
    'range with a bad end',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2.1-end'] }] }),
    ['invalid IP range "192.0.2.1-end": invalid end IP "end"'],
  ],
  [
    'range with CIDR ends',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2.0/24-192.0.2.255'] }] }),
    ['invalid IP range "192.0.2.0/24-192.0.2.255": invalid start IP'],
  ],
  [
    'range start after end',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2.9-192.0.2.1'] }] }),
    ['invalid IP range "192.0.2.9-192.0.2.1": start IP "192.0.2.9" is after the end IP "192.0.2.1"'],
  ],
  [
    'range across families',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['192.0.2.1-2001:db8::1'] }] }),
    ['different families'],
  ],
  [
    'missing protocol',
    yaml({ 'address-pools': [{ name: 'a', addresses: ['192.0.2.0/24'] }] }),
    ['address-pools[0] "a": protocol: address pool is missing the protocol field'],
  ],
  [
    'unknown protocol',
    yaml({ 'address-pools': [{ ...l2pool, protocol: 'arp' }] }),
    ['protocol: unknown protocol "arp"'],
  ],
  [
    'protocol is case-sensitive',
    yaml({ 'address-pools': [{ ...l2pool, protocol: 'Layer2' }] }),
    ['protocol: unknown protocol "Layer2"'],
  ],
  [
    'bgp-advertisements on a layer2 pool',
    yaml({ 'address-pools': [{ ...l2pool, 'bgp-advertisements': [{}] }] }),
    [
      'address-pools[0] "l2": bgp-advertisements: cannot have bgp-advertisements configuration element in a layer2 address pool',
    ],
  ],
  [
    'duplicate pool name',
    yaml({ 'address-pools': [l2pool, { ...l2pool, addresses: ['192.0.2.0/24'] }] }),
    ['address-pools[1] "l2": name: duplicate definition of pool "l2"'],
  ],
  [
    'overlap with an earlier pool (containment)',
    yaml({ 'address-pools': [l2pool, { ...bgpPool, addresses: ['198.51.100.128/25'] }] }),
    [
      'address-pools[1] "b": addresses[0]: CIDR "198.51.100.128/25" in pool "b" overlaps with already defined CIDR "198.51.100.0/24"',
    ],
  ],
  [
    'overlap: equal CIDRs written differently',
    yaml({ 'address-pools': [l2pool, { ...bgpPool, addresses: ['198.51.100.77/24'] }] }),
    ['overlaps with already defined CIDR "198.51.100.0/24"'],
  ],
  [
    'overlap within one pool',
    yaml({ 'address-pools': [{ ...l2pool, addresses: ['198.51.100.0/24', '198.51.100.0/26'] }] }),
    [
      'address-pools[0] "l2": addresses[1]: CIDR "198.51.100.0/26" in pool "l2" overlaps with already defined CIDR "198.51.100.0/24"',
    ],
  ],
  [
    'partial overlap of two ranges is found on their summaries',
    yaml({
      'address-pools': [
        { ...l2pool, addresses: ['192.0.2.10-192.0.2.20'] },
        { ...bgpPool, addresses: ['192.0.2.20-192.0.2.30'] },
      ],
    }),
    [
      'address-pools[1] "b": addresses[0]: CIDR "192.0.2.20/30" in pool "b" overlaps with already defined CIDR "192.0.2.20/32"',
    ],
  ],
  [
    'IPv6 overlap',
    yaml({
      'address-pools': [
        { ...l2pool, addresses: ['2001:db8::/64'] },
        { ...bgpPool, addresses: ['2001:db8::1-2001:db8::2'] },
      ],
    }),
    ['overlaps with already defined CIDR "2001:db8::/64"'],
  ],
];

const advertisementCases: NegativeCase[] = [
  [
    'duplicate advertisements',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ localpref: 1 }, { localpref: 1 }] }] }),
    [
      'address-pools[0] "b": bgp-advertisements[1]: duplicate definition of bgpadvertisements. advertisement 0 and 1 are equal',
    ],
  ],
  [
    'duplicate community string in one advertisement',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ communities: ['1:1', '1:1'] }] }] }),
    ['bgp-advertisements[0]: communities[1]: duplicate definition of community "1:1"'],
  ],
  [
    'aggregation-length above 32',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ 'aggregation-length': 33 }] }] }),
    ['bgp-advertisements[0]: aggregation-length: invalid aggregation length 33 for IPv4'],
  ],
  [
    'aggregation-length-v6 above 128',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ 'aggregation-length-v6': 129 }] }] }),
    ['aggregation-length-v6: invalid aggregation length 129 for IPv6'],
  ],
  [
    'negative aggregation-length',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ 'aggregation-length': -1 }] }] }),
    ['aggregation-length: invalid aggregation length -1'],
  ],
  [
    'aggregation-length shorter than the pool prefix',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ 'aggregation-length': 16 }] }] }),
    [
      'aggregation-length: invalid aggregation length 16: prefix "203.0.113.0/24" in this pool is more specific than the aggregation length for addresses 203.0.113.0/24',
    ],
  ],
  [
    'aggregation-length shorter than the largest block of a range',
    yaml({
      'address-pools': [
        {
          ...bgpPool,
          addresses: ['203.0.113.2-203.0.113.254'],
          'bgp-advertisements': [{ 'aggregation-length': 25 }],
        },
      ],
    }),
    ['invalid aggregation length 25: prefix "203.0.113.64/26"', 'for addresses 203.0.113.2-203.0.113.254'],
  ],
  [
    'aggregation-length-v6 shorter than the pool prefix',
    yaml({
      'address-pools': [
        { ...bgpPool, addresses: ['2001:db8::/64'], 'bgp-advertisements': [{ 'aggregation-length-v6': 48 }] },
      ],
    }),
    ['aggregation-length-v6: invalid aggregation length 48: prefix "2001:db8::/64"'],
  ],
  [
    'unknown community alias',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ communities: ['no-export'] }] }] }),
    [
      'bgp-advertisements[0]: communities[0]: invalid community "no-export" in BGP advertisement: invalid community string "no-export"',
    ],
  ],
  [
    'bad literal community',
    yaml({ 'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ communities: ['64500:70000'] }] }] }),
    ['invalid community "64500:70000" in BGP advertisement: invalid second section of community "70000"'],
  ],
];

const bfdCases: NegativeCase[] = [
  [
    'bfd profile without a name',
    yaml({ 'bfd-profiles': [{ 'receive-interval': 100 }] }),
    ['bfd-profiles[0]: name: missing bfd profile name'],
  ],
  [
    'receive-interval below 10',
    yaml({ 'bfd-profiles': [{ name: 'x', 'receive-interval': 5 }] }),
    [
      'bfd-profiles[0] "x": receive-interval: invalid receive interval value: invalid value 5, must be in 10-60000 range',
    ],
  ],
  [
    'transmit-interval above 60000',
    yaml({ 'bfd-profiles': [{ name: 'x', 'transmit-interval': 60001 }] }),
    ['transmit-interval: invalid transmit interval value: invalid value 60001, must be in 10-60000 range'],
  ],
  [
    'detect-multiplier below 2',
    yaml({ 'bfd-profiles': [{ name: 'x', 'detect-multiplier': 1 }] }),
    ['detect-multiplier: invalid detect multiplier value: invalid value 1, must be in 2-255 range'],
  ],
  [
    'echo-interval below 10',
    yaml({ 'bfd-profiles': [{ name: 'x', 'echo-interval': 9 }] }),
    ['echo-interval: invalid echo interval value: invalid value 9, must be in 10-60000 range'],
  ],
  [
    'minimum-ttl 0',
    yaml({ 'bfd-profiles': [{ name: 'x', 'minimum-ttl': 0 }] }),
    ['minimum-ttl: invalid minimum ttl value: invalid value 0, must be in 1-254 range'],
  ],
  [
    'minimum-ttl 255',
    yaml({ 'bfd-profiles': [{ name: 'x', 'minimum-ttl': 255 }] }),
    ['must be in 1-254 range'],
  ],
  [
    'duplicate bfd profile name',
    yaml({ 'bfd-profiles': [{ name: 'x' }, { name: 'x' }] }),
    ['bfd-profiles[1] "x": name: found duplicate bfd profile name x'],
  ],
];

describe.each([
  ['decoding', decodingCases],
  ['peers', peerCases],
  ['bgp-communities', communityCases],
  ['address-pools', poolCases],
  ['bgp-advertisements', advertisementCases],
  ['bfd-profiles', bfdCases],
])('%s: each rule on its own', (_section, cases) => {
  it.each(cases)('%s', (_name, text, fragments) => {
    const errors = errorsOf(text);
    expect(errors).toHaveLength(1);
    for (const fragment of fragments) expect(errors[0]).toContain(fragment);
  });
});

describe('error collection', () => {
  it('reports every independent error, in MetalLB validation order', () => {
    const errors = errorsOf(
      yaml({
        'address-pools': [
          { name: 'a', protocol: 'layer2', addresses: ['192.0.2.1'] },
          { name: 'b', protocol: 'nope', addresses: ['198.51.100.0/24'] },
        ],
        'bgp-communities': { bad: 'x' },
        peers: [
          { ...peer, 'my-asn': 0 },
          { ...peer, 'hold-time': '1s' },
        ],
        'bfd-profiles': [{ name: 'x', 'detect-multiplier': 1 }],
      }),
    );
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'bfd-profiles[0] "x"',
      'peers[0]',
      'peers[1]',
      'bgp-communities',
      'address-pools[0] "a"',
      'address-pools[1] "b"',
    ]);
  });

  it('reports several errors of one peer', () => {
    const errors = errorsOf(yaml({ peers: [{ 'peer-address': 'x', 'hold-time': '1s' }] }));
    expect(errors).toEqual([
      'peers[0]: my-asn: missing local ASN',
      'peers[0]: peer-asn: missing peer ASN',
      'peers[0]: peer-address: invalid peer IP "x"',
      'peers[0]: hold-time: invalid hold time "1s": must be 0 or >=3s',
    ]);
  });

  it('does not report a broken community alias again where it is used', () => {
    const errors = errorsOf(
      yaml({
        'bgp-communities': { bad: '1:x' },
        'address-pools': [{ ...bgpPool, 'bgp-advertisements': [{ communities: ['bad'] }] }],
      }),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('bgp-communities');
  });

  it('does not report a reference to a bfd profile that failed to decode', () => {
    const errors = errorsOf(
      yaml({
        'bfd-profiles': [{ name: 'slow', 'echo-mode': 'sometimes' }],
        peers: [{ ...peer, 'bfd-profile': 'slow' }],
      }),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('bfd-profiles[0] "slow": echo-mode');
  });

  it('reports a decoding error and the other pools errors together', () => {
    const errors = errorsOf(
      yaml({
        'address-pools': [
          { ...l2pool, colour: 'blue' },
          { name: 'c', protocol: 'layer2', addresses: ['10.0.0.1'] },
        ],
      }),
    );
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('address-pools[0] "l2": unknown field "colour"');
    expect(errors[1]).toContain('address-pools[1] "c": addresses[0]: invalid CIDR "10.0.0.1"');
  });
});

describe('keys from user input', () => {
  it('keeps an alias named __proto__ as plain data', () => {
    const config = valid('bgp-communities:\n  __proto__: "1:2"\n');
    expect(Object.hasOwn(config.communities, '__proto__')).toBe(true);
    expect(config.communities['__proto__']).toBe(65538);
    expect(Object.getPrototypeOf(config.communities)).toBe(Object.prototype);
  });

  it('rejects __proto__ as a label key (it is not a valid name) without touching prototypes', () => {
    const errors = errorsOf(
      'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1, node-selectors: [{match-labels: {__proto__: x}}]}\n',
    );
    expect(errors).toEqual([
      "peers[0]: node-selectors[0]: match-labels: parsing node selector: invalid label key \"__proto__\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ]);
  });
});
