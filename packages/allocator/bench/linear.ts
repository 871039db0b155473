/**
 * The reference for the benchmark: a plain linear-scan allocator, the obvious implementation
 * (MetalLB's getIPFromCIDR walks a CIDR the same way). It looks at addresses one by one from the
 * start of each CIDR until it finds one that is not in the used set.
 */
import type { AddressPool } from '@portico/config';
import type { IPFamily } from '@portico/net';

interface Range {
  family: IPFamily;
  first: bigint;
  last: bigint;
}

export class LinearAllocator {
  readonly #ranges: Range[];
  readonly #used = new Map<IPFamily, Set<bigint>>([
    ['IPv4', new Set()],
    ['IPv6', new Set()],
  ]);
  readonly #owned = new Map<string, { family: IPFamily; value: bigint }>();

  constructor(pools: readonly AddressPool[]) {
    this.#ranges = pools.flatMap((pool) =>
      pool.addresses.flatMap((entry) =>
        entry.cidrs.map((cidr) => ({
          family: cidr.family,
          first: cidr.base,
          last: cidr.base + (1n << BigInt((cidr.family === 'IPv4' ? 32 : 128) - cidr.prefixLength)) - 1n,
        })),
      ),
    );
  }

  /** Marks an address used directly (start-up re-claim): O(1). */
  claim(key: string, family: IPFamily, value: bigint): void {
    this.#used.get(family)!.add(value);
    this.#owned.set(key, { family, value });
  }

  allocate(key: string, family: IPFamily): bigint | undefined {
    const used = this.#used.get(family)!;
    for (const range of this.#ranges) {
      if (range.family !== family) continue;
      for (let value = range.first; value <= range.last; value++) {
        if (!used.has(value)) {
          used.add(value);
          this.#owned.set(key, { family, value });
          return value;
        }
      }
    }
    return undefined;
  }

  release(key: string): void {
    const owned = this.#owned.get(key);
    if (!owned) return;
    this.#used.get(owned.family)!.delete(owned.value);
    this.#owned.delete(key);
  }
}
