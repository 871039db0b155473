/**
 * IP and MAC addresses as bytes: the codecs work on Buffers, people and logs on text. IPv6 text is
 * written in the RFC 5952 canonical form so one address always has one spelling (map keys, labels).
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Buffer;
  /** Canonical text (RFC 5952 for IPv6). */
  text: string;
}

/** Parses an IPv4 or IPv6 address (no zone, no prefix length); undefined when it is neither. */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) {
    const bytes = Buffer.from(text.split('.').map(Number));
    return { family: 4, bytes, text: formatIpv4(bytes) };
  }
  // net.isIPv6 accepts a zone ("fe80::1%eth0"); an announced address has none.
  if (isIPv6(text) && !text.includes('%')) {
    const bytes = parseIpv6(text);
    return { family: 6, bytes, text: formatIpv6(bytes) };
  }
  return undefined;
}

export function ipFromBytes(bytes: Buffer): IpAddress {
  if (bytes.length === 4) return { family: 4, bytes, text: formatIpv4(bytes) };
  if (bytes.length === 16) return { family: 6, bytes, text: formatIpv6(bytes) };
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

export function formatIpv4(bytes: Buffer): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

// Callers have checked the text with net.isIPv6 first.
function parseIpv6(text: string): Buffer {
  const groups: number[] = [];
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        // Trailing dotted quad (RFC 4291 §2.2 form 3).
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const [head = '', tail] = text.split('::');
  const left = toGroups(head);
  if (tail === undefined) groups.push(...left);
  else {
    const right = toGroups(tail);
    groups.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right);
  }
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
  return bytes;
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (first on ties) of two or more zero groups as "::". */
export function formatIpv6(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
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
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function parseMac(text: string): Buffer | undefined {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) return undefined;
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

export function formatMac(bytes: Buffer): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export const BROADCAST_MAC = Buffer.from('ffffffffffff', 'hex');
export const ZERO_MAC = Buffer.alloc(6);
export const IPV4_UNSPECIFIED = Buffer.alloc(4);
export const IPV6_UNSPECIFIED = Buffer.alloc(16);
/** ff02::1, all nodes on the link (RFC 4291 §2.7.1). */
export const IPV6_ALL_NODES = Buffer.from('ff020000000000000000000000000001', 'hex');

/** Solicited-node multicast address ff02::1:ffXX:XXXX of an IPv6 address (RFC 4291 §2.7.1). */
export function solicitedNodeGroup(ip: Buffer): Buffer {
  const group = Buffer.from('ff0200000000000000000001ff000000', 'hex');
  ip.copy(group, 13, 13, 16);
  return group;
}

/** Ethernet address of an IPv6 multicast group: 33:33 + its low 32 bits (RFC 2464 §7). */
export function ipv6MulticastMac(group: Buffer): Buffer {
  const mac = Buffer.from([0x33, 0x33, 0, 0, 0, 0]);
  group.copy(mac, 2, 12, 16);
  return mac;
}
