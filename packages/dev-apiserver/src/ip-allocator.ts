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
import { isIPv4, isIPv6 } from 'node:net';

export type IPFamily = 'IPv4' | 'IPv6';

export function familyOf(address: string): IPFamily | undefined {
  if (isIPv4(address)) return 'IPv4';
  if (isIPv6(address)) return 'IPv6';
  return undefined;
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  let text = address;
  // An embedded dotted-quad tail (::ffff:1.2.3.4) becomes two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToBigInt(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
  return parts.reduce((acc, p) => (acc << 16n) | BigInt(parseInt(p, 16)), 0n);
}

export function ipToBigInt(address: string): bigint {
  return isIPv4(address) ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
}

export function bigIntToIp(value: bigint, family: IPFamily): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const hextets: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) hextets.push(((value >> s) & 0xffffn).toString(16));
  // The WHATWG URL parser serialises IPv6 hosts in the RFC 5952 canonical form.
  return new URL(`http://[${hextets.join(':')}]/`).hostname.slice(1, -1);
}

export class IpAllocator {
  readonly family: IPFamily;
  private readonly base: bigint;
  private readonly size: number;
  private readonly used = new Set<number>();
  /** Size of the static band at the start of the range. */
  private readonly band: number;
  private cursor: number;

  constructor(readonly cidr: string) {
    const [address, prefixText] = cidr.split('/');
    const family = address ? familyOf(address) : undefined;
    const bits = family === 'IPv4' ? 32 : 128;
    const prefix = Number(prefixText);
    if (!family || !Number.isInteger(prefix) || prefix < bits - 24 || prefix > bits - 2) {
      throw new Error(`service CIDR ${cidr}: need an IPv4 or IPv6 CIDR with 4 to 2^24 addresses`);
    }
    this.family = family;
    const hostBits = BigInt(bits - prefix);
    this.base = (ipToBigInt(address!) >> hostBits) << hostBits;
    this.size = Number(1n << hostBits);
    // calculateRangeOffset: no static band in ranges smaller than 16.
    this.band = this.size < 16 ? 1 : Math.min(Math.max(16, Math.floor(this.size / 16)), 256);
    this.cursor = this.band;
  }

  private offsetOf(address: string): number | undefined {
    if (familyOf(address) !== this.family) return undefined;
    const offset = ipToBigInt(address) - this.base;
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
    return bigIntToIp(this.base, this.family);
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
    return bigIntToIp(this.base + BigInt(offset), this.family);
  }

  release(address: string): void {
    const offset = this.offsetOf(address);
    if (offset !== undefined) this.used.delete(offset);
  }

  get allocatedCount(): number {
    return this.used.size;
  }
}
