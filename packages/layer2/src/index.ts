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
export * from './mac.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv6.js';
export * from './ndp.js';
export { icmpv6Checksum, verifyIcmpv6Checksum } from './checksum.js';
export type {
  FrameSocket,
  FrameSocketOptions,
  GroupMembership,
  OpenFrameSocket,
  OpenGroupMembership,
} from './frame-socket.js';
export type { Layer2Metrics } from './metrics.js';
