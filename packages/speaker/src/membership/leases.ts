/**
 * The claimant's side of layer-2 ownership: which of the IPs this node claims it may answer for
 * right now, and until when.
 *
 * A node answers for an IP only while a majority of the voters (itself included) grant it. A
 * grant arrives in a voter's heartbeat as an acknowledgement of one of this node's heartbeats
 * (by sequence number): "I heard your heartbeat N, and I grant every IP it claimed but these".
 * It is valid until `sentAt(N) + leaseMs` on THIS node's clock: N's send time is read here, on
 * the clock that measures the expiry, so neither network delay nor the voter's clock can stretch
 * it. A voter promises not to grant the IP to anyone else until `suspicionMs` (> leaseMs) after it
 * received the last heartbeat of ours it acknowledged (grants.ts), so by the time any voter of a
 * majority has moved an IP on, our grant from it has run out.
 *
 * An IP's grants count only from acknowledgements of heartbeats sent since the IP was claimed
 * (its claim sequence number): a grant for an earlier claim of the same IP, released in between,
 * is worth nothing.
 *
 * A claim that was answered and whose grants ran out while it is still claimed is *lapsed*, not
 * merely pending: the election lets its holder have the IP back before anyone who never answered
 * for it (a starved owner that wakes keeps its IP; see docs/speaker.md).
 */

export interface Vote {
  /** The voter's own sequence number for the heartbeat carrying it (newest wins). */
  order: number;
  /** Our sequence number it acknowledges. */
  echo: number;
  /** sentAt(echo) + leaseMs, on our clock. */
  expiry: number;
  /** Granted: every IP claimed at `echo` except these; undefined: liveness only, no grant. */
  refused?: ReadonlySet<string>;
}

export interface LeaseChange {
  gained: string[];
  lost: string[];
}

/** The IPs claimed with one sequence number, and their common lease. */
interface ClaimGroup {
  seq: number;
  ips: Set<string>;
  /** The lease expiry of its IPs that no voter refuses, as of the last recompute. */
  expiry: number;
  /** Whether that lease had not run out at the last recompute (its IPs are leased). */
  live: boolean;
}

export class LeaseBook {
  /** IP → its claim group (the first heartbeat that claimed it, in the current claim). */
  private readonly claimed = new Map<string, ClaimGroup>();
  /**
   * Claim sequence number → its group (merged when no vote can tell them apart). Leases are kept
   * per group, not per IP: the voters renew a whole group at once several times a second, and
   * that must cost nothing per IP (issue 12).
   */
  private readonly groups = new Map<number, ClaimGroup>();
  /** IP → its own lease expiry, for the IPs some voter refuses (at most MAX_REFUSED per voter). */
  private exceptions = new Map<string, number>();
  /** Claimed since the last recompute, or moved to another group: looked at one by one. */
  private readonly touched = new Set<string>();
  /** Newest vote of each voter (by the voter's incarnation and order). */
  private readonly votes = new Map<string, { incarnation: number; vote: Vote }>();
  /** Newest liveness acknowledgement expiry of each voter (node-level quorum). */
  private readonly heard = new Map<string, number>();
  private voters: ReadonlySet<string> = new Set();
  /** Grants needed from others (a majority of the voters, less this node when it is one). */
  private needed = 1;
  private selfVotes = false;
  /** The IPs this node may answer for now (their lease had not run out at the last recompute). */
  private readonly leased = new Set<string>();
  /** Claimed IPs that had a lease at some point during the current claim. */
  private readonly answered = new Set<string>();
  /** IPs recomputes looked at one by one, so far (grows with change, not with time). */
  examined = 0;

  /** The voting members (eligible nodes, this one included when eligible). */
  setVoters(voters: Iterable<string>, self: string): void {
    const all = new Set(voters);
    this.selfVotes = all.has(self);
    all.delete(self);
    this.voters = all;
    const n = all.size + (this.selfVotes ? 1 : 0);
    // One or two voters: no majority can tell a dead peer from a partition; availability wins
    // (documented). Otherwise a strict majority.
    const majority = n <= 2 ? 1 : Math.floor(n / 2) + 1;
    this.needed = majority - (this.selfVotes ? 1 : 0);
  }

  /** The IPs claimed (answered or waiting for grants). */
  claimedIPs(): IterableIterator<string> {
    return this.claimed.keys();
  }

  hasClaim(ip: string): boolean {
    return this.claimed.has(ip);
  }

  /** The sequence number an IP's grants count from (its claim, or a later one it was merged into). */
  claimSeqOf(ip: string): number | undefined {
    return this.claimed.get(ip)?.seq;
  }

  claim(ip: string, seq: number): void {
    if (this.claimed.has(ip)) return;
    let group = this.groups.get(seq);
    if (!group) this.groups.set(seq, (group = { seq, ips: new Set(), expiry: -Infinity, live: false }));
    group.ips.add(ip);
    this.claimed.set(ip, group);
    this.touched.add(ip);
  }

  release(ip: string): void {
    const group = this.claimed.get(ip);
    if (group === undefined) return;
    this.claimed.delete(ip);
    group.ips.delete(ip);
    if (group.ips.size === 0) this.groups.delete(group.seq);
    this.exceptions.delete(ip);
    this.touched.delete(ip);
    this.leased.delete(ip);
    this.answered.delete(ip);
  }

  /** Claimed, answered during this claim, and not answerable now: its grants ran out. */
  lapsed(ip: string): boolean {
    return this.answered.has(ip) && !this.leased.has(ip);
  }

  /** Records a voter's acknowledgement; false when it is older than one already recorded. */
  vote(voter: string, incarnation: number, vote: Vote): boolean {
    const current = this.votes.get(voter);
    if (current && current.incarnation === incarnation && current.vote.order >= vote.order) return false;
    this.heard.set(voter, Math.max(this.heard.get(voter) ?? -Infinity, vote.expiry));
    // Only a granting vote replaces a grant: a liveness-only acknowledgement (the voter lacks
    // our newest claim list for a moment) leaves the voter's promise for the older list intact.
    if (vote.refused !== undefined || !current || current.incarnation !== incarnation)
      this.votes.set(voter, { incarnation, vote });
    return true;
  }

  forgetVoter(voter: string): void {
    this.votes.delete(voter);
    this.heard.delete(voter);
  }

  /** A majority of the voters acknowledged one of our heartbeats within the lease time. */
  hasQuorum(now: number): boolean {
    if (this.needed <= 0) return true;
    let n = 0;
    for (const voter of this.voters) if ((this.heard.get(voter) ?? -Infinity) > now) n++;
    return n >= this.needed;
  }

  /** When the node-level quorum runs out unless renewed (Infinity when not needed). */
  quorumExpiry(now: number): number {
    if (this.needed <= 0) return Infinity;
    const expiries = [...this.voters].map((v) => this.heard.get(v) ?? -Infinity).filter((e) => e > now);
    return kthLargest(expiries, this.needed);
  }

  /** IPs this node may answer for now. */
  get answering(): ReadonlySet<string> {
    return this.leased;
  }

  /** Whether `ip` may be answered at `now` (a synchronous check, for the last moment). */
  mayAnswer(ip: string, now: number): boolean {
    return this.leased.has(ip) && this.expiryOf(ip) > now;
  }

  /** The earliest expiry among the leased IPs (when a step-down is due), or Infinity. */
  nextExpiry(): number {
    let next = Infinity;
    for (const group of this.groups.values()) if (group.live && group.expiry < next) next = group.expiry;
    for (const [ip, e] of this.exceptions) if (e < next && this.leased.has(ip)) next = e;
    return next;
  }

  /**
   * Recomputes the leases at `now`; returns what changed. Costs the number of claim groups and
   * refusals, plus the IPs of a group whose lease starts or ends: not the number of IPs.
   */
  recompute(now: number): LeaseChange {
    this.mergeGroups(now);
    const granting: Vote[] = [];
    for (const voter of this.voters) {
      const v = this.votes.get(voter)?.vote;
      if (v && v.refused !== undefined && v.expiry > now) granting.push(v);
    }
    const gained: string[] = [];
    const lost: string[] = [];
    const settle = (ip: string, expiry: number) => {
      this.examined++;
      const live = expiry > now;
      if (live === this.leased.has(ip)) return;
      if (live) {
        this.leased.add(ip);
        this.answered.add(ip);
        gained.push(ip);
      } else {
        this.leased.delete(ip);
        lost.push(ip);
      }
    };
    const exceptions = new Map<string, number>();
    for (const group of this.groups.values()) {
      const valid = granting.filter((v) => v.echo >= group.seq);
      group.expiry =
        this.needed <= 0
          ? Infinity
          : kthLargest(
              valid.map((v) => v.expiry),
              this.needed,
            );
      // An IP some valid voter refuses has a lease of its own.
      if (this.needed > 0)
        for (const v of valid)
          for (const ip of v.refused!) {
            if (!group.ips.has(ip) || exceptions.has(ip)) continue;
            exceptions.set(
              ip,
              kthLargest(
                valid.filter((w) => !w.refused!.has(ip)).map((w) => w.expiry),
                this.needed,
              ),
            );
          }
      // The group's lease started or ended: each of its IPs (those with a lease of their own
      // are settled below). A renewal costs nothing per IP.
      const live = group.expiry > now;
      if (live === group.live) continue;
      group.live = live;
      for (const ip of group.ips) if (!exceptions.has(ip)) settle(ip, group.expiry);
    }
    const previous = this.exceptions;
    this.exceptions = exceptions;
    for (const [ip, expiry] of exceptions) settle(ip, expiry);
    // No longer refused, new in its group or moved to another: back to (or given) the group's lease.
    for (const ip of [...previous.keys(), ...this.touched])
      if (!exceptions.has(ip) && this.claimed.has(ip)) settle(ip, this.expiryOf(ip));
    this.touched.clear();
    return { gained, lost };
  }

  /** The lease expiry of a claimed IP as of the last recompute (-Infinity: none). */
  private expiryOf(ip: string): number {
    return this.exceptions.get(ip) ?? this.claimed.get(ip)?.expiry ?? -Infinity;
  }

  /**
   * Groups whose claim numbers no live vote separates behave alike from now on (votes only move
   * forward): merge them under the newest number, which is the stricter one. The IPs of the
   * smaller groups move into the largest, so a new claim next to many old ones costs little.
   */
  private mergeGroups(now: number): void {
    if (this.groups.size < 2) return;
    let minEcho = Infinity;
    for (const voter of this.voters) {
      const v = this.votes.get(voter)?.vote;
      if (v && v.expiry > now && v.echo < minEcho) minEcho = v.echo;
    }
    const mergeable = [...this.groups.values()].filter((g) => g.seq <= minEcho);
    if (mergeable.length < 2) return;
    const newest = Math.max(...mergeable.map((g) => g.seq));
    const into = mergeable.reduce((a, b) => (b.ips.size > a.ips.size ? b : a));
    for (const group of mergeable) {
      this.groups.delete(group.seq);
      if (group === into) continue;
      for (const ip of group.ips) {
        into.ips.add(ip);
        this.claimed.set(ip, into);
        // Its lease is the merged group's from now on: looked at on its own this once.
        this.touched.add(ip);
      }
    }
    into.seq = newest;
    this.groups.set(newest, into);
  }
}

/** The k-th largest value (1-based), or -Infinity when there are fewer than k. */
function kthLargest(values: number[], k: number): number {
  if (k <= 0) return Infinity;
  if (values.length < k) return -Infinity;
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[k - 1]!;
}
