/** What the per-interface ARP and NDP responders share with the announcer that owns them. */
import type { Link } from './interfaces.js';
import type { Logger } from './logger.js';
import type { Layer2Metrics } from './metrics.js';

/** probing: we asked whether anyone holds the IP and do not answer yet; announced: we answer. */
export type AddressState = 'probing' | 'announced';

export interface Conflict {
  /** Canonical text of the IP. */
  ip: string;
  interface: string;
  protocol: 'arp' | 'ndp';
  /** The other station's link-layer address. */
  mac: string;
  /** During the probe before announcing, or while announced. */
  phase: AddressState;
  /** What gave it away, e.g. "ARP reply", "gratuitous ARP", "Neighbor Advertisement". */
  evidence: string;
}

export interface ResponderContext {
  link: Link;
  /** Current state of an IP (canonical text), undefined when not ours. */
  stateOf(ip: string): AddressState | undefined;
  metrics: Layer2Metrics;
  logger: Logger;
  onConflict(conflict: Conflict): void;
}

/** Sending can fail when an interface goes down between two rescans: log it and carry on. */
export function trySend(context: ResponderContext, send: () => void, what: string, ip: string): boolean {
  try {
    send();
    return true;
  } catch (err) {
    context.logger.warn(
      { interface: context.link.name, ip, err: (err as Error).message },
      `could not send ${what}`,
    );
    return false;
  }
}
