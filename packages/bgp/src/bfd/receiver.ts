/**
 * Demultiplexer for one shared receive socket (UDP 3784 on one local address): checks the TTL
 * (RFC 5881 section 5), decodes, and hands each packet to its session (RFC 5880 section 6.8.6).
 */
import { BFD_TTL } from './constants.js';
import { decodeControlPacket } from './packet.js';
import type { BfdEndpoint } from './transport.js';

export interface Datagram {
  data: Uint8Array;
  ttl: number;
  address: string;
}

export class BfdReceiver {
  private readonly byDiscriminator = new Map<number, BfdEndpoint>();
  private readonly byPeer = new Map<string, BfdEndpoint>();

  get size(): number {
    return this.byDiscriminator.size;
  }

  /** Throws if the peer address or the discriminator is already taken on this receiver. */
  add(endpoint: BfdEndpoint): void {
    if (this.byPeer.has(endpoint.peerAddress)) {
      throw new Error(
        `a BFD session with ${endpoint.peerAddress} already exists on ${endpoint.localAddress}`,
      );
    }
    if (this.byDiscriminator.has(endpoint.localDiscriminator)) {
      throw new Error(`BFD discriminator ${endpoint.localDiscriminator} already in use`);
    }
    this.byDiscriminator.set(endpoint.localDiscriminator, endpoint);
    this.byPeer.set(endpoint.peerAddress, endpoint);
  }

  delete(endpoint: BfdEndpoint): void {
    if (this.byDiscriminator.get(endpoint.localDiscriminator) === endpoint) {
      this.byDiscriminator.delete(endpoint.localDiscriminator);
    }
    if (this.byPeer.get(endpoint.peerAddress) === endpoint) this.byPeer.delete(endpoint.peerAddress);
  }

  /** Returns the endpoint that received the packet, or undefined if it was discarded. */
  handle(datagram: Datagram): BfdEndpoint | undefined {
    // Packets that cannot be given to a session are charged to the session of their source address.
    const fromPeer = this.byPeer.get(datagram.address);
    // RFC 5881 section 5: without authentication, single-hop packets must arrive with TTL 255,
    // which proves they were not forwarded by a router (GTSM, RFC 5082).
    if (datagram.ttl !== BFD_TTL) {
      fromPeer?.drop('ttl', `TTL ${datagram.ttl}`);
      return undefined;
    }
    const decoded = decodeControlPacket(datagram.data);
    if (!decoded.ok) {
      fromPeer?.drop('malformed', decoded.reason);
      return undefined;
    }
    const packet = decoded.packet;
    // RFC 5880 section 6.8.6: a non-zero Your Discriminator selects the session; otherwise
    // (the packet is then in Down or AdminDown) the source address does.
    let endpoint: BfdEndpoint | undefined;
    if (packet.yourDiscriminator !== 0) {
      endpoint = this.byDiscriminator.get(packet.yourDiscriminator);
      // Single hop: a packet for a session must also come from that session's peer.
      if (!endpoint || endpoint.peerAddress !== datagram.address) {
        fromPeer?.drop('discriminator', `unknown your-discriminator ${packet.yourDiscriminator}`);
        return undefined;
      }
    } else {
      endpoint = fromPeer;
      if (!endpoint) return undefined;
    }
    // RFC 5880 section 6.8.6: "If the A bit is set and no authentication is in use (bfd.AuthType
    // is zero), the packet MUST be discarded." This speaker configures no authentication.
    if (packet.authentication) {
      endpoint.drop('authentication', `auth type ${packet.authentication.type}`);
      return undefined;
    }
    endpoint.receive(packet);
    return endpoint;
  }
}
