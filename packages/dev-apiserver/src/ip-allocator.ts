/**
 * Cluster IP allocation from a service CIDR, one allocator per IP family, like the real server's
 * ipallocator: the network address (and for IPv4 the broadcast address) is never handed out, a
 * requested address must lie in the range and be free, and addresses come back on release.
 * Addresses are handed out in increasing order from a moving cursor, so a released address is not
 * reused at once (the real server picks at random; sequential keeps tests readable).
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
  private cursor = 1;

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
  }

  private offsetOf(address: string): number | undefined {
    if (familyOf(address) !== this.family) return undefined;
    const offset = ipToBigInt(address) - this.base;
    if (offset < 0n || offset >= BigInt(this.size)) return undefined;
    return Number(offset);
  }

  private usable(offset: number): boolean {
    return offset > 0 && !(this.family === 'IPv4' && offset === this.size - 1);
  }

  contains(address: string): boolean {
    const offset = this.offsetOf(address);
    return offset !== undefined && this.usable(offset);
  }

  isAllocated(address: string): boolean {
    const offset = this.offsetOf(address);
    return offset !== undefined && this.used.has(offset);
  }

  /** Claims a specific address; returns an error text when out of range or taken. */
  allocate(address: string): string | undefined {
    const offset = this.offsetOf(address);
    if (offset === undefined || !this.usable(offset)) {
      return `failed to allocate IP ${address}: the provided IP (${address}) is not in the valid range. The range of valid IPs is ${this.cidr}`;
    }
    if (this.used.has(offset))
      return 'failed to allocate IP ' + address + ': provided IP is already allocated';
    this.used.add(offset);
    return undefined;
  }

  /** The next free address after the cursor, or undefined when the range is full. */
  allocateNext(): string | undefined {
    for (let tried = 0; tried < this.size; tried++) {
      const offset = this.cursor;
      this.cursor = this.cursor + 1 >= this.size ? 1 : this.cursor + 1;
      if (this.usable(offset) && !this.used.has(offset)) {
        this.used.add(offset);
        return bigIntToIp(this.base + BigInt(offset), this.family);
      }
    }
    return undefined;
  }

  release(address: string): void {
    const offset = this.offsetOf(address);
    if (offset !== undefined) this.used.delete(offset);
  }

  get allocatedCount(): number {
    return this.used.size;
  }
}
