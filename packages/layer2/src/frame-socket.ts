/** The packet socket as the responders see it, so tests can hand them an in-memory one. */
import { LinkWatcher, MulticastGroups, PacketSocket, type BpfInstruction } from '@portico/native';

export interface FrameSocket {
  send(frame: Buffer): void;
  addMembership(mac: Buffer): void;
  dropMembership(mac: Buffer): void;
  close(): void;
}

export interface FrameSocketOptions {
  ifindex: number;
  ethertype: number;
  filter?: readonly BpfInstruction[];
  onFrame: (frame: Buffer) => void;
}

export type OpenFrameSocket = (options: FrameSocketOptions) => FrameSocket;

/** The real thing: an AF_PACKET socket from the native addon (needs CAP_NET_RAW). */
export const openPacketSocket: OpenFrameSocket = (options) => new PacketSocket(options);

/** IPv6 multicast membership through the kernel, which then sends the MLD reports. */
export interface GroupMembership {
  join(ifindex: number, group: Buffer): void;
  leave(ifindex: number, group: Buffer): void;
  close(): void;
}

export type OpenGroupMembership = () => GroupMembership;

export const openMulticastGroups: OpenGroupMembership = () => new MulticastGroups();

/** Calls back on every kernel link/address change (rtnetlink); see LinkWatcher in @portico/native. */
export type WatchLinks = (onChange: () => void) => { close(): void };

export const watchLinksWithNetlink: WatchLinks = (onChange) => new LinkWatcher(onChange);
