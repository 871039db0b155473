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

export class LeaseBook {
  /** IP → sequence number of the first heartbeat that claimed it (in the current claim). */
  private readonly claimSeq = new Map<string, number>();
  /** claim sequence number → IPs claimed with it (merged when no vote can tell them apart). */
  private readonly groups = new Map<number, Set<string>>();
  /** Newest vote of each voter (by the voter's incarnation and order). */
  private readonly votes = new Map<string, { incarnation: number; vote: Vote }>();
  /** Newest liveness acknowledgement expiry of each voter (node-level quorum). */
  private readonly heard = new Map<string, number>();
  private voters: ReadonlySet<string> = new Set();
  /** Grants needed from others (a majority of the voters, less this node when it is one). */
  private needed = 1;
  private selfVotes = false;
  /** IP → lease expiry, for the IPs this node may answer now. */
  private leased = new Map<string, number>();
  /** Claimed IPs that had a lease at some point during the current claim. */
  private readonly answered = new Set<string>();

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

  get claims(): ReadonlyMap<string, number> {
    return this.claimSeq;
  }

  claim(ip: string, seq: number): void {
    if (this.claimSeq.has(ip)) return;
    this.claimSeq.set(ip, seq);
    let group = this.groups.get(seq);
    if (!group) this.groups.set(seq, (group = new Set()));
    group.add(ip);
  }

  release(ip: string): void {
    const seq = this.claimSeq.get(ip);
    if (seq === undefined) return;
    this.claimSeq.delete(ip);
    const group = this.groups.get(seq)!;
    group.delete(ip);
    if (group.size === 0) this.groups.delete(seq);
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
  get answering(): ReadonlyMap<string, number> {
    return this.leased;
  }

  /** Whether `ip` may be answered at `now` (a synchronous check, for the last moment). */
  mayAnswer(ip: string, now: number): boolean {
    return (this.leased.get(ip) ?? -Infinity) > now;
  }

  /** The earliest expiry among the leased IPs (when a step-down is due), or Infinity. */
  nextExpiry(): number {
    let next = Infinity;
    for (const e of this.leased.values()) if (e < next) next = e;
    return next;
  }

  /** Recomputes the leases at `now`; returns what changed. */
  recompute(now: number): LeaseChange {
    this.mergeGroups(now);
    const granting: Vote[] = [];
    for (const voter of this.voters) {
      const v = this.votes.get(voter)?.vote;
      if (v && v.refused !== undefined && v.expiry > now) granting.push(v);
    }
    const next = new Map<string, number>();
    for (const [seq, ips] of this.groups) {
      const valid = granting.filter((v) => v.echo >= seq);
      const plain = valid.filter((v) => v.refused!.size === 0);
      const groupExpiry =
        this.needed <= 0
          ? Infinity
          : kthLargest(
              valid.map((v) => v.expiry),
              this.needed,
            );
      const refusing = valid.length > plain.length;
      for (const ip of ips) {
        let expiry = groupExpiry;
        if (refusing && this.needed > 0) {
          expiry = kthLargest(
            valid.filter((v) => !v.refused!.has(ip)).map((v) => v.expiry),
            this.needed,
          );
        }
        if (expiry > now) next.set(ip, expiry);
      }
    }
    const gained: string[] = [];
    const lost: string[] = [];
    for (const ip of next.keys()) {
      if (!this.leased.has(ip)) gained.push(ip);
      this.answered.add(ip);
    }
    for (const ip of this.leased.keys()) if (!next.has(ip)) lost.push(ip);
    this.leased = next;
    return { gained, lost };
  }

  /**
   * Groups whose claim numbers no live vote separates behave alike from now on (votes only move
   * forward): merge them under the newest number, which is the stricter one.
   */
  private mergeGroups(now: number): void {
    if (this.groups.size < 2) return;
    let minEcho = Infinity;
    for (const voter of this.voters) {
      const v = this.votes.get(voter)?.vote;
      if (v && v.expiry > now && v.echo < minEcho) minEcho = v.echo;
    }
    const mergeable = [...this.groups.keys()].filter((s) => s <= minEcho).sort((a, b) => a - b);
    if (mergeable.length < 2) return;
    const into = mergeable[mergeable.length - 1]!;
    const target = this.groups.get(into)!;
    for (const seq of mergeable.slice(0, -1)) {
      for (const ip of this.groups.get(seq)!) {
        target.add(ip);
        this.claimSeq.set(ip, into);
      }
      this.groups.delete(seq);
    }
  }
}

/** The k-th largest value (1-based), or -Infinity when there are fewer than k. */
function kthLargest(values: number[], k: number): number {
  if (k <= 0) return Infinity;
  if (values.length < k) return -Infinity;
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[k - 1]!;
}
