/**
 * What the speaker drives. The real implementations are @portico/layer2's Announcer and
 * @portico/bgp's Speaker; tests substitute recording fakes.
 */
import type { PeerOptions, Route } from '@portico/bgp';
import type { Conflict } from '@portico/layer2';

/** Another station answering ARP/NDP for an IP this node announces (from the announcer). */
export type Layer2Conflict = Conflict;

export interface Layer2Backend {
  /**
   * Starts answering ARP/NDP for `ip` (resolves once the first gratuitous packets are out), on
   * `interfaces` only when given (an L2Advertisement's list). Called again for an IP it answers
   * for, it changes the interfaces.
   */
  announce(ip: string, interfaces?: readonly string[]): Promise<void>;
  /** Stops answering at once. */
  withdraw(ip: string): void;
  close(): void;
  /** Reports conflicting ARP/NDP answers seen on the wire (optional: fakes may omit it). */
  onConflict?(listener: (conflict: Layer2Conflict) => void): void;
  /**
   * A check made right before every packet for an announced IP; false keeps it silent at that
   * moment (the speaker's lease check, see membership/). Optional: fakes may omit it.
   */
  setGate?(mayAnswer: (ip: string) => boolean): void;
}

export interface BgpBackend {
  start(): Promise<void>;
  stop(): Promise<void>;
  addPeer(options: PeerOptions): unknown;
  removePeer(peerAddress: string): void;
  /** Replaces the whole set of routes; the next hop is each session's local address. */
  setRoutes(routes: Route[]): void;
  /** Adds or replaces the route of one prefix (changes within a tick go out as one update). */
  announce(route: Route): void;
  /** Withdraws one prefix. */
  withdraw(prefix: string): void;
}
