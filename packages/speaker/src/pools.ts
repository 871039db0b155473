/** Which configured pool an IP belongs to: the pool whose CIDRs contain it (pools never overlap). */
import type { AddressPool, Config } from '@portico/config';
import { cidrLast, parseIP, type Cidr } from '@portico/net';

interface Block {
  cidr: Cidr;
  last: bigint;
  pool: AddressPool;
}

const indexes = new WeakMap<Config, PoolIndex>();

export class PoolIndex {
  private readonly blocks: Block[] = [];
  private readonly memo = new Map<string, AddressPool | undefined>();

  /** The index of a configuration, built once per Config object. */
  static of(config: Config): PoolIndex {
    let index = indexes.get(config);
    if (!index) {
      index = new PoolIndex(config);
      indexes.set(config, index);
    }
    return index;
  }

  constructor(config: Config) {
    for (const pool of config.pools)
      for (const entry of pool.addresses)
        for (const cidr of entry.cidrs) this.blocks.push({ cidr, last: cidrLast(cidr), pool });
  }

  /** The pool holding `ip`, or undefined when no pool does (or `ip` is not an address). */
  poolOf(ip: string): AddressPool | undefined {
    if (this.memo.has(ip)) return this.memo.get(ip);
    const pool = this.lookup(ip);
    // Bounded: a pool can be a /64; only the IPs Services hold are ever asked for.
    if (this.memo.size >= 100_000) this.memo.clear();
    this.memo.set(ip, pool);
    return pool;
  }

  private lookup(ip: string): AddressPool | undefined {
    const parsed = parseIP(ip);
    if (!parsed) return undefined;
    // Linear: configurations hold tens of blocks; a Service has one or two IPs.
    for (const b of this.blocks) {
      if (b.cidr.family === parsed.family && parsed.value >= b.cidr.base && parsed.value <= b.last)
        return b.pool;
    }
    return undefined;
  }
}
