/**
 * One CIDR block of a pool, with the set of its used addresses. Knows which of its addresses are
 * usable: all of them, or with avoid-buggy-ips every IPv4 address but x.x.x.0 and x.x.x.255
 * (MetalLB's ipConfusesBuggyFirmwares; IPv6 is never affected).
 */
import { cidrLast, type Address, type Cidr, type IPFamily } from '@portico/net';
import { plainStep, UsedRanges, type Step } from './used-ranges.js';

/** True for an IPv4 address ending in .0 or .255, which some old firmware mishandles. */
export function isBuggyIP(ip: Address): boolean {
  if (ip.family !== 'IPv4') return false;
  const last = ip.value & 0xffn;
  return last === 0n || last === 0xffn;
}

const buggyStep: Step = {
  next(address) {
    let next = address + 1n;
    while (isBuggyIP({ family: 'IPv4', value: next })) next++;
    return next;
  },
  prev(address) {
    let prev = address - 1n;
    while (prev >= 0n && isBuggyIP({ family: 'IPv4', value: prev })) prev--;
    return prev;
  },
};

export class Block {
  readonly cidr: Cidr;
  readonly family: IPFamily;
  readonly first: bigint;
  readonly last: bigint;
  readonly avoidBuggyIPs: boolean;
  readonly used: UsedRanges;
  readonly #step: Step;

  constructor(cidr: Cidr, avoidBuggyIPs: boolean) {
    this.cidr = cidr;
    this.family = cidr.family;
    this.first = cidr.base;
    this.last = cidrLast(cidr);
    this.avoidBuggyIPs = avoidBuggyIPs && cidr.family === 'IPv4';
    this.#step = this.avoidBuggyIPs ? buggyStep : plainStep;
    this.used = new UsedRanges(this.#step);
  }

  /** Whether the block may hand out `ip` (in range, and not a buggy address when those are avoided). */
  allows(ip: Address): boolean {
    if (ip.family !== this.family || ip.value < this.first || ip.value > this.last) return false;
    return !(this.avoidBuggyIPs && isBuggyIP(ip));
  }

  /** The lowest usable address with no user, if any. O(log runs). */
  firstFree(): bigint | undefined {
    const start = this.isUsable(this.first) ? this.first : this.#step.next(this.first);
    if (start > this.last) return undefined;
    const free = this.used.firstFree(start);
    return free <= this.last ? free : undefined;
  }

  /** Number of addresses the block can hand out. */
  usableCount(): bigint {
    const size = this.last - this.first + 1n;
    if (!this.avoidBuggyIPs) return size;
    return size - countCongruent(this.first, this.last, 0n) - countCongruent(this.first, this.last, 255n);
  }

  isUsable(address: bigint): boolean {
    return !(this.avoidBuggyIPs && isBuggyIP({ family: this.family, value: address }));
  }
}

/** How many x in [first, last] have x mod 256 == residue. */
function countCongruent(first: bigint, last: bigint, residue: bigint): bigint {
  const upTo = (n: bigint): bigint => (n < residue ? 0n : (n - residue) / 256n + 1n);
  return upTo(last) - (first === 0n ? 0n : upTo(first - 1n));
}
