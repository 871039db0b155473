/**
 * CIDR blocks: a network address and a prefix length. A block is also a range of addresses
 * (cidrRange), which is how pools are reasoned about.
 */
import { formatAddress, parseAddress, type Address } from './address.js';
import { familyBits, type IPFamily } from './family.js';

/** One CIDR block, host bits clear. `base` is the network address as an unsigned integer. */
export interface Cidr {
  readonly family: IPFamily;
  readonly base: bigint;
  readonly prefixLength: number;
  /** Canonical text, e.g. `192.0.2.0/24` or `2001:db8::/64` (RFC 5952 for IPv6). */
  readonly text: string;
}

export interface ParseCidrOptions {
  /**
   * Clear host bits instead of refusing them, as Go's net.ParseCIDR (and so MetalLB) does:
   * `10.20.30.40/24` is `10.20.30.0/24`. Default false: `host bits set` is an error.
   */
  readonly clearHostBits?: boolean;
}

/**
 * Parses `address/length`. The address text decides the family (an IPv4-mapped IPv6 text stays
 * IPv6); the length is decimal and within the family's width. Returns the reason, naming the
 * offending part, as a string when the text is not a CIDR.
 */
export function parseCidr(text: string, options: ParseCidrOptions = {}): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'missing "/prefix-length"';
  const addressText = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  const address = parseAddress(addressText);
  if (!address) return `invalid address "${addressText}"`;
  const bits = familyBits[address.family];
  if (!/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > bits) {
    return `invalid prefix length "${lengthText}" for ${address.family} (0-${bits})`;
  }
  const cidr = makeCidr(address.family, address.value, Number(lengthText));
  if (!options.clearHostBits && cidr.base !== address.value) {
    return `host bits set in "${text}" (the network is ${cidr.text})`;
  }
  return cidr;
}

/** Builds a CIDR block from any address in it, clearing host bits. */
export function makeCidr(family: IPFamily, address: bigint, prefixLength: number): Cidr {
  const hostBits = familyBits[family] - prefixLength;
  // A host route (every Service IP, on every speaker reconcile) has no bits to clear: no bigints.
  const base = hostBits === 0 ? address : (address >> BigInt(hostBits)) << BigInt(hostBits);
  return { family, base, prefixLength, text: `${formatAddress({ family, value: base })}/${prefixLength}` };
}

/** The host route of one address: `/32` or `/128`. */
export function hostCidr(address: Address): Cidr {
  return makeCidr(address.family, address.value, familyBits[address.family]);
}

/** How many addresses a block holds. */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(familyBits[cidr.family] - cidr.prefixLength);
}

/** The last address of a block (the IPv4 broadcast address); the first is `base`. */
export function cidrLast(cidr: Cidr): bigint {
  return cidr.base + cidrSize(cidr) - 1n;
}

/** The network address of a block. */
export function cidrNetwork(cidr: Cidr): Address {
  return { family: cidr.family, value: cidr.base };
}

/** The last address of a block, which for IPv4 is its broadcast address. */
export function cidrBroadcast(cidr: Cidr): Address {
  return { family: cidr.family, value: cidrLast(cidr) };
}

/** Whether an address lies in a block (never across families). */
export function cidrContains(cidr: Cidr, address: Address): boolean {
  return cidr.family === address.family && address.value >= cidr.base && address.value <= cidrLast(cidr);
}

/**
 * Two blocks overlap when they are equal or one contains the other (aligned blocks can not
 * partially overlap). Blocks of different families never overlap.
 */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= cidrLast(b) && b.base <= cidrLast(a);
}
