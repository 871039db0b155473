// FRR configuration for BGP with BFD on the router side, reusable by Portico's BGP tests: BFD timers
// live in a profile in bfdd.conf (bgpd does not accept a `bfd` block); bgpd only names it.
import { frrBfddConfig, frrBgpdConfig } from '@portico/testbed';
import { NODE_V4, ROUTER_V4 } from './topology.js';

export const FRR_BFDD_CONFIG = frrBfddConfig([
  { name: 'fast', receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 },
]);
export const FRR_BGPD_CONFIG = frrBgpdConfig({
  asn: 65000,
  routerId: ROUTER_V4,
  // FRR's default activation: the neighbour is active in IPv4 unicast without a family block.
  defaultIpv4Unicast: true,
  neighbors: [{ address: NODE_V4, remoteAs: 65001, connectRetry: 1, bfd: 'fast' }],
});
