/**
 * ARP on one interface (RFC 826, RFC 5227): answers requests for the IPs we announce, sends
 * gratuitous ARP, probes before claiming an IP, and notices other stations claiming our IPs.
 */
import { formatAddressBytes } from '@portico/net';
import { BROADCAST_MAC, IPV4_UNSPECIFIED, ZERO_MAC, formatMac } from './mac.js';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp, type ArpPacket } from './arp.js';
import { ETHERTYPE_ARP, decodeEthernet, encodeEthernet } from './ethernet.js';
import type { FrameSocket, OpenFrameSocket } from './frame-socket.js';
import { trySend, type ResponderContext } from './responder.js';

export class ArpResponder {
  readonly #context: ResponderContext;
  readonly #socket: FrameSocket;

  constructor(context: ResponderContext, open: OpenFrameSocket) {
    this.#context = context;
    this.#socket = open({
      ifindex: context.link.index,
      ethertype: ETHERTYPE_ARP,
      onFrame: (frame) => this.#receive(frame),
    });
  }

  close(): void {
    this.#socket.close();
  }

  /**
   * Gratuitous ARP as MetalLB sends it: a request and a reply, both with sender = target = the IP
   * and our MAC, broadcast, so every cache on the segment (whatever it listens to) takes our MAC.
   */
  sendGratuitous(ip: Buffer): void {
    const mac = this.#context.link.mac;
    const request = {
      operation: ARP_REQUEST,
      senderMac: mac,
      senderIp: ip,
      targetMac: ZERO_MAC,
      targetIp: ip,
    };
    const reply = {
      operation: ARP_REPLY,
      senderMac: mac,
      senderIp: ip,
      targetMac: BROADCAST_MAC,
      targetIp: ip,
    };
    const labels = { ip: formatAddressBytes(ip), interface: this.#context.link.name };
    for (const packet of [request, reply]) {
      if (trySend(this.#context, () => this.#send(BROADCAST_MAC, packet), 'gratuitous ARP', labels.ip)) {
        this.#context.metrics.gratuitousSent.inc(labels);
      }
    }
  }

  /** An ARP probe (RFC 5227 §2.1.1): who has this IP? asked from 0.0.0.0 so no cache learns anything. */
  sendProbe(ip: Buffer): void {
    const probe = {
      operation: ARP_REQUEST,
      senderMac: this.#context.link.mac,
      senderIp: IPV4_UNSPECIFIED,
      targetMac: ZERO_MAC,
      targetIp: ip,
    };
    trySend(this.#context, () => this.#send(BROADCAST_MAC, probe), 'ARP probe', formatAddressBytes(ip));
  }

  #send(destination: Buffer, packet: ArpPacket): void {
    const payload = encodeArp(packet);
    this.#socket.send(
      encodeEthernet({ destination, source: this.#context.link.mac, ethertype: ETHERTYPE_ARP, payload }),
    );
  }

  #receive(frame: Buffer): void {
    const ethernet = decodeEthernet(frame);
    const arp = ethernet && decodeArp(ethernet.payload);
    if (!ethernet || !arp) return;
    const { link } = this.#context;
    this.#detectConflict(arp);

    if (arp.operation !== ARP_REQUEST) return;
    // Only requests meant for us or for everyone (MetalLB does the same).
    if (!ethernet.destination.equals(BROADCAST_MAC) && !ethernet.destination.equals(link.mac)) return;
    // A request whose sender is its own target is an announcement, not a question.
    if (arp.senderIp.equals(arp.targetIp)) return;
    const ip = formatAddressBytes(arp.targetIp);
    if (this.#context.stateOf(ip) !== 'announced') return;

    const labels = { ip, interface: link.name };
    this.#context.metrics.requestsReceived.inc(labels);
    if (arp.senderIp.equals(IPV4_UNSPECIFIED)) {
      // Someone probes for an address we hold (RFC 5227 §2.1.1); our reply tells it the address is taken.
      this.#context.logger.warn(
        { ip, interface: link.name, mac: formatMac(arp.senderMac) },
        'another station probes for an announced IP; defending it',
      );
    }
    // RFC 826: swap sender and target, fill in our MAC, send straight back to the asker.
    const reply = {
      operation: ARP_REPLY,
      senderMac: link.mac,
      senderIp: arp.targetIp,
      targetMac: arp.senderMac,
      targetIp: arp.senderIp,
    };
    if (trySend(this.#context, () => this.#send(arp.senderMac, reply), 'ARP reply', ip)) {
      this.#context.metrics.responsesSent.inc(labels);
      this.#context.logger.debug(
        { ip, interface: link.name, to: formatMac(arp.senderMac), asker: formatAddressBytes(arp.senderIp) },
        'answered ARP request',
      );
    }
  }

  /**
   * Another MAC using an IP we hold or probe for as its sender address is a conflict; so is,
   * while we probe, another station probing for the same IP (RFC 5227 §2.1.1).
   */
  #detectConflict(arp: ArpPacket): void {
    const { link } = this.#context;
    if (arp.senderMac.equals(link.mac)) return;
    let ip = formatAddressBytes(arp.senderIp);
    let state = this.#context.stateOf(ip);
    let evidence: string;
    if (state) {
      evidence =
        arp.operation === ARP_REPLY
          ? 'ARP reply'
          : arp.senderIp.equals(arp.targetIp)
            ? 'gratuitous ARP'
            : 'ARP request';
    } else {
      ip = formatAddressBytes(arp.targetIp);
      state = this.#context.stateOf(ip);
      if (state !== 'probing' || arp.operation !== ARP_REQUEST || !arp.senderIp.equals(IPV4_UNSPECIFIED))
        return;
      evidence = 'simultaneous ARP probe';
    }
    this.#context.onConflict({
      ip,
      interface: link.name,
      protocol: 'arp',
      mac: formatMac(arp.senderMac),
      phase: state,
      evidence,
    });
  }
}
