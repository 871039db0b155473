/**
 * The heartbeat datagram the speakers exchange (see detector.ts). Each one says "I am alive",
 * carries a digest of the layer-2 IPs the sender claims and, for the one member it is sent to,
 * an acknowledgement: "I heard your heartbeat number N, and I grant you the IPs it claimed,
 * except these". The claim list itself rides along when it is small, when it just changed, and
 * periodically, so every speaker knows who owns what without asking the API server.
 *
 * Layout, version 2 (network byte order):
 *   magic "PS" | version u8 (2) | flags u8
 *     (bit 0: claims part present; bit 1: leaving; bit 2: ack present; bit 3: the ack grants;
 *      bit 4: the ack vouches for the destination (counts for its lease); bit 5: a reply to a
 *      heartbeat, not to be answered)
 *   incarnation f64 | seq u32 | digest u32 | pending digest u32 | name length u8 | name (UTF-8)
 *   [ack: incarnation f64 | seq u32 | refused u16 | refused × (length u8 (4|16), address bytes)]
 *   [claims part: index u16 | count u16 | entries u16 |
 *                 entries × (length u8 (4|16, +0x80 when pending, +0x40 more when lapsed),
 *                            address bytes)]
 *   [tag: 16 bytes of HMAC-SHA256 over everything before it, when a shared secret is set]
 *
 * `digest` covers the set of claimed IPs, `pending digest` the subset claimed but not answered
 * (waiting for grants), each marked lapsed or not: a *lapsed* claim was answered and its grants
 * ran out (the owner was cut off or starved) while it still claims the IP; a plain pending one
 * has not been answered yet. The election tells them apart (election.ts). Version 1 datagrams (speakers before the grant protocol) decode as
 * `legacy` heartbeats: liveness and claims, no incarnation, no acks.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { addressToBytes, formatAddressBytes, parseIP } from '@portico/net';

const MAGIC = 0x5053; // "PS"
const VERSION = 2;
const TAG_BYTES = 16;
/** Fixed part of the version 2 header, before the name. */
const HEAD = 25;
const PENDING_BIT = 0x80;
/** With PENDING_BIT: the claim was answered, and its grants ran out. */
const LAPSED_BIT = 0x40;
/** Keeps every datagram well under the 65,507-byte UDP limit (2,000 × 17 bytes max). */
export const MAX_ENTRIES_PER_PART = 2000;
/** More refusals than this are sent as "no grants" (the claimant learns nothing it could use). */
export const MAX_REFUSED = 256;

export interface ClaimsPart {
  index: number;
  count: number;
  ips: string[];
  /** The IPs of this part that are claimed but not answered (now). */
  pending?: string[];
  /** Of those, the ones that were answered before their grants ran out (lapsed). */
  lapsed?: string[];
}

export interface Ack {
  /** Incarnation and seq of the newest heartbeat of the destination the sender has received. */
  incarnation: number;
  seq: number;
  /**
   * The sender vouches for the destination: it hears it and is heard by it. Only such an
   * acknowledgement counts for the destination's quorum and leases; otherwise it is an echo.
   */
  lease: boolean;
  /**
   * True (only with `lease`) when the sender holds the claim list that heartbeat announced (by its digest) and grants
   * every IP of it except `refused`; false: liveness only, nothing granted.
   */
  grants: boolean;
  refused: string[];
}

export interface Heartbeat {
  name: string;
  /**
   * The process's start time (ms since the Unix epoch, with a random fraction): tells a
   * restarted speaker from a late datagram of the old one, and which of two is newer.
   */
  incarnation: number;
  seq: number;
  digest: number;
  pendingDigest: number;
  claims?: ClaimsPart;
  ack?: Ack;
  /** The sender is shutting down: it answers nothing any more. */
  leaving?: boolean;
  /** An immediate answer to the destination's heartbeat (answering it would loop). */
  reply?: boolean;
  /** Decoded from a version 1 datagram (an older speaker): no acks, all claims answered. */
  legacy?: boolean;
  /**
   * A claims part the receiver chose not to decode (it holds that list already, by its
   * digests): only which part of how many it was.
   */
  skippedClaims?: { index: number; count: number };
}

/** A 32-bit digest of a set of canonical IPs (order-insensitive). */
export function claimsDigest(ips: Iterable<string>): number {
  const sorted = [...ips].sort();
  return createHash('sha256').update(sorted.join(',')).digest().readUInt32BE(0);
}

export const EMPTY_DIGEST = claimsDigest([]);

/** The pending digest: the pending IPs, the lapsed ones marked (see above). */
export function pendingDigestOf(pending: Iterable<string>, lapsed: ReadonlySet<string>): number {
  return claimsDigest([...pending].map((ip) => (lapsed.has(ip) ? `${ip}!lapsed` : ip)));
}

/** Splits a claim set into parts of at most MAX_ENTRIES_PER_PART addresses. */
export function claimParts(
  ips: readonly string[],
  pending?: ReadonlySet<string>,
  lapsed?: ReadonlySet<string>,
): ClaimsPart[] {
  const count = Math.max(1, Math.ceil(ips.length / MAX_ENTRIES_PER_PART));
  return Array.from({ length: count }, (_, index) => {
    const slice = ips.slice(index * MAX_ENTRIES_PER_PART, (index + 1) * MAX_ENTRIES_PER_PART);
    const part: ClaimsPart = { index, count, ips: slice };
    const p = pending ? slice.filter((ip) => pending.has(ip)) : [];
    if (p.length > 0) part.pending = p;
    const l = lapsed ? p.filter((ip) => lapsed.has(ip)) : [];
    if (l.length > 0) part.lapsed = l;
    return part;
  });
}

/** The claims part alone, so a sender encodes it once for every member it goes to. */
export function encodeClaimsPart(part: ClaimsPart): Buffer {
  const meta = Buffer.alloc(6);
  meta.writeUInt16BE(part.index, 0);
  meta.writeUInt16BE(part.count, 2);
  meta.writeUInt16BE(part.ips.length, 4);
  const pending = new Set(part.pending ?? []);
  const lapsed = new Set(part.lapsed ?? []);
  const chunks: Buffer[] = [meta];
  for (const ip of part.ips) {
    const bytes = addressBytes(ip);
    const flags = pending.has(ip) ? PENDING_BIT | (lapsed.has(ip) ? LAPSED_BIT : 0) : 0;
    chunks.push(Buffer.from([bytes.length | flags]), bytes);
  }
  return Buffer.concat(chunks);
}

export function encodeHeartbeat(hb: Heartbeat, secret?: Buffer, encodedPart?: Buffer): Buffer {
  const name = Buffer.from(hb.name, 'utf8');
  if (name.length > 255) throw new RangeError('node name longer than 255 bytes');
  const part = encodedPart ?? (hb.claims ? encodeClaimsPart(hb.claims) : undefined);
  const head = Buffer.alloc(HEAD + name.length);
  head.writeUInt16BE(MAGIC, 0);
  head.writeUInt8(VERSION, 2);
  head.writeUInt8(
    (part ? 1 : 0) |
      (hb.leaving ? 2 : 0) |
      (hb.ack ? 4 : 0) |
      (hb.ack?.lease && hb.ack.grants ? 8 : 0) |
      (hb.ack?.lease ? 16 : 0) |
      (hb.reply ? 32 : 0),
    3,
  );
  head.writeDoubleBE(hb.incarnation, 4);
  head.writeUInt32BE(hb.seq >>> 0, 12);
  head.writeUInt32BE(hb.digest >>> 0, 16);
  head.writeUInt32BE(hb.pendingDigest >>> 0, 20);
  head.writeUInt8(name.length, 24);
  name.copy(head, HEAD);
  const chunks: Buffer[] = [head];
  if (hb.ack) {
    const refused = hb.ack.lease && hb.ack.grants ? hb.ack.refused : [];
    if (refused.length > MAX_REFUSED) throw new RangeError('too many refused claims for one ack');
    const ack = Buffer.alloc(14);
    ack.writeDoubleBE(hb.ack.incarnation, 0);
    ack.writeUInt32BE(hb.ack.seq >>> 0, 8);
    ack.writeUInt16BE(refused.length, 12);
    chunks.push(ack);
    for (const ip of refused) {
      const bytes = addressBytes(ip);
      chunks.push(Buffer.from([bytes.length]), bytes);
    }
  }
  if (part) chunks.push(part);
  const body = Buffer.concat(chunks);
  return secret ? Buffer.concat([body, tag(secret, body)]) : body;
}

/**
 * The heartbeat, or undefined for anything malformed, foreign or not authenticated. `known`
 * (given the heartbeat without its claims) says whether the receiver holds its claim list
 * already: its claims part is then left undecoded (`skippedClaims`), so the periodic resend of a
 * large unchanged list costs the receiver nothing per IP.
 */
export function decodeHeartbeat(
  data: Buffer,
  secret?: Buffer,
  known?: (hb: Heartbeat) => boolean,
): Heartbeat | undefined {
  let body = data;
  if (secret) {
    if (data.length < TAG_BYTES) return undefined;
    body = data.subarray(0, data.length - TAG_BYTES);
    const expected = tag(secret, body);
    if (!timingSafeEqual(expected, data.subarray(data.length - TAG_BYTES))) return undefined;
  }
  if (body.length < 4 || body.readUInt16BE(0) !== MAGIC) return undefined;
  const version = body.readUInt8(2);
  if (version === 1) return decodeVersion1(body);
  if (version !== VERSION || body.length < HEAD) return undefined;
  const flags = body.readUInt8(3);
  const nameLength = body.readUInt8(24);
  if (body.length < HEAD + nameLength) return undefined;
  const hb: Heartbeat = {
    name: body.toString('utf8', HEAD, HEAD + nameLength),
    incarnation: body.readDoubleBE(4),
    seq: body.readUInt32BE(12),
    digest: body.readUInt32BE(16),
    pendingDigest: body.readUInt32BE(20),
  };
  if (!Number.isFinite(hb.incarnation)) return undefined;
  if (flags & 2) hb.leaving = true;
  if (flags & 32) hb.reply = true;
  let off = HEAD + nameLength;
  if (flags & 4) {
    if (body.length < off + 14) return undefined;
    const ack: Ack = {
      incarnation: body.readDoubleBE(off),
      seq: body.readUInt32BE(off + 8),
      lease: (flags & 16) !== 0,
      grants: (flags & 24) === 24,
      refused: [],
    };
    const refused = body.readUInt16BE(off + 12);
    off += 14;
    for (let i = 0; i < refused; i++) {
      const entry = readAddress(body, off);
      if (!entry || entry.pending || entry.lapsed) return undefined;
      ack.refused.push(entry.ip);
      off = entry.next;
    }
    hb.ack = ack;
  }
  if (flags & 1) {
    if (known?.(hb)) {
      if (body.length < off + 6) return undefined;
      const index = body.readUInt16BE(off);
      const count = body.readUInt16BE(off + 2);
      if (count === 0 || index >= count) return undefined;
      hb.skippedClaims = { index, count };
      return hb;
    }
    const part = readPart(body, off);
    if (!part) return undefined;
    hb.claims = part.part;
    off = part.next;
  }
  return off === body.length ? hb : undefined;
}

/** Version 1: magic | 1 | flags | seq u32 | digest u32 | name length u8 | name | [claims part]. */
function decodeVersion1(body: Buffer): Heartbeat | undefined {
  if (body.length < 13) return undefined;
  const flags = body.readUInt8(3);
  const nameLength = body.readUInt8(12);
  if (body.length < 13 + nameLength) return undefined;
  const hb: Heartbeat = {
    name: body.toString('utf8', 13, 13 + nameLength),
    incarnation: 0,
    seq: body.readUInt32BE(4),
    digest: body.readUInt32BE(8),
    pendingDigest: EMPTY_DIGEST,
    legacy: true,
  };
  if (flags & 2) hb.leaving = true;
  let off = 13 + nameLength;
  if (flags & 1) {
    const part = readPart(body, off, false);
    if (!part) return undefined;
    hb.claims = part.part;
    off = part.next;
  }
  return off === body.length ? hb : undefined;
}

function readPart(
  body: Buffer,
  start: number,
  flagged = true,
): { part: ClaimsPart; next: number } | undefined {
  if (body.length < start + 6) return undefined;
  const index = body.readUInt16BE(start);
  const count = body.readUInt16BE(start + 2);
  const entries = body.readUInt16BE(start + 4);
  if (count === 0 || index >= count) return undefined;
  let off = start + 6;
  const ips: string[] = [];
  const pending: string[] = [];
  const lapsed: string[] = [];
  for (let i = 0; i < entries; i++) {
    const entry = readAddress(body, off);
    if (!entry || (entry.pending && !flagged)) return undefined;
    ips.push(entry.ip);
    if (entry.pending) pending.push(entry.ip);
    if (entry.lapsed) lapsed.push(entry.ip);
    off = entry.next;
  }
  const part: ClaimsPart = { index, count, ips };
  if (pending.length > 0) part.pending = pending;
  if (lapsed.length > 0) part.lapsed = lapsed;
  return { part, next: off };
}

function readAddress(
  body: Buffer,
  off: number,
): { ip: string; pending: boolean; lapsed: boolean; next: number } | undefined {
  if (body.length < off + 1) return undefined;
  const pending = (body[off]! & PENDING_BIT) !== 0;
  const lapsed = (body[off]! & LAPSED_BIT) !== 0;
  const length = body[off]! & ~(PENDING_BIT | LAPSED_BIT);
  if ((length !== 4 && length !== 16) || body.length < off + 1 + length) return undefined;
  if (lapsed && !pending) return undefined; // lapsed is a kind of pending
  // Canonical text (RFC 5952 for IPv6), so decoded claims compare equal to the speaker's IPs.
  const ip = formatAddressBytes(body.subarray(off + 1, off + 1 + length));
  return { ip, pending, lapsed, next: off + 1 + length };
}

function tag(secret: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest().subarray(0, TAG_BYTES);
}

function addressBytes(ip: string): Buffer {
  const parsed = parseIP(ip);
  if (!parsed) throw new TypeError(`not an IP address: ${ip}`);
  return Buffer.from(addressToBytes(parsed));
}
