/**
 * IP prefixes as carried in NLRI fields (RFC 4271 §4.3, RFC 4760 §5): a length in bits followed by
 * the fewest octets that hold it. Text form is the canonical CIDR string, used as the map key.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { Afi, type AfiNumber, ErrorCode, UpdateSubcode } from './constants.js';
import { BgpError } from './errors.js';

export interface Prefix {
  afi: AfiNumber;
  /** Prefix length in bits. */
  length: number;
  /** The network address, 4 or 16 octets, host bits zero. */
  address: Uint8Array;
}

export function ipv4ToBytes(text: string): Uint8Array {
  if (!isIPv4(text)) throw new TypeError(`not an IPv4 address: ${text}`);
  return Uint8Array.from(text.split('.').map(Number));
}

export function ipv6ToBytes(text: string): Uint8Array {
  if (!isIPv6(text)) throw new TypeError(`not an IPv6 address: ${text}`);
  let s = text;
  const out = new Uint8Array(16);
  // An embedded dotted quad (::ffff:192.0.2.1) fills the last 4 octets.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  let v4: Uint8Array | undefined;
  if (tail.includes('.')) {
    v4 = ipv4ToBytes(tail);
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined
      ? headGroups
      : [
          ...headGroups,
          ...new Array<string>(8 - headGroups.length - restGroups.length).fill('0'),
          ...restGroups,
        ];
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

export function ipToBytes(text: string): Uint8Array {
  return isIPv4(text) ? ipv4ToBytes(text) : ipv6ToBytes(text);
}

export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 §4.2: compress the longest run (of at least two) of zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses "198.51.100.10/32", "2001:db8::/32" or a bare address (a host route). Host bits must be zero. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const v4 = isIPv4(addressText);
  if (!v4 && !isIPv6(addressText)) throw new TypeError(`not an IP prefix: ${text}`);
  const max = v4 ? 32 : 128;
  const lengthText = slash < 0 ? String(max) : text.slice(slash + 1);
  const length = Number(lengthText);
  if (!/^\d{1,3}$/.test(lengthText) || length > max) throw new TypeError(`bad prefix length: ${text}`);
  const address = v4 ? ipv4ToBytes(addressText) : ipv6ToBytes(addressText);
  if (!hostBitsZero(address, length)) throw new TypeError(`host bits set in prefix: ${text}`);
  return { afi: v4 ? Afi.IPV4 : Afi.IPV6, length, address };
}

export function formatPrefix(prefix: Prefix): string {
  return `${bytesToIp(prefix.address)}/${prefix.length}`;
}

function hostBitsZero(address: Uint8Array, length: number): boolean {
  for (let bit = length; bit < address.length * 8; bit++) {
    if (((address[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

/** Octets one prefix takes in an NLRI field. */
export function encodedPrefixLength(prefix: Prefix): number {
  return 1 + ((prefix.length + 7) >> 3);
}

export function writePrefix(buf: Uint8Array, offset: number, prefix: Prefix): number {
  const octets = (prefix.length + 7) >> 3;
  buf[offset] = prefix.length;
  // A plain copy: a subarray view per prefix costs more than the few octets it would copy.
  for (let i = 0; i < octets; i++) buf[offset + 1 + i] = prefix.address[i] as number;
  return offset + 1 + octets;
}

/**
 * Decodes a run of prefixes filling `buf[start, end)`. An error in an NLRI field cannot be
 * localised to one route, so RFC 7606 §5.3 requires a session reset: thrown as BgpError.
 */
export function readPrefixes(buf: Uint8Array, start: number, end: number, afi: AfiNumber): Prefix[] {
  const max = afi === Afi.IPV4 ? 32 : 128;
  const out: Prefix[] = [];
  let at = start;
  while (at < end) {
    const length = buf[at] as number;
    const octets = (length + 7) >> 3;
    if (length > max || at + 1 + octets > end) {
      throw new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.INVALID_NETWORK_FIELD, 'malformed NLRI');
    }
    const address = new Uint8Array(max / 8);
    address.set(buf.subarray(at + 1, at + 1 + octets));
    // RFC 4271 §4.3: trailing bits after the prefix are irrelevant; clear them so equal prefixes compare equal.
    if (length & 7) address[octets - 1] = (address[octets - 1] as number) & (0xff << (8 - (length & 7)));
    out.push({ afi, length, address });
    at += 1 + octets;
  }
  return out;
}
