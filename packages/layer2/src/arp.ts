/**
 * ARP packets for IPv4 over Ethernet (RFC 826): hardware type 1, protocol type 0x0800, 6-byte
 * hardware and 4-byte protocol addresses, 28 bytes in all. Other kinds of ARP are not ours.
 */
import { ETHERTYPE_IPV4 } from './ethernet.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const HARDWARE_ETHERNET = 1;
export const ARP_LENGTH = 28;

export interface ArpPacket {
  operation: number;
  senderMac: Buffer;
  senderIp: Buffer;
  targetMac: Buffer;
  targetIp: Buffer;
}

/** Undefined for anything but Ethernet/IPv4 ARP; trailing padding after the 28 bytes is ignored. */
export function decodeArp(payload: Buffer): ArpPacket | undefined {
  if (payload.length < ARP_LENGTH) return undefined;
  if (payload.readUInt16BE(0) !== HARDWARE_ETHERNET || payload.readUInt16BE(2) !== ETHERTYPE_IPV4)
    return undefined;
  if (payload[4] !== 6 || payload[5] !== 4) return undefined;
  return {
    operation: payload.readUInt16BE(6),
    senderMac: Buffer.from(payload.subarray(8, 14)),
    senderIp: Buffer.from(payload.subarray(14, 18)),
    targetMac: Buffer.from(payload.subarray(18, 24)),
    targetIp: Buffer.from(payload.subarray(24, 28)),
  };
}

export function encodeArp(packet: ArpPacket): Buffer {
  const out = Buffer.alloc(ARP_LENGTH);
  out.writeUInt16BE(HARDWARE_ETHERNET, 0);
  out.writeUInt16BE(ETHERTYPE_IPV4, 2);
  out[4] = 6;
  out[5] = 4;
  out.writeUInt16BE(packet.operation, 6);
  packet.senderMac.copy(out, 8, 0, 6);
  packet.senderIp.copy(out, 14, 0, 4);
  packet.targetMac.copy(out, 18, 0, 6);
  packet.targetIp.copy(out, 24, 0, 4);
  return out;
}
