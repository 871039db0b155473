// Two network namespaces joined by a veth pair: pbfd-r1 (the router, FRR bfdd) and pbfd-n1 (our
// BFD session), with documentation addresses in both families.
import { createPair, destroyPair, requireRoot, requireTools, setLink } from '@portico/testbed';
import { existsSync } from 'node:fs';

export const ROUTER = 'pbfd-r1';
export const NODE = 'pbfd-n1';
export const ROUTER_LINK = 'pbfd-r1e';
export const NODE_LINK = 'pbfd-n1e';
export const ROUTER_V4 = '192.0.2.1';
export const NODE_V4 = '192.0.2.2';
export const ROUTER_V6 = '2001:db8::1';
export const NODE_V6 = '2001:db8::2';
// Fixed link-local addresses, for sessions bound to an interface.
export const ROUTER_LL = 'fe80::1';
export const NODE_LL = 'fe80::2';

/** Fails loudly when the test cannot run here: it needs root, iproute2 and FRR. */
export function requireTestbed(): void {
  requireRoot('BFD e2e tests');
  requireTools('BFD e2e tests', [
    ['/usr/lib/frr/bfdd', 'frr'],
    ['/usr/bin/vtysh', 'frr'],
    [existsSync('/usr/sbin/ip') ? '/usr/sbin/ip' : '/sbin/ip', 'iproute2'],
  ]);
}

export function destroyTopology(): void {
  destroyPair({ netns: ROUTER }, { netns: NODE });
}

export function createTopology(): void {
  createPair(
    {
      netns: ROUTER,
      link: ROUTER_LINK,
      addresses: [`${ROUTER_V4}/24`, `${ROUTER_V6}/64`, `${ROUTER_LL}/64`],
    },
    { netns: NODE, link: NODE_LINK, addresses: [`${NODE_V4}/24`, `${NODE_V6}/64`, `${NODE_LL}/64`] },
  );
}

export { setLink };
