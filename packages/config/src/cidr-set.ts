/**
 * A set of disjoint CIDR blocks that answers "does this block overlap any of them?" with one
 * binary search, so checking a config for overlaps costs O(n log n) in its blocks instead of
 * comparing every pair (a long IPv6 range alone summarises into up to 256 blocks).
 */
import { cidrLast, type Cidr, type IPFamily } from '@portico/net';

export interface Owned<T> {
  readonly cidr: Cidr;
  readonly owner: T;
}

export class DisjointCidrSet<T> {
  /** Per family, sorted by base; blocks are disjoint, so their last addresses are sorted too. */
  readonly #blocks: Record<IPFamily, Owned<T>[]> = { IPv4: [], IPv6: [] };

  /** A block of the set that overlaps `cidr` (equal, containing or contained), if any. */
  findOverlap(cidr: Cidr): Owned<T> | undefined {
    const blocks = this.#blocks[cidr.family];
    const index = this.#lastStartingAtOrBefore(blocks, cidrLast(cidr));
    const candidate = index >= 0 ? blocks[index] : undefined;
    return candidate && cidrLast(candidate.cidr) >= cidr.base ? candidate : undefined;
  }

  /** Adds a block; the caller has checked that it overlaps nothing in the set. */
  add(cidr: Cidr, owner: T): void {
    const blocks = this.#blocks[cidr.family];
    blocks.splice(this.#lastStartingAtOrBefore(blocks, cidr.base) + 1, 0, { cidr, owner });
  }

  /** Index of the last block whose base is <= address, -1 when none. */
  #lastStartingAtOrBefore(blocks: readonly Owned<T>[], address: bigint): number {
    let low = 0;
    let high = blocks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((blocks[mid] as Owned<T>).cidr.base <= address) low = mid + 1;
      else high = mid;
    }
    return low - 1;
  }
}
