/**
 * Links and addresses: veth pairs between namespaces (or the host), bridges, addresses and link
 * state. IPv6 addresses are added with `nodad`, so they are usable at once instead of after
 * duplicate address detection.
 */
import { ip } from './netns.js';

/** One end of a veth pair: its interface name (15 characters at most) and namespace (host if absent). */
export interface LinkEnd {
  name: string;
  netns?: string;
}

export function addVeth(a: LinkEnd, b: LinkEnd): void {
  const end = (e: LinkEnd) => (e.netns ? [e.name, 'netns', e.netns] : [e.name]);
  ip(undefined, 'link', 'add', ...end(a), 'type', 'veth', 'peer', 'name', ...end(b));
}

/** A bridge in `ns` without STP delay, so its ports forward at once; up. */
export function addBridge(ns: string, name: string): void {
  ip(ns, 'link', 'add', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
  ip(ns, 'link', 'set', name, 'up');
}

/** Makes `port` a port of `bridge` (both in `ns`) and brings it up. */
export function attachToBridge(ns: string, port: string, bridge: string): void {
  ip(ns, 'link', 'set', port, 'master', bridge, 'up');
}

/** Adds ADDRESS/LEN to `dev` (in `ns`, or on the host when `ns` is undefined). */
export function addAddress(ns: string | undefined, dev: string, cidr: string): void {
  ip(ns, 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : []));
}

export function setLink(ns: string | undefined, dev: string, up: boolean): void {
  ip(ns, 'link', 'set', dev, up ? 'up' : 'down');
}

export function loopbackUp(ns: string): void {
  setLink(ns, 'lo', true);
}
