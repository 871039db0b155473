/**
 * IPv6 Neighbor Discovery on one interface (RFC 4861): joins the solicited-node group of every
 * IPv6 address we announce, answers Neighbor Solicitations for them, sends unsolicited Neighbor
 * Advertisements, probes with duplicate address detection (RFC 4862 §5.4) and notices conflicts.
 */
import { IPV6_ALL_NODES, IPV6_UNSPECIFIED, formatMac, ipv6MulticastMac, solicitedNodeGroup } from './mac.js';
import { formatAddressBytes } from '@portico/net';
import { ETHERTYPE_IPV6, decodeEthernet, encodeEthernet } from './ethernet.js';
import type { FrameSocket, GroupMembership, OpenFrameSocket, OpenGroupMembership } from './frame-socket.js';
import { NEXT_HEADER_ICMPV6, decodeIpv6, encodeIpv6 } from './ipv6.js';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ND_HOP_LIMIT,
  decodeNeighborMessage,
  encodeNeighborMessage,
  type NeighborMessage,
} from './ndp.js';
import { trySend, type ResponderContext } from './responder.js';
import type { BpfInstruction } from '@portico/native';

/**
 * Classic BPF run by the kernel on each IPv6 frame: keep ICMPv6 (next header 58 at byte 20) of
 * type NS or NA (byte 54), drop the rest, so ordinary IPv6 traffic never wakes the event loop.
 */
const NEIGHBOR_DISCOVERY_FILTER: readonly BpfInstruction[] = [
  [0x30, 0, 0, 20], // ldb [20]          next header
  [0x15, 0, 4, NEXT_HEADER_ICMPV6], // jeq #58 ? next : drop
  [0x30, 0, 0, 54], // ldb [54]          ICMPv6 type
  [0x15, 1, 0, ICMPV6_NEIGHBOR_SOLICITATION], // jeq #135 ? keep : next
  [0x15, 0, 1, ICMPV6_NEIGHBOR_ADVERTISEMENT], // jeq #136 ? keep : drop
  [0x06, 0, 0, 0x40000], // ret #262144       keep the whole frame
  [0x06, 0, 0, 0], // ret #0                   drop
];

export class NdpResponder {
  readonly #context: ResponderContext;
  readonly #socket: FrameSocket;
  readonly #groups: GroupMembership;
  /** Several IPs can share one solicited-node group: count users per group. */
  readonly #joined = new Map<string, number>();

  constructor(context: ResponderContext, open: OpenFrameSocket, openGroups: OpenGroupMembership) {
    this.#context = context;
    this.#groups = openGroups();
    try {
      this.#socket = open({
        ifindex: context.link.index,
        ethertype: ETHERTYPE_IPV6,
        filter: NEIGHBOR_DISCOVERY_FILTER,
        onFrame: (frame) => this.#receive(frame),
      });
    } catch (err) {
      this.#groups.close();
      throw err;
    }
  }

  close(): void {
    this.#socket.close();
    this.#groups.close(); // leaves every group
    this.#joined.clear();
  }

  /**
   * Joins the solicited-node group of `ip` twice over: in the kernel (IPV6_JOIN_GROUP, so MLD
   * reports go out and snooping switches forward the group to us) and on the packet socket.
   */
  join(ip: Buffer): void {
    const group = solicitedNodeGroup(ip);
    const key = group.toString('hex');
    const users = this.#joined.get(key) ?? 0;
    this.#joined.set(key, users + 1);
    if (users > 0) return;
    const { link, logger } = this.#context;
    try {
      this.#groups.join(link.index, group);
      this.#socket.addMembership(ipv6MulticastMac(group));
    } catch (err) {
      logger.warn(
        { interface: link.name, group: formatAddressBytes(group), err: (err as Error).message },
        'could not join group',
      );
    }
  }

  leave(ip: Buffer): void {
    const group = solicitedNodeGroup(ip);
    const key = group.toString('hex');
    const users = this.#joined.get(key);
    if (users === undefined) return;
    if (users > 1) {
      this.#joined.set(key, users - 1);
      return;
    }
    this.#joined.delete(key);
    try {
      this.#groups.leave(this.#context.link.index, group);
      this.#socket.dropMembership(ipv6MulticastMac(group));
    } catch {
      // Leaving a group on a vanished interface fails; there is nothing left to leave.
    }
  }

  /** Unsolicited NA to all nodes with Override set (RFC 4861 §7.2.6): caches switch to our MAC. */
  sendUnsolicited(ip: Buffer): void {
    const text = formatAddressBytes(ip);
    const advertisement = this.#advertisement(ip, false);
    const send = (): void => this.#send(IPV6_ALL_NODES, advertisement, this.#source(ip));
    if (trySend(this.#context, send, 'unsolicited NA', text)) {
      this.#context.metrics.gratuitousSent.inc({ ip: text, interface: this.#context.link.name });
    }
  }

  /** Duplicate address detection probe (RFC 4862 §5.4.2): NS from ::, to the solicited-node group, no options. */
  sendProbe(ip: Buffer): void {
    const solicitation: NeighborMessage = { type: 'solicitation', target: ip };
    const send = (): void => this.#send(solicitedNodeGroup(ip), solicitation, IPV6_UNSPECIFIED);
    trySend(this.#context, send, 'DAD probe', formatAddressBytes(ip));
  }

  /** We are the one owner of the VIP, not a proxy, so Override is set (RFC 4861 §7.2.4). */
  #advertisement(target: Buffer, solicited: boolean): NeighborMessage {
    return {
      type: 'advertisement',
      target,
      router: false,
      solicited,
      override: true,
      targetMac: this.#context.link.mac,
    };
  }

  /** The source must be an address of the interface (§4.4): its link-local one, else the VIP itself. */
  #source(ip: Buffer): Buffer {
    return this.#context.link.linkLocal ?? ip;
  }

  #send(destination: Buffer, message: NeighborMessage, source: Buffer, destinationMac?: Buffer): void {
    const payload = encodeIpv6({
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: NEXT_HEADER_ICMPV6,
      hopLimit: ND_HOP_LIMIT,
      source,
      destination,
      payload: encodeNeighborMessage(message, source, destination),
    });
    const mac = destinationMac ?? ipv6MulticastMac(destination);
    this.#socket.send(
      encodeEthernet({
        destination: mac,
        source: this.#context.link.mac,
        ethertype: ETHERTYPE_IPV6,
        payload,
      }),
    );
  }

  #receive(frame: Buffer): void {
    const ethernet = decodeEthernet(frame);
    const ip = ethernet?.ethertype === ETHERTYPE_IPV6 ? decodeIpv6(ethernet.payload) : undefined;
    const message = ip && decodeNeighborMessage(ip); // checks hop limit 255, checksum, §7.1 rules
    if (!ethernet || !ip || !message) return;
    const { link, logger, metrics } = this.#context;
    if (ethernet.source.equals(link.mac)) return;
    const target = formatAddressBytes(message.target);
    const state = this.#context.stateOf(target);
    if (!state) return;
    const fromUnspecified = ip.source.equals(IPV6_UNSPECIFIED);

    if (message.type === 'advertisement') {
      const mac = message.targetMac ?? ethernet.source;
      if (!mac.equals(link.mac)) {
        this.#conflict(target, mac, state, 'Neighbor Advertisement');
      }
      return;
    }
    if (state === 'probing') {
      // Another node running DAD for the same address at the same time (RFC 4862 §5.4.3).
      if (fromUnspecified) this.#conflict(target, ethernet.source, state, 'simultaneous DAD probe');
      return;
    }

    const labels = { ip: target, interface: link.name };
    metrics.requestsReceived.inc(labels);
    let sent: boolean;
    if (fromUnspecified) {
      // A DAD probe for our address: someone wants it. Answer to all nodes (§7.2.4) so it sees the duplicate.
      logger.warn(
        { ip: target, interface: link.name, mac: formatMac(ethernet.source) },
        'DAD probe for an announced IP; defending it',
      );
      const answer = this.#advertisement(message.target, false);
      sent = trySend(
        this.#context,
        () => this.#send(IPV6_ALL_NODES, answer, this.#source(message.target)),
        'NA',
        target,
      );
    } else {
      // Multicast address resolution or unicast reachability probe (which may lack the source
      // link-layer option, §7.2.4): a solicited NA straight back to the asker.
      const answer = this.#advertisement(message.target, true);
      const mac = message.sourceMac ?? ethernet.source;
      const send = (): void => this.#send(ip.source, answer, this.#source(message.target), mac);
      sent = trySend(this.#context, send, 'NA', target);
    }
    if (sent) {
      metrics.responsesSent.inc(labels);
      logger.debug(
        { ip: target, interface: link.name, asker: formatAddressBytes(ip.source) },
        'answered Neighbor Solicitation',
      );
    }
  }

  #conflict(ip: string, mac: Buffer, phase: 'probing' | 'announced', evidence: string): void {
    const { link } = this.#context;
    this.#context.onConflict({
      ip,
      interface: link.name,
      protocol: 'ndp',
      mac: formatMac(mac),
      phase,
      evidence,
    });
  }
}
