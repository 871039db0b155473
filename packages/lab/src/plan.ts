/**
 * The lab's address plan and names: one place to read where everything lives.
 *
 * Every network namespace and link name starts with `plab` so the lab never collides with
 * anything else on the host. Addresses come from the documentation ranges (RFC 5737, RFC 3849).
 *
 *   plab-client 198.51.100.10 ── plab-r1 (router, AS 64500) ── segment 203.0.113.0/24 (bridge in plab-sw)
 *                                 203.0.113.1                   ├── plab-n1 203.0.113.11 (AS 64501)
 *                                                               ├── plab-n2 203.0.113.12
 *                                                               ├── plab-n3 203.0.113.13
 *                                                               └── host    203.0.113.254 (API server)
 */

export const PREFIX = 'plab';
export const SWITCH = `${PREFIX}-sw`;
export const BRIDGE = 'br0';
export const ROUTER = `${PREFIX}-r1`;
export const CLIENT = `${PREFIX}-client`;
/** The host's end of the veth into the segment: the API server listens on its address. */
export const HOST_LINK = `${PREFIX}-host`;

export interface LabNode {
  /** Network namespace name, also the Kubernetes Node name. */
  name: string;
  /** The node's interface on the segment (inside its namespace). */
  link: string;
  ipv4: string;
  ipv6: string;
  /** Pod addresses on this node come from here (a /28 each, routed via the node's address). */
  podCidr: string;
}

export const NODES: LabNode[] = [1, 2, 3].map((i) => ({
  name: `${PREFIX}-n${i}`,
  link: `${PREFIX}-n${i}-eth0`,
  ipv4: `203.0.113.${10 + i}`,
  ipv6: `2001:db8:203::${10 + i}`,
  podCidr: `192.0.2.${112 + 16 * i}/28`,
}));

/** The n-th pod address (n from 1 to 14) on a node. */
export function podIp(node: LabNode, n: number): string {
  const base = Number(node.podCidr.split('/')[0]!.split('.')[3]);
  return `192.0.2.${base + n}`;
}

export const SEGMENT = {
  ipv4: '203.0.113.0/24',
  ipv6: '2001:db8:203::/64',
  router4: '203.0.113.1',
  router6: '2001:db8:203::1',
  host4: '203.0.113.254',
  host6: '2001:db8:203::fe',
};

export const OUTSIDE = {
  ipv4: '198.51.100.0/24',
  ipv6: '2001:db8:198::/64',
  router4: '198.51.100.1',
  router6: '2001:db8:198::1',
  client4: '198.51.100.10',
  client6: '2001:db8:198::10',
};

export const ROUTER_ASN = 64500;
export const NODE_ASN = 64501;

/** Pools: layer 2 on the segment itself; BGP from a range only the router learns about. */
export const POOLS = {
  layer2: { name: 'lab-layer2', addresses: ['203.0.113.32/28', '2001:db8:203::100/124'] },
  bgp: { name: 'lab-bgp', addresses: ['192.0.2.0/26', '2001:db8:100::/120'] },
};

/**
 * A small layer-2 pool written only as metallb.io resources (never in the ConfigMap): its
 * L2Advertisement selects one node by its `kubernetes.io/hostname` label and names that node's
 * segment interface, so exactly that node answers ARP/NDP for its addresses. `auto-assign: false`:
 * only Services that ask for it by name get its addresses. Inside the segment's subnets, above the
 * layer-2 pool and below the host's address.
 */
export const PINNED_POOL = {
  name: 'lab-pinned',
  addresses: ['203.0.113.64/30', '2001:db8:203::200/126'],
  node: NODES[1]!,
};

/** The address-pools ConfigMap value, MetalLB v0.12 format. */
export function poolConfig(): string {
  const peers = [SEGMENT.router4, SEGMENT.router6]
    .map((a) => `  - peer-address: ${a}\n    peer-asn: ${ROUTER_ASN}\n    my-asn: ${NODE_ASN}\n`)
    .join('');
  const pool = (p: { name: string; addresses: string[] }, protocol: string) =>
    `  - name: ${p.name}\n    protocol: ${protocol}\n    addresses:\n${p.addresses.map((a) => `      - ${a}\n`).join('')}`;
  return `peers:\n${peers}address-pools:\n${pool(POOLS.layer2, 'layer2')}${pool(POOLS.bgp, 'bgp')}    auto-assign: false\n    avoid-buggy-ips: true\n`;
}

/** Ports used inside every node namespace (each namespace has its own port space). */
export const PORTS = {
  pod: 8080,
  ingressHttp: 8080,
  ingressHttps: 8443,
  speakerMetrics: 7472,
  memberlist: 7946,
  ingressMetrics: 10254,
};
