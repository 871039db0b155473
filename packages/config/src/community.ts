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

/**
 * A community as MetalLB's CRs write it: `asn:value` (RFC 1997) or `large:global:local1:local2`
 * (RFC 8092, three decimal 32-bit parts). `format` errors mean the text is neither shape (so it may
 * be an alias name); `value` errors mean it has a shape but a part is out of range.
 */
export type AnyCommunity =
  | { kind: 'legacy'; value: number }
  | { kind: 'large'; value: readonly [number, number, number] }
  | { kind: 'error'; format: boolean; message: string };

export function parseAnyCommunity(text: string): AnyCommunity {
  const parts = text.split(':');
  if (parts.length === 2) {
    const value = parseCommunity(text);
    return typeof value === 'string'
      ? { kind: 'error', format: false, message: value }
      : { kind: 'legacy', value };
  }
  if (parts.length === 4) {
    if (parts[0] !== 'large') {
      return {
        kind: 'error',
        format: false,
        message: `invalid marker for large community "${text}": expected large:<uint32>:<uint32>:<uint32>`,
      };
    }
    const values: number[] = [];
    for (const part of parts.slice(1)) {
      if (!/^[0-9]+$/.test(part) || Number(part) > 4294967295) {
        return {
          kind: 'error',
          format: false,
          message: `invalid section "${part}" of large community "${text}": expected a number in 0-4294967295`,
        };
      }
      values.push(Number(part));
    }
    return { kind: 'large', value: values as unknown as readonly [number, number, number] };
  }
  return {
    kind: 'error',
    format: true,
    message: `"${text}" is neither asn:value nor large:global:local1:local2`,
  };
}

/** `large:global:local1:local2` text of a large community. */
export function largeCommunityToString(value: readonly [number, number, number]): string {
  return `large:${value.join(':')}`;
}
