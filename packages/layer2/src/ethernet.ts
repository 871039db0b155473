/** Ethernet II frames (IEEE 802.3 with an ethertype): 6-byte destination, 6-byte source, 2-byte type. */

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERNET_HEADER_LENGTH = 14;

export interface EthernetFrame {
  destination: Buffer;
  source: Buffer;
  ethertype: number;
  payload: Buffer;
}

/** Undefined when the frame is too short to hold a header. Payload shares memory with the frame. */
export function decodeEthernet(frame: Buffer): EthernetFrame | undefined {
  if (frame.length < ETHERNET_HEADER_LENGTH) return undefined;
  return {
    destination: frame.subarray(0, 6),
    source: frame.subarray(6, 12),
    ethertype: frame.readUInt16BE(12),
    payload: frame.subarray(ETHERNET_HEADER_LENGTH),
  };
}

/** The kernel pads short frames to the 60-byte minimum itself, so no padding is added here. */
export function encodeEthernet(frame: EthernetFrame): Buffer {
  const header = Buffer.alloc(ETHERNET_HEADER_LENGTH);
  frame.destination.copy(header, 0, 0, 6);
  frame.source.copy(header, 6, 0, 6);
  header.writeUInt16BE(frame.ethertype, 12);
  return Buffer.concat([header, frame.payload]);
}
