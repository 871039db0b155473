export { Announcer, DEFAULT_PROBE, type AnnouncerOptions, type ProbeOptions } from './announcer.js';
export type { AddressState, Conflict } from './responder.js';
export type { Logger } from './logger.js';
export {
  DEFAULT_EXCLUDED_INTERFACES,
  readLinks,
  selectLinks,
  type Link,
  type ReadLinksOptions,
} from './interfaces.js';
export { formatMac, ipv6MulticastMac, solicitedNodeGroup } from './mac.js';
export { decodeEthernet, encodeEthernet } from './ethernet.js';
export { decodeArp, encodeArp } from './arp.js';
export { decodeIpv6, encodeIpv6 } from './ipv6.js';
export { decodeNeighborMessage, encodeNeighborMessage } from './ndp.js';
export { icmpv6Checksum, verifyIcmpv6Checksum } from './checksum.js';
export type {
  FrameSocket,
  FrameSocketOptions,
  GroupMembership,
  OpenFrameSocket,
  OpenGroupMembership,
} from './frame-socket.js';
export type { Layer2Metrics } from './metrics.js';
