/**
 * Communities as MetalLB's custom resources write them: `asn:value` (RFC 1997) or
 * `large:global:local1:local2` (RFC 8092). The values and their text are @portico/net's; what
 * is MetalLB's here is the `large:` marker and telling a malformed value from an alias name. No
 * well-known names are built in: `no-export` works only when a Community resource (or the
 * ConfigMap's `bgp-communities`) defines it.
 */
import { parseCommunity, parseLargeCommunity, type LargeCommunity } from '@portico/net';

/**
 * `format` errors mean the text is neither shape (so it may be an alias name); `value` errors mean
 * it has a shape but a part is out of range.
 */
export type AnyCommunity =
  | { kind: 'legacy'; value: number }
  | { kind: 'large'; value: LargeCommunity }
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
    const value = parseLargeCommunity(parts.slice(1).join(':'));
    return typeof value === 'string'
      ? { kind: 'error', format: false, message: value }
      : { kind: 'large', value };
  }
  return {
    kind: 'error',
    format: true,
    message: `"${text}" is neither asn:value nor large:global:local1:local2`,
  };
}
