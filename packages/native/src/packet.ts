/**
 * AF_PACKET sockets (packet(7)) from the addon's csrc/packet.c: whole Ethernet frames in and out of
 * one interface, received from the event loop. Needs CAP_NET_RAW.
 */
import { loadNative } from './index.js';

/** sll_pkttype values (linux/if_packet.h): who the received frame was addressed to. */
export const PacketType = {
  host: 0,
  broadcast: 1,
  multicast: 2,
  otherHost: 3,
} as const;

/** A classic BPF instruction [code, jt, jf, k], run by the kernel on every frame (SO_ATTACH_FILTER). */
export type BpfInstruction = readonly [code: number, jt: number, jf: number, k: number];

export interface PacketSocketOptions {
  /** Interface index (/sys/class/net/IF/ifindex). */
  ifindex: number;
  /** Ethertype to receive, e.g. 0x0806 for ARP, 0x86dd for IPv6. */
  ethertype: number;
  /** Optional kernel-side filter; frames it rejects never reach JavaScript. */
  filter?: readonly BpfInstruction[];
  /** Called for every received frame (never for frames this host sent). */
  onFrame: (frame: Buffer, packetType: number) => void;
}

type Handle = object;

/** A packet socket bound to one interface and one ethertype. */
export class PacketSocket {
  readonly ifindex: number;
  #handle: Handle | undefined;

  constructor(options: PacketSocketOptions) {
    this.ifindex = options.ifindex;
    this.#handle = loadNative().packetOpen(
      options.ifindex,
      options.ethertype,
      options.filter ?? null,
      options.onFrame,
    ) as Handle;
  }

  get closed(): boolean {
    return this.#handle === undefined;
  }

  /** Sends one complete Ethernet frame (header included). Throws on a kernel error. */
  send(frame: Buffer): number {
    return loadNative().packetSend(this.#open(), frame) as number;
  }

  /** Receive frames sent to a link-layer multicast address (PACKET_MR_MULTICAST). */
  addMembership(mac: Buffer): void {
    loadNative().packetMembership(this.#open(), mac, true);
  }

  dropMembership(mac: Buffer): void {
    loadNative().packetMembership(this.#open(), mac, false);
  }

  close(): void {
    if (this.#handle === undefined) return;
    loadNative().packetClose(this.#handle);
    this.#handle = undefined;
  }

  #open(): Handle {
    if (this.#handle === undefined) throw new Error('packet socket is closed');
    return this.#handle;
  }
}

/**
 * IPv6 multicast group membership through the kernel (IPV6_JOIN_GROUP), so the kernel sends MLD
 * reports for the group: switches that snoop MLD then forward the group's traffic to this port.
 */
export class MulticastGroups {
  #handle: Handle | undefined = loadNative().groupOpen() as Handle;

  join(ifindex: number, group: Buffer): void {
    loadNative().groupMembership(this.#open(), ifindex, group, true);
  }

  leave(ifindex: number, group: Buffer): void {
    loadNative().groupMembership(this.#open(), ifindex, group, false);
  }

  /** Leaves every group joined through this object. */
  close(): void {
    if (this.#handle === undefined) return;
    loadNative().groupClose(this.#handle);
    this.#handle = undefined;
  }

  #open(): Handle {
    if (this.#handle === undefined) throw new Error('multicast group socket is closed');
    return this.#handle;
  }
}

/**
 * Calls `onChange` whenever the kernel reports a link or address change in this network namespace
 * (rtnetlink groups RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR). The messages are not
 * decoded: the caller rescans what it needs. Keeps the event loop alive until closed.
 */
export class LinkWatcher {
  #handle: Handle | undefined;

  constructor(onChange: () => void) {
    this.#handle = loadNative().linkWatchOpen(onChange) as Handle;
  }

  close(): void {
    if (this.#handle === undefined) return;
    loadNative().packetClose(this.#handle);
    this.#handle = undefined;
  }
}
