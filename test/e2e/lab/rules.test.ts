/**
 * The lab's pure parts, no root needed: the kube-proxy stand-in's forwarding rules (Local vs
 * Cluster, readiness, port names) and the address plan (a valid MetalLB ConfigMap, metallb.io
 * resources that decode to the same configuration, names that fit in an interface name, ranges
 * that do not overlap).
 */
import { decodeResources, parseConfig, poolProtocols, type Config } from '@portico/config';
import { describe, expect, it } from 'vitest';
import {
  convertedPoolResources,
  poolResources,
  NODES,
  PINNED_POOL,
  PREFIX,
  poolConfig,
  POOLS,
  podIp,
  SEGMENT,
  forwardingRules,
  type EndpointSlice,
  type Service,
} from '@portico/lab';

const service = (
  name: string,
  policy: 'Local' | 'Cluster',
  ips: string[],
  type = 'LoadBalancer',
): Service => ({
  metadata: { namespace: 'default', name },
  spec: { type, externalTrafficPolicy: policy, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});

const slice = (
  svc: string,
  endpoints: Array<[address: string, node: string, ready?: boolean]>,
  portName = 'http',
): EndpointSlice => ({
  metadata: { namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  ports: [{ name: portName, port: 8080 }],
  endpoints: endpoints.map(([a, node, ready]) => ({
    addresses: [a],
    nodeName: node,
    conditions: ready === undefined ? {} : { ready },
  })),
});

const endpoints = slice('web', [
  ['192.0.2.129', 'plab-n1'],
  ['192.0.2.145', 'plab-n2', true],
  ['192.0.2.161', 'plab-n3', false],
]);

describe('kube-proxy stand-in rules', () => {
  it.each([
    ['Cluster', 'plab-n3', ['192.0.2.129:8080', '192.0.2.145:8080']],
    ['Local', 'plab-n1', ['192.0.2.129:8080']],
    ['Local', 'plab-n2', ['192.0.2.145:8080']],
    ['Local', 'plab-n3', []], // its only endpoint is not ready
  ] as const)('%s policy on %s forwards to %j', (policy, node, want) => {
    const rules = forwardingRules([service('web', policy, ['203.0.113.40'])], [endpoints], node);
    expect([...rules.keys()]).toEqual(['203.0.113.40:80']);
    expect(rules.get('203.0.113.40:80')!.targets).toEqual(want);
  });

  it('listens on every allocated IP, IPv6 in brackets', () => {
    const rules = forwardingRules(
      [service('web', 'Cluster', ['203.0.113.40', '2001:db8:203::100'])],
      [endpoints],
      'x',
    );
    expect([...rules.keys()].sort()).toEqual(['203.0.113.40:80', '[2001:db8:203::100]:80']);
    expect(rules.get('[2001:db8:203::100]:80')).toMatchObject({ ip: '2001:db8:203::100', port: 80 });
  });

  it('ignores other Service types, Services without IPs, other Services slices and other port names', () => {
    const rules = forwardingRules(
      [
        service('web', 'Cluster', ['203.0.113.40']),
        service('internal', 'Cluster', ['203.0.113.41'], 'ClusterIP'),
        service('pending', 'Cluster', []),
      ],
      [slice('other', [['192.0.2.130', 'plab-n1']]), slice('web', [['192.0.2.131', 'plab-n1']], 'metrics')],
      'plab-n1',
    );
    expect([...rules.keys()]).toEqual(['203.0.113.40:80']);
    expect(rules.get('203.0.113.40:80')!.targets).toEqual([]);
  });
});

/**
 * A configuration with what differs only by where it came from taken out: the resources give every
 * advertisement and peer a name (the ConfigMap has none) and list pools in name order.
 */
function comparable(config: Config): unknown {
  // Addresses are parsed to bigints, which JSON.stringify refuses by default.
  const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x));
  const byJson = <T>(items: readonly T[]) => [...items].sort((a, b) => (json(a) < json(b) ? -1 : 1));
  return {
    ...config,
    pools: byJson(
      config.pools.map((p) => ({
        ...p,
        l2Advertisements: byJson(p.l2Advertisements.map(({ name: _n, ...ad }) => ad)),
        bgpAdvertisements: byJson(p.bgpAdvertisements.map(({ name: _n, ...ad }) => ad)),
      })),
    ),
    peers: byJson(config.peers.map(({ name: _n, ...peer }) => peer)),
  };
}

describe('lab address plan', () => {
  it('the pools ConfigMap is valid MetalLB configuration with both pools and both router peers', () => {
    const parsed = parseConfig(poolConfig());
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const { pools, peers } = parsed.config;
    expect(pools.map((p) => [p.name, poolProtocols(p), p.autoAssign])).toEqual([
      [POOLS.layer2.name, ['layer2'], true],
      [POOLS.bgp.name, ['bgp'], false],
    ]);
    expect(peers.map((p) => [p.peerAddress, p.peerASN, p.myASN])).toEqual([
      ['203.0.113.1', 64500, 64501],
      ['2001:db8:203::1', 64500, 64501],
    ]);
  });

  it('the pools as metallb.io resources decode to the same configuration as the ConfigMap', () => {
    const fromConfigMap = parseConfig(poolConfig());
    if (!fromConfigMap.ok) throw new Error(fromConfigMap.errors.join('; '));
    // The converted part only: the pinned pool is written as resources alone (next test).
    const resources = convertedPoolResources();
    expect(
      resources.map((r) => `${r.apiVersion} ${r.kind} ${r.metadata.namespace}/${r.metadata.name}`),
    ).toEqual([
      'metallb.io/v1beta2 BGPPeer portico-system/peer1',
      'metallb.io/v1beta2 BGPPeer portico-system/peer2',
      'metallb.io/v1beta1 IPAddressPool portico-system/lab-layer2',
      'metallb.io/v1beta1 IPAddressPool portico-system/lab-bgp',
      'metallb.io/v1beta1 BGPAdvertisement portico-system/bgpadvertisement1',
      'metallb.io/v1beta1 L2Advertisement portico-system/l2advertisement1',
    ]);
    const decoded = decodeResources(resources, { namespace: 'portico-system' });
    if (!decoded.ok) throw new Error(decoded.errors.join('; '));
    expect(decoded.notices).toEqual([]);
    expect(comparable(decoded.config)).toEqual(comparable(fromConfigMap.config));
    // And not because both are empty: the lab's pools, peers and advertisements are there.
    expect(
      decoded.config.pools.map((p) => [p.name, poolProtocols(p), p.autoAssign, p.avoidBuggyIPs]),
    ).toEqual([
      // In name order, as resources are read.
      [POOLS.bgp.name, ['bgp'], false, true],
      [POOLS.layer2.name, ['layer2'], true, false],
    ]);
    expect(decoded.config.peers).toHaveLength(2);
  });

  it('the lab writes the converted pools and the pinned pool: one node by hostname, one interface', () => {
    const resources = poolResources();
    expect(resources.map((r) => `${r.kind} ${r.metadata.name}`).slice(-2)).toEqual([
      'IPAddressPool lab-pinned',
      'L2Advertisement lab-pinned',
    ]);
    expect(resources).toHaveLength(convertedPoolResources().length + 2);
    const decoded = decodeResources(resources, { namespace: 'portico-system' });
    if (!decoded.ok) throw new Error(decoded.errors.join('; '));
    expect(decoded.notices).toEqual([]);
    expect(decoded.config.pools.map((p) => p.name)).toEqual(['lab-bgp', 'lab-layer2', 'lab-pinned']);
    const pinned = decoded.config.pools.find((p) => p.name === PINNED_POOL.name)!;
    expect([poolProtocols(pinned), pinned.autoAssign, pinned.bgpAdvertisements]).toEqual([
      ['layer2'],
      false,
      [],
    ]);
    expect(pinned.l2Advertisements).toHaveLength(1);
    const [ad] = pinned.l2Advertisements;
    expect(ad!.interfaces).toEqual(['plab-n2-eth0']);
    expect(JSON.stringify(ad!.nodeSelectors)).toContain('"kubernetes.io/hostname"');
    expect(JSON.stringify(ad!.nodeSelectors)).toContain('"plab-n2"');
  });

  it('the pinned pool lies in the segment, outside the layer-2 pool and every host address', () => {
    const [v4cidr] = PINNED_POOL.addresses;
    const v4 = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const range = (cidr: string) => {
      const [base, len] = cidr.split('/');
      return [v4(base!), v4(base!) + 2 ** (32 - Number(len)) - 1] as const;
    };
    const [lo, hi] = range(v4cidr!);
    const [segLo, segHi] = range(SEGMENT.ipv4);
    expect(lo > segLo && hi < segHi).toBe(true);
    const [l2Lo, l2Hi] = range(POOLS.layer2.addresses[0]!);
    expect(hi < l2Lo || lo > l2Hi).toBe(true);
    for (const host of [SEGMENT.router4, SEGMENT.host4, ...NODES.map((n) => n.ipv4)])
      expect(v4(host) < lo || v4(host) > hi).toBe(true);
    // IPv6: 2001:db8:203::200/126 in the segment's /64, away from ::100/124 and the hosts (::1 to ::fe).
    expect(PINNED_POOL.addresses[1]).toMatch(/^2001:db8:203::2[0-9a-f]{2}\/12[4-8]$/);
    expect(PINNED_POOL.node.name).toBe('plab-n2');
  });

  it('interface names fit in 15 characters and carry the lab prefix', () => {
    for (const n of NODES) {
      expect(n.link.length).toBeLessThanOrEqual(15);
      expect(n.link.startsWith(`${PREFIX}-`)).toBe(true);
    }
  });

  it('pod addresses stay inside their node range and outside the pools', () => {
    const v4 = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const inCidr = (a: string, cidr: string) => {
      const [base, len] = cidr.split('/');
      const size = 2 ** (32 - Number(len));
      return v4(a) >= v4(base!) && v4(a) < v4(base!) + size;
    };
    for (const n of NODES)
      for (const i of [1, 14]) {
        const ip = podIp(n, i);
        expect(inCidr(ip, n.podCidr)).toBe(true);
        for (const pool of [POOLS.layer2, POOLS.bgp, PINNED_POOL])
          for (const cidr of pool.addresses.filter((c) => !c.includes(':')))
            expect(inCidr(ip, cidr)).toBe(false);
      }
  });
});
