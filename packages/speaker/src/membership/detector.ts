/**
 * The failure detector among speakers: every speaker sends a heartbeat to every member each
 * `intervalMs` (100 ms) and declares a member dead when it has heard nothing from it for
 * `suspicionMs` (500 ms). All-to-all heartbeats are simple and, for the tens to low hundreds of
 * nodes of a bare-metal cluster, cheap (a 40-byte datagram per member per interval); they do not
 * need the Kubernetes API, so an API outage does not stop failover.
 *
 * Membership comes from the API (the Nodes and their addresses); the API is also the slower
 * authority on node health (Ready conditions, applied by the decision, see nodes.ts).
 *
 * Quorum, against split brain: a speaker may answer for layer-2 IPs only while it hears from a
 * strict majority of the membership (itself included). The membership counted is every member
 * the API expects to run a speaker (eligible nodes) plus every member heard from. A speaker whose
 * link went down, or whose heartbeats are filtered, hears nobody and goes quiet within
 * `suspicionMs`, while the majority side takes its IPs over. With one or two members no majority
 * can tell a dead peer from a partition; availability wins there (documented in docs/speaker.md).
 */
import { EventEmitter } from 'node:events';
import { type Clock, systemClock } from './clock.js';
import { claimParts, claimsDigest, decodeHeartbeat, encodeHeartbeat, type Heartbeat } from './heartbeat.js';
import type { Transport } from './udp-transport.js';

export interface Member {
  name: string;
  /** Where its heartbeats go; absent when the API gives no address (it can never be heard). */
  address?: string;
  port?: number;
  /** The API expects this member to run a speaker (counted for the quorum even when silent). */
  expected: boolean;
}

export interface DetectorOptions {
  /** This node's name. */
  self: string;
  transport: Transport;
  clock?: Clock;
  intervalMs?: number;
  suspicionMs?: number;
  /** Full claim lists are resent every this many heartbeats even when unchanged. */
  claimsEvery?: number;
  /** Claim sets up to this size ride on every heartbeat. */
  smallClaims?: number;
  /** Shared secret authenticating heartbeats (HMAC-SHA256); none when absent. */
  secret?: Buffer;
}

interface PeerState {
  member: Member;
  lastHeard?: number;
  alive: boolean;
  claims: ReadonlySet<string>;
  /** The digest of `claims`; differs from `heardDigest` while a new list is on its way. */
  claimsDigest?: number;
  heardDigest?: number;
  pending?: { digest: number; parts: Map<number, string[]> };
}

export interface DetectorEvents {
  /** Liveness, quorum or a member's claims changed. */
  change: [];
  /** A member was declared dead (for logs and the failover metric). */
  dead: [name: string];
  alive: [name: string];
}

const empty: ReadonlySet<string> = new Set();

export class FailureDetector extends EventEmitter<DetectorEvents> {
  private readonly peers = new Map<string, PeerState>();
  private readonly intervalMs: number;
  private readonly suspicionMs: number;
  private readonly claimsEvery: number;
  private readonly smallClaims: number;
  private readonly clock: Clock;
  private claims: string[] = [];
  private digest = claimsDigest([]);
  private claimsChangedAtSeq = 0;
  private seq = 0;
  private startedAt: number | undefined;
  private stopTimer: (() => void) | undefined;
  private quorum = false;
  private lastSweep = -Infinity;
  private stalled = false;

  constructor(private readonly options: DetectorOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.intervalMs = options.intervalMs ?? 100;
    this.suspicionMs = options.suspicionMs ?? 500;
    this.claimsEvery = options.claimsEvery ?? 10;
    this.smallClaims = options.smallClaims ?? 64;
    options.transport.onMessage((data) => this.receive(data));
  }

  start(): void {
    if (this.startedAt !== undefined) return;
    this.startedAt = this.clock.now();
    this.lastSweep = this.startedAt;
    this.quorum = this.computeQuorum();
    const stopBeats = this.clock.every(this.intervalMs, () => this.tick());
    // Silence is checked four times per interval, so a death is noticed within a quarter
    // interval of the suspicion time instead of up to a whole interval later.
    const stopSweeps = this.clock.every(Math.max(5, this.intervalMs / 4), () => this.sweep());
    this.stopTimer = () => {
      stopBeats();
      stopSweeps();
    };
    this.tick();
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  /** A planned stop: tells every member at once, so they fail over without waiting for silence. */
  leave(): void {
    if (this.startedAt === undefined) return;
    const data = encodeHeartbeat(
      { name: this.options.self, seq: ++this.seq, digest: claimsDigest([]), leaving: true },
      this.options.secret,
    );
    for (const { member } of this.peers.values())
      if (member.address !== undefined && member.port !== undefined)
        this.options.transport.send(data, member.address, member.port);
    this.stop();
  }

  /** Replaces the membership (from the API). Members not listed are forgotten. */
  setMembers(members: Iterable<Member>): void {
    const seen = new Set<string>();
    for (const m of members) {
      if (m.name === this.options.self) continue;
      seen.add(m.name);
      const state = this.peers.get(m.name);
      if (state) state.member = m;
      else this.peers.set(m.name, { member: m, alive: false, claims: empty });
    }
    for (const name of [...this.peers.keys()]) if (!seen.has(name)) this.peers.delete(name);
    this.updateQuorum();
  }

  /** The layer-2 IPs this node announces, gossiped to the others. */
  setClaims(ips: Iterable<string>): void {
    const list = [...new Set(ips)].sort();
    const digest = claimsDigest(list);
    if (digest === this.digest && list.length === this.claims.length) return;
    this.claims = list;
    this.digest = digest;
    this.claimsChangedAtSeq = this.seq;
    // Tell the others now rather than at the next tick: this is what makes a takeover visible.
    this.broadcast(true);
  }

  /** For another member: heard from within the suspicion time. For this node: has quorum. */
  isAlive(name: string): boolean {
    if (name === this.options.self) return this.quorum;
    return this.peers.get(name)?.alive ?? false;
  }

  get hasQuorum(): boolean {
    return this.quorum;
  }

  alivePeers(): string[] {
    return [...this.peers.values()].filter((p) => p.alive).map((p) => p.member.name);
  }

  /** The layer-2 IPs a member said it announces (last complete list heard). */
  claimsOf(name: string): ReadonlySet<string> {
    if (name === this.options.self) return new Set(this.claims);
    return this.peers.get(name)?.claims ?? empty;
  }

  /**
   * True once this detector has run for a suspicion period (so every live member has been heard)
   * and holds the current claim list of every live member. Until then a speaker must not take
   * an IP over: the IP might be claimed by someone it has not heard yet.
   */
  get settled(): boolean {
    if (this.startedAt === undefined) return false;
    if (this.clock.now() - this.startedAt < this.suspicionMs + this.intervalMs) return false;
    for (const p of this.peers.values()) if (p.alive && p.claimsDigest !== p.heardDigest) return false;
    return true;
  }

  private tick(): void {
    const sendClaims =
      this.claims.length <= this.smallClaims ||
      this.seq - this.claimsChangedAtSeq < 3 ||
      this.seq % this.claimsEvery === 0;
    this.broadcast(sendClaims);
    this.sweep();
  }

  /** Declares dead every member silent for longer than the suspicion time. */
  private sweep(): void {
    const now = this.clock.now();
    const sinceLast = now - this.lastSweep;
    this.lastSweep = now;
    // This process was stalled (GC, CPU starvation): the heartbeats that arrived meanwhile are
    // still queued behind this and the other late timers. Judge nobody until they have been read
    // (setImmediate runs after the event loop's I/O phase).
    if (sinceLast > this.suspicionMs / 2 && !this.stalled) {
      this.stalled = true;
      setImmediate(() => (this.stalled = false));
    }
    if (this.stalled) return;
    let changed = false;
    for (const p of this.peers.values()) {
      if (p.alive && (p.lastHeard === undefined || now - p.lastHeard > this.suspicionMs)) {
        p.alive = false;
        changed = true;
        this.emit('dead', p.member.name);
      }
    }
    if (this.updateQuorum(false) || changed) this.emit('change');
  }

  private broadcast(withClaims: boolean): void {
    if (this.startedAt === undefined) return;
    const seq = ++this.seq;
    const base: Heartbeat = { name: this.options.self, seq, digest: this.digest };
    const datagrams = withClaims
      ? claimParts(this.claims).map((claims) => encodeHeartbeat({ ...base, claims }, this.options.secret))
      : [encodeHeartbeat(base, this.options.secret)];
    for (const { member } of this.peers.values()) {
      if (member.address === undefined || member.port === undefined) continue;
      for (const d of datagrams) this.options.transport.send(d, member.address, member.port);
    }
  }

  private receive(data: Buffer): void {
    const hb = decodeHeartbeat(data, this.options.secret);
    if (!hb) return;
    const p = this.peers.get(hb.name);
    if (!p) return; // not a member (yet): the API has not told us about it
    if (hb.leaving) {
      p.lastHeard = undefined;
      if (p.alive) {
        p.alive = false;
        this.emit('dead', hb.name);
        this.updateQuorum(false);
        this.emit('change');
      }
      return;
    }
    p.lastHeard = this.clock.now();
    p.heardDigest = hb.digest;
    let changed = false;
    if (!p.alive) {
      // Whatever it claimed before it went silent is stale (it may have restarted empty).
      p.claims = empty;
      p.claimsDigest = undefined;
      p.pending = undefined;
      p.alive = true;
      changed = true;
      this.emit('alive', hb.name);
    }
    if (hb.claims)
      changed = this.takeClaims(p, hb.digest, hb.claims.index, hb.claims.count, hb.claims.ips) || changed;
    if (this.updateQuorum(false) || changed) this.emit('change');
  }

  /** Collects the parts of a claim list; returns true when a new complete list replaced the old. */
  private takeClaims(p: PeerState, digest: number, index: number, count: number, ips: string[]): boolean {
    if (p.claimsDigest === digest) return false;
    if (p.pending?.digest !== digest) p.pending = { digest, parts: new Map() };
    p.pending.parts.set(index, ips);
    if (p.pending.parts.size < count) return false;
    p.claims = new Set([...p.pending.parts.values()].flat());
    p.claimsDigest = digest;
    p.pending = undefined;
    return true;
  }

  private computeQuorum(): boolean {
    let members = 1;
    let alive = 1;
    for (const p of this.peers.values()) {
      if (p.member.expected || p.alive) members++;
      if (p.alive) alive++;
    }
    if (members <= 2) return true;
    return alive * 2 > members;
  }

  /** Recomputes the quorum; returns whether it changed (and emits unless told not to). */
  private updateQuorum(emit = true): boolean {
    const q = this.computeQuorum();
    if (q === this.quorum) return false;
    this.quorum = q;
    if (emit) this.emit('change');
    return true;
  }
}
