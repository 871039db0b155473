/**
 * The used addresses of one CIDR block, stored as maximal runs of consecutive usable addresses
 * in a balanced search tree (a treap keyed by the run's first address).
 *
 * Why runs: "lowest free address at or after x" is then one tree lookup. If x lies in a run, the
 * address after the run's end is free (runs are maximal, so it cannot start another run); if not,
 * x itself is free. Every operation costs O(log runs) and never looks at free addresses, so a /8
 * or an IPv6 /64 costs the same as a /24. Lowest-first allocation keeps the number of runs small
 * (it fills the lowest hole first), but the bound does not depend on that.
 *
 * "Consecutive" is defined by a step function, so a block with avoid-buggy-ips treats
 * x.x.x.254 and x.x.(x+1).1 as neighbours and never stores or returns x.x.x.255 / x.x.x.0.
 */

/** Moves between neighbouring usable addresses. */
export interface Step {
  next(address: bigint): bigint;
  prev(address: bigint): bigint;
}

export const plainStep: Step = {
  next: (address) => address + 1n,
  prev: (address) => address - 1n,
};

/** A run of used addresses, first and last included. */
export interface Run {
  readonly first: bigint;
  readonly last: bigint;
}

interface Node {
  first: bigint;
  last: bigint;
  priority: number;
  left: Node | undefined;
  right: Node | undefined;
}

export class UsedRanges {
  readonly #step: Step;
  #root: Node | undefined;
  #runs = 0;
  /** Tree shape only; a fixed seed keeps runs reproducible (results never depend on it). */
  #seed = 0x9e3779b9;

  constructor(step: Step = plainStep) {
    this.#step = step;
  }

  /** Number of runs (for tests and diagnostics). */
  get runCount(): number {
    return this.#runs;
  }

  /** The run that holds `address`, if it is used. */
  find(address: bigint): Run | undefined {
    let node = this.#root;
    let floor: Node | undefined;
    while (node) {
      if (node.first <= address) {
        floor = node;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    return floor && floor.last >= address ? floor : undefined;
  }

  has(address: bigint): boolean {
    return this.find(address) !== undefined;
  }

  /** The lowest unused address at or after `from` (`from` must be usable). May lie past the block. */
  firstFree(from: bigint): bigint {
    const run = this.find(from);
    return run ? this.#step.next(run.last) : from;
  }

  /** Marks `address` used, merging it with the runs that end just before or start just after it. */
  add(address: bigint): void {
    if (this.has(address)) return;
    const before = this.find(this.#step.prev(address));
    const after = this.find(this.#step.next(address));
    if (before) this.#delete(before.first);
    if (after) this.#delete(after.first);
    this.#insert(before ? before.first : address, after ? after.last : address);
  }

  /** Marks `address` unused, splitting its run in two when it lies inside. */
  delete(address: bigint): void {
    const run = this.find(address);
    if (!run) return;
    const { first, last } = run;
    this.#delete(first);
    if (first < address) this.#insert(first, this.#step.prev(address));
    if (address < last) this.#insert(this.#step.next(address), last);
  }

  /** All runs, ascending. For tests. */
  runs(): Run[] {
    const out: Run[] = [];
    const walk = (node: Node | undefined): void => {
      if (!node) return;
      walk(node.left);
      out.push({ first: node.first, last: node.last });
      walk(node.right);
    };
    walk(this.#root);
    return out;
  }

  #insert(first: bigint, last: bigint): void {
    const node: Node = { first, last, priority: this.#nextPriority(), left: undefined, right: undefined };
    const [lower, upper] = split(this.#root, first);
    this.#root = merge(merge(lower, node), upper);
    this.#runs++;
  }

  #delete(first: bigint): void {
    const [lower, rest] = split(this.#root, first);
    const [, upper] = split(rest, first + 1n);
    this.#root = merge(lower, upper);
    this.#runs--;
  }

  /** xorshift32: deterministic heap priorities for the treap. */
  #nextPriority(): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed;
  }
}

/** Splits a treap into the nodes with `first < key` and those with `first >= key`. */
function split(node: Node | undefined, key: bigint): [Node | undefined, Node | undefined] {
  if (!node) return [undefined, undefined];
  if (node.first < key) {
    const [lower, upper] = split(node.right, key);
    node.right = lower;
    return [node, upper];
  }
  const [lower, upper] = split(node.left, key);
  node.left = upper;
  return [lower, node];
}

/** Joins two treaps where every key of `a` is below every key of `b`. */
function merge(a: Node | undefined, b: Node | undefined): Node | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.priority >= b.priority) {
    a.right = merge(a.right, b);
    return a;
  }
  b.left = merge(a, b.left);
  return b;
}
