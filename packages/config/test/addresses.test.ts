// The address codec itself is tested in @portico/net; this is MetalLB's reading of a pool's
// `addresses` entries on top of it: CIDRs with host bits cleared, ranges summarised into CIDRs.
import { describe, expect, it } from 'vitest';
import { lowestMask, parseAddressEntry } from '@portico/config';

describe('parseAddressEntry (MetalLB v0.12 parseCIDR)', () => {
  it.each([
    ['192.0.2.0/24', ['192.0.2.0/24']],
    ['10.20.30.40/24', ['10.20.30.0/24']],
    ['10.20.30.40/0', ['0.0.0.0/0']],
    ['2001:db8::1/64', ['2001:db8::/64']],
    ['::ffff:192.0.2.0/120', ['::ffff:c000:200/120']],
    ['192.0.2.0-192.0.2.255', ['192.0.2.0/24']],
    ['192.0.2.10-192.0.2.10', ['192.0.2.10/32']],
    ['192.0.2.1-192.0.2.6', ['192.0.2.1/32', '192.0.2.2/31', '192.0.2.4/31', '192.0.2.6/32']],
    ['192.0.2.1 - 192.0.2.2', ['192.0.2.1/32', '192.0.2.2/32']],
    ['0.0.0.0-255.255.255.255', ['0.0.0.0/0']],
    ['2001:db8::-2001:db8::ffff', ['2001:db8::/112']],
    ['2001:db8::1-2001:db8::3', ['2001:db8::1/128', '2001:db8::2/127']],
    ['::ffff:192.0.2.1-::ffff:192.0.2.2', ['192.0.2.1/32', '192.0.2.2/32']],
  ])('%s', (text, blocks) => {
    const entry = parseAddressEntry(text);
    if (typeof entry === 'string') throw new Error(entry);
    expect(entry.cidrs.map((c) => c.text)).toEqual(blocks);
  });

  it.each([
    ['10.0.0.1', 'invalid CIDR "10.0.0.1": missing "/prefix-length"'],
    ['10.0.0.0/33', 'invalid CIDR "10.0.0.0/33": invalid prefix length "33" for IPv4 (0-32)'],
    ['010.0.0.0/8', 'invalid CIDR "010.0.0.0/8": invalid address "010.0.0.0"'],
    ['fe80::1%eth0/64', 'invalid CIDR "fe80::1%eth0/64": invalid address "fe80::1%eth0"'],
    ['192.0.2.1-x', 'invalid IP range "192.0.2.1-x": invalid end IP "x"'],
    [
      '192.0.2.1-::1',
      'invalid IP range "192.0.2.1-::1": start IP "192.0.2.1" and end IP "::1" are of different families',
    ],
    [
      '192.0.2.2-192.0.2.1',
      'invalid IP range "192.0.2.2-192.0.2.1": start IP "192.0.2.2" is after the end IP "192.0.2.1"',
    ],
  ])('%s is refused', (text, error) => {
    expect(parseAddressEntry(text)).toBe(error);
  });

  it('gives the shortest prefix length of an entry', () => {
    const entry = parseAddressEntry('192.0.2.1-192.0.2.6');
    if (typeof entry === 'string') throw new Error(entry);
    expect(lowestMask(entry)).toBe(31);
  });
});
