/**
 * IP addresses as a family and an unsigned integer. That is the one form the rest of Portico
 * passes around: the allocator does arithmetic on it (pools can be an IPv6 /64, hence bigint, and
 * nothing enumerates addresses), and the wire codecs turn it into octets once (addressToBytes).
 * Text is parsed and written by hand: the speaker parses every Service IP on every reconcile, and
 * a regular expression or a library's byte arrays per address were a third of what it allocated
 * with 10,000 IPs announced (issue 12).
 */
import type { IPFamily } from './family.js';

export interface Address {
  readonly family: IPFamily;
  readonly value: bigint;
}

/**
 * Parses an IPv4 dotted quad (four decimal parts 0-255, no leading zeros, which could be read as
 * octal) or an IPv6 address (RFC 4291 §2.2, with an optional trailing dotted quad). The text is the
 * family: `::ffff:192.0.2.1` is IPv6. Zone ids (`fe80::1%eth0`), prefix lengths and white space
 * are refused. Undefined when the text is not an address.
 */
export function parseAddress(text: string): Address | undefined {
  const v4 = parseDottedQuad(text, 0, text.length);
  if (v4 >= 0) return { family: 'IPv4', value: BigInt(v4) };
  const v6 = parseIPv6(text);
  return v6 === undefined ? undefined : { family: 'IPv6', value: v6 };
}

/**
 * Parses an address the way Go's net.ParseIP, and so Kubernetes and MetalLB, read a Service IP:
 * surrounding white space ignored, and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4
 * address.
 */
export function parseIP(text: string): Address | undefined {
  const address = parseAddress(text.trim());
  return address && unmapIPv4(address);
}

const MAPPED_PREFIX = 0xffffn << 32n;

/** An IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2) as its IPv4 address; any other unchanged. */
export function unmapIPv4(address: Address): Address {
  if (address.family === 'IPv6' && address.value >> 32n === 0xffffn) {
    return { family: 'IPv4', value: address.value - MAPPED_PREFIX };
  }
  return address;
}

/** Canonical text: dotted quad, or RFC 5952 for IPv6. */
export function formatAddress(address: Address): string {
  if (address.family === 'IPv4') return formatIPv4(Number(address.value));
  return formatIPv6(address.value);
}

/** The canonical text of an address as parseIP reads it; undefined when it is not an address. */
export function canonicalIP(text: string): string | undefined {
  const address = parseIP(text);
  return address && formatAddress(address);
}

/** Orders IPv4 before IPv6, then by numeric value; 0 when equal. */
export function compareAddresses(a: Address, b: Address): number {
  if (a.family !== b.family) return a.family === 'IPv4' ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export function addressesEqual(a: Address, b: Address): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Network-order octets: 4 for IPv4, 16 for IPv6 (what ARP, NDP and BGP put on the wire). */
export function addressToBytes(address: Address): Uint8Array {
  if (address.family === 'IPv4') return writeWord(new Uint8Array(4), 0, Number(address.value));
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 4; i++)
    writeWord(bytes, i * 4, Number((address.value >> BigInt(96 - 32 * i)) & 0xffffffffn));
  return bytes;
}

function writeWord(bytes: Uint8Array, at: number, word: number): Uint8Array {
  bytes[at] = word >>> 24;
  bytes[at + 1] = (word >>> 16) & 255;
  bytes[at + 2] = (word >>> 8) & 255;
  bytes[at + 3] = word & 255;
  return bytes;
}

/** The address held in 4 (IPv4) or 16 (IPv6) network-order octets. */
export function addressFromBytes(bytes: Uint8Array): Address {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length === 4) return { family: 'IPv4', value: BigInt(view.getUint32(0)) };
  if (bytes.length === 16) {
    let value = 0n;
    for (let i = 0; i < 16; i += 4) value = (value << 32n) | BigInt(view.getUint32(i));
    return { family: 'IPv6', value };
  }
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

/** Text of an address held in 4 or 16 network-order octets (a packet's field). */
export function formatAddressBytes(bytes: Uint8Array): string {
  return formatAddress(addressFromBytes(bytes));
}

function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * RFC 5952 §4: lower-case hex without leading zeros, the longest run of two or more zero groups
 * (the first on ties) written as `::`. IPv4-mapped addresses stay in hex (`::ffff:c000:201`), not
 * the mixed notation §5 recommends: what Portico always wrote, and what its users compare against.
 */
function formatIPv6(value: bigint): string {
  const groups = new Array<number>(8);
  for (let i = 0; i < 4; i++) {
    const word = Number((value >> BigInt(96 - 32 * i)) & 0xffffffffn);
    groups[2 * i] = word >>> 16;
    groups[2 * i + 1] = word & 0xffff;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  // Built by hand rather than with slice/map/join: the speaker formats every IPv6 Service IP.
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += (groups[i] as number).toString(16);
  }
  return text;
}

/** A dotted quad in text[start, end) as a number; -1 when it is not one. */
function parseDottedQuad(text: string, start: number, end: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
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
    if (digits > 0 && part === 0) return -1; // a leading zero
    part = part * 10 + (c - 48);
    if (part > 255) return -1;
    digits++;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Value of one hex digit, -1 for any other character. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * RFC 4291 §2.2: eight groups of one to four hex digits; one `::` stands for one or more zero
 * groups; the last two groups may be written as a dotted quad. Undefined for anything else.
 */
function parseIPv6(text: string): bigint | undefined {
  const groups: number[] = [];
  let gap = -1; // index in groups where `::` stands
  let i = 0;
  const end = text.length;
  if (end < 2) return undefined;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined; // a lone leading ':'
    gap = 0;
    i = 2;
    if (i === end) return 0n;
  }
  while (i < end) {
    // One group, or a trailing dotted quad.
    let group = 0;
    let digits = 0;
    let j = i;
    for (; j < end; j++) {
      const d = hexDigit(text.charCodeAt(j));
      if (d < 0) break;
      group = group * 16 + d;
      digits++;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      // A dotted quad ends the address and fills two groups.
      const v4 = parseDottedQuad(text, i, end);
      if (v4 < 0 || groups.length > 6) return undefined;
      groups.push(v4 >>> 16, v4 & 0xffff);
      break;
    }
    if (digits === 0 || digits > 4) return undefined;
    groups.push(group);
    if (groups.length > 8) return undefined;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58) return undefined;
    if (j + 1 < end && text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return undefined; // a second `::`
      gap = groups.length;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return undefined; // a trailing single ':'
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  // Assembled as four 32-bit words: four bigint conversions instead of eight.
  const zeros = 8 - groups.length;
  const words = [0, 0, 0, 0];
  for (let g = 0, k = 0; g < 8; g++) {
    const inGap = gap >= 0 && g >= gap && g < gap + zeros;
    const group = inGap ? 0 : (groups[k++] as number);
    words[g >> 1] = (words[g >> 1] as number) * 65536 + group;
  }
  const [w0, w1, w2, w3] = words as [number, number, number, number];
  return (BigInt(w0) << 96n) | (BigInt(w1) << 64n) | (BigInt(w2) << 32n) | BigInt(w3);
}
