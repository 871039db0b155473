/**
 * The topology most suites need: two namespaces joined by one veth pair (a router and a speaker,
 * a router and a node), each end with its addresses, loopback up in both.
 */
import { addAddress, addVeth, loopbackUp, setLink } from './links.js';
import { createNetns, deleteNetns } from './netns.js';

export interface PairEnd {
  netns: string;
  /** The veth end's interface name in that namespace. */
  link: string;
  /** ADDRESS/LEN, in the order they are added. */
  addresses: string[];
}

/** Creates both namespaces afresh (removing leftovers of an earlier run first) and joins them. */
export function createPair(a: PairEnd, b: PairEnd): void {
  destroyPair(a, b);
  createNetns(a.netns);
  createNetns(b.netns);
  addVeth({ name: a.link, netns: a.netns }, { name: b.link, netns: b.netns });
  for (const end of [a, b]) {
    for (const cidr of end.addresses) addAddress(end.netns, end.link, cidr);
    loopbackUp(end.netns);
    setLink(end.netns, end.link, true);
  }
}

/** Deletes both namespaces and what runs in them; the veth pair goes with them. */
export function destroyPair(a: Pick<PairEnd, 'netns'>, b: Pick<PairEnd, 'netns'>): void {
  deleteNetns(a.netns);
  deleteNetns(b.netns);
}

/**
 * One fresh namespace holding both ends of a veth pair (a wire that loops back inside it): what a
 * benchmark needs to run a speaker and its peer, or a speaker and a packet capture, side by side.
 */
export function createLoopedNetns(netns: string, a: Omit<PairEnd, 'netns'>, b: Omit<PairEnd, 'netns'>): void {
  deleteNetns(netns);
  createNetns(netns);
  loopbackUp(netns);
  addVeth({ name: a.link, netns }, { name: b.link, netns });
  for (const end of [a, b]) {
    for (const cidr of end.addresses) addAddress(netns, end.link, cidr);
    setLink(netns, end.link, true);
  }
}
