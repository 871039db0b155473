import { addressToBytes, parseAddress } from '@portico/net';
import type { Ipv6Packet } from '../src/ipv6.js';
import { encodeNeighborMessage, type NeighborMessage } from '../src/ndp.js';

/** Builds an IPv6 packet around an ND message (ICMPv6, next header 58), with a correct checksum. */
export function ndPacket(
  message: NeighborMessage,
  source: string,
  destination: string,
  hopLimit = 255,
): Ipv6Packet {
  const src = Buffer.from(addressToBytes(parseAddress(source)!));
  const dst = Buffer.from(addressToBytes(parseAddress(destination)!));
  return {
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: 58,
    hopLimit,
    source: src,
    destination: dst,
    payload: encodeNeighborMessage(message, src, dst),
  };
}
