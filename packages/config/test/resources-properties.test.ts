/**
 * Where order matters, as properties: decoding does not depend on the order of the resources;
 * the pools a Service may get addresses from come by priority (0 last), each one matching it;
 * ipAddressPoolSelectors pick exactly the pools whose labels match. And the round trip: every
 * ConfigMap the config tests use, converted by convertConfig, decodes to the same model as the
 * ConfigMap itself (up to what CRs add: names, and the API's name order).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  convertConfig,
  decodeResources,
  k8sName,
  parseResourceDocuments,
  poolsForService,
  readConfigFile,
  resourcesToYAML,
  type Config,
} from '@portico/config';

const v1 = 'metallb.io/v1beta1';
const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

describe('decoding does not depend on the order of the resources', () => {
  const objects = [
    { apiVersion: v1, kind: 'IPAddressPool', metadata: { name: 'a' }, spec: { addresses: ['10.0.0.0/24'] } },
    {
      apiVersion: v1,
      kind: 'IPAddressPool',
      metadata: { name: 'b', labels: { t: 'x' } },
      spec: { addresses: ['10.1.0.0/24', '2001:db8::/64'] },
    },
    {
      apiVersion: v1,
      kind: 'IPAddressPool',
      metadata: { name: 'c' },
      spec: { addresses: ['10.2.0.0-10.2.0.9'], serviceAllocation: { priority: 2 } },
    },
    { apiVersion: v1, kind: 'L2Advertisement', metadata: { name: 'l1' }, spec: { ipAddressPools: ['a'] } },
    { apiVersion: v1, kind: 'L2Advertisement', metadata: { name: 'l2' }, spec: { interfaces: ['eth0'] } },
    {
      apiVersion: v1,
      kind: 'BGPAdvertisement',
      metadata: { name: 'b1' },
      spec: { ipAddressPoolSelectors: [{ matchLabels: { t: 'x' } }], communities: ['tag'] },
    },
    {
      apiVersion: v1,
      kind: 'BGPAdvertisement',
      metadata: { name: 'b2' },
      spec: { ipAddressPools: ['c'], localPref: 50 },
    },
    {
      apiVersion: v1,
      kind: 'Community',
      metadata: { name: 'cs' },
      spec: { communities: [{ name: 'tag', value: '64500:1' }] },
    },
    { apiVersion: v1, kind: 'BFDProfile', metadata: { name: 'f' }, spec: { detectMultiplier: 3 } },
    {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: 'r2' },
      spec: { myASN: 64500, peerASN: 64501, peerAddress: '192.0.2.2', bfdProfile: 'f' },
    },
    {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: 'r1' },
      spec: { myASN: 64500, peerASN: 64501, peerAddress: '192.0.2.1' },
    },
  ];

  it('gives the same configuration for any permutation', () => {
    const reference = decodeResources(objects);
    expect(reference.ok).toBe(true);
    fc.assert(
      fc.property(fc.shuffledSubarray(objects, { minLength: objects.length }), (shuffled) => {
        expect(decodeResources(shuffled)).toEqual(reference);
      }),
    );
  });

  it('gives the same errors for any permutation of a broken set', () => {
    const broken = [
      ...objects,
      {
        apiVersion: v1,
        kind: 'IPAddressPool',
        metadata: { name: 'overlap' },
        spec: { addresses: ['10.0.0.5/32'] },
      },
      { apiVersion: v1, kind: 'BGPAdvertisement', metadata: { name: 'b3' }, spec: { communities: ['nope'] } },
    ];
    const reference = decodeResources(broken);
    expect(reference.ok).toBe(false);
    fc.assert(
      fc.property(fc.shuffledSubarray(broken, { minLength: broken.length }), (shuffled) => {
        expect(decodeResources(shuffled)).toEqual(reference);
      }),
    );
  });
});

describe('poolsForService', () => {
  const namespaces = ['web', 'api', 'db'];
  const labelValues = ['a', 'b'];
  const poolSpec = fc.record({
    autoAssign: fc.boolean(),
    allocation: fc.option(
      fc.record({
        priority: fc.integer({ min: 0, max: 5 }),
        namespaces: fc.subarray(namespaces),
        namespaceSelector: fc.option(fc.constantFrom(...labelValues), { nil: undefined }),
        serviceSelector: fc.option(fc.constantFrom(...labelValues), { nil: undefined }),
      }),
      { nil: undefined },
    ),
  });
  const service = fc.record({
    namespace: fc.constantFrom(...namespaces),
    namespaceLabel: fc.constantFrom(...labelValues),
    label: fc.constantFrom(...labelValues),
  });

  function configOf(specs: fc.RecordValue<unknown>[]): Config {
    const objects = (
      specs as {
        autoAssign: boolean;
        allocation?: {
          priority: number;
          namespaces: string[];
          namespaceSelector?: string;
          serviceSelector?: string;
        };
      }[]
    ).map((s, i) => ({
      apiVersion: v1,
      kind: 'IPAddressPool',
      metadata: { name: `pool-${String(i).padStart(2, '0')}` },
      spec: {
        addresses: [`10.${i}.0.0/24`],
        autoAssign: s.autoAssign,
        ...(s.allocation && {
          serviceAllocation: {
            priority: s.allocation.priority,
            namespaces: s.allocation.namespaces,
            ...(s.allocation.namespaceSelector && {
              namespaceSelectors: [{ matchLabels: { team: s.allocation.namespaceSelector } }],
            }),
            ...(s.allocation.serviceSelector && {
              serviceSelectors: [{ matchLabels: { app: s.allocation.serviceSelector } }],
            }),
          },
        }),
      },
    }));
    const result = decodeResources(objects);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    return result.config;
  }

  it('reserved pools match the Service and come by priority (0 last, then name); shared pools have no serviceAllocation', () => {
    fc.assert(
      fc.property(fc.array(poolSpec, { maxLength: 12 }), service, (specs, svc) => {
        const config = configOf(specs);
        const identity = {
          namespace: svc.namespace,
          namespaceLabels: { team: svc.namespaceLabel },
          labels: { app: svc.label },
        };
        const { reserved, shared } = poolsForService(config, identity);
        // Every pool of each group can be used automatically.
        for (const p of [...reserved, ...shared]) expect(p.autoAssign).toBe(true);
        expect(shared).toEqual(config.pools.filter((p) => p.autoAssign && !p.serviceAllocation));
        // Reserved: exactly the auto-assign pools whose serviceAllocation matches, by the rule.
        const matches = config.pools.filter((p) => {
          const a = p.serviceAllocation;
          if (!p.autoAssign || !a) return false;
          const nsRule = a.namespaces.length > 0 || a.namespaceSelectors.length > 0;
          const nsOK =
            !nsRule ||
            a.namespaces.includes(svc.namespace) ||
            a.namespaceSelectors.some((s) => s.matchLabels.team === svc.namespaceLabel);
          const svcOK =
            a.serviceSelectors.length === 0 ||
            a.serviceSelectors.some((s) => s.matchLabels.app === svc.label);
          return nsOK && svcOK;
        });
        expect(new Set(reserved.map((p) => p.name))).toEqual(new Set(matches.map((p) => p.name)));
        // Ordered: positive priorities ascending, then priority 0; ties by name.
        const key = (p: (typeof reserved)[number]) => {
          const priority = p.serviceAllocation?.priority ?? 0;
          return [priority === 0 ? Infinity : priority, p.name] as const;
        };
        for (let i = 1; i < reserved.length; i++) {
          const [pa, na] = key(reserved[i - 1]!);
          const [pb, nb] = key(reserved[i]!);
          expect(pa < pb || (pa === pb && na < nb)).toBe(true);
        }
      }),
    );
  });
});

describe('ipAddressPoolSelectors', () => {
  it('select exactly the pools whose labels match one selector', () => {
    const labels = fc.dictionary(fc.constantFrom('tier', 'zone'), fc.constantFrom('a', 'b'), { maxKeys: 2 });
    fc.assert(
      fc.property(
        fc.array(labels, { minLength: 1, maxLength: 6 }),
        fc.array(labels, { minLength: 1, maxLength: 3 }),
        (poolLabels, selectors) => {
          const objects = [
            ...poolLabels.map((l, i) => ({
              apiVersion: v1,
              kind: 'IPAddressPool',
              metadata: { name: `p${i}`, labels: l },
              spec: { addresses: [`10.${i}.0.0/24`] },
            })),
            {
              apiVersion: v1,
              kind: 'L2Advertisement',
              metadata: { name: 'l' },
              // Duplicate selectors are refused; keep one of each.
              spec: {
                ipAddressPoolSelectors: [
                  ...new Map(selectors.map((s) => [JSON.stringify(Object.entries(s).sort()), s])).values(),
                ].map((s) => ({ matchLabels: s })),
              },
            },
          ];
          const result = decodeResources(objects);
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          poolLabels.forEach((l, i) => {
            const expected = selectors.some((s) => Object.entries(s).every(([k, v]) => l[k] === v));
            const pool = result.config.pools.find((p) => p.name === `p${i}`);
            expect(pool?.l2Advertisements.length).toBe(expected ? 1 : 0);
          });
        },
      ),
    );
  });
});

describe('round trip: ConfigMap → convert → CRs decode to the same model', () => {
  const everyKey = `peers:
- {my-asn: 64500, peer-asn: 64501, peer-address: 192.0.2.1, peer-port: 1179, source-address: 192.0.2.10,
   hold-time: 1m30s, keepalive-time: 30s, router-id: 10.0.0.1, password: sekrit, bfd-profile: Fast_BFD,
   ebgp-multihop: true, node-selectors: [{match-labels: {rack: r1},
   match-expressions: [{key: kubernetes.io/hostname, operator: In, values: [node-a]}, {key: spot, operator: DoesNotExist}]}]}
- {my-asn: 64500, peer-asn: 64500, peer-address: '2001:db8::1', hold-time: 0s}
- {my-asn: 64500, peer-asn: 64502, peer-address: 192.0.2.3, keepalive-time: 10s}
bfd-profiles:
- {name: Fast_BFD, receive-interval: 380, transmit-interval: 270, detect-multiplier: 37, echo-interval: 62,
   echo-mode: false, passive-mode: true, minimum-ttl: 254}
- {name: slow}
bgp-communities: {no-advertise: '65535:65282', tagged: '64500:7'}
address-pools:
- {name: Public_IPs, protocol: bgp, addresses: [203.0.113.0/24, '2001:db8:1::/64'], avoid-buggy-ips: true,
   bgp-advertisements: [{aggregation-length: 24, aggregation-length-v6: 64, localpref: 100,
   communities: [no-advertise, '64500:8']}, {communities: [tagged], localpref: 100}]}
- {name: lan, protocol: layer2, addresses: [10.0.0.10-10.0.0.20, 'fd00::10-fd00::20', '::ffff:10.0.0.30-::ffff:10.0.0.40', '::fffe:0:0/96'],
   auto-assign: false}
- {name: b2, protocol: bgp, addresses: [198.51.100.0/28]}
`;
  const inputs: [string, string][] = [
    ...[...read('docs/configuration.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map(
      (m, i): [string, string] => [`docs/configuration.md YAML block ${i}`, m[1] as string],
    ),
    ['manifests/base/config.yaml', read('manifests/base/config.yaml')],
    ['manifests/overlays/bgp/config.yaml', read('manifests/overlays/bgp/config.yaml')],
    ['a configuration using every key', everyKey],
  ];

  /** What CRs add or order differently: names (ConfigMap entries have none; names are rewritten
   * as convert does), and the order of pools, peers and advertisements (the API lists by name). */
  function comparable(config: Config): unknown {
    const sorted = <T>(items: readonly T[]) =>
      [...items].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    const pools = config.pools.map((p) => ({
      ...p,
      name: k8sName(p.name),
      l2Advertisements: sorted(p.l2Advertisements.map(({ name: _n, ...ad }) => ad)),
      bgpAdvertisements: sorted(p.bgpAdvertisements.map(({ name: _n, ...ad }) => ad)),
    }));
    return {
      ...config,
      pools: pools.sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : 1)),
      peers: sorted(
        config.peers.map(({ name: _n, ...p }) => ({
          ...p,
          ...(p.bfdProfile !== undefined && { bfdProfile: k8sName(p.bfdProfile) }),
        })),
      ),
      bfdProfiles: sorted(config.bfdProfiles.map((b) => ({ ...b, name: k8sName(b.name) }))),
    };
  }

  it('has the inputs of the config tests', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(9);
  });

  it.each(inputs)('%s', (_what, text) => {
    const original = readConfigFile(text);
    if (!original.ok) throw new Error(original.errors.join('\n'));
    const converted = convertConfig(original.config);
    if (!converted.ok) throw new Error(converted.errors.join('\n'));
    // Through YAML, as a user would apply it.
    const { objects, errors } = parseResourceDocuments(resourcesToYAML(converted.resources));
    expect(errors).toEqual([]);
    const decoded = decodeResources(objects, { namespace: 'portico-system' });
    if (!decoded.ok) throw new Error(decoded.errors.join('\n'));
    expect(comparable(decoded.config)).toEqual(comparable(original.config));
  });

  it('an echo-mode BFD profile on a peer that gets an IPv6 pool: the ConfigMap accepts it, the CRs do not (MetalLB does the same)', () => {
    const text = everyKey.replace('echo-mode: false', 'echo-mode: true');
    const original = readConfigFile(text);
    expect(original.ok).toBe(true);
    if (!original.ok) return;
    const converted = convertConfig(original.config);
    if (!converted.ok) throw new Error(converted.errors.join('\n'));
    const decoded = decodeResources(parseResourceDocuments(resourcesToYAML(converted.resources)).objects);
    expect(decoded.ok ? [] : decoded.errors).toEqual([
      'BGPAdvertisement "bgpadvertisement1": IPAddressPool "public-ips" has IPv6 addresses and goes to BGPPeer "peer1", whose BFD profile "fast-bfd" enables echo mode, which is not possible',
      'BGPAdvertisement "bgpadvertisement2": IPAddressPool "public-ips" has IPv6 addresses and goes to BGPPeer "peer1", whose BFD profile "fast-bfd" enables echo mode, which is not possible',
    ]);
  });
});
