import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from '../src/decide.js';
import { rankNodes } from '../src/election.js';
import { sliceAsRead, slicesByService } from '../src/endpoints.js';
import { EXCLUDE_LABEL, nodeAsRead } from '../src/nodes.js';
import { serviceAsRead } from '../src/service.js';
import { config, type Ep, node, service, slice } from './fixtures.js';

const NODES = ['n1', 'n2', 'n3'];
const L2_IP = '198.51.100.10';
const BGP_IP = '203.0.113.9';

interface Case {
  services: V1Service[];
  slices?: V1EndpointSlice[];
  nodes?: V1Node[];
  dead?: string[];
  claims?: Record<string, string[]>;
}

/**
 * The decision for SELF; every case also checks that the speaker's caches, which keep only what it
 * reads of each object (serviceAsRead, sliceAsRead, nodeAsRead), lead to the same decision.
 */
function run(self: string, c: Case) {
  const input = (services: V1Service[], slices: V1EndpointSlice[], nodes: V1Node[]): DecisionInput => ({
    node: self,
    config: config(),
    services,
    slices: slicesByService(slices),
    nodes,
    alive: (n) => !(c.dead ?? []).includes(n),
    claims: (n, ip) => (c.claims?.[n] ?? []).includes(ip),
    localAsn: 64500,
  });
  const nodes = c.nodes ?? NODES.map((n) => node(n));
  const whole = decide(input(c.services, c.slices ?? [], nodes));
  const asRead = decide(
    input(c.services.map(serviceAsRead), (c.slices ?? []).map(sliceAsRead), nodes.map(nodeAsRead)),
  );
  expect(asRead).toEqual(whole);
  return whole;
}

/** The node(s) announcing each layer-2 IP, asking every node. */
function layer2Owners(c: Case, nodes = NODES): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const n of nodes)
    for (const ip of run(n, c).layer2.keys()) owners.set(ip, [...(owners.get(ip) ?? []), n]);
  return owners;
}

const everywhere = (name: string, nodes = NODES): V1EndpointSlice =>
  slice(
    name,
    nodes.map((n) => ({ node: n })),
  );
const rank = rankNodes(L2_IP, NODES);

describe('layer2: who announces', () => {
  it.each<[string, Case, string[] | undefined]>([
    [
      'Cluster policy: the best-ranked node',
      { services: [service('a', [L2_IP])], slices: [everywhere('a')] },
      [rank[0]!],
    ],
    [
      'Cluster policy elects among all nodes even if endpoints are on one',
      { services: [service('a', [L2_IP])], slices: [slice('a', [{ node: rank[2]! }])] },
      [rank[0]!],
    ],
    [
      'Local policy: only nodes with a ready endpoint',
      { services: [service('a', [L2_IP], { local: true })], slices: [slice('a', [{ node: rank[2]! }])] },
      [rank[2]!],
    ],
    [
      'Local policy: a not-ready endpoint does not count',
      {
        services: [service('a', [L2_IP], { local: true })],
        slices: [slice('a', [{ node: rank[0]!, ready: false }, { node: rank[1]! }])],
      },
      [rank[1]!],
    ],
    [
      'Local policy: ready unset counts as ready',
      {
        services: [service('a', [L2_IP], { local: true })],
        slices: [slice('a', [{ node: rank[2]!, ready: null }])],
      },
      [rank[2]!],
    ],
    [
      'Local policy: a terminating endpoint does not count',
      {
        services: [service('a', [L2_IP], { local: true })],
        slices: [slice('a', [{ node: rank[0]!, terminating: true }, { node: rank[1]! }])],
      },
      [rank[1]!],
    ],
    [
      'no ready endpoint anywhere: nobody',
      { services: [service('a', [L2_IP])], slices: [slice('a', [{ node: 'n1', ready: false }])] },
      undefined,
    ],
    ['no EndpointSlice at all: nobody', { services: [service('a', [L2_IP])] }, undefined],
    [
      'the dead best node is skipped',
      { services: [service('a', [L2_IP])], slices: [everywhere('a')], dead: [rank[0]!] },
      [rank[1]!],
    ],
    [
      'a NotReady node is skipped',
      {
        services: [service('a', [L2_IP])],
        slices: [everywhere('a')],
        nodes: NODES.map((n) => node(n, { ready: n === rank[0] ? 'False' : 'True' })),
      },
      [rank[1]!],
    ],
    [
      'a node in Ready=Unknown is skipped',
      {
        services: [service('a', [L2_IP])],
        slices: [everywhere('a')],
        nodes: NODES.map((n) => node(n, { ready: n === rank[0] ? 'Unknown' : 'True' })),
      },
      [rank[1]!],
    ],
    [
      'a node with NetworkUnavailable=True is skipped',
      {
        services: [service('a', [L2_IP])],
        slices: [everywhere('a')],
        nodes: NODES.map((n) => node(n, { networkUnavailable: n === rank[0] })),
      },
      [rank[1]!],
    ],
    [
      'an excluded node is skipped',
      {
        services: [service('a', [L2_IP])],
        slices: [everywhere('a')],
        nodes: NODES.map((n) => node(n, n === rank[0] ? { labels: { [EXCLUDE_LABEL]: '' } } : {})),
      },
      [rank[1]!],
    ],
    [
      'sticky: a live claimant keeps the IP although ranked last',
      { services: [service('a', [L2_IP])], slices: [everywhere('a')], claims: { [rank[2]!]: [L2_IP] } },
      [rank[2]!],
    ],
    [
      'a claim by a dead node does not count',
      {
        services: [service('a', [L2_IP])],
        slices: [everywhere('a')],
        claims: { [rank[2]!]: [L2_IP] },
        dead: [rank[2]!],
      },
      [rank[0]!],
    ],
    [
      'Local policy: a claimant that lost its endpoints gives the IP up',
      {
        services: [service('a', [L2_IP], { local: true })],
        slices: [slice('a', [{ node: rank[1]! }])],
        claims: { [rank[0]!]: [L2_IP] },
      },
      [rank[1]!],
    ],
    [
      'two claimants (healed partition): the better-ranked keeps it',
      {
        services: [service('a', [L2_IP])],
        slices: [everywhere('a')],
        claims: { [rank[1]!]: [L2_IP], [rank[2]!]: [L2_IP] },
      },
      [rank[1]!],
    ],
    [
      'a Service of another loadBalancerClass is left alone',
      { services: [service('a', [L2_IP], { class: 'other.example/lb' })], slices: [everywhere('a')] },
      undefined,
    ],
    [
      'a Service that is not LoadBalancer is left alone',
      { services: [service('a', [L2_IP], { type: 'ClusterIP' })], slices: [everywhere('a')] },
      undefined,
    ],
    [
      'an IP outside every pool is not announced',
      { services: [service('a', ['192.0.2.200'])], slices: [everywhere('a')] },
      undefined,
    ],
  ])('%s', (_name, c, expected) => {
    const owners = layer2Owners(c);
    const ip = c.services[0]!.status!.loadBalancer!.ingress![0]!.ip!;
    expect(owners.get(ip)).toEqual(expected);
  });

  it('a node cut off from its peers (not alive to itself) announces nothing, others take over', () => {
    const c: Case = { services: [service('a', [L2_IP])], slices: [everywhere('a')], dead: [rank[0]!] };
    expect(run(rank[0]!, c).layer2.size).toBe(0);
    expect(layer2Owners(c).get(L2_IP)).toEqual([rank[1]]);
  });

  it('Services sharing an IP are all announced from the same node', () => {
    const ips = Array.from({ length: 20 }, (_, i) => `198.51.100.${i + 1}`);
    for (const ip of ips) {
      const c: Case = {
        services: [service('a', [ip]), service('b', [ip]), service('c', [ip, '2001:db8:1::5'])],
        slices: [everywhere('a'), everywhere('b'), everywhere('c')],
      };
      const owners = layer2Owners(c);
      expect(owners.get(ip)).toHaveLength(1);
      const d = run(owners.get(ip)![0]!, c);
      expect(d.layer2.get(ip)).toEqual(['default/a', 'default/b', 'default/c']);
      expect(d.layer2.get('2001:db8:1::5')).toEqual(['default/c']);
    }
  });

  it('spreads IPs over the nodes (the election is not constant)', () => {
    const owners = new Set<string>();
    for (let i = 1; i <= 30; i++) {
      const ip = `198.51.100.${i}`;
      const o = layer2Owners({ services: [service('a', [ip])], slices: [everywhere('a')] }).get(ip);
      expect(o).toHaveLength(1);
      owners.add(o![0]!);
    }
    expect(owners.size).toBe(3);
  });

  it('reports the owner and the reason per Service', () => {
    const d = run('n1', {
      services: [service('a', [L2_IP]), service('b', ['198.51.100.11'])],
      slices: [everywhere('a')],
    });
    expect(d.services.get('default/a')?.layer2Owner).toBe(rank[0]);
    expect(d.services.get('default/b')?.reason).toBe('noEndpoints');
  });
});

describe('bgp: what this node advertises', () => {
  it('Cluster policy: every eligible node, one route per advertisement, with attributes', () => {
    for (const n of NODES) {
      const d = run(n, { services: [service('a', [BGP_IP])], slices: [slice('a', [{ node: 'n3' }])] });
      expect(d.bgp).toEqual([
        { prefix: '203.0.113.0/24', localPref: 0 },
        { prefix: '203.0.113.9/32', localPref: 200, communities: ['65535:65282', '64500:7'] },
      ]);
      expect(d.services.get('default/a')?.protocols).toEqual(['bgp']);
    }
  });

  it('IPv6 uses aggregation-length-v6', () => {
    const d = run('n1', { services: [service('a', ['2001:db8:2::42'])], slices: [everywhere('a')] });
    expect(d.bgp.map((r) => r.prefix)).toEqual(['2001:db8:2::/64', '2001:db8:2::42/128']);
  });

  it('Local policy: only nodes with ready endpoints, weighted by their count', () => {
    const c: Case = {
      services: [service('a', [BGP_IP], { local: true })],
      slices: [slice('a', [{ node: 'n1' }, { node: 'n1' }, { node: 'n2' }, { node: 'n3', ready: false }])],
    };
    const lb = (n: string) => run(n, c).bgp.map((r) => r.extendedCommunities);
    expect(lb('n1')).toEqual([['lb:64500:250000'], ['lb:64500:250000']]);
    expect(lb('n2')).toEqual([['lb:64500:125000'], ['lb:64500:125000']]);
    expect(run('n3', c).bgp).toEqual([]);
    expect(run('n3', c).services.get('default/a')?.reason).toBe('noLocalEndpoints');
  });

  it.each<[string, Ep[]]>([
    ['the last endpoint turns not-ready', [{ node: 'n1', ready: false }]],
    ['the last endpoint starts terminating', [{ node: 'n1', terminating: true }]],
  ])('Local policy withdraws at once when %s', (_name, eps) => {
    const c: Case = { services: [service('a', [BGP_IP], { local: true })], slices: [slice('a', eps)] };
    expect(run('n1', c).bgp).toEqual([]);
  });

  it('an excluded, NotReady or network-unavailable node advertises nothing', () => {
    const nodes = [
      node('n1', { labels: { [EXCLUDE_LABEL]: 'true' } }),
      node('n2', { ready: 'False' }),
      node('n3', { networkUnavailable: true }),
    ];
    for (const n of NODES) {
      const d = run(n, { services: [service('a', [BGP_IP])], slices: [everywhere('a')], nodes });
      expect(d.bgp).toEqual([]);
      expect(d.services.get('default/a')?.reason).toBe('nodeNotEligible');
    }
  });

  it('does not depend on the failure detector (each node speaks for itself)', () => {
    const d = run('n1', {
      services: [service('a', [BGP_IP])],
      slices: [everywhere('a')],
      dead: ['n1', 'n2'],
    });
    expect(d.bgp).toHaveLength(2);
  });

  it('Services aggregated into one prefix give one route; bandwidths add up', () => {
    const c: Case = {
      services: [service('a', [BGP_IP], { local: true }), service('b', ['203.0.113.10'], { local: true })],
      slices: [slice('a', [{ node: 'n1' }]), slice('b', [{ node: 'n1' }, { node: 'n1' }])],
    };
    const routes = run('n1', c).bgp;
    expect(routes.map((r) => r.prefix)).toEqual(['203.0.113.0/24', '203.0.113.10/32', '203.0.113.9/32']);
    expect(routes[0]!.extendedCommunities).toEqual(['lb:64500:375000']);
  });

  it('a Service with no endpoints is not advertised', () => {
    expect(run('n1', { services: [service('a', [BGP_IP])] }).bgp).toEqual([]);
  });

  it('dual-protocol Service: the layer-2 IP elected, the bgp IP advertised everywhere', () => {
    const c: Case = { services: [service('a', [L2_IP, BGP_IP])], slices: [everywhere('a')] };
    expect(layer2Owners(c).get(L2_IP)).toEqual([rank[0]]);
    for (const n of NODES) expect(run(n, c).bgp).toHaveLength(2);
  });
});
