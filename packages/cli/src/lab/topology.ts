/**
 * The lab's network: namespaces, the layer-2 segment (a bridge in plab-sw), the router between
 * the segment and the client's network, and a veth from the host into the segment so processes
 * in the node namespaces can reach the API server (a namespace cannot see the host's loopback).
 *
 * Node namespaces get what a cluster node would have: a default route via the router, routes to
 * the other nodes' pod ranges, and ARP settings that leave answering for Service IPs to the
 * speaker (arp_ignore=1 / arp_announce=2, like kube-proxy's strictARP in IPVS mode).
 */
import { BRIDGE, CLIENT, HOST_LINK, NODES, OUTSIDE, PREFIX, ROUTER, SEGMENT, SWITCH } from './plan.js';
import { sh } from './shell.js';

const ip = (...args: string[]) => sh('ip', args);
const nsIp = (ns: string, ...args: string[]) => sh('ip', ['-n', ns, ...args]);
const sysctl = (ns: string, ...settings: string[]) =>
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings]);

/** Namespaces the lab creates, in creation order. */
export const NAMESPACES = [SWITCH, ROUTER, CLIENT, ...NODES.map((n) => n.name)];

/** A veth from namespace `ns` (or the host when undefined) to a port of the bridge. */
function plugIntoSwitch(ns: string | undefined, link: string): void {
  const port = `${link}-p`.replace(`${PREFIX}-`, 'p-');
  if (ns) ip('link', 'add', link, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', SWITCH);
  else ip('link', 'add', link, 'type', 'veth', 'peer', 'name', port, 'netns', SWITCH);
  nsIp(SWITCH, 'link', 'set', port, 'master', BRIDGE, 'up');
}

function loUp(ns: string): void {
  nsIp(ns, 'link', 'set', 'lo', 'up');
}

export function createTopology(): void {
  for (const ns of NAMESPACES) ip('netns', 'add', ns);

  // The segment: one bridge; no STP delay, so ports forward at once.
  nsIp(SWITCH, 'link', 'add', BRIDGE, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
  nsIp(SWITCH, 'link', 'set', BRIDGE, 'up');
  loUp(SWITCH);

  // Router: one leg on the segment, one towards the client.
  const r1seg = `${PREFIX}-r1-eth0`;
  const r1out = `${PREFIX}-r1-eth1`;
  const clientLink = `${PREFIX}-c-eth0`; // interface names: 15 characters at most
  plugIntoSwitch(ROUTER, r1seg);
  ip('link', 'add', r1out, 'netns', ROUTER, 'type', 'veth', 'peer', 'name', clientLink, 'netns', CLIENT);
  loUp(ROUTER);
  sysctl(ROUTER, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  nsIp(ROUTER, 'addr', 'add', `${SEGMENT.router4}/24`, 'dev', r1seg);
  nsIp(ROUTER, 'addr', 'add', `${SEGMENT.router6}/64`, 'dev', r1seg, 'nodad');
  nsIp(ROUTER, 'addr', 'add', `${OUTSIDE.router4}/24`, 'dev', r1out);
  nsIp(ROUTER, 'addr', 'add', `${OUTSIDE.router6}/64`, 'dev', r1out, 'nodad');
  nsIp(ROUTER, 'link', 'set', r1seg, 'up');
  nsIp(ROUTER, 'link', 'set', r1out, 'up');

  // Client: outside the cluster; its only way in is the router.
  loUp(CLIENT);
  nsIp(CLIENT, 'addr', 'add', `${OUTSIDE.client4}/24`, 'dev', clientLink);
  nsIp(CLIENT, 'addr', 'add', `${OUTSIDE.client6}/64`, 'dev', clientLink, 'nodad');
  nsIp(CLIENT, 'link', 'set', clientLink, 'up');
  nsIp(CLIENT, 'route', 'add', 'default', 'via', OUTSIDE.router4);
  nsIp(CLIENT, '-6', 'route', 'add', 'default', 'via', OUTSIDE.router6);

  for (const node of NODES) {
    plugIntoSwitch(node.name, node.link);
    loUp(node.name);
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
    nsIp(node.name, 'addr', 'add', `${node.ipv4}/24`, 'dev', node.link);
    nsIp(node.name, 'addr', 'add', `${node.ipv6}/64`, 'dev', node.link, 'nodad');
    nsIp(node.name, 'link', 'set', node.link, 'up');
    addNodeRoutes(node.name);
  }

  // The host's leg into the segment, for the API server.
  plugIntoSwitch(undefined, HOST_LINK);
  ip('addr', 'add', `${SEGMENT.host4}/24`, 'dev', HOST_LINK);
  ip('link', 'set', HOST_LINK, 'up');
}

/**
 * A node's routes: default via the router, the other nodes' pod ranges via their addresses. The
 * kernel drops them when the node's link goes down; call this again after bringing it back up.
 */
export function addNodeRoutes(nodeName: string): void {
  const node = NODES.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no lab node ${nodeName}`);
  nsIp(node.name, 'route', 'replace', 'default', 'via', SEGMENT.router4);
  nsIp(node.name, '-6', 'route', 'replace', 'default', 'via', SEGMENT.router6);
  for (const other of NODES)
    if (other !== node) nsIp(node.name, 'route', 'replace', other.podCidr, 'via', other.ipv4);
}

/** Removes everything createTopology made; safe to run when some or all of it is missing. */
export function destroyTopology(): void {
  sh('ip', ['link', 'del', HOST_LINK], { allowFail: true });
  for (const ns of NAMESPACES) sh('ip', ['netns', 'del', ns], { allowFail: true });
}

/** The lab namespaces that exist right now. */
export function existingNamespaces(): string[] {
  const listed = sh('ip', ['netns', 'list'], { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0]!);
  return NAMESPACES.filter((ns) => listed.includes(ns));
}

/** Adds a pod address to a node (on lo: the node routes it; other nodes route the /28 to it). */
export function addPodAddress(nodeName: string, address: string): void {
  sh('ip', ['-n', nodeName, 'addr', 'replace', `${address}/32`, 'dev', 'lo']);
}

export function removePodAddress(nodeName: string, address: string): void {
  sh('ip', ['-n', nodeName, 'addr', 'del', `${address}/32`, 'dev', 'lo'], { allowFail: true });
}
