/**
 * The heartbeat datagram the speakers exchange (see detector.ts). Each one says "I am alive" and
 * carries a digest of the layer-2 IPs the sender announces; the full list rides along in one or
 * more parts when it is small, when it just changed, and periodically, so every speaker knows who
 * owns what without asking the API server (this is what keeps ownership sticky).
 *
 * Layout (network byte order):
 *   magic "PS" | version u8 (1) | flags u8 (bit 0: claims part present; bit 1: leaving)
 *   seq u32 | digest u32 | name length u8 | name (UTF-8)
 *   [claims part: index u16 | count u16 | entries u16 | entries × (length u8 (4|16), address bytes)]
 *   [tag: 16 bytes of HMAC-SHA256 over everything before it, when a shared secret is set]
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { formatIP, parseIP } from '@portico/config';

const MAGIC = 0x5053; // "PS"
const VERSION = 1;
const TAG_BYTES = 16;
/** Keeps every datagram well under the 65,507-byte UDP limit (2,000 × 17 bytes max). */
export const MAX_ENTRIES_PER_PART = 2000;

export interface ClaimsPart {
  index: number;
  count: number;
  ips: string[];
}

export interface Heartbeat {
  name: string;
  seq: number;
  digest: number;
  claims?: ClaimsPart;
  /** The sender is shutting down: mark it dead now rather than after the suspicion time. */
  leaving?: boolean;
}

/** A 32-bit digest of a set of canonical IPs (order-insensitive). */
export function claimsDigest(ips: Iterable<string>): number {
  const sorted = [...ips].sort();
  return createHash('sha256').update(sorted.join(',')).digest().readUInt32BE(0);
}

/** Splits a claim set into parts of at most MAX_ENTRIES_PER_PART addresses. */
export function claimParts(ips: readonly string[]): ClaimsPart[] {
  const count = Math.max(1, Math.ceil(ips.length / MAX_ENTRIES_PER_PART));
  return Array.from({ length: count }, (_, index) => ({
    index,
    count,
    ips: ips.slice(index * MAX_ENTRIES_PER_PART, (index + 1) * MAX_ENTRIES_PER_PART),
  }));
}

export function encodeHeartbeat(hb: Heartbeat, secret?: Buffer): Buffer {
  const name = Buffer.from(hb.name, 'utf8');
  if (name.length > 255) throw new RangeError('node name longer than 255 bytes');
  const head = Buffer.alloc(13 + name.length);
  head.writeUInt16BE(MAGIC, 0);
  head.writeUInt8(VERSION, 2);
  head.writeUInt8((hb.claims ? 1 : 0) | (hb.leaving ? 2 : 0), 3);
  head.writeUInt32BE(hb.seq >>> 0, 4);
  head.writeUInt32BE(hb.digest >>> 0, 8);
  head.writeUInt8(name.length, 12);
  name.copy(head, 13);
  const chunks: Buffer[] = [head];
  if (hb.claims) {
    const meta = Buffer.alloc(6);
    meta.writeUInt16BE(hb.claims.index, 0);
    meta.writeUInt16BE(hb.claims.count, 2);
    meta.writeUInt16BE(hb.claims.ips.length, 4);
    chunks.push(meta);
    for (const ip of hb.claims.ips) {
      const bytes = addressBytes(ip);
      chunks.push(Buffer.from([bytes.length]), bytes);
    }
  }
  const body = Buffer.concat(chunks);
  return secret ? Buffer.concat([body, tag(secret, body)]) : body;
}

/** The heartbeat, or undefined for anything malformed, foreign or not authenticated. */
export function decodeHeartbeat(data: Buffer, secret?: Buffer): Heartbeat | undefined {
  let body = data;
  if (secret) {
    if (data.length < TAG_BYTES) return undefined;
    body = data.subarray(0, data.length - TAG_BYTES);
    const expected = tag(secret, body);
    if (!timingSafeEqual(expected, data.subarray(data.length - TAG_BYTES))) return undefined;
  }
  if (body.length < 13 || body.readUInt16BE(0) !== MAGIC || body.readUInt8(2) !== VERSION) return undefined;
  const flags = body.readUInt8(3);
  const nameLength = body.readUInt8(12);
  if (body.length < 13 + nameLength) return undefined;
  const hb: Heartbeat = {
    seq: body.readUInt32BE(4),
    digest: body.readUInt32BE(8),
    name: body.toString('utf8', 13, 13 + nameLength),
  };
  if (flags & 2) hb.leaving = true;
  let off = 13 + nameLength;
  if (flags & 1) {
    if (body.length < off + 6) return undefined;
    const index = body.readUInt16BE(off);
    const count = body.readUInt16BE(off + 2);
    const entries = body.readUInt16BE(off + 4);
    off += 6;
    if (count === 0 || index >= count) return undefined;
    const ips: string[] = [];
    for (let i = 0; i < entries; i++) {
      const length = body[off];
      if ((length !== 4 && length !== 16) || body.length < off + 1 + length) return undefined;
      ips.push(formatAddress(body.subarray(off + 1, off + 1 + length)));
      off += 1 + length;
    }
    hb.claims = { index, count, ips };
  }
  return off === body.length ? hb : undefined;
}

function tag(secret: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest().subarray(0, TAG_BYTES);
}

function addressBytes(ip: string): Buffer {
  const parsed = parseIP(ip);
  if (!parsed) throw new TypeError(`not an IP address: ${ip}`);
  const length = parsed.family === 'IPv4' ? 4 : 16;
  const out = Buffer.alloc(length);
  let value = parsed.value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** Canonical text (RFC 5952 for IPv6), so decoded claims compare equal to the speaker's IPs. */
function formatAddress(bytes: Buffer): string {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return formatIP({ family: bytes.length === 4 ? 'IPv4' : 'IPv6', value });
}
