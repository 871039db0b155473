// FRR configuration for BGP with BFD on the router side, reusable by Portico's BGP tests: BFD timers
// live in a profile in bfdd.conf (bgpd does not accept a `bfd` block); bgpd only names it.
import { NODE_V4, ROUTER_V4 } from './topology.js';

export const FRR_BFDD_CONFIG = `bfd
 profile fast
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 !
!
`;
export const FRR_BGPD_CONFIG = `frr defaults traditional
router bgp 65000
 bgp router-id ${ROUTER_V4}
 no bgp ebgp-requires-policy
 neighbor ${NODE_V4} remote-as 65001
 neighbor ${NODE_V4} timers connect 1
 neighbor ${NODE_V4} bfd
 neighbor ${NODE_V4} bfd profile fast
!
`;
