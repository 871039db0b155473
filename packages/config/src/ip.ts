/**
 * IP addresses as unsigned integers. Pools can be an IPv6 /64, so arithmetic is on bigint and
 * nothing ever enumerates addresses.
 */
import ipaddr from 'ipaddr.js';
import type { Cidr, IPFamily } from './model.js';

export interface IP {
  readonly family: IPFamily;
  readonly value: bigint;
}

export const familyBits: Record<IPFamily, number> = { IPv4: 32, IPv6: 128 };

/**
 * Parses a textual IPv4 (dotted quad only) or IPv6 address; undefined when it is not one.
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are treated as IPv4, as Go's net.ParseIP does.
 */
export function parseIP(text: string): IP | undefined {
  const trimmed = text.trim();
  const v4 = parseDottedQuad(trimmed);
  if (v4 >= 0) return { family: 'IPv4', value: BigInt(v4) };
  if (!trimmed.includes(':') || !ipaddr.IPv6.isValid(trimmed) || trimmed.includes('%')) return undefined;
  const v6 = ipaddr.IPv6.parse(trimmed);
  if (v6.isIPv4MappedAddress()) {
    return { family: 'IPv4', value: bytesToBigInt(v6.toIPv4Address().toByteArray()) };
  }
  return { family: 'IPv6', value: bytesToBigInt(v6.toByteArray()) };
}

/**
 * A dotted quad as ipaddr.js's isValidFourPartDecimal accepts it (four decimal parts of 0-255, no
 * leading zeros), as a number; -1 for anything else. Written out by hand because the speaker
 * parses every Service IP on every reconcile: through ipaddr.js (a regular expression match, an
 * array of parts, a byte array) that was about a third of what the speaker allocated while 10,000
 * IPs were announced (issue 12).
 */
function parseDottedQuad(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      dots++;
      part = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return -1;
    // A leading zero ("01") is refused, as by ipaddr.js: it could be read as octal.
    if (digits > 0 && part === 0) return -1;
    part = part * 10 + (c - 48);
    if (part > 255) return -1;
    digits++;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Canonical text: dotted quad, or RFC 5952 for IPv6. */
export function formatIP(ip: IP): string {
  if (ip.family === 'IPv4') {
    const n = Number(ip.value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  return new ipaddr.IPv6(bigIntToBytes(ip.value, 16)).toRFC5952String();
}

/** Canonicalises an address string; undefined when it is not an address. */
export function canonicalIP(text: string): string | undefined {
  const ip = parseIP(text);
  return ip && formatIP(ip);
}

function bytesToBigInt(bytes: number[]): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

function bigIntToBytes(value: bigint, length: number): number[] {
  const bytes = new Array<number>(length);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/** The number of addresses of a family minus one: the all-ones address. */
export function maxAddress(family: IPFamily): bigint {
  return (1n << BigInt(familyBits[family])) - 1n;
}

/** Builds a CIDR block, clearing host bits the way Go's net.ParseCIDR does. */
export function makeCidr(family: IPFamily, address: bigint, prefixLength: number): Cidr {
  const hostBits = familyBits[family] - prefixLength;
  // A host route (every Service IP, on every speaker reconcile) has no bits to clear: no bigints.
  const base = hostBits === 0 ? address : (address >> BigInt(hostBits)) << BigInt(hostBits);
  return { family, base, prefixLength, text: `${formatIP({ family, value: base })}/${prefixLength}` };
}

/** The last address of a block. */
export function cidrLast(cidr: Cidr): bigint {
  return cidr.base + (1n << BigInt(familyBits[cidr.family] - cidr.prefixLength)) - 1n;
}

/** How many addresses a block holds. */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(familyBits[cidr.family] - cidr.prefixLength);
}

/**
 * Two blocks overlap when they are equal or one contains the other (aligned blocks can not
 * partially overlap). Blocks of different families never overlap.
 */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= cidrLast(b) && b.base <= cidrLast(a);
}

/**
 * Parses `address/length` like Go's net.ParseCIDR: the address part decides the family (an
 * IPv6 text stays IPv6 even when IPv4-mapped), the length is decimal and within the family's
 * width, host bits are cleared. Returns the reason as a string when the text is not a CIDR.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'missing "/prefix-length"';
  const addressText = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  const family: IPFamily | undefined = ipaddr.IPv4.isValidFourPartDecimal(addressText)
    ? 'IPv4'
    : addressText.includes(':') && !addressText.includes('%') && ipaddr.IPv6.isValid(addressText)
      ? 'IPv6'
      : undefined;
  if (!family) return `invalid address "${addressText}"`;
  if (!/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > familyBits[family]) {
    return `invalid prefix length "${lengthText}" for ${family} (0-${familyBits[family]})`;
  }
  const bytes =
    family === 'IPv4'
      ? ipaddr.IPv4.parse(addressText).toByteArray()
      : ipaddr.IPv6.parse(addressText).toByteArray();
  return makeCidr(family, bytesToBigInt(bytes), Number(lengthText));
}

/**
 * The minimal list of CIDR blocks that covers exactly [first, last], ascending. Greedy: at each
 * step take the largest block that starts at `first` (aligned) and does not pass `last`. At most
 * 2 × width blocks, so nothing is ever enumerated.
 */
export function summarizeRange(family: IPFamily, first: bigint, last: bigint): Cidr[] {
  const bits = familyBits[family];
  const blocks: Cidr[] = [];
  let next = first;
  while (next <= last) {
    let hostBits = 0;
    while (hostBits < bits && ((next >> BigInt(hostBits)) & 1n) === 0n) hostBits++;
    while (next + (1n << BigInt(hostBits)) - 1n > last) hostBits--;
    blocks.push(makeCidr(family, next, bits - hostBits));
    next += 1n << BigInt(hostBits);
  }
  return blocks;
}
