/**
 * BGP communities (RFC 1997) in MetalLB v0.12's `asn:value` notation: two decimal 16-bit halves,
 * stored as one 32-bit value `asn << 16 | value`. No well-known names are built in: `no-export`
 * works only when defined in `bgp-communities`.
 */

/** Parses `asn:value`; a string is the error, in MetalLB's wording. */
export function parseCommunity(text: string): number | string {
  const parts = text.split(':');
  if (parts.length !== 2) return `invalid community string "${text}"`;
  const [high, low] = parts as [string, string];
  const highValue = parseUint16(high);
  if (typeof highValue === 'string') return `invalid first section of community "${high}": ${highValue}`;
  const lowValue = parseUint16(low);
  if (typeof lowValue === 'string') return `invalid second section of community "${low}": ${lowValue}`;
  return highValue * 65536 + lowValue;
}

/** `asn:value` text of a 32-bit community value. */
export function communityToString(community: number): string {
  return `${Math.floor(community / 65536)}:${community % 65536}`;
}

/** Like Go's strconv.ParseUint(text, 10, 16): decimal digits only, at most 65535. */
function parseUint16(text: string): number | string {
  if (!/^[0-9]+$/.test(text)) return `strconv.ParseUint: parsing "${text}": invalid syntax`;
  const value = Number(text);
  if (value > 65535) return `strconv.ParseUint: parsing "${text}": value out of range`;
  return value;
}
