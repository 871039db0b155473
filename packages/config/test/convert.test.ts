/**
 * convertConfig, table-driven: each v0.12 feature and the custom resources MetalLB's configmaptocrs
 * makes of it; the name rewriting (and its notices); the names it cannot make valid; the YAML.
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import {
  convertConfig,
  k8sName,
  parseConfig,
  resourcesToYAML,
  type Config,
  type MetalLBResource,
} from '@portico/config';

function config(document: unknown): Config {
  const result = parseConfig(stringify(document, { version: '1.1' }));
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function converted(
  document: unknown,
  namespace?: string,
): { resources: MetalLBResource[]; notices: string[] } {
  const result = convertConfig(config(document), namespace === undefined ? {} : { namespace });
  if (!result.ok) throw new Error(`expected a conversion, got:\n${result.errors.join('\n')}`);
  return result;
}

const cr = (
  apiVersion: string,
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  namespace = 'portico-system',
) => ({
  apiVersion,
  kind,
  metadata: { name, namespace },
  spec,
});
const v1 = 'metallb.io/v1beta1';
const v2 = 'metallb.io/v1beta2';
const peer = { 'my-asn': 64500, 'peer-asn': 64501, 'peer-address': '192.0.2.1' };

describe('convertConfig: one feature at a time', () => {
  it.each<[string, unknown, unknown[]]>([
    ['an empty configuration gives no resources', {}, []],
    [
      'a layer2 pool: an IPAddressPool and an L2Advertisement selecting it',
      { 'address-pools': [{ name: 'default', protocol: 'layer2', addresses: ['198.51.100.0/24'] }] },
      [
        cr(v1, 'IPAddressPool', 'default', { addresses: ['198.51.100.0/24'] }),
        cr(v1, 'L2Advertisement', 'l2advertisement1', { ipAddressPools: ['default'] }),
      ],
    ],
    [
      'addresses normalised as parsed: host bits cleared, ranges kept, IPv6 canonical',
      {
        'address-pools': [
          {
            name: 'p',
            protocol: 'layer2',
            addresses: ['10.20.30.40/24', '10.0.0.5 - 10.0.0.9', '2001:DB8:0::/64'],
          },
        ],
      },
      [
        cr(v1, 'IPAddressPool', 'p', { addresses: ['10.20.30.0/24', '10.0.0.5-10.0.0.9', '2001:db8::/64'] }),
        cr(v1, 'L2Advertisement', 'l2advertisement1', { ipAddressPools: ['p'] }),
      ],
    ],
    [
      'an IPv4-mapped range is IPv4 (as Go reads it); a prefix just outside ::ffff:0:0/96 is plain IPv6',
      {
        'address-pools': [
          { name: 'p', protocol: 'layer2', addresses: ['::ffff:1.2.3.4-::ffff:1.2.3.9', '::fffe:0:0/96'] },
        ],
      },
      [
        cr(v1, 'IPAddressPool', 'p', { addresses: ['1.2.3.4-1.2.3.9', '::fffe:0:0/96'] }),
        cr(v1, 'L2Advertisement', 'l2advertisement1', { ipAddressPools: ['p'] }),
      ],
    ],
    [
      'auto-assign false and avoid-buggy-ips true; their defaults are left out',
      {
        'address-pools': [
          {
            name: 'p',
            protocol: 'layer2',
            addresses: ['10.0.0.0/24'],
            'auto-assign': false,
            'avoid-buggy-ips': true,
          },
        ],
      },
      [
        cr(v1, 'IPAddressPool', 'p', { addresses: ['10.0.0.0/24'], autoAssign: false, avoidBuggyIPs: true }),
        cr(v1, 'L2Advertisement', 'l2advertisement1', { ipAddressPools: ['p'] }),
      ],
    ],
    [
      'a bgp pool without advertisements: one BGPAdvertisement with no attributes',
      { 'address-pools': [{ name: 'b', protocol: 'bgp', addresses: ['203.0.113.0/24'] }] },
      [
        cr(v1, 'IPAddressPool', 'b', { addresses: ['203.0.113.0/24'] }),
        cr(v1, 'BGPAdvertisement', 'bgpadvertisement1', { ipAddressPools: ['b'] }),
      ],
    ],
    [
      'bgp advertisements: one each, numbered across pools, communities by alias or by value',
      {
        'bgp-communities': { 'no-advertise': '65535:65282', 'b-alias': '64500:1' },
        'address-pools': [
          {
            name: 'b1',
            protocol: 'bgp',
            addresses: ['203.0.113.0/24'],
            'bgp-advertisements': [
              { 'aggregation-length': 32, localpref: 100, communities: ['no-advertise', '64500:2'] },
              { 'aggregation-length': 24 },
            ],
          },
          {
            name: 'b2',
            protocol: 'bgp',
            addresses: ['2001:db8::/64'],
            'bgp-advertisements': [{ 'aggregation-length-v6': 64, communities: ['64500:1'] }],
          },
        ],
      },
      [
        cr(v1, 'IPAddressPool', 'b1', { addresses: ['203.0.113.0/24'] }),
        cr(v1, 'IPAddressPool', 'b2', { addresses: ['2001:db8::/64'] }),
        cr(v1, 'BGPAdvertisement', 'bgpadvertisement1', {
          localPref: 100,
          communities: ['no-advertise', '64500:2'],
          ipAddressPools: ['b1'],
        }),
        cr(v1, 'BGPAdvertisement', 'bgpadvertisement2', { aggregationLength: 24, ipAddressPools: ['b1'] }),
        cr(v1, 'BGPAdvertisement', 'bgpadvertisement3', {
          aggregationLengthV6: 64,
          communities: ['b-alias'],
          ipAddressPools: ['b2'],
        }),
        cr(v1, 'Community', 'communities', {
          communities: [
            { name: 'b-alias', value: '64500:1' },
            { name: 'no-advertise', value: '65535:65282' },
          ],
        }),
      ],
    ],
    [
      'a peer with only the required keys: hold time written out, port left to its default',
      { peers: [peer] },
      [
        cr(v2, 'BGPPeer', 'peer1', {
          myASN: 64500,
          peerASN: 64501,
          peerAddress: '192.0.2.1',
          holdTime: '90s',
        }),
      ],
    ],
    [
      'a peer with every key',
      {
        peers: [
          {
            ...peer,
            'peer-port': 1179,
            'source-address': '192.0.2.10',
            'hold-time': '1m30s',
            'keepalive-time': '30s',
            'router-id': '10.0.0.1',
            password: 'sekrit',
            'bfd-profile': 'fast',
            'ebgp-multihop': true,
            'node-selectors': [
              {
                'match-labels': { rack: 'r1' },
                'match-expressions': [
                  { key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a', 'node-b'] },
                  { key: 'spot', operator: 'DoesNotExist' },
                ],
              },
              { 'match-labels': { rack: 'r2' } },
            ],
          },
          { ...peer, 'peer-address': '192.0.2.2', 'hold-time': '0s' },
        ],
        'bfd-profiles': [{ name: 'fast' }],
      },
      [
        cr(v2, 'BGPPeer', 'peer1', {
          myASN: 64500,
          peerASN: 64501,
          peerAddress: '192.0.2.1',
          peerPort: 1179,
          sourceAddress: '192.0.2.10',
          holdTime: '90s',
          keepaliveTime: '30s',
          routerID: '10.0.0.1',
          nodeSelectors: [
            {
              matchLabels: { rack: 'r1' },
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a', 'node-b'] },
                { key: 'spot', operator: 'DoesNotExist' },
              ],
            },
            { matchLabels: { rack: 'r2' } },
          ],
          password: 'sekrit',
          bfdProfile: 'fast',
          ebgpMultiHop: true,
        }),
        cr(v2, 'BGPPeer', 'peer2', {
          myASN: 64500,
          peerASN: 64501,
          peerAddress: '192.0.2.2',
          holdTime: '0s',
        }),
        cr(v1, 'BFDProfile', 'fast', { echoMode: false, passiveMode: false }),
      ],
    ],
    [
      'hold time truncated to whole seconds, as MetalLB reads it',
      { peers: [{ ...peer, 'hold-time': '3500ms', 'keepalive-time': '1999ms' }] },
      [
        cr(v2, 'BGPPeer', 'peer1', {
          myASN: 64500,
          peerASN: 64501,
          peerAddress: '192.0.2.1',
          holdTime: '3s',
          keepaliveTime: '1s',
        }),
      ],
    ],
    [
      'a BFD profile with every key',
      {
        'bfd-profiles': [
          {
            name: 'full',
            'receive-interval': 380,
            'transmit-interval': 270,
            'detect-multiplier': 37,
            'echo-interval': 62,
            'echo-mode': true,
            'passive-mode': true,
            'minimum-ttl': 254,
          },
        ],
      },
      [
        cr(v1, 'BFDProfile', 'full', {
          receiveInterval: 380,
          transmitInterval: 270,
          detectMultiplier: 37,
          echoInterval: 62,
          echoMode: true,
          passiveMode: true,
          minimumTtl: 254,
        }),
      ],
    ],
  ])('%s', (_what, input, expected) => {
    expect(converted(input).resources).toEqual(expected);
  });

  it('puts every resource in the namespace asked for', () => {
    const { resources } = converted(
      { peers: [peer], 'address-pools': [{ name: 'p', protocol: 'layer2', addresses: ['10.0.0.0/24'] }] },
      'metallb-system',
    );
    expect(resources.map((r) => r.metadata.namespace)).toEqual([
      'metallb-system',
      'metallb-system',
      'metallb-system',
    ]);
  });

  it('says that a password is carried over in clear', () => {
    expect(converted({ peers: [{ ...peer, password: 'x' }] }).notices).toEqual([
      'BGPPeer peer1: the password is written in clear, as in the ConfigMap; consider passwordSecret',
    ]);
  });
});

describe('names', () => {
  it.each<[string, string | undefined]>([
    ['default', 'default'],
    ['a', 'a'],
    ['Production_Pool', 'production-pool'],
    ['1st-pool', 'st-pool'],
    ['__x', 'x'],
    ['1234', undefined],
    ['a'.repeat(70), 'a'.repeat(63)],
  ])('k8sName(%j) is %j, as MetalLB rewrites it', (name, expected) => {
    expect(k8sName(name)).toBe(expected);
  });

  it('renames pools and BFD profiles, everywhere they are referred to, and says so', () => {
    const { resources, notices } = converted({
      peers: [{ ...peer, 'bfd-profile': 'Fast_BFD' }],
      'bfd-profiles': [{ name: 'Fast_BFD' }],
      'address-pools': [
        { name: 'Public_IPs', protocol: 'bgp', addresses: ['203.0.113.0/24'] },
        { name: 'LAN', protocol: 'layer2', addresses: ['10.0.0.0/24'] },
      ],
    });
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual([
      'BGPPeer/peer1',
      'IPAddressPool/public-ips',
      'IPAddressPool/lan',
      'BGPAdvertisement/bgpadvertisement1',
      'L2Advertisement/l2advertisement1',
      'BFDProfile/fast-bfd',
    ]);
    expect(resources[0]?.spec.bfdProfile).toBe('fast-bfd');
    expect(resources[3]?.spec.ipAddressPools).toEqual(['public-ips']);
    expect(resources[4]?.spec.ipAddressPools).toEqual(['lan']);
    expect(notices).toEqual([
      'BFDProfile name changed from "Fast_BFD" to "fast-bfd"',
      'IPAddressPool name changed from "Public_IPs" to "public-ips"',
      'IPAddressPool name changed from "LAN" to "lan"',
    ]);
  });

  it.each<[string, unknown, string]>([
    [
      'a pool name without a letter',
      { 'address-pools': [{ name: '2024', protocol: 'layer2', addresses: ['10.0.0.0/24'] }] },
      'address pool "2024": cannot make a IPAddressPool name of it: it has no letter',
    ],
    [
      'a pool name with a space',
      { 'address-pools': [{ name: 'my pool', protocol: 'layer2', addresses: ['10.0.0.0/24'] }] },
      'address pool "my pool": "my pool" is not a valid IPAddressPool name: use lower-case letters, digits and "-"',
    ],
    [
      'two pool names that become one',
      {
        'address-pools': [
          { name: 'Edge', protocol: 'layer2', addresses: ['10.0.0.0/24'] },
          { name: 'edge', protocol: 'layer2', addresses: ['10.0.1.0/24'] },
        ],
      },
      'address pool "edge": becomes "edge", the same IPAddressPool name as "Edge"',
    ],
    [
      'an IPv4-mapped IPv6 prefix (the API server refuses it)',
      {
        'address-pools': [
          { name: 'm', protocol: 'layer2', addresses: ['10.0.0.0/24', '::ffff:1.2.3.0/120'] },
        ],
      },
      'address pool "m": addresses: "::ffff:102:300/120" is an IPv4-mapped IPv6 prefix, which IPAddressPool refuses: write it as IPv4 or as plain IPv6',
    ],
    [
      'a BFD profile name ending in "-"',
      { 'bfd-profiles': [{ name: 'fast_' }] },
      'bfd profile "fast_": "fast-" is not a valid BFDProfile name: use lower-case letters, digits and "-"',
    ],
  ])('refuses %s, naming it', (_what, input, error) => {
    expect(convertConfig(config(input))).toEqual({ ok: false, errors: [error] });
  });
});

describe('resourcesToYAML', () => {
  it('writes one document per resource that reads back as the same objects', () => {
    const { resources } = converted({
      peers: [peer],
      'address-pools': [{ name: 'p', protocol: 'bgp', addresses: ['10.0.0.0/24'] }],
    });
    const text = resourcesToYAML(resources);
    expect(text.startsWith('---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\n')).toBe(true);
    expect(parseAllDocuments(text).map((d) => d.toJS() as unknown)).toEqual(resources);
  });

  it('writes nothing for no resources', () => {
    expect(resourcesToYAML([])).toBe('');
  });
});
