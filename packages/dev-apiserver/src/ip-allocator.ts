/**
 * Cluster IP allocation from a service CIDR, one allocator per IP family, like the real server's
 * ipallocator: the network address (and for IPv4 the broadcast address) is never handed out, a
 * requested address must lie in the range and be free, and addresses come back on release.
 * Addresses are handed out in increasing order from a moving cursor, so a released address is not
 * reused at once (the real server picks at random; sequential keeps tests readable). Like the real
 * allocator (KEP-3070), dynamic allocation starts above the static band (the first
 * min(max(16, size/16), 256) addresses) and uses the band only when the rest is full, so that
 * addresses requested by name from the band rarely collide with allocated ones.
 */
import { formatAddress, parseAddress, parseCidr, type IPFamily } from '@portico/net';

export class IpAllocator {
  readonly family: IPFamily;
  private readonly base: bigint;
  private readonly size: number;
  private readonly used = new Set<number>();
  /** Size of the static band at the start of the range. */
  private readonly band: number;
  private cursor: number;

  constructor(readonly cidr: string) {
    const parsed = parseCidr(cidr, { clearHostBits: true });
    const hostBits =
      typeof parsed === 'string' ? 0 : (parsed.family === 'IPv4' ? 32 : 128) - parsed.prefixLength;
    if (typeof parsed === 'string' || hostBits < 2 || hostBits > 24) {
      throw new Error(`service CIDR ${cidr}: need an IPv4 or IPv6 CIDR with 4 to 2^24 addresses`);
    }
    this.family = parsed.family;
    this.base = parsed.base;
    this.size = 2 ** hostBits;
    // calculateRangeOffset: no static band in ranges smaller than 16.
    this.band = this.size < 16 ? 1 : Math.min(Math.max(16, Math.floor(this.size / 16)), 256);
    this.cursor = this.band;
  }

  private offsetOf(address: string): number | undefined {
    const parsed = parseAddress(address);
    if (parsed?.family !== this.family) return undefined;
    const offset = parsed.value - this.base;
    if (offset < 0n || offset >= BigInt(this.size)) return undefined;
    return Number(offset);
  }

  private usable(offset: number): boolean {
    return offset > 0 && offset < this.size && !(this.family === 'IPv4' && offset === this.size - 1);
  }

  contains(address: string): boolean {
    const offset = this.offsetOf(address);
    return offset !== undefined && this.usable(offset);
  }

  isAllocated(address: string): boolean {
    const offset = this.offsetOf(address);
    return offset !== undefined && this.used.has(offset);
  }

  /** Claims a specific address; returns the real allocator's reason when out of range or taken. */
  allocate(address: string): string | undefined {
    const offset = this.offsetOf(address);
    if (offset === undefined || !this.usable(offset))
      return 'the provided network does not match the current range';
    if (this.used.has(offset)) return 'provided IP is already allocated';
    this.used.add(offset);
    return undefined;
  }

  /**
   * The dry-run check: whether the address lies in the range. Like the real allocator in dry-run
   * mode, whether it is free is not checked.
   */
  check(address: string): string | undefined {
    const offset = this.offsetOf(address);
    if (offset === undefined || !this.usable(offset))
      return 'the provided network does not match the current range';
    return undefined;
  }

  /** The network address, what the real allocator hands out to a dry-run allocation. */
  get network(): string {
    return formatAddress({ family: this.family, value: this.base });
  }

  /** The next free address after the cursor above the static band, else in the band; undefined when full. */
  allocateNext(): string | undefined {
    const dynamic = this.size - this.band;
    for (let tried = 0; tried < dynamic; tried++) {
      const offset = this.cursor;
      this.cursor = this.cursor + 1 >= this.size ? this.band : this.cursor + 1;
      if (this.usable(offset) && !this.used.has(offset)) return this.take(offset);
    }
    for (let offset = 1; offset < this.band; offset++) {
      if (this.usable(offset) && !this.used.has(offset)) return this.take(offset);
    }
    return undefined;
  }

  /** The first address of the range (the `kubernetes` Service's, in the static band). */
  allocateFirst(): string | undefined {
    return this.used.has(1) ? undefined : this.take(1);
  }

  private take(offset: number): string {
    this.used.add(offset);
    return formatAddress({ family: this.family, value: this.base + BigInt(offset) });
  }

  release(address: string): void {
    const offset = this.offsetOf(address);
    if (offset !== undefined) this.used.delete(offset);
  }

  get allocatedCount(): number {
    return this.used.size;
  }
}
