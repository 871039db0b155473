/**
 * The lab's network: namespaces, the layer-2 segment (a bridge in plab-sw), the router between
 * the segment and the client's network, and a veth from the host into the segment so processes
 * in the node namespaces can reach the API server (a namespace cannot see the host's loopback).
 *
 * Node namespaces get what a cluster node would have: a default route via the router, routes to
 * the other nodes' pod ranges, and ARP settings that leave answering for Service IPs to the
 * speaker (arp_ignore=1 / arp_announce=2, like kube-proxy's strictARP in IPVS mode).
 */
import {
  addAddress,
  addVeth,
  createNetns,
  createSegment,
  deleteNetns,
  ip,
  listNetns,
  loopbackUp,
  run,
  setLink,
  sysctl,
  type SegmentMember,
} from '@portico/testbed';
import { BRIDGE, CLIENT, HOST_LINK, NODES, OUTSIDE, PREFIX, ROUTER, SEGMENT, SWITCH } from './plan.js';

/** Namespaces the lab creates, in creation order. */
export const NAMESPACES = [SWITCH, ROUTER, CLIENT, ...NODES.map((n) => n.name)];

/** The bridge port in plab-sw for a member's link (interface names: 15 characters at most). */
const switchPort = (link: string) => `${link}-p`.replace(`${PREFIX}-`, 'p-');

export function createTopology(): void {
  const r1seg = `${PREFIX}-r1-eth0`;
  const r1out = `${PREFIX}-r1-eth1`;
  const clientLink = `${PREFIX}-c-eth0`;
  const member = (netns: string | undefined, link: string, addresses: string[]): SegmentMember => ({
    ...(netns ? { netns } : {}),
    link,
    switchPort: switchPort(link),
    addresses,
  });
  // The segment: one bridge; the router's leg, every node, and the host's leg for the API server.
  createSegment({
    switchNetns: SWITCH,
    bridge: BRIDGE,
    members: [
      member(ROUTER, r1seg, [`${SEGMENT.router4}/24`, `${SEGMENT.router6}/64`]),
      ...NODES.map((node) => member(node.name, node.link, [`${node.ipv4}/24`, `${node.ipv6}/64`])),
      member(undefined, HOST_LINK, [`${SEGMENT.host4}/24`]),
    ],
  });

  // Router: a second leg towards the client; it forwards between the two.
  createNetns(CLIENT);
  addVeth({ name: r1out, netns: ROUTER }, { name: clientLink, netns: CLIENT });
  sysctl(ROUTER, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  addAddress(ROUTER, r1out, `${OUTSIDE.router4}/24`);
  addAddress(ROUTER, r1out, `${OUTSIDE.router6}/64`);
  setLink(ROUTER, r1out, true);

  // Client: outside the cluster; its only way in is the router.
  loopbackUp(CLIENT);
  addAddress(CLIENT, clientLink, `${OUTSIDE.client4}/24`);
  addAddress(CLIENT, clientLink, `${OUTSIDE.client6}/64`);
  setLink(CLIENT, clientLink, true);
  ip(CLIENT, 'route', 'add', 'default', 'via', OUTSIDE.router4);
  ip(CLIENT, '-6', 'route', 'add', 'default', 'via', OUTSIDE.router6);

  for (const node of NODES) {
    // Only the speaker answers ARP/NDP for Service IPs; the kernel answers only for the node's own.
    sysctl(
      node.name,
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
      // The kube-proxy stand-in binds Service IPs routed to `lo` (see node-proxy.ts).
      'net.ipv4.ip_nonlocal_bind=1',
      'net.ipv6.ip_nonlocal_bind=1',
      // Like a server's configured address: it survives the link going down and up.
      'net.ipv6.conf.all.keep_addr_on_down=1',
    );
    addNodeRoutes(node.name);
  }
}

/**
 * A node's routes: default via the router, the other nodes' pod ranges via their addresses. The
 * kernel drops them when the node's link goes down; call this again after bringing it back up.
 */
export function addNodeRoutes(nodeName: string): void {
  const node = NODES.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no lab node ${nodeName}`);
  ip(node.name, 'route', 'replace', 'default', 'via', SEGMENT.router4);
  ip(node.name, '-6', 'route', 'replace', 'default', 'via', SEGMENT.router6);
  for (const other of NODES)
    if (other !== node) ip(node.name, 'route', 'replace', other.podCidr, 'via', other.ipv4);
}

/** Removes everything createTopology made; safe to run when some or all of it is missing. */
export function destroyTopology(): void {
  run('ip', ['link', 'del', HOST_LINK], { allowFail: true });
  for (const ns of NAMESPACES) deleteNetns(ns);
}

/** The lab namespaces that exist right now. */
export function existingNamespaces(): string[] {
  const listed = listNetns();
  return NAMESPACES.filter((ns) => listed.includes(ns));
}

/** Adds a pod address to a node (on lo: the node routes it; other nodes route the /28 to it). */
export function addPodAddress(nodeName: string, address: string): void {
  ip(nodeName, 'addr', 'replace', `${address}/32`, 'dev', 'lo');
}

export function removePodAddress(nodeName: string, address: string): void {
  run('ip', ['-n', nodeName, 'addr', 'del', `${address}/32`, 'dev', 'lo'], { allowFail: true });
}
