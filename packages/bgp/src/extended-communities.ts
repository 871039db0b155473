/**
 * RFC 4360 extended communities and their text forms, with the link-bandwidth community
 * (draft-ietf-idr-link-bandwidth) routers use for weighted ECMP. Standard and large communities
 * are values of @portico/net.
 */

const U16 = /^\d{1,5}$/;
const U32 = /^\d{1,10}$/;

/** An RFC 4360 extended community: 8 octets, type and sub-type first. */
export type ExtendedCommunity = Uint8Array;

/**
 * Link bandwidth extended community: two-octet-AS-specific type 0x40 (non-transitive, as most
 * routers send it) or 0x00 (transitive), sub-type 0x04, the AS, then the bandwidth in bytes per
 * second as an IEEE 754 single-precision float.
 */
export function linkBandwidth(asn: number, bytesPerSecond: number, transitive = false): ExtendedCommunity {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  out[0] = transitive ? 0x00 : 0x40;
  out[1] = 0x04;
  view.setUint16(2, asn > 0xffff ? 23456 : asn);
  view.setFloat32(4, bytesPerSecond);
  return out;
}

/** Two-octet-AS route target (type 0x00, sub-type 0x02; RFC 4360 §4). */
export function routeTarget(asn: number, value: number): ExtendedCommunity {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  out[1] = 0x02;
  view.setUint16(2, asn);
  view.setUint32(4, value);
  return out;
}

/**
 * Text forms accepted on the command line: "lb:ASN:BYTES_PER_SECOND" for link bandwidth,
 * "rt:ASN:VALUE" for a route target, or 16 hex digits for any other value.
 */
export function parseExtendedCommunity(text: string): ExtendedCommunity {
  const [kind, a, b] = text.split(':');
  if (kind === 'lb' && a && b && U16.test(a) && Number.isFinite(+b)) return linkBandwidth(+a, +b);
  if (kind === 'rt' && a && b && U16.test(a) && U32.test(b)) return routeTarget(+a, +b);
  if (/^[0-9a-f]{16}$/i.test(text)) return Uint8Array.from(Buffer.from(text, 'hex'));
  throw new TypeError(
    `bad extended community ${JSON.stringify(text)} (want lb:ASN:BPS, rt:ASN:N or 16 hex digits)`,
  );
}

export function formatExtendedCommunity(c: ExtendedCommunity): string {
  const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
  if ((c[0] === 0x40 || c[0] === 0x00) && c[1] === 0x04)
    return `lb:${view.getUint16(2)}:${view.getFloat32(4)}`;
  if (c[0] === 0x00 && c[1] === 0x02) return `rt:${view.getUint16(2)}:${view.getUint32(4)}`;
  return Buffer.from(c).toString('hex');
}
