/**
 * Path attributes (RFC 4271 §4.3, §5) and their error handling (RFC 7606). Decoding never throws
 * for an error RFC 7606 lets us contain: such errors are reported as `treatAsWithdraw` (§2) or the
 * attribute is discarded (§2 "attribute discard"). Errors that require a session reset throw a
 * BgpError carrying the NOTIFICATION to send.
 */
import {
  Afi,
  type AfiNumber,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  ErrorCode,
  type OriginValue,
  UpdateSubcode,
} from './constants.js';
import { BgpError } from './errors.js';
import type { LargeCommunity } from '@portico/net';
import type { ExtendedCommunity } from './extended-communities.js';
import { formatAddressBytes } from '@portico/net';
import { addressOctets, type Prefix, readPrefixes } from './prefix.js';

export interface AsPathSegment {
  type: 1 | 2;
  asns: number[];
}

export interface MpReach {
  afi: AfiNumber;
  safi: number;
  /** One next hop, or a global and a link-local IPv6 next hop (RFC 2545 §3). */
  nextHops: string[];
  nlri: Prefix[];
}

export interface MpUnreach {
  afi: AfiNumber;
  safi: number;
  withdrawn: Prefix[];
}

export interface PathAttributes {
  origin?: OriginValue;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  extendedCommunities?: ExtendedCommunity[];
  largeCommunities?: LargeCommunity[];
  as4Path?: AsPathSegment[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** Attributes we do not interpret, kept as received (flags, type, value). */
  unknown?: { flags: number; type: number; value: Uint8Array }[];
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** One attribute: flags, type, 1- or 2-octet length (extended length bit set when needed). */
export function encodeAttribute(flags: number, type: number, value: Uint8Array): Uint8Array {
  const extended = value.length > 255;
  const head = extended ? 4 : 3;
  const out = new Uint8Array(head + value.length);
  out[0] = extended ? flags | AttrFlag.EXTENDED_LENGTH : flags & ~AttrFlag.EXTENDED_LENGTH;
  out[1] = type;
  if (extended) {
    out[2] = value.length >> 8;
    out[3] = value.length & 0xff;
  } else {
    out[2] = value.length;
  }
  out.set(value, head);
  return out;
}

function encodeAsPath(segments: AsPathSegment[], fourOctet: boolean): Uint8Array {
  const size = fourOctet ? 4 : 2;
  const parts: number[] = [];
  for (const seg of segments) {
    // RFC 4271 §4.3: a segment holds at most 255 ASes; longer paths are split into several segments.
    for (let i = 0; i < seg.asns.length || (i === 0 && seg.asns.length === 0); i += 255) {
      const chunk = seg.asns.slice(i, i + 255);
      parts.push(seg.type, chunk.length);
      for (const asn of chunk) {
        // RFC 6793 §4.2.2: a 4-octet AS in a 2-octet path is replaced by AS_TRANS.
        const v = !fourOctet && asn > 0xffff ? 23456 : asn;
        if (size === 4) parts.push(v >>> 24, (v >>> 16) & 0xff);
        parts.push((v >>> 8) & 0xff, v & 0xff);
      }
      if (seg.asns.length === 0) break;
    }
  }
  return Uint8Array.from(parts);
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPTIONAL_TRANSITIVE = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;

/**
 * Encodes every attribute except MP_REACH/MP_UNREACH (the packer adds those around its NLRI),
 * in type-code order as RFC 4271 §5 recommends. `fourOctet` is whether the peer speaks 4-octet ASes.
 */
export function encodeAttributes(attrs: PathAttributes, fourOctet: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  if (attrs.origin !== undefined)
    parts.push(encodeAttribute(WELL_KNOWN, AttrType.ORIGIN, Uint8Array.of(attrs.origin)));
  if (attrs.asPath) {
    parts.push(encodeAttribute(WELL_KNOWN, AttrType.AS_PATH, encodeAsPath(attrs.asPath, fourOctet)));
  }
  if (attrs.nextHop !== undefined) {
    parts.push(encodeAttribute(WELL_KNOWN, AttrType.NEXT_HOP, addressOctets(attrs.nextHop, 'IPv4')));
  }
  if (attrs.med !== undefined)
    parts.push(encodeAttribute(AttrFlag.OPTIONAL, AttrType.MULTI_EXIT_DISC, u32(attrs.med)));
  if (attrs.localPref !== undefined)
    parts.push(encodeAttribute(WELL_KNOWN, AttrType.LOCAL_PREF, u32(attrs.localPref)));
  if (attrs.atomicAggregate)
    parts.push(encodeAttribute(WELL_KNOWN, AttrType.ATOMIC_AGGREGATE, new Uint8Array(0)));
  if (attrs.aggregator) {
    const v = new Uint8Array(fourOctet ? 8 : 6);
    const view = new DataView(v.buffer);
    if (fourOctet) view.setUint32(0, attrs.aggregator.asn);
    else view.setUint16(0, attrs.aggregator.asn > 0xffff ? 23456 : attrs.aggregator.asn);
    v.set(addressOctets(attrs.aggregator.address, 'IPv4'), fourOctet ? 4 : 2);
    parts.push(encodeAttribute(OPTIONAL_TRANSITIVE, AttrType.AGGREGATOR, v));
  }
  if (attrs.communities && attrs.communities.length > 0) {
    const v = new Uint8Array(attrs.communities.length * 4);
    const view = new DataView(v.buffer);
    attrs.communities.forEach((c, i) => view.setUint32(i * 4, c >>> 0));
    parts.push(encodeAttribute(OPTIONAL_TRANSITIVE, AttrType.COMMUNITIES, v));
  }
  if (attrs.extendedCommunities && attrs.extendedCommunities.length > 0) {
    const v = new Uint8Array(attrs.extendedCommunities.length * 8);
    attrs.extendedCommunities.forEach((c, i) => v.set(c.subarray(0, 8), i * 8));
    parts.push(encodeAttribute(OPTIONAL_TRANSITIVE, AttrType.EXTENDED_COMMUNITIES, v));
  }
  if (attrs.as4Path && !fourOctet) {
    parts.push(encodeAttribute(OPTIONAL_TRANSITIVE, AttrType.AS4_PATH, encodeAsPath(attrs.as4Path, true)));
  }
  if (attrs.largeCommunities && attrs.largeCommunities.length > 0) {
    const v = new Uint8Array(attrs.largeCommunities.length * 12);
    const view = new DataView(v.buffer);
    attrs.largeCommunities.forEach((c, i) => c.forEach((x, j) => view.setUint32(i * 12 + j * 4, x >>> 0)));
    parts.push(encodeAttribute(OPTIONAL_TRANSITIVE, AttrType.LARGE_COMMUNITY, v));
  }
  for (const u of attrs.unknown ?? []) parts.push(encodeAttribute(u.flags, u.type, u.value));
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** MP_REACH_NLRI value header (RFC 4760 §3): AFI, SAFI, next hop length and value, reserved octet. */
export function encodeMpReachHeader(afi: AfiNumber, safi: number, nextHops: string[]): Uint8Array {
  const hops = nextHops.map((h) => addressOctets(h, afi === Afi.IPV4 && !h.includes(':') ? 'IPv4' : 'IPv6'));
  const nhLen = hops.reduce((n, h) => n + h.length, 0);
  const out = new Uint8Array(5 + nhLen);
  out[0] = afi >> 8;
  out[1] = afi & 0xff;
  out[2] = safi;
  out[3] = nhLen;
  let at = 4;
  for (const h of hops) {
    out.set(h, at);
    at += h.length;
  }
  out[at] = 0; // RFC 4760 §3: reserved, must be zero.
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface DecodeContext {
  /** Whether 4-octet AS numbers were negotiated (RFC 6793): sizes the AS_PATH and AGGREGATOR fields. */
  fourOctetAs: boolean;
  /** Whether the session is eBGP (LOCAL_PREF from an external peer is discarded, RFC 7606 §7.5). */
  external: boolean;
}

export interface DecodedAttributes {
  attributes: PathAttributes;
  /** Why the routes of this UPDATE must be treated as withdrawn (RFC 7606 §2), if they must. */
  treatAsWithdraw?: string;
  /** Attributes discarded as malformed but harmless (RFC 7606 §2 "attribute discard"). */
  discarded: number[];
}

function reset(subcode: number, message: string, data?: Uint8Array): BgpError {
  return new BgpError(ErrorCode.UPDATE_MESSAGE, subcode, message, data);
}

/** RFC 4271 §5: the optional and transitive bits each known attribute must carry. */
const EXPECTED_FLAGS: Record<number, number> = {
  [AttrType.ORIGIN]: WELL_KNOWN,
  [AttrType.AS_PATH]: WELL_KNOWN,
  [AttrType.NEXT_HOP]: WELL_KNOWN,
  [AttrType.MULTI_EXIT_DISC]: AttrFlag.OPTIONAL,
  [AttrType.LOCAL_PREF]: WELL_KNOWN,
  [AttrType.ATOMIC_AGGREGATE]: WELL_KNOWN,
  [AttrType.AGGREGATOR]: OPTIONAL_TRANSITIVE,
  [AttrType.COMMUNITIES]: OPTIONAL_TRANSITIVE,
  [AttrType.MP_REACH_NLRI]: AttrFlag.OPTIONAL,
  [AttrType.MP_UNREACH_NLRI]: AttrFlag.OPTIONAL,
  [AttrType.EXTENDED_COMMUNITIES]: OPTIONAL_TRANSITIVE,
  [AttrType.AS4_PATH]: OPTIONAL_TRANSITIVE,
  [AttrType.AS4_AGGREGATOR]: OPTIONAL_TRANSITIVE,
  [AttrType.LARGE_COMMUNITY]: OPTIONAL_TRANSITIVE,
};

/** Attributes whose malformation only discards the attribute itself (RFC 7606 §7.6, §7.7, §7.? for AS4_*). */
const DISCARDABLE = new Set<number>([
  AttrType.ATOMIC_AGGREGATE,
  AttrType.AGGREGATOR,
  AttrType.AS4_PATH,
  AttrType.AS4_AGGREGATOR,
]);

class Malformed extends Error {}

function decodeAsPath(v: Uint8Array, size: 2 | 4): AsPathSegment[] {
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const segments: AsPathSegment[] = [];
  let at = 0;
  while (at < v.length) {
    // RFC 7606 §7.2: a segment that overruns the attribute, is empty, or has an unknown type is malformed.
    if (at + 2 > v.length) throw new Malformed('truncated AS_PATH segment');
    const type = v[at] as number;
    const count = v[at + 1] as number;
    if (type !== AsPathSegmentType.AS_SET && type !== AsPathSegmentType.AS_SEQUENCE) {
      throw new Malformed(`AS_PATH segment type ${type}`);
    }
    if (count === 0) throw new Malformed('empty AS_PATH segment');
    if (at + 2 + count * size > v.length) throw new Malformed('AS_PATH segment overruns attribute');
    const asns: number[] = [];
    for (let i = 0; i < count; i++) {
      const o = at + 2 + i * size;
      asns.push(size === 4 ? view.getUint32(o) : view.getUint16(o));
    }
    segments.push({ type, asns });
    at += 2 + count * size;
  }
  return segments;
}

function decodeMpReach(v: Uint8Array): MpReach {
  // RFC 7606 §7.11: an MP_REACH_NLRI we cannot parse means the session must be reset.
  const bad = (why: string) =>
    reset(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `malformed MP_REACH_NLRI: ${why}`);
  if (v.length < 5) throw bad('too short');
  const afi = ((v[0] as number) << 8) | (v[1] as number);
  const safi = v[2] as number;
  const nhLen = v[3] as number;
  if (4 + nhLen + 1 > v.length) throw bad('next hop overruns attribute');
  if (afi !== Afi.IPV4 && afi !== Afi.IPV6) throw bad(`AFI ${afi}`);
  const nh = v.subarray(4, 4 + nhLen);
  let nextHops: string[];
  // RFC 4760 §3 with RFC 2545 §3 (v6: global, or global + link-local) and RFC 8950 §3 (v4 NLRI, v6 next hop).
  if (nhLen === 4 && afi === Afi.IPV4) nextHops = [formatAddressBytes(nh)];
  else if (nhLen === 16) nextHops = [formatAddressBytes(nh)];
  else if (nhLen === 32)
    nextHops = [formatAddressBytes(nh.subarray(0, 16)), formatAddressBytes(nh.subarray(16))];
  else throw bad(`next hop length ${nhLen}`);
  const start = 4 + nhLen + 1; // skip the reserved octet
  let nlri: Prefix[] = [];
  if (safi === 1) {
    try {
      nlri = readPrefixes(v, start, v.length, afi);
    } catch {
      throw bad('NLRI');
    }
  }
  return { afi, safi, nextHops, nlri };
}

function decodeMpUnreach(v: Uint8Array): MpUnreach {
  const bad = (why: string) =>
    reset(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, `malformed MP_UNREACH_NLRI: ${why}`);
  if (v.length < 3) throw bad('too short');
  const afi = ((v[0] as number) << 8) | (v[1] as number);
  const safi = v[2] as number;
  if (afi !== Afi.IPV4 && afi !== Afi.IPV6) throw bad(`AFI ${afi}`);
  let withdrawn: Prefix[] = [];
  if (safi === 1) {
    try {
      withdrawn = readPrefixes(v, 3, v.length, afi);
    } catch {
      throw bad('withdrawn routes');
    }
  }
  return { afi, safi, withdrawn };
}

function need(cond: boolean, why: string): void {
  if (!cond) throw new Malformed(why);
}

function decodeOne(attrs: PathAttributes, type: number, v: Uint8Array, ctx: DecodeContext): void {
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  switch (type) {
    case AttrType.ORIGIN:
      need(v.length === 1 && (v[0] as number) <= 2, 'ORIGIN'); // RFC 7606 §7.1
      attrs.origin = v[0] as OriginValue;
      return;
    case AttrType.AS_PATH:
      attrs.asPath = decodeAsPath(v, ctx.fourOctetAs ? 4 : 2);
      return;
    case AttrType.NEXT_HOP:
      need(v.length === 4, 'NEXT_HOP length'); // RFC 7606 §7.3
      attrs.nextHop = formatAddressBytes(v);
      return;
    case AttrType.MULTI_EXIT_DISC:
      need(v.length === 4, 'MULTI_EXIT_DISC length'); // RFC 7606 §7.4
      attrs.med = view.getUint32(0);
      return;
    case AttrType.LOCAL_PREF:
      if (ctx.external) return; // RFC 7606 §7.5: ignored from an external peer
      need(v.length === 4, 'LOCAL_PREF length');
      attrs.localPref = view.getUint32(0);
      return;
    case AttrType.ATOMIC_AGGREGATE:
      need(v.length === 0, 'ATOMIC_AGGREGATE length'); // RFC 7606 §7.6
      attrs.atomicAggregate = true;
      return;
    case AttrType.AGGREGATOR: {
      const size = ctx.fourOctetAs ? 8 : 6; // RFC 7606 §7.7
      need(v.length === size, 'AGGREGATOR length');
      const asn = ctx.fourOctetAs ? view.getUint32(0) : view.getUint16(0);
      attrs.aggregator = { asn, address: formatAddressBytes(v.subarray(size - 4)) };
      return;
    }
    case AttrType.COMMUNITIES:
      need(v.length > 0 && v.length % 4 === 0, 'COMMUNITIES length'); // RFC 7606 §7.8
      attrs.communities = [];
      for (let i = 0; i < v.length; i += 4) attrs.communities.push(view.getUint32(i));
      return;
    case AttrType.EXTENDED_COMMUNITIES:
      need(v.length > 0 && v.length % 8 === 0, 'EXTENDED_COMMUNITIES length'); // RFC 7606 §7.14
      attrs.extendedCommunities = [];
      for (let i = 0; i < v.length; i += 8) attrs.extendedCommunities.push(v.slice(i, i + 8));
      return;
    case AttrType.LARGE_COMMUNITY:
      need(v.length > 0 && v.length % 12 === 0, 'LARGE_COMMUNITY length'); // RFC 8092 §6
      attrs.largeCommunities = [];
      for (let i = 0; i < v.length; i += 12) {
        attrs.largeCommunities.push([view.getUint32(i), view.getUint32(i + 4), view.getUint32(i + 8)]);
      }
      return;
    case AttrType.AS4_PATH:
      attrs.as4Path = decodeAsPath(v, 4); // RFC 6793 §6: malformed AS4_PATH is discarded
      return;
    case AttrType.AS4_AGGREGATOR:
      need(v.length === 8, 'AS4_AGGREGATOR length');
      return;
    case AttrType.MP_REACH_NLRI:
      attrs.mpReach = decodeMpReach(v);
      return;
    case AttrType.MP_UNREACH_NLRI:
      attrs.mpUnreach = decodeMpUnreach(v);
      return;
  }
}

/**
 * Decodes the path attributes in `buf[start, end)`. `hasNlri` is whether the UPDATE carries
 * classic (IPv4) NLRI, which makes NEXT_HOP mandatory.
 */
export function decodeAttributes(
  buf: Uint8Array,
  start: number,
  end: number,
  hasNlri: boolean,
  ctx: DecodeContext,
): DecodedAttributes {
  const attributes: PathAttributes = {};
  const discarded: number[] = [];
  const seen = new Set<number>();
  let treatAsWithdraw: string | undefined;
  const withdraw = (why: string) => {
    treatAsWithdraw ??= why;
  };
  let at = start;
  while (at < end) {
    if (at + 3 > end) {
      withdraw('truncated attribute header'); // RFC 7606 §4
      break;
    }
    const flags = buf[at] as number;
    const type = buf[at + 1] as number;
    const extended = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    if (extended && at + 4 > end) {
      withdraw('truncated attribute header');
      break;
    }
    const len = extended ? ((buf[at + 2] as number) << 8) | (buf[at + 3] as number) : (buf[at + 2] as number);
    const vStart = at + (extended ? 4 : 3);
    const vEnd = vStart + len;
    if (vEnd > end) {
      // RFC 7606 §4: attribute lengths inconsistent with the total path attribute length.
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        throw reset(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, 'MP attribute overruns the attribute list');
      }
      withdraw('attribute overruns the attribute list');
      break;
    }
    at = vEnd;
    const value = buf.subarray(vStart, vEnd);
    const isMp = type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI;
    if (seen.has(type)) {
      // RFC 7606 §3(g): a repeated MP attribute resets; any other repeat is discarded.
      if (isMp) throw reset(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `repeated attribute ${type}`);
      discarded.push(type);
      continue;
    }
    seen.add(type);
    const expected = EXPECTED_FLAGS[type];
    if (expected === undefined) {
      // RFC 4271 §6.3: an unrecognised well-known attribute resets the session.
      if ((flags & AttrFlag.OPTIONAL) === 0) {
        throw reset(UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, `unknown well-known attribute ${type}`);
      }
      (attributes.unknown ??= []).push({ flags, type, value: value.slice() });
      continue;
    }
    if ((flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)) !== expected) {
      // RFC 7606 §3(c): flags in conflict with the attribute make it malformed.
      if (isMp) throw reset(UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, `flags of attribute ${type}`);
      if (DISCARDABLE.has(type)) discarded.push(type);
      else withdraw(`flags of attribute ${type}`);
      continue;
    }
    try {
      decodeOne(attributes, type, value, ctx);
    } catch (err) {
      if (!(err instanceof Malformed)) throw err;
      if (DISCARDABLE.has(type)) discarded.push(type);
      else withdraw(err.message);
    }
  }
  // RFC 7606 §3(d): a missing well-known mandatory attribute means treat-as-withdraw.
  const reachable = hasNlri || (attributes.mpReach?.nlri.length ?? 0) > 0;
  if (reachable && !treatAsWithdraw) {
    if (attributes.origin === undefined) withdraw('missing ORIGIN');
    else if (attributes.asPath === undefined) withdraw('missing AS_PATH');
    else if (hasNlri && attributes.nextHop === undefined) withdraw('missing NEXT_HOP');
  }
  return treatAsWithdraw ? { attributes, treatAsWithdraw, discarded } : { attributes, discarded };
}
