/**
 * What a node announces when the configuration comes from MetalLB's custom resources: a pool is
 * announced only where an advertisement selects it. Table-driven over every selector field
 * (L2Advertisement nodeSelectors, interfaces, serviceSelectors, preferredNodeSelectors;
 * BGPAdvertisement nodeSelectors, peers, serviceSelectors; BGPPeer nodeSelectors; several
 * advertisements of one pool), then a property test of the layer-2 election among the selected
 * nodes. Every case decides with the objects as the speaker's caches keep them too.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Config, decodeResources } from '@portico/config';
import { decide, type Decision } from '../src/decide.js';
import { rankNodes } from '../src/election.js';
import { sliceAsRead, slicesByService } from '../src/endpoints.js';
import { nodeAsRead } from '../src/nodes.js';
import { serviceAsRead } from '../src/service.js';
import { node, service, slice } from './fixtures.js';

type Obj = Record<string, unknown>;
const v1 = 'metallb.io/v1beta1';
const res = (kind: string, name: string, spec: Obj, apiVersion = v1): Obj => ({
  apiVersion,
  kind,
  metadata: { name },
  spec,
});
const l2Pool = res('IPAddressPool', 'l2', { addresses: ['198.51.100.0/24', '2001:db8:1::/120'] });
const bgpPool = res('IPAddressPool', 'bgp', { addresses: ['203.0.113.0/24'] });
const l2 = (name: string, spec: Obj = {}) =>
  res('L2Advertisement', name, { ipAddressPools: ['l2'], ...spec });
const bgpAd = (name: string, spec: Obj = {}) =>
  res('BGPAdvertisement', name, { ipAddressPools: ['bgp'], ...spec });
const peer = (name: string, address: string, spec: Obj = {}) =>
  res('BGPPeer', name, { myASN: 64500, peerASN: 64501, peerAddress: address, ...spec }, 'metallb.io/v1beta2');
const r1 = peer('r1', '192.0.2.1');
const r2 = peer('r2', '192.0.2.2');

function configOf(objects: Obj[]): Config {
  const result = decodeResources(objects);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

const L2_IP = '198.51.100.10';
const BGP_IP = '203.0.113.9';
/** Four nodes in two zones and two racks. */
const NODES: V1Node[] = [
  node('a1', { labels: { zone: 'a', rack: 'r1', edge: 'true' } }),
  node('a2', { labels: { zone: 'a', rack: 'r2' } }),
  node('b1', { labels: { zone: 'b', rack: 'r1' } }),
  node('b2', { labels: { zone: 'b', rack: 'r2', edge: 'true' } }),
];
const NAMES = NODES.map((n) => n.metadata!.name!);

interface Case {
  config: Obj[];
  services?: V1Service[];
  slices?: V1EndpointSlice[];
  dead?: string[];
}

const everywhere = (name: string) =>
  slice(
    name,
    NAMES.map((n) => ({ node: n })),
  );

function run(self: string, c: Case): Decision {
  const config = configOf(c.config);
  const services = c.services ?? [service('s', [L2_IP, BGP_IP])];
  const slices = c.slices ?? services.map((s) => everywhere(s.metadata!.name!));
  const input = (svcs: V1Service[], sls: V1EndpointSlice[], nodes: V1Node[]) => ({
    node: self,
    config,
    services: svcs,
    slices: slicesByService(sls),
    nodes,
    alive: (n: string) => !(c.dead ?? []).includes(n),
    claims: () => undefined,
    localAsn: 64500,
  });
  const whole = decide(input(services, slices, NODES));
  const asRead = decide(input(services.map(serviceAsRead), slices.map(sliceAsRead), NODES.map(nodeAsRead)));
  expect(asRead).toEqual(whole);
  return whole;
}

/** The nodes announcing the layer-2 IP, asking every node. */
function l2Owners(c: Case, ip = L2_IP): string[] {
  return NAMES.filter((n) => run(n, c).layer2.has(ip));
}
/** The best-ranked of some nodes for the layer-2 IP (the owner when nobody claims it yet). */
const best = (nodes: string[], ip = L2_IP) => rankNodes(ip, nodes)[0];

describe('L2Advertisement: which nodes answer', () => {
  const cases: Array<{ name: string; spec: Obj; selected: string[] }> = [
    { name: 'no nodeSelectors: every node', spec: {}, selected: NAMES },
    {
      name: 'matchLabels',
      spec: { nodeSelectors: [{ matchLabels: { zone: 'b' } }] },
      selected: ['b1', 'b2'],
    },
    {
      name: 'matchLabels with two labels (both must hold)',
      spec: { nodeSelectors: [{ matchLabels: { zone: 'a', rack: 'r2' } }] },
      selected: ['a2'],
    },
    {
      name: 'matchExpressions In',
      spec: { nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'In', values: ['r1'] }] }] },
      selected: ['a1', 'b1'],
    },
    {
      name: 'matchExpressions NotIn',
      spec: { nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }] },
      selected: ['b1', 'b2'],
    },
    {
      name: 'matchExpressions Exists',
      spec: { nodeSelectors: [{ matchExpressions: [{ key: 'edge', operator: 'Exists' }] }] },
      selected: ['a1', 'b2'],
    },
    {
      name: 'matchExpressions DoesNotExist',
      spec: { nodeSelectors: [{ matchExpressions: [{ key: 'edge', operator: 'DoesNotExist' }] }] },
      selected: ['a2', 'b1'],
    },
    {
      name: 'several selectors: any one matching selects the node',
      spec: {
        nodeSelectors: [{ matchLabels: { zone: 'b', rack: 'r1' } }, { matchLabels: { edge: 'true' } }],
      },
      selected: ['a1', 'b1', 'b2'],
    },
    {
      name: 'matchLabels and matchExpressions in one selector (both must hold)',
      spec: {
        nodeSelectors: [
          { matchLabels: { zone: 'a' }, matchExpressions: [{ key: 'edge', operator: 'DoesNotExist' }] },
        ],
      },
      selected: ['a2'],
    },
    {
      name: 'no node matches: nobody answers',
      spec: { nodeSelectors: [{ matchLabels: { zone: 'c' } }] },
      selected: [],
    },
  ];
  for (const { name, spec, selected } of cases) {
    it(name, () => {
      const c: Case = { config: [l2Pool, l2('adv', spec)] };
      expect(l2Owners(c)).toEqual(selected.length > 0 ? [best(selected)] : []);
      // Every node agrees on the owner, selected or not.
      for (const n of NAMES) expect(run(n, c).services.get('default/s')?.layer2Owner).toBe(best(selected));
    });
  }

  it('several advertisements of one pool: the nodes of any of them', () => {
    const c: Case = {
      config: [
        l2Pool,
        l2('zone-a', { nodeSelectors: [{ matchLabels: { zone: 'a', rack: 'r1' } }] }),
        l2('b2', { nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'b2' } }] }),
      ],
    };
    expect(l2Owners(c)).toEqual([best(['a1', 'b2'])]);
  });

  it('the election is among the selected live nodes: a dead selected node fails over to the other', () => {
    const config = [l2Pool, l2('adv', { nodeSelectors: [{ matchLabels: { zone: 'b' } }] })];
    const first = best(['b1', 'b2'])!;
    const other = first === 'b1' ? 'b2' : 'b1';
    expect(l2Owners({ config, dead: [first] })).toEqual([other]);
    // Both selected nodes dead: nobody answers, though unselected nodes are alive.
    const c: Case = { config, dead: ['b1', 'b2'] };
    expect(l2Owners(c)).toEqual([]);
    expect(run('a1', c).services.get('default/s')?.reason).toBe('noLiveCandidate');
  });

  it('externalTrafficPolicy Local: eligible means selected and with a ready endpoint', () => {
    const config = [l2Pool, l2('adv', { nodeSelectors: [{ matchLabels: { zone: 'b' } }] })];
    const services = [service('s', [L2_IP], { local: true })];
    expect(l2Owners({ config, services, slices: [slice('s', [{ node: 'a1' }, { node: 'b2' }])] })).toEqual([
      'b2',
    ]);
    // The only endpoint is on a node the advertisement does not select: nobody answers.
    expect(l2Owners({ config, services, slices: [slice('s', [{ node: 'a1' }])] })).toEqual([]);
  });
});

describe('L2Advertisement interfaces', () => {
  const owner = (c: Case) => run(l2Owners(c)[0]!, c);
  const cases: Array<{ name: string; ads: Obj[]; interfaces: string[] | undefined }> = [
    { name: 'none listed: every interface', ads: [l2('adv')], interfaces: undefined },
    { name: 'one list', ads: [l2('adv', { interfaces: ['eth1'] })], interfaces: ['eth1'] },
    {
      name: 'two advertisements selecting the owner: the union',
      ads: [l2('x', { interfaces: ['eth2', 'eth1'] }), l2('y', { interfaces: ['bond0', 'eth1'] })],
      interfaces: ['bond0', 'eth1', 'eth2'],
    },
    {
      name: 'one of them lists none: every interface',
      ads: [l2('x', { interfaces: ['eth1'] }), l2('y')],
      interfaces: undefined,
    },
  ];
  for (const { name, ads, interfaces } of cases) {
    it(name, () => {
      const d = owner({ config: [l2Pool, ...ads] });
      expect(d.layer2Interfaces.get(L2_IP)).toEqual(interfaces);
      expect(d.services.get('default/s')?.layer2Interfaces).toEqual(interfaces);
    });
  }

  it('an advertisement that does not select the owner does not add its interfaces', () => {
    // eth9 is for zone b; eth1 for zone a only. The owner answers on its own zone's list.
    const config = [
      l2Pool,
      l2('a', { nodeSelectors: [{ matchLabels: { zone: 'a' } }], interfaces: ['eth1'] }),
      l2('b', { nodeSelectors: [{ matchLabels: { zone: 'b' } }], interfaces: ['eth9'] }),
    ];
    const o = l2Owners({ config })[0]!;
    const zone = NODES.find((n) => n.metadata!.name === o)!.metadata!.labels!.zone;
    expect(run(o, { config }).layer2Interfaces.get(L2_IP)).toEqual(zone === 'a' ? ['eth1'] : ['eth9']);
  });

  it('a dual-stack Service: both IPs on one node, each with its interfaces', () => {
    const c: Case = {
      config: [l2Pool, l2('adv', { interfaces: ['eth1'] })],
      services: [service('s', [L2_IP, '2001:db8:1::10'])],
    };
    const d = owner(c);
    expect([...d.layer2.keys()].sort()).toEqual(['198.51.100.10', '2001:db8:1::10']);
    expect(d.layer2Interfaces.get('2001:db8:1::10')).toEqual(['eth1']);
  });
});

describe('L2Advertisement serviceSelectors and preferredNodeSelectors', () => {
  const withLabels = (name: string, labels: Record<string, string>, annotations?: Record<string, string>) => {
    const s = service(name, [L2_IP]);
    s.metadata!.labels = labels;
    if (annotations) s.metadata!.annotations = annotations;
    return s;
  };
  const selective = l2('web', {
    serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }],
    nodeSelectors: [{ matchLabels: { zone: 'a' } }],
  });

  it('a Service the selectors match is announced, through that advertisement only', () => {
    const c: Case = {
      config: [l2Pool, selective, l2('rest', { nodeSelectors: [{ matchLabels: { zone: 'b' } }] })],
    };
    expect(l2Owners({ ...c, services: [withLabels('s', { app: 'web' })] })).toEqual([best(['a1', 'a2'])]);
  });

  it('a Service no advertisement matches is not announced by layer 2', () => {
    const c: Case = { config: [l2Pool, selective], services: [withLabels('s', { app: 'db' })] };
    expect(l2Owners(c)).toEqual([]);
    expect(run('a1', c).services.get('default/s')?.reason).toBe('noMatchingAdvertisement');
  });

  for (const annotation of [
    'metallb.io/allow-shared-ip',
    'metallb.universe.tf/allow-shared-ip',
    'portico.dev/allow-shared-ip',
  ])
    it(`${annotation} with serviceSelectors: not announced, as MetalLB refuses the mix`, () => {
      const c: Case = {
        config: [l2Pool, selective],
        services: [withLabels('s', { app: 'web' }, { [annotation]: 'key' })],
      };
      expect(l2Owners(c)).toEqual([]);
      expect(run('a1', c).services.get('default/s')?.reason).toBe('sharedIPWithServiceSelector');
    });

  it('preferredNodeSelectors: the highest total weight wins; the hash orders equal weights', () => {
    const prefer = (weights: Array<[Record<string, string>, number]>) =>
      l2('adv', {
        preferredNodeSelectors: weights.map(([l, w]) => ({ weight: w, preference: { matchLabels: l } })),
      });
    expect(l2Owners({ config: [l2Pool, prefer([[{ 'kubernetes.io/hostname': 'b1' }, 10]])] })).toEqual([
      'b1',
    ]);
    // zone b (10) + edge (20) = 30 for b2; a1 has edge only (20).
    expect(
      l2Owners({
        config: [
          l2Pool,
          prefer([
            [{ zone: 'b' }, 10],
            [{ edge: 'true' }, 20],
          ]),
        ],
      }),
    ).toEqual(['b2']);
    expect(l2Owners({ config: [l2Pool, prefer([[{ edge: 'true' }, 5]])] })).toEqual([best(['a1', 'b2'])]);
    // A preferred node that is dead does not stop the others.
    const dead = { config: [l2Pool, prefer([[{ 'kubernetes.io/hostname': 'b1' }, 10]])], dead: ['b1'] };
    expect(l2Owners(dead)).toEqual([best(['a1', 'a2', 'b2'])]);
  });
});

describe('BGPAdvertisement and BGPPeer selectors', () => {
  const services = [service('s', [BGP_IP])];
  const prefixes = (d: Decision) => d.bgp.map((r) => r.prefix);

  const nodeCases: Array<{ name: string; spec: Obj; selected: string[] }> = [
    { name: 'no nodeSelectors: every node advertises', spec: {}, selected: NAMES },
    {
      name: 'matchLabels',
      spec: { nodeSelectors: [{ matchLabels: { rack: 'r2' } }] },
      selected: ['a2', 'b2'],
    },
    {
      name: 'matchExpressions',
      spec: { nodeSelectors: [{ matchExpressions: [{ key: 'edge', operator: 'Exists' }] }] },
      selected: ['a1', 'b2'],
    },
  ];
  for (const { name, spec, selected } of nodeCases)
    it(`nodeSelectors, ${name}`, () => {
      const c: Case = { config: [bgpPool, bgpAd('adv', spec), r1], services };
      for (const n of NAMES) {
        const d = run(n, c);
        expect(prefixes(d)).toEqual(selected.includes(n) ? ['203.0.113.9/32'] : []);
        expect(d.services.get('default/s')?.reason).toBe(
          selected.includes(n) ? undefined : 'nodeNotSelected',
        );
        expect(d.services.get('default/s')?.bgpPeers).toEqual(selected.includes(n) ? ['r1'] : undefined);
      }
    });

  it('peers: announced to the listed peer only; other sessions do not get it', () => {
    const c: Case = { config: [bgpPool, bgpAd('adv', { peers: ['r1'] }), r1, r2], services };
    const d = run('a1', c);
    expect(prefixes(d)).toEqual(['203.0.113.9/32']);
    expect(d.bgpByPeer.get('192.0.2.1')?.map((r) => r.prefix)).toEqual(['203.0.113.9/32']);
    expect(d.bgpByPeer.get('192.0.2.2')).toEqual([]);
    expect(d.services.get('default/s')?.bgpPeers).toEqual(['r1']);
  });

  it('no advertisement names peers: one table for every session', () => {
    const d = run('a1', { config: [bgpPool, bgpAd('adv'), r1, r2], services });
    expect(d.bgpByPeer.size).toBe(0);
    expect(d.services.get('default/s')?.bgpPeers).toEqual(['r1', 'r2']);
  });

  it('several advertisements: one announcement each, with its own attributes and peers', () => {
    const c: Case = {
      config: [
        bgpPool,
        res('Community', 'names', { communities: [{ name: 'tag', value: 'large:64500:1:2' }] }),
        bgpAd('host', { peers: ['r1'], localPref: 200, communities: ['64500:7', 'tag'] }),
        bgpAd('block', { peers: ['r2'], aggregationLength: 24, communities: ['64500:8'] }),
        r1,
        r2,
      ],
      services,
    };
    const d = run('b1', c);
    expect(d.bgpByPeer.get('192.0.2.1')).toEqual([
      { prefix: '203.0.113.9/32', localPref: 200, communities: ['64500:7'], largeCommunities: ['64500:1:2'] },
    ]);
    expect(d.bgpByPeer.get('192.0.2.2')).toEqual([
      { prefix: '203.0.113.0/24', localPref: 0, communities: ['64500:8'] },
    ]);
    expect(prefixes(d)).toEqual(['203.0.113.0/24', '203.0.113.9/32']);
  });

  it('two advertisements of one prefix for different peers: each peer gets its own attributes', () => {
    const c: Case = {
      config: [
        bgpPool,
        bgpAd('x', { peers: ['r1'], communities: ['64500:1'] }),
        bgpAd('y', { peers: ['r2'], communities: ['64500:2'] }),
        r1,
        r2,
      ],
      services,
    };
    const d = run('a1', c);
    expect(d.bgpByPeer.get('192.0.2.1')?.[0]?.communities).toEqual(['64500:1']);
    expect(d.bgpByPeer.get('192.0.2.2')?.[0]?.communities).toEqual(['64500:2']);
    // What the speaker holds: the union.
    expect(d.bgp[0]?.communities).toEqual(['64500:1', '64500:2']);
  });

  it('BGPPeer nodeSelectors: the session exists only on the selected nodes', () => {
    const rackPeer = peer('tor', '192.0.2.3', { nodeSelectors: [{ matchLabels: { rack: 'r2' } }] });
    const c: Case = { config: [bgpPool, bgpAd('adv', { peers: ['tor'] }), r1, rackPeer], services };
    // a1 (rack r1) has only r1, which the advertisement does not name: nothing goes out.
    const a1 = run('a1', c);
    expect(prefixes(a1)).toEqual([]);
    expect(a1.bgpByPeer.get('192.0.2.1')).toEqual([]);
    expect(a1.services.get('default/s')?.bgpPeers).toBeUndefined();
    const a2 = run('a2', c);
    expect(a2.bgpByPeer.get('192.0.2.3')?.map((r) => r.prefix)).toEqual(['203.0.113.9/32']);
    expect(a2.services.get('default/s')?.bgpPeers).toEqual(['tor']);
  });

  it('serviceSelectors: only matching Services are advertised', () => {
    const web = service('web', [BGP_IP]);
    web.metadata!.labels = { tier: 'front' };
    const db = service('db', ['203.0.113.20']);
    const c: Case = {
      config: [bgpPool, bgpAd('adv', { serviceSelectors: [{ matchLabels: { tier: 'front' } }] }), r1],
      services: [web, db],
    };
    const d = run('a1', c);
    expect(prefixes(d)).toEqual(['203.0.113.9/32']);
    expect(d.services.get('default/db')?.reason).toBe('noMatchingAdvertisement');
  });
});

describe('property: layer-2 election among the selected nodes', () => {
  const zone = fc.constantFrom('a', 'b', 'c');
  const nodeArb = fc.record({ zone, edge: fc.boolean(), dead: fc.boolean() });
  it('exactly the best-ranked selected live node answers, whatever the order of nodes and advertisements', () => {
    fc.assert(
      fc.property(
        fc.array(nodeArb, { minLength: 1, maxLength: 6 }),
        fc.subarray(['a', 'b', 'c'] as const),
        fc.boolean(),
        fc.integer({ min: 0, max: 255 }),
        fc.integer(),
        (specs, zones, edgeOnly, lastOctet, seed) => {
          const nodes = specs.map((s, i) =>
            node(`n${i}`, { labels: { zone: s.zone, ...(s.edge ? { edge: 'true' } : {}) } }),
          );
          const dead = specs.flatMap((s, i) => (s.dead ? [`n${i}`] : []));
          const ads = [
            l2('zones', { nodeSelectors: zones.map((z) => ({ matchLabels: { zone: z } })) }),
            ...(edgeOnly
              ? [l2('edge', { nodeSelectors: [{ matchExpressions: [{ key: 'edge', operator: 'Exists' }] }] })]
              : []),
          ];
          const ip = `198.51.100.${lastOctet}`;
          const selected = specs.flatMap((s, i) =>
            (zones.length === 0 || zones.includes(s.zone) || (edgeOnly && s.edge)) && !s.dead
              ? [`n${i}`]
              : [],
          );
          const expected = selected.length > 0 ? rankNodes(ip, selected)[0] : undefined;
          const shuffle = <T>(xs: T[]) => {
            const out = [...xs];
            let r = Math.abs(seed) + 1;
            for (let i = out.length - 1; i > 0; i--) {
              r = (r * 1103515245 + 12345) % 2 ** 31;
              const j = r % (i + 1);
              [out[i], out[j]] = [out[j]!, out[i]!];
            }
            return out;
          };
          for (const order of [
            { nodes, ads },
            { nodes: shuffle(nodes), ads: shuffle(ads) },
          ]) {
            const config = configOf([l2Pool, ...order.ads]);
            const answering = nodes
              .map((n) => n.metadata!.name!)
              .filter((self) =>
                decide({
                  node: self,
                  config,
                  services: [service('s', [ip])],
                  slices: slicesByService([
                    slice(
                      's',
                      nodes.map((n) => ({ node: n.metadata!.name! })),
                    ),
                  ]),
                  nodes: order.nodes,
                  alive: (n) => !dead.includes(n),
                  claims: () => undefined,
                  localAsn: 64500,
                }).layer2.has(ip),
              );
            expect(answering).toEqual(expected === undefined ? [] : [expected]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
