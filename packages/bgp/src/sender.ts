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

/**
 * Splits prefixes into runs whose encoded size fits in `budget` octets each (`firstBudget` for
 * the first run), and encodes each run.
 */
function* chunks(prefixes: Prefix[], budget: number, firstBudget = budget): Generator<Uint8Array> {
  let start = 0;
  let limit = firstBudget;
  while (start < prefixes.length) {
    let size = 0;
    let end = start;
    while (end < prefixes.length) {
      const n = encodedPrefixLength(prefixes[end] as Prefix);
      if (size + n > limit) break;
      size += n;
      end++;
    }
    if (end === start) throw new Error('UPDATE size limit too small for one prefix');
    yield encodeRun(prefixes, start, end, size);
    start = end;
    limit = budget;
  }
}

/** Encodes `prefixes[start..end)`, `size` octets in all, as a Withdrawn Routes or NLRI field. */
function encodeRun(prefixes: Prefix[], start: number, end: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = start; i < end; i++) at = writePrefix(out, at, prefixes[i] as Prefix);
  return out;
}

const EMPTY = new Uint8Array(0);
/** Header octets of an attribute sent with the extended length flag. */
const EXT_ATTR_HEADER = 4;

/**
 * Withdrawals carried by an UPDATE that also announces: the classic Withdrawn Routes field
 * (IPv4, RFC 4271 §4.3) and/or a whole MP_UNREACH_NLRI attribute (RFC 4760 §4).
 */
interface Riders {
  withdrawn: Uint8Array;
  mpUnreach: Uint8Array;
}
const NO_RIDERS: Riders = { withdrawn: EMPTY, mpUnreach: EMPTY };

/** UPDATEs announcing `a.prefixes`, as few as the size limit allows. */
export function packAnnouncement(a: Announcement, ctx: SendContext): Buffer[] {
  return packAnnouncementWith(a, ctx, NO_RIDERS);
}

/** True when `a` goes out as classic IPv4 NLRI with a NEXT_HOP attribute (not MP_REACH_NLRI). */
function isClassic(a: Announcement): boolean {
  return a.afi === Afi.IPV4 && a.nextHops.length === 1 && !a.nextHops[0]!.includes(':');
}

/** The UPDATEs of one announcement, its attributes encoded once. */
interface Layout {
  /** Octets every UPDATE of the announcement carries besides its NLRI and riders. */
  overhead: number;
  /** One UPDATE with `nlri` (encoded prefixes) and `riders`. */
  update(nlri: Uint8Array, riders: Riders): Buffer;
}

function layout(a: Announcement, ctx: SendContext): Layout {
  // RFC 7606 §5.1: the MP_* attributes go first so a receiver can find the NLRI even if later
  // attributes are bad (and then treat them as withdrawn, RFC 7606 §2); MP_REACH_NLRI (14) comes
  // before MP_UNREACH_NLRI (15), the ascending order RFC 4271 §5 asks for.
  if (isClassic(a)) {
    const attrs = encodeAttributes({ ...a.attributes, nextHop: a.nextHops[0] as string }, ctx.fourOctetAs);
    return {
      overhead: attrs.length,
      update: (nlri, r) => updateBody(r.withdrawn, concat([r.mpUnreach, attrs]), nlri),
    };
  }
  const rest = encodeAttributes(a.attributes, ctx.fourOctetAs);
  const header = encodeMpReachHeader(a.afi, Safi.UNICAST, a.nextHops);
  return {
    overhead: rest.length + EXT_ATTR_HEADER + header.length,
    update: (nlri, r) => {
      const mp = extendedAttribute(AttrType.MP_REACH_NLRI, concat([header, nlri]));
      return updateBody(r.withdrawn, concat([mp, r.mpUnreach, rest]), EMPTY);
    },
  };
}

/** Like packAnnouncement, with `riders` added to the first UPDATE (the caller made sure they fit). */
function packAnnouncementWith(
  a: Announcement,
  ctx: SendContext,
  riders: Riders,
  l = layout(a, ctx),
): Buffer[] {
  const out: Buffer[] = [];
  const budget = ctx.maxLength - HEADER_LENGTH - 4 - l.overhead;
  let r = riders;
  for (const nlri of chunks(a.prefixes, budget, budget - r.withdrawn.length - r.mpUnreach.length)) {
    out.push(l.update(nlri, r));
    r = NO_RIDERS;
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
  for (const w of chunks(prefixes, room - EXT_ATTR_HEADER - MP_UNREACH_HEADER)) {
    out.push(updateBody(EMPTY, mpUnreachAttribute(afi, w), EMPTY));
  }
  return out;
}

/** AFI and SAFI in front of the withdrawn prefixes of an MP_UNREACH_NLRI (RFC 4760 §4). */
const MP_UNREACH_HEADER = 3;

function mpUnreachAttribute(afi: AfiNumber, withdrawn: Uint8Array): Uint8Array {
  const header = Uint8Array.of(afi >> 8, afi & 0xff, Safi.UNICAST);
  return extendedAttribute(AttrType.MP_UNREACH_NLRI, concat([header, withdrawn]));
}

/**
 * All the UPDATEs of one sync: withdrawals and announcements, as few as possible.
 *
 * The withdrawals of a family ride in the first UPDATE that announces routes of the same family
 * when they all fit there next to at least one announced prefix. RFC 4271 §4.3 lets one UPDATE
 * carry Withdrawn Routes and NLRI; RFC 4760 §3-4 lets MP_REACH_NLRI and MP_UNREACH_NLRI share
 * one (RFC 7606 §3(g) only forbids either appearing twice). RFC 7606 §5.3 asks that the NLRI
 * fields and both MP attributes parse in full before treat-as-withdraw can apply: ours are well
 * formed, and treat-as-withdraw of a combined UPDATE leaves its withdrawals withdrawn. A steady
 * churn tick is then one UPDATE instead of two. Withdrawals that do not fit (large syncs) go out
 * alone, before the announcements, in as many UPDATEs as the size limit needs, as before.
 *
 * The caller must not name a prefix both in `withdrawals` and in `announcements`: an UPDATE
 * SHOULD NOT carry one prefix in more than one of Withdrawn Routes, NLRI, MP_REACH_NLRI and
 * MP_UNREACH_NLRI (RFC 4271 §4.3 has the receiver ignore such a withdrawal, RFC 4760 §3 calls
 * the outcome undefined). A sync of the Adj-RIB-Out ends each prefix either withdrawn or
 * announced, never both.
 */
export function packChanges(
  withdrawals: Record<AfiNumber, Prefix[]>,
  announcements: Iterable<Announcement>,
  ctx: SendContext,
): Buffer[] {
  const room = ctx.maxLength - HEADER_LENGTH - 4;
  const groups = [...announcements];
  const riders = new Map<Announcement, { riders: Riders; layout: Layout }>();
  const alone: Buffer[] = [];
  for (const afi of [Afi.IPV4, Afi.IPV6] as const) {
    const gone = withdrawals[afi];
    if (gone.length === 0) continue;
    // Hosts differ per family, so each carries one kind of rider.
    const host = groups.find((g) => g.afi === afi && g.prefixes.length > 0);
    if (host) {
      const field = gone.reduce((n, p) => n + encodedPrefixLength(p), 0);
      // IPv4 uses the Withdrawn Routes field; IPv6 an MP_UNREACH_NLRI.
      const size = afi === Afi.IPV4 ? field : EXT_ATTR_HEADER + MP_UNREACH_HEADER + field;
      const first = encodedPrefixLength(host.prefixes[0] as Prefix);
      const hostLayout = layout(host, ctx);
      if (hostLayout.overhead + size + first <= room) {
        const encoded = encodeRun(gone, 0, gone.length, field);
        riders.set(host, {
          layout: hostLayout,
          riders:
            afi === Afi.IPV4
              ? { ...NO_RIDERS, withdrawn: encoded }
              : { ...NO_RIDERS, mpUnreach: mpUnreachAttribute(afi, encoded) },
        });
        continue;
      }
    }
    alone.push(...packWithdrawal(afi, gone, ctx));
  }
  const out = alone;
  for (const g of groups) {
    const ridden = riders.get(g);
    out.push(...packAnnouncementWith(g, ctx, ridden?.riders ?? NO_RIDERS, ridden?.layout));
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
