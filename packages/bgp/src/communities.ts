/**
 * Community values and their text forms: RFC 1997 communities ("65000:100" or a well-known name),
 * RFC 8092 large communities ("65000:1:2") and RFC 4360 extended communities, with the
 * link-bandwidth community (draft-ietf-idr-link-bandwidth) routers use for weighted ECMP.
 */

/** RFC 1997 and RFC 3765/8326 well-known communities. */
export const WELL_KNOWN_COMMUNITIES: Record<string, number> = {
  'graceful-shutdown': 0xffff0000, // RFC 8326
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04, // RFC 3765
  blackhole: 0xffff029a, // RFC 7999
};

const U16 = /^\d{1,5}$/;
const U32 = /^\d{1,10}$/;

/** Parses "ASN:VALUE" (each 16 bits) or a well-known name into the 32-bit community value. */
export function parseCommunity(text: string): number {
  const known = WELL_KNOWN_COMMUNITIES[text.toLowerCase()];
  if (known !== undefined) return known;
  const [hi, lo, extra] = text.split(':');
  if (extra !== undefined || !hi || !lo || !U16.test(hi) || !U16.test(lo) || +hi > 0xffff || +lo > 0xffff) {
    throw new TypeError(`bad community ${JSON.stringify(text)} (want ASN:VALUE, each 0-65535)`);
  }
  return ((+hi << 16) | +lo) >>> 0;
}

export function formatCommunity(value: number): string {
  return `${value >>> 16}:${value & 0xffff}`;
}

/** RFC 8092 §3: global administrator, local data part 1, local data part 2, each 32 bits. */
export type LargeCommunity = readonly [number, number, number];

export function parseLargeCommunity(text: string): LargeCommunity {
  const parts = text.split(':');
  if (parts.length !== 3 || !parts.every((p) => U32.test(p) && +p <= 0xffffffff)) {
    throw new TypeError(`bad large community ${JSON.stringify(text)} (want A:B:C, each 0-4294967295)`);
  }
  return [+parts[0]!, +parts[1]!, +parts[2]!];
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return c.join(':');
}

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
