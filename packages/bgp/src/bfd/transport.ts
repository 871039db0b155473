/** The seam between a BFD session and the network, so the state machine can run on a fake one. */
import type { ControlPacket } from './packet.js';

/** Why a packet meant for a session was thrown away (a metric label). */
export type DropReason = 'ttl' | 'malformed' | 'authentication' | 'discriminator';

/** What the network needs to know of a session to deliver its packets. */
export interface BfdEndpoint {
  readonly localAddress: string;
  readonly peerAddress: string;
  readonly interface: string | undefined;
  readonly localDiscriminator: number;
  /** A packet that passed every check of RFC 5880 section 6.8.6 that precedes session processing. */
  receive(packet: ControlPacket): void;
  /** A packet from this session's peer address was discarded. */
  drop(reason: DropReason, detail: string): void;
}

/** A session's link to the network. */
export interface BfdTransport {
  send(packet: Buffer): void;
  /**
   * Stops delivering packets to the endpoint and frees its peer address and discriminator on the
   * shared receiver, while sending still works (a stopping session sends its last AdminDowns while
   * a new session to the same peer may already start).
   */
  detach(): void;
  /** Detaches and closes the sending socket. */
  close(): void;
}

export interface BfdNetwork {
  open(endpoint: BfdEndpoint): BfdTransport;
}
