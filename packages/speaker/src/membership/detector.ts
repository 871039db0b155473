/**
 * Membership and layer-2 ownership among the speakers, without the Kubernetes API.
 *
 * Every speaker sends a heartbeat to every member each `intervalMs` (100 ms). Besides "I am
 * alive" and the layer-2 IPs it claims, the heartbeat to member M acknowledges M's newest
 * heartbeat (echoes its sequence number) and, when this node vouches for M, grants M the IPs that
 * heartbeat claimed (less those it granted to someone else first). See docs/speaker.md for the
 * whole argument; in short:
 *
 * - **Step down first.** A node answers for an IP only while a majority of the voters (the
 *   eligible members, itself included) granted it, each grant acknowledging one of its
 *   heartbeats sent less than `leaseMs` ago by its own clock (leases.ts).
 * - **Take over later.** A voter grants an IP to another member only once the previous holder
 *   has released it, or `suspicionMs` (> leaseMs, with a margin for clock drift and scheduling
 *   delay) after it received the last heartbeat of the holder it acknowledged (grants.ts). Any
 *   two majorities share a voter, so the old holder's lease has run out before the new holder
 *   can have a majority: two nodes never answer for one IP at the same instant, whatever the
 *   partition (one-way, non-transitive, flapping), loss, delay or reordering of heartbeats.
 * - **Both ways.** A voter vouches for a member only while it hears the member and the member's
 *   heartbeats show that it hears this voter (an echo less than `hearMs` old): a member that can
 *   send but not receive is released too, so its IPs fail over.
 * - **One view.** Leases count grants valid at one instant, not members expiring one by one.
 * - **Sticky.** A member that comes back (restart, healed partition) takes nothing a live member
 *   holds: the voters refuse it, and the election prefers the member already answering, then one
 *   whose claim lapsed (it answered until its grants ran out: a starved owner that wakes). A
 *   claim never granted is given up when quorum is lost, so it cannot win after a heal.
 * - **Restart.** A speaker grants nothing for `suspicionMs` after it starts: its grant table is
 *   new, and whatever its previous incarnation granted has run out by then.
 *
 * Membership comes from the API (the Nodes and their addresses). The voters are the members the
 * API expects to run a speaker (eligible nodes); a member without an address still counts (it can
 * never grant). With one or two voters no majority can tell a dead peer from a partition:
 * availability wins there (documented).
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Clock, systemClock } from './clock.js';
import { GrantTable } from './grants.js';
import {
  type Ack,
  claimParts,
  type ClaimsPart,
  claimsDigest,
  decodeHeartbeat,
  EMPTY_DIGEST,
  encodeClaimsPart,
  encodeHeartbeat,
  type Heartbeat,
  MAX_REFUSED,
  pendingDigestOf,
} from './heartbeat.js';
import { LeaseBook } from './leases.js';
import type { Transport } from './udp-transport.js';

export interface Member {
  name: string;
  /** Where its heartbeats go; absent when the API gives no address (it can never be heard). */
  address?: string;
  port?: number;
  /** The API expects this member to run a speaker (it votes, counted even when silent). */
  expected: boolean;
}

export interface DetectorOptions {
  /** This node's name. */
  self: string;
  transport: Transport;
  clock?: Clock;
  intervalMs?: number;
  /**
   * Take-over time: a voter moves a member's IPs on this long after the receive time of the last
   * heartbeat of that member it acknowledged (default 500 ms).
   */
  suspicionMs?: number;
  /**
   * Step-down time: a grant lasts this long from the send time of the heartbeat it acknowledges.
   * Default: suspicionMs − max(intervalMs, suspicionMs / 5) (400 ms). Must stay below
   * suspicionMs × (1 − ρ) / (1 + ρ) − the scheduling delay of the step-down, ρ the clock drift.
   */
  leaseMs?: number;
  /** A member is vouched for only while heard, and hearing us, within this (default 3 intervals). */
  hearMs?: number;
  /** Full claim lists are resent every this many heartbeats even when unchanged. */
  claimsEvery?: number;
  /** Claim sets up to this size ride on every heartbeat. */
  smallClaims?: number;
  /** Shared secret authenticating heartbeats (HMAC-SHA256); none when absent. */
  secret?: Buffer;
  /**
   * This process's incarnation: its start time in ms since the Unix epoch with a random
   * fraction (default), so a restarted speaker's number is larger than its previous one's.
   */
  incarnation?: number;
}

/** Why this node stops answering for IPs. */
export type StepDownReason =
  /** Its grants ran out (quorum lost, or refused by the voters): the safety net. */
  | 'lease'
  /** It gave them up (the decision moved them, or the Service went away). */
  | 'released'
  /** Planned stop. */
  | 'stopped';

export interface DetectorEvents {
  /** Liveness, quorum, grants or a member's claims changed: time to decide again. */
  change: [];
  /** A member was declared dead (its IPs may move). */
  dead: [name: string];
  alive: [name: string];
  /** This node's quorum (a majority acknowledges its heartbeats) was lost or regained. */
  quorum: [has: boolean];
  /** A majority granted these IPs: this node may start answering for them. */
  granted: [ips: string[]];
  /** This node must stop answering for these IPs now (emitted synchronously at the deadline). */
  stepDown: [ips: string[], reason: StepDownReason];
}

/**
 * What this node knows of a member's claim on an IP: `held` (it answers), `lapsed` (it answered,
 * its grants ran out, it still claims the IP: cut off or starved for a moment) or `pending` (it
 * waits for its first grants).
 */
export type ClaimState = 'held' | 'lapsed' | 'pending';

interface PeerState {
  member: Member;
  /** No longer in the API's membership: kept only while grants to it may still bind. */
  removed: boolean;
  incarnation?: number;
  /** An older speaker (version 1 heartbeats): liveness and claims only. */
  legacy: boolean;
  /** It said it is leaving: nothing more from this incarnation counts. */
  left: boolean;
  lastSeq: number;
  lastHeard?: number;
  /** Digests in its newest heartbeat. */
  digest: number;
  pendingDigest: number;
  /** Its last complete claim list. */
  claims: ReadonlySet<string>;
  claimsDigest?: number;
  pending: ReadonlySet<string>;
  /** Of the pending ones, those it answered before (lapsed). */
  lapsed: ReadonlySet<string>;
  pendingOf?: number;
  partial?: { digest: number; pendingDigest: number; parts: Map<number, ClaimsPart> };
  /** Our send time of the heartbeat of ours it last echoed. */
  echoSentAt?: number;
  /** Receive time of its newest heartbeat we acknowledged (vouched for). */
  ackedReceipt?: number;
  /** Not released: vouched for within the suspicion time. */
  alive: boolean;
  grantCache?: { digest: number; epoch: number; refused: string[] | undefined };
}

const empty: ReadonlySet<string> = new Set();

export class FailureDetector extends EventEmitter<DetectorEvents> {
  private readonly peers = new Map<string, PeerState>();
  readonly intervalMs: number;
  readonly suspicionMs: number;
  readonly leaseMs: number;
  readonly hearMs: number;
  private readonly claimsEvery: number;
  private readonly smallClaims: number;
  private readonly clock: Clock;
  readonly incarnation: number;
  private readonly leases = new LeaseBook();
  private readonly grants: GrantTable;
  /** Bumped whenever who holds what may have changed (cached grant decisions are stale). */
  private grantEpoch = 0;
  private selfExpected = false;
  /** Our claims, sorted, and the subset not answered yet. */
  private claimList: string[] = [];
  private digest = EMPTY_DIGEST;
  private pendingDigest = EMPTY_DIGEST;
  private encodedParts: Buffer[] | undefined;
  private claimsChangedAtSeq = 0;
  private seq = 0;
  private ticks = 0;
  /** Our send time of each recent heartbeat, by sequence number. */
  private readonly sentAt = new Map<number, number>();
  private startedAt: number | undefined;
  private running = false;
  private stopTimers: Array<() => void> = [];
  private cancelLeaseTimer: (() => void) | undefined;
  private leaseTimerAt = Infinity;
  private quorum = false;
  private quorumSince = -Infinity;
  private lastSweep = -Infinity;
  private holdReleasesUntil = -Infinity;
  private lastPrune = -Infinity;
  private lastUrgent = -Infinity;
  private urgentQueued = false;
  private claimEntriesDecoded = 0;

  constructor(private readonly options: DetectorOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.intervalMs = options.intervalMs ?? 100;
    this.suspicionMs = options.suspicionMs ?? 500;
    this.leaseMs = options.leaseMs ?? this.suspicionMs - Math.max(this.intervalMs, this.suspicionMs / 5);
    this.hearMs = options.hearMs ?? 3 * this.intervalMs;
    if (this.leaseMs >= this.suspicionMs)
      throw new RangeError(`lease (${this.leaseMs} ms) must be shorter than the suspicion time`);
    if (this.leaseMs < 2 * this.intervalMs)
      throw new RangeError(
        `suspicion time ${this.suspicionMs} ms too short for ${this.intervalMs} ms heartbeats ` +
          `(the lease, ${this.leaseMs} ms, must cover two heartbeat intervals)`,
      );
    this.claimsEvery = options.claimsEvery ?? 10;
    this.smallClaims = options.smallClaims ?? 64;
    this.incarnation = options.incarnation ?? Date.now() + randomInt(0, 1_000_000) / 1_000_000;
    this.grants = new GrantTable((node, ip) => this.holds(node, ip));
    this.refreshClaims();
    options.transport.onMessage((data) => this.receive(data));
  }

  start(): void {
    if (this.startedAt !== undefined) return;
    this.startedAt = this.clock.now();
    this.running = true;
    this.lastSweep = this.startedAt;
    this.updateQuorum(this.startedAt, false);
    this.stopTimers.push(this.clock.every(this.intervalMs, () => this.tick()));
    // Silence is checked four times per interval, so a death is noticed within a quarter
    // interval of the suspicion time instead of up to a whole interval later.
    this.stopTimers.push(this.clock.every(Math.max(5, this.intervalMs / 4), () => this.sweep()));
    this.tick();
  }

  /** Stops sending and judging (as a crash would look to the others). */
  stop(): void {
    this.running = false;
    for (const stop of this.stopTimers) stop();
    this.stopTimers = [];
    this.cancelLeaseTimer?.();
    this.cancelLeaseTimer = undefined;
  }

  /**
   * A planned stop: stops answering (synchronously, through `stepDown`), then tells every member
   * at once, so they fail over without waiting for silence.
   */
  leave(): void {
    if (this.startedAt === undefined) return;
    this.setClaims([], 'stopped');
    const data = encodeHeartbeat(
      {
        name: this.options.self,
        incarnation: this.incarnation,
        seq: ++this.seq,
        digest: EMPTY_DIGEST,
        pendingDigest: EMPTY_DIGEST,
        leaving: true,
      },
      this.options.secret,
    );
    for (const p of this.peers.values())
      if (!p.removed && p.member.address !== undefined && p.member.port !== undefined)
        this.options.transport.send(data, p.member.address, p.member.port);
    this.stop();
  }

  /** Replaces the membership (from the API). */
  setMembers(members: Iterable<Member>): void {
    const seen = new Set<string>();
    this.selfExpected = false;
    for (const m of members) {
      if (m.name === this.options.self) {
        this.selfExpected = m.expected;
        continue;
      }
      seen.add(m.name);
      const state = this.peers.get(m.name);
      if (state) {
        state.member = m;
        state.removed = false;
      } else this.peers.set(m.name, newPeer(m));
    }
    // A removed member may still hold grants from us: keep it until it is released (sweep).
    for (const [name, p] of this.peers) {
      if (seen.has(name)) continue;
      if (p.alive) p.removed = true;
      else this.peers.delete(name);
    }
    const voters = [...this.peers.values()].filter((p) => !p.removed && p.member.expected);
    this.leases.setVoters(
      [...voters.map((p) => p.member.name), ...(this.selfExpected ? [this.options.self] : [])],
      this.options.self,
    );
    const now = this.clock.now();
    this.updateLeases(now);
    this.updateQuorum(now);
  }

  /**
   * The layer-2 IPs this node wants to answer for (the election's decision). It claims those it
   * may (no other live member holds them in its view) and answers for them once a majority
   * granted them (`granted`). IPs left out are released at once: `stepDown` (synchronous) before
   * the others hear of it.
   */
  setClaims(ips: Iterable<string>, reason: StepDownReason = 'released'): void {
    const wanted = new Set(ips);
    const now = this.clock.now();
    let changed = false;
    const dropped = [...this.leases.claimedIPs()].filter((ip) => !wanted.has(ip));
    if (dropped.length > 0) {
      const answering = dropped.filter((ip) => this.leases.answering.has(ip));
      if (answering.length > 0) this.emit('stepDown', answering, reason);
      for (const ip of dropped) this.leases.release(ip);
      changed = true;
    }
    // The next heartbeat is the first to carry the new claims: grants count from it on.
    const seq = this.seq + 1;
    // Nothing new during the first suspicion period: our own vote, like the grants we give
    // others, must not contradict what our previous incarnation granted.
    const mayClaim = this.startedAt !== undefined && now - this.startedAt >= this.suspicionMs;
    for (const ip of mayClaim ? wanted : []) {
      if (this.leases.hasClaim(ip)) continue;
      if (!this.grants.grant(this.options.self, ip)) continue; // held by another member here
      this.leases.claim(ip, seq);
      changed = true;
    }
    if (!changed) return;
    this.grantEpoch++;
    this.refreshClaims();
    // Tell the others now rather than at the next tick: this is what makes a takeover quick.
    this.broadcast(true);
    this.updateLeases(now);
  }

  /** For another member: alive (not released). For this node: has quorum. */
  isAlive(name: string): boolean {
    if (name === this.options.self) return this.quorum;
    const p = this.peers.get(name);
    return p !== undefined && p.alive && !p.removed;
  }

  get hasQuorum(): boolean {
    return this.quorum;
  }

  alivePeers(): string[] {
    return [...this.peers.values()].filter((p) => p.alive && !p.removed).map((p) => p.member.name);
  }

  /** The layer-2 IPs a member claims (last complete list heard; for this node, its claims). */
  claimsOf(name: string): ReadonlySet<string> {
    if (name === this.options.self) return new Set(this.claimList);
    return this.peers.get(name)?.claims ?? empty;
  }

  /**
   * A member's claim on an IP as this node knows it (ClaimState), or undefined (no claim, or the
   * member is not alive here).
   */
  claimOf(name: string, ip: string): ClaimState | undefined {
    if (name === this.options.self) {
      if (this.leases.answering.has(ip)) return 'held';
      if (!this.leases.hasClaim(ip)) return undefined;
      return this.leases.lapsed(ip) ? 'lapsed' : 'pending';
    }
    const p = this.peers.get(name);
    if (!p || !p.alive || p.removed || !p.claims.has(ip)) return undefined;
    // Until its pending list is known, count a claim as held: that keeps an IP where it is.
    if (p.legacy || p.pendingOf !== p.pendingDigest) return 'held';
    if (!p.pending.has(ip)) return 'held';
    return p.lapsed.has(ip) ? 'lapsed' : 'pending';
  }

  /** A member declared dead whose last claim list named `ip` (a take-over, not a first answer). */
  deadHolder(ip: string): string | undefined {
    for (const p of this.peers.values()) if (!p.alive && p.claims.has(ip)) return p.member.name;
    return undefined;
  }

  /** The IPs this node may answer for now (a majority granted them). */
  answering(): string[] {
    return [...this.leases.answering];
  }

  /** The IPs this node claims (answered or waiting for grants). */
  claimed(): string[] {
    return [...this.claimList];
  }

  /**
   * Per-IP work so far, for the metrics: IPs the lease recomputes looked at one by one, and
   * claim entries decoded from heartbeats. Both grow with change (claims, grants, deaths), not
   * with time: a steady rise is steady per-IP work, the cost issue 12 found.
   */
  get work(): { leaseIPs: number; claimEntries: number } {
    return { leaseIPs: this.leases.examined, claimEntries: this.claimEntriesDecoded };
  }

  /** Whether `ip` may be answered at this very moment (its lease has not run out). */
  mayAnswer(ip: string): boolean {
    return this.leases.mayAnswer(ip, this.clock.now());
  }

  /**
   * True once this detector has run for a suspicion period, has held a quorum for a suspicion
   * period and holds the current claim list of every live member. Until then this node claims
   * nothing new: an IP might be held by a member it has not heard yet (the voters would refuse
   * it anyway; this avoids claims bound to be refused). The quorum's suspicion period gives a
   * member that comes back from a partition a little after the others (a heal is not atomic)
   * the same time to be heard as a silent member gets before it is failed over, so a majority
   * that re-forms without an owner does not take its IP at once (issue 17).
   */
  get settled(): boolean {
    if (this.startedAt === undefined) return false;
    const now = this.clock.now();
    if (now - this.startedAt < this.suspicionMs + this.intervalMs) return false;
    if (!this.quorum || now - this.quorumSince < this.suspicionMs) return false;
    for (const p of this.peers.values())
      if (p.alive && !p.removed && (p.claimsDigest !== p.digest || p.partial)) return false;
    return true;
  }

  /** Whether a member holds `ip` in this node's view (the voter's promise, grants.ts). */
  private holds(node: string, ip: string): boolean {
    if (node === this.options.self) return this.leases.hasClaim(ip);
    const p = this.peers.get(node);
    return p !== undefined && p.alive && p.claims.has(ip);
  }

  private refreshClaims(): void {
    this.claimList = [...this.leases.claimedIPs()].sort();
    const digest = claimsDigest(this.claimList);
    const pending = this.claimList.filter((ip) => !this.leases.answering.has(ip));
    const lapsed = new Set(pending.filter((ip) => this.leases.lapsed(ip)));
    const pendingDigest = pendingDigestOf(pending, lapsed);
    if (digest === this.digest && pendingDigest === this.pendingDigest && this.encodedParts) return;
    this.digest = digest;
    this.pendingDigest = pendingDigest;
    this.encodedParts = claimParts(this.claimList, new Set(pending), lapsed).map(encodeClaimsPart);
    this.claimsChangedAtSeq = this.seq;
  }

  private tick(): void {
    this.ticks++;
    const sendClaims =
      this.claimList.length <= this.smallClaims ||
      this.seq - this.claimsChangedAtSeq < 3 ||
      this.ticks % this.claimsEvery === 0;
    this.broadcast(sendClaims);
    this.sweep();
  }

  /** Releases members not vouched for within the suspicion time; renews time-based state. */
  private sweep(): void {
    if (!this.running) return;
    const now = this.clock.now();
    const sinceLast = now - this.lastSweep;
    this.lastSweep = now;
    // This process was stalled (GC, CPU starvation): the heartbeats that arrived meanwhile are
    // still queued, and the others' echoes of us are as old as the stall. Release nobody until
    // fresh echoes have had a round of heartbeats to come back. Waiting is always safe: it only
    // delays a take-over. (Our own leases ran out meanwhile: that step-down is not deferred.)
    if (sinceLast > this.suspicionMs / 2) this.holdReleasesUntil = now + this.hearMs;
    let changed = false;
    if (now >= this.holdReleasesUntil) {
      for (const [name, p] of this.peers) {
        const since = p.legacy ? p.lastHeard : p.ackedReceipt;
        if (p.alive && (since === undefined || now - since > this.suspicionMs)) {
          this.release(p);
          changed = true;
        }
        if (p.removed && !p.alive) this.peers.delete(name);
      }
    }
    for (const seq of this.sentAt.keys()) {
      if (now - this.sentAt.get(seq)! <= Math.max(this.leaseMs, this.hearMs) + this.intervalMs) break;
      this.sentAt.delete(seq);
    }
    if (now - this.lastPrune > 10_000) {
      this.lastPrune = now;
      this.grants.prune();
    }
    this.updateLeases(now);
    if (this.updateQuorum(now, false) || changed) this.emit('change');
    if (changed) this.urgentBroadcast();
  }

  /** Marks a member dead: whatever it holds here is free for others. */
  private release(p: PeerState): void {
    p.alive = false;
    p.grantCache = undefined;
    this.grantEpoch++;
    this.emit('dead', p.member.name);
  }

  /**
   * An extra heartbeat soon (at most one per 10 ms) after the grants this node would give
   * changed, so a claimant waiting for them does not wait for the next tick.
   */
  private urgentBroadcast(): void {
    if (this.urgentQueued || !this.running) return;
    const now = this.clock.now();
    const wait = Math.max(0, this.lastUrgent + 10 - now);
    this.urgentQueued = true;
    const fire = () => {
      this.urgentQueued = false;
      this.lastUrgent = this.clock.now();
      this.broadcast(this.claimList.length <= this.smallClaims);
    };
    if (wait === 0) fire();
    else this.clock.after(wait, fire);
  }

  private broadcast(withClaims: boolean): void {
    if (!this.running) return;
    const seq = ++this.seq;
    const now = this.clock.now();
    this.sentAt.set(seq, now);
    const parts: Array<Buffer | undefined> = withClaims ? (this.encodedParts ?? [undefined]) : [undefined];
    let revived = false;
    for (const p of this.peers.values()) revived = this.sendTo(p, seq, now, parts, false) || revived;
    if (revived) this.revived();
  }

  /**
   * Answers a member's heartbeat at once with our acknowledgement (not its own answers): its
   * lease is then renewed from a heartbeat one round trip old rather than up to two intervals
   * old, which is what lets a briefly starved owner keep its IPs.
   */
  private reply(p: PeerState): void {
    if (!this.running) return;
    const seq = ++this.seq;
    const now = this.clock.now();
    this.sentAt.set(seq, now);
    const small = this.claimList.length <= this.smallClaims;
    if (this.sendTo(p, seq, now, small ? (this.encodedParts ?? [undefined]) : [undefined], true))
      this.revived();
  }

  /** One heartbeat to one member; returns whether that member is alive again. */
  private sendTo(
    p: PeerState,
    seq: number,
    now: number,
    parts: Array<Buffer | undefined>,
    reply: boolean,
  ): boolean {
    if (p.removed || p.member.address === undefined || p.member.port === undefined) return false;
    const ack = this.ackFor(p, now);
    let revived = false;
    if (ack?.lease && !p.alive) {
      p.alive = true;
      p.grantCache = undefined;
      this.grantEpoch++;
      revived = true;
      this.emit('alive', p.member.name);
    }
    if (ack?.lease) this.fillGrants(p, ack, now);
    const hb: Heartbeat = {
      name: this.options.self,
      incarnation: this.incarnation,
      seq,
      digest: this.digest,
      pendingDigest: this.pendingDigest,
      ...(ack ? { ack } : {}),
      ...(reply ? { reply: true } : {}),
    };
    for (const part of parts)
      this.options.transport.send(
        encodeHeartbeat(hb, this.options.secret, part),
        p.member.address,
        p.member.port,
      );
    return revived;
  }

  /** A member (back) in view: our full claim list rides on the next heartbeats. */
  private revived(): void {
    this.claimsChangedAtSeq = this.seq;
    this.emit('change');
  }

  /** The acknowledgement for a member's newest heartbeat (a lease when we vouch for it). */
  private ackFor(p: PeerState, now: number): Ack | undefined {
    if (p.legacy || p.left || p.incarnation === undefined || p.lastHeard === undefined) return undefined;
    const lease =
      now - p.lastHeard <= this.hearMs && p.echoSentAt !== undefined && now - p.echoSentAt <= this.hearMs;
    if (lease) p.ackedReceipt = Math.max(p.ackedReceipt ?? -Infinity, p.lastHeard);
    return { incarnation: p.incarnation, seq: p.lastSeq, lease, grants: false, refused: [] };
  }

  /** Grants what we can of the claim list the acknowledged heartbeat carried. */
  private fillGrants(p: PeerState, ack: Ack, now: number): void {
    // A new speaker grants nothing for a suspicion period: its previous incarnation's grants
    // (forgotten with its memory) have run out by then.
    if (this.startedAt === undefined || now - this.startedAt < this.suspicionMs) return;
    if (p.claimsDigest !== p.digest) return; // we lack its current list: grant nothing new
    const cache = p.grantCache;
    let refused: string[] | undefined;
    if (cache && cache.digest === p.digest && cache.epoch === this.grantEpoch) refused = cache.refused;
    else {
      const r = this.grants.decide(p.member.name, p.claims);
      refused = r.length > MAX_REFUSED ? undefined : r;
      p.grantCache = { digest: p.digest, epoch: this.grantEpoch, refused };
    }
    if (refused === undefined) return;
    ack.grants = true;
    ack.refused = refused;
  }

  private receive(data: Buffer): void {
    if (!this.running) return;
    const hb = decodeHeartbeat(data, this.options.secret, (head) => this.holdsClaimsOf(head));
    if (!hb || hb.name === this.options.self) return;
    const p = this.peers.get(hb.name);
    if (!p || p.removed) return; // not a member (any more): the API has not told us about it
    const now = this.clock.now();
    if (p.incarnation !== hb.incarnation) {
      // A late datagram of an older process is ignored, unless the current one has been silent
      // for a suspicion period (it died, or this host's clock was stepped back at its start).
      const older = p.incarnation !== undefined && hb.incarnation < p.incarnation;
      if (older && p.lastHeard !== undefined && now - p.lastHeard <= this.suspicionMs) return;
      this.reincarnate(p, hb);
    } else if (
      !hb.legacy &&
      (hb.seq < p.lastSeq || (hb.seq === p.lastSeq && !hb.claims && !hb.skippedClaims))
    ) {
      return; // duplicate or reordered (a claim list in several parts shares one number)
    }
    if (p.left) return;
    p.lastSeq = hb.seq;
    p.lastHeard = now;
    p.digest = hb.digest;
    p.pendingDigest = hb.pendingDigest;
    if (hb.leaving) {
      // It stopped answering before saying so: whatever it held is free now.
      p.left = true;
      p.claims = empty;
      p.claimsDigest = EMPTY_DIGEST;
      if (p.alive) this.release(p);
      else this.grantEpoch++;
      this.emit('change');
      this.urgentBroadcast();
      return;
    }
    let changed = false;
    if (hb.legacy) {
      // An older speaker: alive while heard; what it claims, it answers.
      if (!p.alive) {
        p.alive = true;
        this.grantEpoch++;
        this.emit('alive', p.member.name);
        changed = true;
      }
    }
    if (hb.claims) {
      this.claimEntriesDecoded += hb.claims.ips.length;
      changed = this.takeClaims(p, hb) || changed;
    }
    if (hb.ack && hb.ack.incarnation === this.incarnation) this.takeAck(p, hb, now);
    // Every heartbeat gets its acknowledgement back at once (replies themselves are not
    // answered; a claim list in several parts is answered once).
    if (!hb.reply && !hb.legacy && ((hb.claims ?? hb.skippedClaims)?.index ?? 0) === 0) this.reply(p);
    if (this.updateQuorum(now, false) || changed) this.emit('change');
  }

  /**
   * Whether this node holds the claim list a heartbeat's digests describe (its claims part would
   * change nothing: takeClaims would ignore it), so it need not be decoded.
   */
  private holdsClaimsOf(hb: Heartbeat): boolean {
    const p = this.peers.get(hb.name);
    return (
      p !== undefined &&
      !p.removed &&
      p.incarnation === hb.incarnation &&
      p.claimsDigest === hb.digest &&
      p.pendingOf === hb.pendingDigest
    );
  }

  /** A new process behind a member's name: the old one is gone, and so are its claims. */
  private reincarnate(p: PeerState, hb: Heartbeat): void {
    const wasAlive = p.alive;
    Object.assign(p, newPeer(p.member), { incarnation: hb.incarnation });
    p.legacy = hb.legacy ?? false;
    p.claimsDigest = EMPTY_DIGEST;
    // Its old grants to us stay valid until they expire: the new process grants nothing for a
    // suspicion period (fillGrants), so they bind as promised.
    if (wasAlive) {
      this.grantEpoch++;
      this.emit('dead', p.member.name);
    }
  }

  /** Collects the parts of a claim list; returns true when what we know of it changed. */
  private takeClaims(p: PeerState, hb: Heartbeat): boolean {
    const part = hb.claims!;
    if (p.claimsDigest === hb.digest && p.pendingOf === hb.pendingDigest) return false;
    const key = { digest: hb.digest, pendingDigest: hb.pendingDigest };
    if (p.partial?.digest !== key.digest || p.partial.pendingDigest !== key.pendingDigest)
      p.partial = { ...key, parts: new Map() };
    p.partial.parts.set(part.index, part);
    if (p.partial.parts.size < part.count) return false;
    const parts = [...p.partial.parts.values()];
    p.partial = undefined;
    const ipsChanged = p.claimsDigest !== hb.digest;
    p.claims = new Set(parts.flatMap((x) => x.ips));
    p.claimsDigest = hb.digest;
    p.pending = new Set(parts.flatMap((x) => x.pending ?? []));
    p.lapsed = new Set(parts.flatMap((x) => x.lapsed ?? []));
    p.pendingOf = hb.pendingDigest;
    if (ipsChanged && p.alive) this.grantEpoch++;
    return true;
  }

  private takeAck(p: PeerState, hb: Heartbeat, now: number): void {
    const ack = hb.ack!;
    const sentAt = this.sentAt.get(ack.seq);
    p.echoSentAt = sentAt ?? -Infinity;
    if (sentAt === undefined || !ack.lease) return;
    if (!p.member.expected) return; // not a voter
    const fresh = this.leases.vote(p.member.name, p.incarnation!, {
      order: hb.seq,
      echo: ack.seq,
      expiry: sentAt + this.leaseMs,
      ...(ack.grants ? { refused: new Set(ack.refused) } : {}),
    });
    if (fresh) this.updateLeases(now);
  }

  /** Recomputes our leases: steps down (synchronously) from the lost, announces the granted. */
  private updateLeases(now: number): void {
    const { gained, lost } = this.leases.recompute(now);
    if (lost.length > 0) this.emit('stepDown', lost, 'lease');
    if (gained.length > 0 || lost.length > 0) {
      this.refreshClaims();
      // Others prefer a member that answers over one still waiting: tell them soon.
      this.urgentBroadcast();
    }
    if (gained.length > 0) this.emit('granted', gained);
    if (gained.length > 0 || lost.length > 0) this.emit('change');
    this.scheduleLeaseTimer(now);
  }

  /** Wakes up exactly when the first lease (or the quorum) runs out. */
  private scheduleLeaseTimer(now: number): void {
    const at = Math.min(this.leases.nextExpiry(), this.quorum ? this.leases.quorumExpiry(now) : Infinity);
    if (at === this.leaseTimerAt || !this.running) return;
    this.cancelLeaseTimer?.();
    this.cancelLeaseTimer = undefined;
    this.leaseTimerAt = at;
    if (!Number.isFinite(at)) return;
    this.cancelLeaseTimer = this.clock.after(Math.max(1, at - now), () => {
      this.cancelLeaseTimer = undefined;
      this.leaseTimerAt = Infinity;
      const t = this.clock.now();
      this.updateLeases(t);
      if (this.updateQuorum(t, false)) this.emit('change');
    });
  }

  /**
   * Quorum lost: a claim never granted (pending) was made on a view of the cluster that is no
   * longer current, so it is given up; a held or lapsed one is kept (the owner gets its IP back
   * after the heal). Without this, a node that claimed a cut-off owner's IP just before it lost
   * its own majority (the two cuts of a "no majority anywhere" partition a few hundred ms apart)
   * kept that claim through the partition, and after the heal a voter that had not heard the
   * owner again yet granted it: the IP moved from its live owner. Dropped, the claim is made
   * again only once this node is settled, by then knowing the owner's lapsed claim.
   */
  private dropUngrantedClaims(): void {
    const ungranted = [...this.leases.claimedIPs()].filter(
      (ip) => !this.leases.answering.has(ip) && !this.leases.lapsed(ip),
    );
    if (ungranted.length === 0) return;
    for (const ip of ungranted) this.leases.release(ip);
    this.grantEpoch++;
    this.refreshClaims();
  }

  /** Recomputes the node-level quorum; returns whether it changed (emits `quorum`). */
  private updateQuorum(now: number, emitChange = true): boolean {
    const q = this.leases.hasQuorum(now);
    if (q === this.quorum) return false;
    this.quorum = q;
    if (q) this.quorumSince = now;
    else this.dropUngrantedClaims();
    this.emit('quorum', q);
    if (emitChange) this.emit('change');
    this.scheduleLeaseTimer(now);
    return true;
  }
}

function newPeer(member: Member): PeerState {
  return {
    member,
    removed: false,
    legacy: false,
    left: false,
    lastSeq: 0,
    digest: EMPTY_DIGEST,
    pendingDigest: EMPTY_DIGEST,
    claims: empty,
    pending: empty,
    lapsed: empty,
    alive: false,
  };
}
