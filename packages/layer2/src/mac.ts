/**
 * MAC addresses and the link-layer constants the responders need. IP addresses, their octets and
 * their text are @portico/net's.
 */

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
