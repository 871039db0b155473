/**
 * Inclusive ranges of addresses of one family: pools are lists of ranges and CIDR blocks. All
 * arithmetic is on bigint, so an IPv6 /64 costs what an IPv4 /24 does; only iterate enumerates.
 */
import type { Address } from './address.js';
import { cidrLast, makeCidr, type Cidr } from './cidr.js';
import { familyBits, type IPFamily } from './family.js';

export interface AddressRange {
  readonly family: IPFamily;
  readonly first: bigint;
  /** Inclusive; never below first. */
  readonly last: bigint;
}

/** A range from its two ends; a string naming them when they are of different families or reversed. */
export function makeRange(first: Address, last: Address): AddressRange | string {
  if (first.family !== last.family)
    return `the ends are of different families (${first.family}, ${last.family})`;
  if (first.value > last.value) return 'the first address is after the last';
  return { family: first.family, first: first.value, last: last.value };
}

/** The addresses of a CIDR block as a range. */
export function cidrRange(cidr: Cidr): AddressRange {
  return { family: cidr.family, first: cidr.base, last: cidrLast(cidr) };
}

export function rangeSize(range: AddressRange): bigint {
  return range.last - range.first + 1n;
}

export function rangeContains(range: AddressRange, address: Address): boolean {
  return range.family === address.family && address.value >= range.first && address.value <= range.last;
}

export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Every address of a range, in order. Enumerates: for small ranges and tests only. */
export function* iterateRange(range: AddressRange): Generator<Address> {
  for (let value = range.first; value <= range.last; value++) yield { family: range.family, value };
}

/**
 * The minimal list of CIDR blocks that covers exactly [first, last], ascending. Greedy: at each
 * step take the largest block that starts at `first` (aligned) and does not pass `last`. At most
 * 2 × width blocks, so nothing is ever enumerated.
 */
export function summarizeRange(range: AddressRange): Cidr[] {
  const bits = familyBits[range.family];
  const blocks: Cidr[] = [];
  let next = range.first;
  while (next <= range.last) {
    let hostBits = 0;
    while (hostBits < bits && ((next >> BigInt(hostBits)) & 1n) === 0n) hostBits++;
    while (next + (1n << BigInt(hostBits)) - 1n > range.last) hostBits--;
    blocks.push(makeCidr(range.family, next, bits - hostBits));
    next += 1n << BigInt(hostBits);
  }
  return blocks;
}
