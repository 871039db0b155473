/**
 * The layer-2 half of the speaker (MetalLB's layer2_controller): elects the owner of each group
 * of Services sharing an anchor IP, claims the IPs this node wins (membership/ownership.ts
 * answers for them once a majority granted them) and drives the ARP/NDP announcer.
 *
 * Incremental: a changed Service re-elects its group only; a change of the speakers' liveness or
 * claims (the failure detector) or of the world (configuration, Nodes) re-elects every group.
 * Services with no layer-2 IP cost nothing here.
 */
import type { Logger } from 'pino';
import type { Layer2Backend, Layer2Conflict } from './backends.js';
import { electGroup, type Layer2Facts, liveCandidates, type ServiceFacts, type World } from './decide.js';
import type { FailureDetector, StepDownReason } from './membership/detector.js';
import { Layer2Ownership } from './membership/ownership.js';
import type { ServiceBook } from './service-book.js';
import type { SpeakerMetrics } from './metrics.js';

export interface Layer2ControllerOptions {
  nodeName: string;
  detector: FailureDetector;
  layer2: Layer2Backend;
  book: ServiceBook;
  metrics: SpeakerMetrics;
  logger: Logger;
  /** Some IPs could not be claimed yet: run a pass again soon. */
  retry: () => void;
  /** These Services started or stopped being answered between passes (a grant came or went). */
  answeringChanged: (keys: readonly string[]) => void;
}

export class Layer2Controller {
  private readonly ownership: Layer2Ownership;
  /** Anchor IP -> the keys of the Services that share it. */
  private readonly groups = new Map<string, string[]>();
  /** Anchor IP -> the elected owner (absent: no candidate). */
  private readonly owners = new Map<string, string>();
  /** Anchors to elect again on the next pass. */
  private readonly dirty = new Set<string>();
  private everything = false;
  /** The IPs this node should answer for, each with its Services (sorted): what ownership gets. */
  private readonly wanted = new Map<string, string[]>();
  /** The interfaces of each wanted IP whose advertisements list them. */
  private readonly interfaces = new Map<string, string[]>();
  /** The interfaces each answered IP was given to the announcer with ('' for all). */
  private readonly told = new Map<string, string>();
  /** Anchor -> what it put in `wanted`: each Service key with its IPs. */
  private readonly wantedBy = new Map<string, Array<{ key: string; ips: readonly string[] }>>();
  /** The claims must be given to the ownership again (wanted changed, or a retry is due). */
  private claimsDue = true;
  /** When a conflict Event was last recorded for each IP (at most one a minute per IP). */
  private readonly conflictEventAt = new Map<string, number>();

  constructor(private readonly options: Layer2ControllerOptions) {
    this.ownership = new Layer2Ownership(options.detector, options.nodeName, {
      announce: (ip, services, takenFrom) => this.announced(ip, services, takenFrom),
      withdraw: (ip, reason, services) => this.withdrawn(ip, reason, services),
      retry: () => {
        this.claimsDue = true;
        options.retry();
      },
    });
    // The last line of defence: every ARP/NDP answer checks the lease at the moment it is sent.
    options.layer2.setGate?.((ip) => options.detector.mayAnswer(ip));
    options.layer2.onConflict?.((c) => this.conflict(c));
  }

  /** The layer-2 IPs this node answers for. */
  get answering(): ReadonlySet<string> {
    return this.ownership.answering;
  }

  /** The IPs this node should answer for (elected), each with its Services. */
  get elected(): ReadonlyMap<string, readonly string[]> {
    return this.wanted;
  }

  /** The interfaces of the wanted IPs whose advertisements list them. */
  get interfacesByIP(): ReadonlyMap<string, readonly string[]> {
    return this.interfaces;
  }

  /** A Service's facts changed: its old and new groups are elected again on the next pass. */
  serviceChanged(key: string, before: ServiceFacts | undefined, after: ServiceFacts | undefined): void {
    const was = before?.layer2?.ips[0];
    const now = after?.layer2?.ips[0];
    if (was !== undefined) {
      this.dirty.add(was);
      if (was !== now) {
        const members = this.groups.get(was)?.filter((k) => k !== key) ?? [];
        if (members.length > 0) this.groups.set(was, members);
        else this.groups.delete(was);
      }
    }
    if (now === undefined) return;
    this.dirty.add(now);
    const members = this.groups.get(now);
    if (!members) this.groups.set(now, [key]);
    else if (!members.includes(key)) members.push(key);
  }

  /** Liveness, claims or the world changed: every group is elected again on the next pass. */
  electAll(): void {
    this.everything = true;
  }

  /**
   * Elects the marked groups and claims what this node wins. Returns the keys of the Services
   * whose owner changed.
   */
  pass(world: World, alive: (node: string) => boolean, claims: Parameters<typeof electGroup>[4]): string[] {
    const anchors = this.everything ? [...this.groups.keys(), ...this.dirty] : [...this.dirty];
    this.everything = false;
    this.dirty.clear();
    const moved: string[] = [];
    if (anchors.length > 0) {
      const candidatesFor = liveCandidates(world, alive);
      const self = this.options.nodeName;
      const seen = new Set<string>();
      for (const anchor of anchors) {
        if (seen.has(anchor)) continue;
        seen.add(anchor);
        const before = this.owners.get(anchor);
        const keys = this.groups.get(anchor) ?? [];
        const members = keys.map((k) => this.factsOf(k)).filter((m): m is Layer2Facts => m !== undefined);
        const owner =
          members.length > 0 ? electGroup(anchor, members, world, candidatesFor, claims) : undefined;
        if (owner) this.owners.set(anchor, owner);
        else this.owners.delete(anchor);
        // Members' IPs may have changed even when the owner did not: rebuild the group's claims.
        this.unwant(anchor);
        if (owner === self) this.want(anchor, keys);
        if (owner !== before) moved.push(...keys);
      }
    }
    if (this.claimsDue) {
      this.claimsDue = false;
      this.ownership.apply(this.wanted);
      this.retell();
    }
    this.options.metrics.announced.set({ protocol: 'layer2' }, this.ownership.answering.size);
    return moved;
  }

  /** The owner elected for a Service's layer-2 IPs. */
  ownerOf(facts: ServiceFacts): string | undefined {
    const anchor = facts.layer2?.ips[0];
    return anchor === undefined ? undefined : this.owners.get(anchor);
  }

  /**
   * The interfaces a Service is answered on when this node really answers for it (elected and
   * granted; empty: every interface), else undefined.
   */
  answeredOn(facts: ServiceFacts): readonly string[] | undefined {
    const l2 = facts.layer2;
    if (!l2 || this.ownerOf(facts) !== this.options.nodeName) return undefined;
    if (!l2.ips.some((ip) => this.ownership.answering.has(ip) && this.wanted.has(ip))) return undefined;
    let names: string[] | undefined;
    for (const n of l2.interfaces) if (n) names = n;
    return names ?? [];
  }

  /** Stops answering (a planned stop). */
  stop(): void {
    this.ownership.stop();
  }

  private factsOf(key: string): Layer2Facts | undefined {
    return this.options.book.factsOf(key)?.layer2;
  }

  /** Takes a group's Services out of `wanted` (as it put them there). */
  private unwant(anchor: string): void {
    const entries = this.wantedBy.get(anchor);
    if (!entries) return;
    this.wantedBy.delete(anchor);
    for (const { key, ips } of entries)
      for (const ip of ips) {
        const keys = this.wanted.get(ip)?.filter((k) => k !== key) ?? [];
        if (keys.length > 0) this.wanted.set(ip, keys);
        else {
          this.wanted.delete(ip);
          this.interfaces.delete(ip);
        }
      }
    this.claimsDue = true;
  }

  /** Puts a group this node won into `wanted`. */
  private want(anchor: string, keys: readonly string[]): void {
    const entries: Array<{ key: string; ips: readonly string[] }> = [];
    for (const key of keys) {
      const l2 = this.factsOf(key);
      if (!l2) continue;
      entries.push({ key, ips: l2.ips });
      l2.ips.forEach((ip, i) => {
        const list = this.wanted.get(ip);
        if (!list) this.wanted.set(ip, [key]);
        else if (!list.includes(key)) {
          list.push(key);
          list.sort();
        }
        const names = l2.interfaces[i];
        if (names) this.interfaces.set(ip, names);
      });
    }
    if (entries.length > 0) this.wantedBy.set(anchor, entries);
    this.claimsDue = true;
  }

  /** An IP answered already whose advertisements now list other interfaces. */
  private retell(): void {
    for (const ip of this.ownership.answering) {
      const told = this.told.get(ip);
      const interfaces = this.interfaces.get(ip);
      if (told === undefined || told === (interfaces?.join(',') ?? '')) continue;
      this.tell(ip, interfaces);
    }
  }

  private tell(ip: string, interfaces: readonly string[] | undefined): void {
    this.told.set(ip, interfaces?.join(',') ?? '');
    this.options.layer2
      .announce(ip, interfaces)
      .catch((err: unknown) =>
        this.options.logger.error({ ip, err: String(err) }, 'layer-2 announce failed'),
      );
  }

  /** A majority granted `ip`: answer for it. */
  private announced(ip: string, services: readonly string[], takenFrom: string | undefined): void {
    const { metrics, logger, nodeName } = this.options;
    metrics.takeovers.inc();
    if (takenFrom) metrics.failovers.inc();
    metrics.announced.set({ protocol: 'layer2' }, this.ownership.answering.size);
    logger.info(
      { event: 'layer2Announced', ip, services, ...(takenFrom ? { takenFrom } : {}) },
      'answering for IP',
    );
    if (takenFrom)
      this.options.book.record(
        services,
        'Normal',
        'Layer2TakeOver',
        `node "${nodeName}" took ${ip} over from "${takenFrom}" (its speaker went silent)`,
      );
    this.tell(ip, this.interfaces.get(ip));
    this.options.answeringChanged(services);
  }

  /** Stops answering now (called synchronously when a lease runs out, or on a release). */
  private withdrawn(ip: string, reason: StepDownReason, services: readonly string[]): void {
    const { metrics, logger, nodeName } = this.options;
    this.options.layer2.withdraw(ip);
    this.told.delete(ip);
    this.options.answeringChanged(services);
    metrics.stepDowns.inc({ reason });
    metrics.announced.set({ protocol: 'layer2' }, this.ownership.answering.size);
    if (reason !== 'lease') {
      logger.info({ event: 'layer2Withdrawn', ip, reason }, 'stopped answering for IP');
      return;
    }
    logger.warn(
      { event: 'layer2Withdrawn', ip, reason },
      'stepped down: the grants of a majority of the speakers ran out (partition, or this speaker was stalled)',
    );
    this.options.book.record(
      services,
      'Warning',
      'Layer2StepDown',
      `node "${nodeName}" stopped answering for ${ip}: it lost the grants of a majority of the speakers (partition, or the speaker was stalled); another node takes over if a majority can`,
    );
  }

  /** Another station answers for an IP we answer for: the alert-worthy symptom of split brain. */
  private conflict(c: Layer2Conflict): void {
    this.options.metrics.conflicts.inc({ protocol: c.protocol });
    const last = this.conflictEventAt.get(c.ip) ?? -Infinity;
    const now = performance.now();
    if (now - last < conflictEventIntervalMs) return;
    this.conflictEventAt.set(c.ip, now);
    if (this.conflictEventAt.size > 10_000) this.conflictEventAt.clear();
    this.options.logger.warn(
      { event: 'layer2Conflict', ...c },
      'another station answers for an IP this node answers for',
    );
    this.options.book.record(
      this.wanted.get(c.ip) ?? [],
      'Warning',
      'Layer2Conflict',
      `another station (${c.mac}) answers ${c.protocol === 'arp' ? 'ARP' : 'NDP'} for ${c.ip} on ${c.interface} while node "${this.options.nodeName}" does (${c.evidence}); two answering nodes split the traffic`,
    );
  }
}

const conflictEventIntervalMs = 60_000;
