/**
 * BGP communities as values: an RFC 1997 community is one 32-bit number `asn << 16 | value`, an
 * RFC 8092 large community three 32-bit numbers. Text is `asn:value` and `global:local1:local2`;
 * parse returns the value, or a string naming the part that is wrong. Well-known names are a
 * separate table: MetalLB's configuration does not know them, the BGP route text does.
 */

/** A large community (RFC 8092 §3): global administrator, local data part 1, local data part 2. */
export type LargeCommunity = readonly [number, number, number];

/** RFC 1997 and later well-known communities, by the names routers write them with. */
export const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = {
  'graceful-shutdown': 0xffff0000, // RFC 8326
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04, // RFC 3765
  blackhole: 0xffff029a, // RFC 7999
};

/**
 * Parses `asn:value`, two decimal 16-bit halves. The errors are worded as MetalLB's (Go's
 * strconv.ParseUint), which its users know from `metallb` logs.
 */
export function parseCommunity(text: string): number | string {
  const parts = text.split(':');
  if (parts.length !== 2) return `invalid community string "${text}"`;
  const [high, low] = parts as [string, string];
  const highValue = parseUint(high, 0xffff);
  if (typeof highValue === 'string') return `invalid first section of community "${high}": ${highValue}`;
  const lowValue = parseUint(low, 0xffff);
  if (typeof lowValue === 'string') return `invalid second section of community "${low}": ${lowValue}`;
  return highValue * 65536 + lowValue;
}

/** `asn:value` text of a 32-bit community value. */
export function formatCommunity(community: number): string {
  return `${Math.floor(community / 65536)}:${community % 65536}`;
}

/** Parses `global:local1:local2`, three decimal 32-bit numbers. */
export function parseLargeCommunity(text: string): LargeCommunity | string {
  const parts = text.split(':');
  if (parts.length !== 3) return `invalid large community "${text}": expected <uint32>:<uint32>:<uint32>`;
  const values: number[] = [];
  for (const part of parts) {
    const value = parseUint(part, 0xffffffff);
    if (typeof value === 'string') {
      return `invalid section "${part}" of large community "${text}": expected a number in 0-4294967295`;
    }
    values.push(value);
  }
  return values as unknown as LargeCommunity;
}

/** `global:local1:local2` text of a large community. */
export function formatLargeCommunity(community: LargeCommunity): string {
  return community.join(':');
}

/** Like Go's strconv.ParseUint(text, 10, bits): decimal digits only (leading zeros allowed), at most max. */
function parseUint(text: string, max: number): number | string {
  if (!/^[0-9]+$/.test(text)) return `strconv.ParseUint: parsing "${text}": invalid syntax`;
  const value = Number(text);
  if (value > max) return `strconv.ParseUint: parsing "${text}": value out of range`;
  return value;
}
