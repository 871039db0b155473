/**
 * The fixed IPv6 header (RFC 8200 §3). Neighbor Discovery packets carry no extension headers in
 * practice; a packet whose next header is not the one we look for is simply not ours.
 */
export const IPV6_HEADER_LENGTH = 40;
export const NEXT_HEADER_ICMPV6 = 58;

export interface Ipv6Packet {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  source: Buffer;
  destination: Buffer;
  payload: Buffer;
}

/** Undefined when the version is not 6 or the payload length does not fit the buffer. */
export function decodeIpv6(packet: Buffer): Ipv6Packet | undefined {
  if (packet.length < IPV6_HEADER_LENGTH) return undefined;
  const first = packet.readUInt32BE(0);
  if (first >>> 28 !== 6) return undefined;
  const payloadLength = packet.readUInt16BE(4);
  // Ethernet may pad short frames, so the buffer can be longer than the packet, never shorter.
  if (IPV6_HEADER_LENGTH + payloadLength > packet.length) return undefined;
  return {
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    nextHeader: packet[6]!,
    hopLimit: packet[7]!,
    source: Buffer.from(packet.subarray(8, 24)),
    destination: Buffer.from(packet.subarray(24, 40)),
    payload: packet.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength),
  };
}

export function encodeIpv6(packet: Ipv6Packet): Buffer {
  const header = Buffer.alloc(IPV6_HEADER_LENGTH);
  header.writeUInt32BE(
    ((6 << 28) | ((packet.trafficClass & 0xff) << 20) | (packet.flowLabel & 0xfffff)) >>> 0,
    0,
  );
  header.writeUInt16BE(packet.payload.length, 4);
  header[6] = packet.nextHeader;
  header[7] = packet.hopLimit;
  packet.source.copy(header, 8, 0, 16);
  packet.destination.copy(header, 24, 0, 16);
  return Buffer.concat([header, packet.payload]);
}
