/**
 * A layer-2 segment: a switch namespace holding one bridge, and member namespaces (or the host)
 * each plugged into it by a veth pair, with their addresses, loopback and link up.
 */
import { addAddress, addVeth, attachToBridge, loopbackUp, setLink } from './links.js';
import { createNetns, deleteNetns, ip } from './netns.js';

export interface SegmentMember {
  /** The member's namespace; the host when undefined (the namespace is not created then). */
  netns?: string;
  /** The member's interface on the segment. */
  link: string;
  /** The veth end in the switch namespace, a port of the bridge. */
  switchPort: string;
  /** ADDRESS/LEN, in the order they are added. */
  addresses: string[];
}

export interface Segment {
  switchNetns: string;
  bridge: string;
  /**
   * Extra `ip link add ... type bridge` options. Without any, a bridge without STP delay
   * (`forward_delay 0 stp_state 0`), so ports forward at once.
   */
  bridgeOptions?: string[];
  members: SegmentMember[];
}

/** Creates the switch, the bridge and every member (namespaces must not exist yet). */
export function createSegment(segment: Segment): void {
  createNetns(segment.switchNetns);
  const options = segment.bridgeOptions ?? ['forward_delay', '0', 'stp_state', '0'];
  ip(segment.switchNetns, 'link', 'add', segment.bridge, 'type', 'bridge', ...options);
  setLink(segment.switchNetns, segment.bridge, true);
  loopbackUp(segment.switchNetns);
  for (const m of segment.members) plugIntoSegment(segment, m);
}

/** Adds one member to an existing segment. */
export function plugIntoSegment(segment: Pick<Segment, 'switchNetns' | 'bridge'>, m: SegmentMember): void {
  if (m.netns) createNetns(m.netns);
  addVeth(m.netns ? { name: m.link, netns: m.netns } : { name: m.link }, {
    name: m.switchPort,
    netns: segment.switchNetns,
  });
  attachToBridge(segment.switchNetns, m.switchPort, segment.bridge);
  if (m.netns) loopbackUp(m.netns);
  for (const cidr of m.addresses) addAddress(m.netns, m.link, cidr);
  setLink(m.netns, m.link, true);
}

/** Deletes the members' namespaces and the switch (a host member's link goes with its peer). */
export function destroySegment(segment: Pick<Segment, 'switchNetns' | 'members'>): void {
  for (const m of segment.members) if (m.netns) deleteNetns(m.netns);
  deleteNetns(segment.switchNetns);
}
