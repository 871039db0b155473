/**
 * What the speaker drives. The real implementations are @portico/layer2's Announcer and
 * @portico/bgp's Speaker; tests substitute recording fakes.
 */
import type { PeerOptions, Route } from '@portico/bgp';

export interface Layer2Backend {
  /** Starts answering ARP/NDP for `ip` (resolves once the first gratuitous packets are out). */
  announce(ip: string): Promise<void>;
  /** Stops answering at once. */
  withdraw(ip: string): void;
  close(): void;
}

export interface BgpBackend {
  start(): Promise<void>;
  stop(): Promise<void>;
  addPeer(options: PeerOptions): unknown;
  removePeer(peerAddress: string): void;
  /** Replaces the whole set of routes; the next hop is each session's local address. */
  setRoutes(routes: Route[]): void;
}
