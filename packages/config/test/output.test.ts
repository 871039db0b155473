import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  configToJSON,
  parseConfig,
  readConfigFile,
  renderConfig,
  validateForNativeSpeaker,
  type Config,
} from '@portico/config';

function valid(text: string): Config {
  const result = parseConfig(text);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

const sample = `
peers:
- my-asn: 64500
  peer-asn: 64501
  peer-address: 2001:DB8::1
  hold-time: 9s
  keepalive-time: 3s
  router-id: 192.0.2.200
  source-address: 2001:db8::2
  password: topsecret
  bfd-profile: fast
  node-selectors:
  - match-labels: {rack: r1}
    match-expressions: [{key: zone, operator: In, values: [z1]}]
- my-asn: 64500
  peer-asn: 64500
  peer-address: 192.0.2.1
bgp-communities:
  no-advertise: 65535:65282
address-pools:
- name: web
  protocol: bgp
  addresses: [203.0.113.0/24, 2001:db8:1::10-2001:db8:1::1f]
  avoid-buggy-ips: true
  bgp-advertisements:
  - aggregation-length: 24
    localpref: 100
    communities: [no-advertise, 64500:1]
  - {}
- name: lan
  protocol: layer2
  auto-assign: false
  addresses: [198.51.100.10 - 198.51.100.20]
bfd-profiles:
- name: fast
  receive-interval: 100
  transmit-interval: 100
`;

describe('configToJSON', () => {
  it('gives the documented --json shape', () => {
    expect(configToJSON(valid(sample))).toEqual({
      pools: [
        {
          name: 'web',
          protocol: 'bgp',
          addresses: ['203.0.113.0/24', '2001:db8:1::10-2001:db8:1::1f'],
          autoAssign: true,
          avoidBuggyIPs: true,
          bgpAdvertisements: [
            {
              aggregationLength: 24,
              aggregationLengthV6: 128,
              localPref: 100,
              communities: ['65535:65282', '64500:1'],
            },
            { aggregationLength: 32, aggregationLengthV6: 128, localPref: 0, communities: [] },
          ],
        },
        {
          name: 'lan',
          protocol: 'layer2',
          addresses: ['198.51.100.10-198.51.100.20'],
          autoAssign: false,
          avoidBuggyIPs: false,
          bgpAdvertisements: [],
        },
      ],
      peers: [
        {
          myASN: 64500,
          peerASN: 64501,
          peerAddress: '2001:db8::1',
          peerPort: 179,
          holdTime: 9,
          keepaliveTime: 3,
          sourceAddress: '2001:db8::2',
          routerID: '192.0.2.200',
          password: 'topsecret',
          bfdProfile: 'fast',
          ebgpMultiHop: false,
          nodeSelectors: [
            {
              matchLabels: { rack: 'r1' },
              matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }],
            },
          ],
        },
        {
          myASN: 64500,
          peerASN: 64500,
          peerAddress: '192.0.2.1',
          peerPort: 179,
          holdTime: 90,
          keepaliveTime: null,
          sourceAddress: null,
          routerID: null,
          bfdProfile: null,
          ebgpMultiHop: false,
          nodeSelectors: [],
        },
      ],
    });
  });

  it('survives JSON.stringify (no bigint anywhere)', () => {
    const json = configToJSON(valid(sample));
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe('renderConfig', () => {
  it('round-trips the sample', () => {
    const config = valid(sample);
    expect(valid(renderConfig(config))).toEqual(config);
  });

  it('renders an empty config as an empty document', () => {
    expect(renderConfig(valid(''))).toBe('');
  });

  // Valid configs built from random parts: pool i lives in 10.i.0.0/16 and its entry k in
  // 10.i.k.0/24, so nothing overlaps; aggregation lengths respect the entries' prefixes.
  const entry = (i: number, k: number) =>
    fc.oneof(
      fc.integer({ min: 24, max: 32 }).map((len) => `10.${i}.${k}.${len === 24 ? 0 : 128}/${len}`),
      fc
        .tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 }))
        .map(([a, b]) => `10.${i}.${k}.${Math.min(a, b)}-10.${i}.${k}.${Math.max(a, b)}`),
      fc.integer({ min: 64, max: 128 }).map((len) => `2001:db8:${i}:${k}::/${len}`),
    );
  const pool = (i: number) =>
    fc.record({
      name: fc.constantFrom('a', 'yes', '123', '1:20', 'pool.x').map((n) => (i === 0 ? n : `${n}${i}`)),
      protocol: fc.constantFrom('layer2', 'bgp'),
      addresses: fc
        .array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 4 })
        .chain((ks) => fc.tuple(...[...new Set(ks)].map((k) => entry(i, k)))),
      'auto-assign': fc.boolean(),
      'avoid-buggy-ips': fc.boolean(),
      ads: fc.array(
        fc.record({
          localpref: fc.nat(),
          communities: fc.uniqueArray(
            fc.tuple(fc.nat({ max: 65535 }), fc.nat({ max: 65535 })).map(([a, b]) => `${a}:${b}`),
            { maxLength: 3 },
          ),
        }),
        { maxLength: 3 },
      ),
    });
  const peer = fc.record({
    'my-asn': fc.integer({ min: 1, max: 4294967295 }),
    'peer-asn': fc.integer({ min: 1, max: 4294967295 }),
    'peer-address': fc.oneof(fc.ipV4(), fc.constant('2001:db8::1')),
    'peer-port': fc.nat({ max: 65000 }),
    'hold-time': fc.constantFrom('0s', '3s', '90s', '1m', '500ms', '240s'),
    password: fc.constantFrom('', 'no', 'p@ss word'),
  });
  const rawConfig = fc.record({
    pools: fc
      .integer({ min: 0, max: 4 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => pool(i)))),
    peers: fc.array(peer, { maxLength: 3 }),
  });

  it('parse(render(config)) gives config back for random valid configs', () => {
    fc.assert(
      fc.property(rawConfig, (raw) => {
        const document = {
          peers: raw.peers.map((p, j) => ({ ...p, 'peer-port': p['peer-port'] + j })), // never identical
          'address-pools': raw.pools.map(({ ads, ...p }) => ({
            ...p,
            ...(p.protocol === 'bgp' && {
              'bgp-advertisements': ads.map((ad, j) => ({ ...ad, localpref: ad.localpref + j * 1000 })),
            }),
          })),
        };
        const config = valid(stringify(document, { version: '1.1' }));
        const again = valid(renderConfig(config));
        expect(again).toEqual(config);
        expect(configToJSON(again)).toEqual(configToJSON(config));
      }),
      { numRuns: 200 },
    );
  });
});

describe('readConfigFile', () => {
  const bare = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/24]\n';
  const manifest = stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace: 'portico-system', name: 'config' },
    data: { config: bare },
  });

  it('reads the bare value of the config key', () => {
    const result = readConfigFile(bare);
    expect(result.ok && result.config.pools.map((p) => p.name)).toEqual(['a']);
  });

  it('reads a ConfigMap manifest in YAML', () => {
    const result = readConfigFile(manifest);
    expect(result.ok && result.config.pools.map((p) => p.name)).toEqual(['a']);
  });

  it('reads a ConfigMap manifest in JSON', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config' },
      data: { config: bare },
    });
    const result = readConfigFile(json);
    expect(result.ok && result.config.pools).toHaveLength(1);
  });

  it('treats a ConfigMap without the config key as an empty, valid config', () => {
    const result = readConfigFile(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\ndata: {other: x}\n',
    );
    expect(result).toEqual({
      ok: true,
      config: { pools: [], peers: [], bfdProfiles: [], communities: {}, largeCommunities: {} },
    });
    expect(readConfigFile('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\n').ok).toBe(true);
  });

  it('picks the ConfigMap named config from a multi-document file', () => {
    const other = stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'other' },
      data: { config: 'x: 1' },
    });
    const ns = stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'portico-system' } });
    const result = readConfigFile(`${ns}---\n${other}---\n${manifest}`);
    expect(result.ok && result.config.pools.map((p) => p.name)).toEqual(['a']);
  });

  it('reports the errors of the embedded config', () => {
    const broken = stringify({
      kind: 'ConfigMap',
      metadata: { name: 'config' },
      data: { config: 'peers: {}\n' },
    });
    expect(readConfigFile(broken)).toEqual({
      ok: false,
      errors: ['peers: expected a list, got a map (line 1)'],
    });
  });

  it('rejects a config key that is not a string', () => {
    const result = readConfigFile(
      'kind: ConfigMap\nmetadata: {name: config}\ndata:\n  config: {peers: []}\n',
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toContain('data.config: expected a string');
  });
});

describe('validateForNativeSpeaker', () => {
  it('applies none of MetalLB DiscardFRROnly refusals (IPv6 bgp pools, keepalive-time, BFD)', () => {
    expect(validateForNativeSpeaker(valid(sample))).toEqual([]);
  });

  it('refuses the BFD echo function, which the speaker does not implement', () => {
    const config = valid('bfd-profiles:\n- name: echo\n  echo-mode: true\n');
    expect(validateForNativeSpeaker(config)).toEqual([
      'bfd profile "echo": echo-mode: the BFD echo function is not supported by the native speaker',
    ]);
  });
});
