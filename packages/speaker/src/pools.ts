/** Which configured pool an IP belongs to: the pool whose CIDRs contain it (pools never overlap). */
import { type AddressPool, type Cidr, type Config, cidrLast, parseIP } from '@portico/config';

interface Block {
  cidr: Cidr;
  last: bigint;
  pool: AddressPool;
}

export class PoolIndex {
  private readonly blocks: Block[] = [];

  constructor(config: Config) {
    for (const pool of config.pools)
      for (const entry of pool.addresses)
        for (const cidr of entry.cidrs) this.blocks.push({ cidr, last: cidrLast(cidr), pool });
  }

  /** The pool holding `ip`, or undefined when no pool does (or `ip` is not an address). */
  poolOf(ip: string): AddressPool | undefined {
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
