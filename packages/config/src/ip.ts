/**
 * IP addresses as unsigned integers. Pools can be an IPv6 /64, so arithmetic is on bigint and
 * nothing ever enumerates addresses.
 */
import ipaddr from 'ipaddr.js';
import type { IPFamily } from './model.js';

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
  if (ipaddr.IPv4.isValidFourPartDecimal(trimmed)) {
    return { family: 'IPv4', value: bytesToBigInt(ipaddr.IPv4.parse(trimmed).toByteArray()) };
  }
  if (!trimmed.includes(':') || !ipaddr.IPv6.isValid(trimmed) || trimmed.includes('%')) return undefined;
  const v6 = ipaddr.IPv6.parse(trimmed);
  if (v6.isIPv4MappedAddress()) {
    return { family: 'IPv4', value: bytesToBigInt(v6.toIPv4Address().toByteArray()) };
  }
  return { family: 'IPv6', value: bytesToBigInt(v6.toByteArray()) };
}

/** Canonical text: dotted quad, or RFC 5952 for IPv6. */
export function formatIP(ip: IP): string {
  if (ip.family === 'IPv4') return new ipaddr.IPv4(bigIntToBytes(ip.value, 4)).toString();
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
