/**
 * What a speaker does with the layer-2 part of a decision: it claims the IPs the election gives
 * it, answers for them once a majority of the voters granted them, and stops answering the
 * moment a grant runs out or the election moves an IP away. The Speaker drives it with real
 * decisions and the layer-2 announcer; the model check (test/membership-model.test.ts) drives the
 * very same code with simulated decisions, clocks and networks.
 */
import type { FailureDetector, StepDownReason } from './detector.js';

export interface OwnershipHooks {
  /** Start answering for an IP (the announcer). `takenFrom`: a dead member that held it. */
  announce(ip: string, services: readonly string[], takenFrom: string | undefined): void;
  /** Stop answering for an IP at once (the announcer). Called synchronously at the deadline. */
  withdraw(ip: string, reason: StepDownReason, services: readonly string[]): void;
  /** Some IPs the decision wants could not be claimed yet (not settled): decide again later. */
  retry(): void;
}

export class Layer2Ownership {
  private readonly ips = new Set<string>();
  private wanted: ReadonlyMap<string, readonly string[]> = new Map();
  private stopped = false;

  constructor(
    private readonly detector: FailureDetector,
    private readonly self: string,
    private readonly hooks: OwnershipHooks,
  ) {
    // Synchronous, at the deadline: a lease that ran out stops the answers before anything else.
    detector.on('stepDown', (ips, reason) => this.stepDown(ips, reason));
    detector.on('granted', () => this.sync());
  }

  /** The IPs this node answers for. */
  get answering(): ReadonlySet<string> {
    return this.ips;
  }

  /**
   * Applies a decision: the layer-2 IPs this node should answer for, each with its Services.
   * Until every live speaker's claims are known (settled), an IP might be held by someone not
   * heard yet: what is claimed already stays claimed, nothing new is claimed (retry later).
   */
  apply(wanted: ReadonlyMap<string, readonly string[]>): void {
    if (this.stopped) return;
    this.wanted = wanted;
    const ips = [...wanted.keys()];
    const claims = this.detector.settled
      ? ips
      : ips.filter((ip) => this.detector.claimOf(this.self, ip) !== undefined);
    // IPs left out are stepped down (synchronously, through the detector) before anyone hears.
    this.detector.setClaims(claims);
    this.sync();
    if (claims.length < ips.length) this.hooks.retry();
  }

  /** Withdraws everything (a planned stop); the detector's leave notice follows. */
  stop(): void {
    this.stopped = true;
    for (const ip of [...this.ips]) {
      this.ips.delete(ip);
      this.hooks.withdraw(ip, 'stopped', this.wanted.get(ip) ?? []);
    }
  }

  /** Starts answering for the IPs a majority granted (and the decision still wants). */
  private sync(): void {
    if (this.stopped) return;
    for (const ip of this.detector.answering()) {
      const services = this.wanted.get(ip);
      if (this.ips.has(ip) || !services) continue;
      this.ips.add(ip);
      this.hooks.announce(ip, services, this.detector.deadHolder(ip));
    }
  }

  private stepDown(ips: readonly string[], reason: StepDownReason): void {
    for (const ip of ips) {
      if (!this.ips.delete(ip)) continue;
      this.hooks.withdraw(ip, reason, this.wanted.get(ip) ?? []);
    }
  }
}
