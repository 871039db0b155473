/**
 * The configured pools compiled for allocation: each pool's CIDR blocks in the order they are
 * tried (entries in config order, the CIDRs of a range ascending), and the lookup of which pool
 * owns an address.
 */
import type { AddressPool } from '@portico/config';
import type { Address, IPFamily } from '@portico/net';
import { Block } from './block.js';

export interface CompiledPool {
  readonly index: number;
  readonly name: string;
  readonly autoAssign: boolean;
  readonly blocks: readonly Block[];
  readonly families: readonly IPFamily[];
}

/** Where an address lives: its pool and the block's position in that pool's order. */
export interface Home {
  readonly pool: CompiledPool;
  readonly blockIndex: number;
}

export class PoolTable {
  readonly pools: readonly CompiledPool[];
  readonly #byName = new Map<string, CompiledPool>();

  constructor(pools: readonly AddressPool[]) {
    this.pools = pools.map((pool, index) => {
      const blocks = pool.addresses.flatMap((entry) =>
        entry.cidrs.map((cidr) => new Block(cidr, pool.avoidBuggyIPs)),
      );
      const families = (['IPv4', 'IPv6'] as const).filter((f) => blocks.some((b) => b.family === f));
      return { index, name: pool.name, autoAssign: pool.autoAssign, blocks, families };
    });
    for (const pool of this.pools) if (!this.#byName.has(pool.name)) this.#byName.set(pool.name, pool);
  }

  get(name: string): CompiledPool | undefined {
    return this.#byName.get(name);
  }

  /**
   * The first pool (config order) that may hand out `ip`, MetalLB's poolFor with a defined order.
   * Costs O(number of CIDR blocks in the config), never the size of a block.
   */
  home(ip: Address): Home | undefined {
    for (const pool of this.pools) {
      const blockIndex = pool.blocks.findIndex((block) => block.allows(ip));
      if (blockIndex >= 0) return { pool, blockIndex };
    }
    return undefined;
  }

  /** Every block (of any pool) that contains `ip`; more than one only if pools overlap. */
  blocksHolding(ip: Address): Block[] {
    return this.pools.flatMap((pool) => pool.blocks.filter((block) => block.allows(ip)));
  }
}
