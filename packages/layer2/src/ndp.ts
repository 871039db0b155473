/**
 * Neighbor Solicitation and Neighbor Advertisement messages (RFC 4861 §4.3, §4.4) with their
 * link-layer address options (§4.6.1), and the receive-side validity checks of §7.1.1 and §7.1.2.
 */
import { icmpv6Checksum, verifyIcmpv6Checksum } from './checksum.js';
import { IPV6_UNSPECIFIED } from './mac.js';
import { NEXT_HEADER_ICMPV6, type Ipv6Packet } from './ipv6.js';

export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
export const OPTION_SOURCE_LINK_LAYER = 1;
export const OPTION_TARGET_LINK_LAYER = 2;
/** Every ND message is sent with, and must arrive with, hop limit 255: proof it was not routed (§3.1). */
export const ND_HOP_LIMIT = 255;
const FIXED_LENGTH = 24; // type, code, checksum, 4 bytes of flags/reserved, 16-byte target

export interface NeighborSolicitation {
  type: 'solicitation';
  target: Buffer;
  /** From the Source Link-Layer Address option, when present. */
  sourceMac?: Buffer;
}

export interface NeighborAdvertisement {
  type: 'advertisement';
  target: Buffer;
  router: boolean;
  solicited: boolean;
  override: boolean;
  /** From the Target Link-Layer Address option, when present. */
  targetMac?: Buffer;
}

export type NeighborMessage = NeighborSolicitation | NeighborAdvertisement;

function isMulticast(ip: Buffer): boolean {
  return ip[0] === 0xff;
}

/** Options as (type, value) pairs; undefined when one is truncated or has length zero (§4.6). */
function decodeOptions(data: Buffer): { type: number; value: Buffer }[] | undefined {
  const options: { type: number; value: Buffer }[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 2 > data.length) return undefined;
    const length = data[offset + 1]! * 8;
    if (length === 0 || offset + length > data.length) return undefined;
    options.push({ type: data[offset]!, value: data.subarray(offset + 2, offset + length) });
    offset += length;
  }
  return options;
}

/** A link-layer address option for Ethernet: type, length 1 (8 bytes), 6-byte MAC. */
function linkLayerOption(type: number, mac: Buffer): Buffer {
  const option = Buffer.alloc(8);
  option[0] = type;
  option[1] = 1;
  mac.copy(option, 2, 0, 6);
  return option;
}

/**
 * Decodes and validates an NS or NA carried in an IPv6 packet. Returns undefined for anything
 * else and for every message §7.1 says to discard silently: hop limit not 255, bad checksum,
 * code not 0, too short, multicast target, zero-length option, an NS from :: that is not sent to
 * a solicited-node group or carries a source link-layer option, an NA to a multicast address with S set.
 */
export function decodeNeighborMessage(ip: Ipv6Packet): NeighborMessage | undefined {
  const message = ip.payload;
  if (ip.nextHeader !== NEXT_HEADER_ICMPV6 || ip.hopLimit !== ND_HOP_LIMIT) return undefined;
  if (message.length < FIXED_LENGTH || message[1] !== 0) return undefined;
  const type = message[0];
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) return undefined;
  if (!verifyIcmpv6Checksum(ip.source, ip.destination, message)) return undefined;
  const target = Buffer.from(message.subarray(8, 24));
  if (isMulticast(target)) return undefined;
  const options = decodeOptions(message.subarray(FIXED_LENGTH));
  if (!options) return undefined;
  const mac = (optionType: number): Buffer | undefined => {
    const option = options.find((o) => o.type === optionType && o.value.length >= 6);
    return option ? Buffer.from(option.value.subarray(0, 6)) : undefined;
  };

  if (type === ICMPV6_NEIGHBOR_SOLICITATION) {
    const sourceMac = mac(OPTION_SOURCE_LINK_LAYER);
    if (ip.source.equals(IPV6_UNSPECIFIED)) {
      // A duplicate address detection probe (§7.1.1): only to a solicited-node group, no source option.
      const solicitedNodePrefix = Buffer.from('ff0200000000000000000001ff', 'hex');
      if (!ip.destination.subarray(0, 13).equals(solicitedNodePrefix) || sourceMac) return undefined;
    }
    return sourceMac ? { type: 'solicitation', target, sourceMac } : { type: 'solicitation', target };
  }
  const flags = message[4]!;
  const advertisement: NeighborAdvertisement = {
    type: 'advertisement',
    target,
    router: (flags & 0x80) !== 0,
    solicited: (flags & 0x40) !== 0,
    override: (flags & 0x20) !== 0,
  };
  if (isMulticast(ip.destination) && advertisement.solicited) return undefined;
  const targetMac = mac(OPTION_TARGET_LINK_LAYER);
  if (targetMac) advertisement.targetMac = targetMac;
  return advertisement;
}

/** Builds the ICMPv6 message (checksum filled in for the given IPv6 source and destination). */
export function encodeNeighborMessage(message: NeighborMessage, source: Buffer, destination: Buffer): Buffer {
  const fixed = Buffer.alloc(FIXED_LENGTH);
  let option: Buffer | undefined;
  if (message.type === 'solicitation') {
    fixed[0] = ICMPV6_NEIGHBOR_SOLICITATION;
    if (message.sourceMac) option = linkLayerOption(OPTION_SOURCE_LINK_LAYER, message.sourceMac);
  } else {
    fixed[0] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
    fixed[4] = (message.router ? 0x80 : 0) | (message.solicited ? 0x40 : 0) | (message.override ? 0x20 : 0);
    if (message.targetMac) option = linkLayerOption(OPTION_TARGET_LINK_LAYER, message.targetMac);
  }
  message.target.copy(fixed, 8, 0, 16);
  const out = option ? Buffer.concat([fixed, option]) : fixed;
  out.writeUInt16BE(icmpv6Checksum(source, destination, out), 2);
  return out;
}
