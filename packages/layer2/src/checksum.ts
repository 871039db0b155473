/**
 * The ICMPv6 checksum (RFC 4443 §2.3): the Internet checksum (RFC 1071) over the IPv6
 * pseudo-header of RFC 8200 §8.1 (source, destination, upper-layer length, next header) and the
 * ICMPv6 message with its checksum field taken as zero.
 */
import { NEXT_HEADER_ICMPV6 } from './ipv6.js';

function sum16(data: Buffer, start: number): number {
  let sum = start;
  for (let i = 0; i + 1 < data.length; i += 2) sum += data.readUInt16BE(i);
  if (data.length % 2 === 1) sum += data[data.length - 1]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The folded sum of the pseudo-header and `message`. */
function sumWithPseudoHeader(source: Buffer, destination: Buffer, message: Buffer): number {
  const pseudo = Buffer.alloc(40);
  source.copy(pseudo, 0, 0, 16);
  destination.copy(pseudo, 16, 0, 16);
  pseudo.writeUInt32BE(message.length, 32);
  pseudo[39] = NEXT_HEADER_ICMPV6;
  return fold(sum16(message, sum16(pseudo, 0)));
}

/** The value to store in the checksum field of `message` (whose checksum bytes must be zero). */
export function icmpv6Checksum(source: Buffer, destination: Buffer, message: Buffer): number {
  const result = ~sumWithPseudoHeader(source, destination, message) & 0xffff;
  // RFC 768 convention, kept by ICMPv6 implementations: a computed zero is sent as all ones.
  return result === 0 ? 0xffff : result;
}

/** True when a received message (checksum field included) sums to all ones. */
export function verifyIcmpv6Checksum(source: Buffer, destination: Buffer, message: Buffer): boolean {
  return sumWithPseudoHeader(source, destination, message) === 0xffff;
}
