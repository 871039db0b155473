/**
 * The sender: packs many prefixes into as few UPDATE messages as the size limit allows
 * (RFC 4271 §4.3, RFC 4760 §3-4, RFC 8654), in both families, plus End-of-RIB (RFC 4724 §2).
 */
import { Afi, type AfiNumber, AttrFlag, AttrType, HEADER_LENGTH, MessageType, Safi } from './constants.js';
import {
  concat,
  encodeAttribute,
  encodeAttributes,
  encodeMpReachHeader,
  type PathAttributes,
} from './attributes.js';
import { encodeMessage } from './message.js';
import { encodedPrefixLength, type Prefix, writePrefix } from './prefix.js';

export interface SendContext {
  /** 4096, or 65535 when both sides advertised extended messages. */
  maxLength: number;
  fourOctetAs: boolean;
}

/** Prefixes of one family sharing one set of attributes and one next hop. */
export interface Announcement {
  afi: AfiNumber;
  /** Attributes without NEXT_HOP and MP_*; the sender adds the right one. */
  attributes: PathAttributes;
  /** IPv4 next hop for classic IPv4 NLRI; otherwise the MP_REACH next hop(s), global first. */
  nextHops: string[];
  prefixes: Prefix[];
}

function updateBody(withdrawn: Uint8Array, attributes: Uint8Array, nlri: Uint8Array): Buffer {
  const body = new Uint8Array(4 + withdrawn.length + attributes.length + nlri.length);
  const view = new DataView(body.buffer);
  view.setUint16(0, withdrawn.length);
  body.set(withdrawn, 2);
  view.setUint16(2 + withdrawn.length, attributes.length);
  body.set(attributes, 4 + withdrawn.length);
  body.set(nlri, 4 + withdrawn.length + attributes.length);
  return encodeMessage(MessageType.UPDATE, body);
}

/** Splits prefixes into runs whose encoded size fits in `budget` octets each, and encodes each run. */
function* chunks(prefixes: Prefix[], budget: number): Generator<Uint8Array> {
  let start = 0;
  while (start < prefixes.length) {
    let size = 0;
    let end = start;
    while (end < prefixes.length) {
      const n = encodedPrefixLength(prefixes[end] as Prefix);
      if (size + n > budget) break;
      size += n;
      end++;
    }
    if (end === start) throw new Error('UPDATE size limit too small for one prefix');
    const out = new Uint8Array(size);
    let at = 0;
    for (let i = start; i < end; i++) at = writePrefix(out, at, prefixes[i] as Prefix);
    yield out;
    start = end;
  }
}

const EMPTY = new Uint8Array(0);
/** Header octets of an attribute sent with the extended length flag. */
const EXT_ATTR_HEADER = 4;

/** UPDATEs announcing `a.prefixes`, as few as the size limit allows. */
export function packAnnouncement(a: Announcement, ctx: SendContext): Buffer[] {
  const out: Buffer[] = [];
  const room = ctx.maxLength - HEADER_LENGTH - 4;
  const classic = a.afi === Afi.IPV4 && a.nextHops.length === 1 && !a.nextHops[0]!.includes(':');
  if (classic) {
    const attrs = encodeAttributes({ ...a.attributes, nextHop: a.nextHops[0] as string }, ctx.fourOctetAs);
    for (const nlri of chunks(a.prefixes, room - attrs.length)) out.push(updateBody(EMPTY, attrs, nlri));
    return out;
  }
  // RFC 7606 §5.1: MP_REACH_NLRI goes first so a receiver can find the NLRI even if later attributes are bad.
  const rest = encodeAttributes(a.attributes, ctx.fourOctetAs);
  const header = encodeMpReachHeader(a.afi, Safi.UNICAST, a.nextHops);
  for (const nlri of chunks(a.prefixes, room - rest.length - EXT_ATTR_HEADER - header.length)) {
    const mp = extendedAttribute(AttrType.MP_REACH_NLRI, concat([header, nlri]));
    out.push(updateBody(EMPTY, concat([mp, rest]), EMPTY));
  }
  return out;
}

/** UPDATEs withdrawing `prefixes` of one family. */
export function packWithdrawal(afi: AfiNumber, prefixes: Prefix[], ctx: SendContext): Buffer[] {
  const out: Buffer[] = [];
  const room = ctx.maxLength - HEADER_LENGTH - 4;
  if (afi === Afi.IPV4) {
    for (const w of chunks(prefixes, room)) out.push(updateBody(w, EMPTY, EMPTY));
    return out;
  }
  const header = Uint8Array.of(afi >> 8, afi & 0xff, Safi.UNICAST);
  for (const w of chunks(prefixes, room - EXT_ATTR_HEADER - header.length)) {
    out.push(updateBody(EMPTY, extendedAttribute(AttrType.MP_UNREACH_NLRI, concat([header, w])), EMPTY));
  }
  return out;
}

/** RFC 4724 §2: an empty UPDATE for IPv4, an empty MP_UNREACH_NLRI for other families. */
export function encodeEndOfRib(afi: AfiNumber): Buffer {
  if (afi === Afi.IPV4) return updateBody(EMPTY, EMPTY, EMPTY);
  const mp = encodeAttribute(
    AttrFlag.OPTIONAL,
    AttrType.MP_UNREACH_NLRI,
    Uint8Array.of(afi >> 8, afi & 0xff, 1),
  );
  return updateBody(EMPTY, mp, EMPTY);
}

function extendedAttribute(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(EXT_ATTR_HEADER + value.length);
  out[0] = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;
  out[1] = type;
  out[2] = value.length >> 8;
  out[3] = value.length & 0xff;
  out.set(value, EXT_ATTR_HEADER);
  return out;
}
