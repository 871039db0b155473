/**
 * One entry of a pool's `addresses`: a CIDR (`192.0.2.0/24`, host bits cleared) or a range
 * `first-last` (split at the first `-`, both sides trimmed) summarised into the minimal list of
 * CIDR blocks, as MetalLB v0.12's parseCIDR does. A bare address without `/` is not a CIDR.
 */
import { formatAddress, parseCidr, parseIP, summarizeRange } from '@portico/net';
import type { AddressEntry } from './model.js';

/** Parses an entry; a string is the error, in MetalLB's wording. */
export function parseAddressEntry(text: string): AddressEntry | string {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const cidr = parseCidr(text, { clearHostBits: true });
    if (typeof cidr === 'string') return `invalid CIDR "${text}": ${cidr}`;
    return { text: cidr.text, cidrs: [cidr] };
  }
  const startText = text.slice(0, dash);
  const endText = text.slice(dash + 1);
  const start = parseIP(startText);
  if (!start) return `invalid IP range "${text}": invalid start IP "${startText}"`;
  const end = parseIP(endText);
  if (!end) return `invalid IP range "${text}": invalid end IP "${endText}"`;
  if (start.family !== end.family) {
    return `invalid IP range "${text}": start IP "${formatAddress(start)}" and end IP "${formatAddress(end)}" are of different families`;
  }
  if (start.value > end.value) {
    return `invalid IP range "${text}": start IP "${formatAddress(start)}" is after the end IP "${formatAddress(end)}"`;
  }
  return {
    text: `${formatAddress(start)}-${formatAddress(end)}`,
    cidrs: summarizeRange({ family: start.family, first: start.value, last: end.value }),
  };
}

/** The shortest prefix length among an entry's blocks (MetalLB's lowestMask). */
export function lowestMask(entry: AddressEntry): number {
  return Math.min(...entry.cidrs.map((c) => c.prefixLength));
}
