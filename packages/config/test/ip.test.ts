import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  canonicalIP,
  cidrLast,
  cidrsOverlap,
  familyBits,
  formatIP,
  maxAddress,
  parseAddressEntry,
  parseCidr,
  parseIP,
  summarizeRange,
  type Cidr,
  type IPFamily,
} from '@portico/config';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') throw new Error(`${text}: ${parsed}`);
  return parsed;
}

describe('parseCidr (Go net.ParseCIDR)', () => {
  it.each([
    ['192.0.2.0/24', '192.0.2.0/24', 'IPv4'],
    ['10.20.30.40/24', '10.20.30.0/24', 'IPv4'],
    ['10.20.30.40/32', '10.20.30.40/32', 'IPv4'],
    ['10.20.30.40/0', '0.0.0.0/0', 'IPv4'],
    ['2001:db8::1/64', '2001:db8::/64', 'IPv6'],
    ['2001:0DB8:0000::/32', '2001:db8::/32', 'IPv6'],
    ['2001:db8::1/128', '2001:db8::1/128', 'IPv6'],
    ['::ffff:192.0.2.0/120', '::ffff:c000:200/120', 'IPv6'],
  ])('%s -> %s', (text, normalised, family) => {
    const parsed = cidr(text);
    expect(parsed.text).toBe(normalised);
    expect(parsed.family).toBe(family);
  });

  it.each([
    ['10.0.0.1', 'missing "/prefix-length"'],
    ['10.0.0.0/33', 'invalid prefix length "33" for IPv4'],
    ['2001:db8::/129', 'invalid prefix length "129" for IPv6'],
    ['10.0.0.0/-1', 'invalid prefix length "-1"'],
    ['10.0.0.0/', 'invalid prefix length ""'],
    ['10.0.0/8', 'invalid address "10.0.0"'],
    ['010.0.0.0/8', 'invalid address "010.0.0.0"'],
    ['fe80::1%eth0/64', 'invalid address'],
    ['host/24', 'invalid address "host"'],
  ])('%s is rejected: %s', (text, reason) => {
    expect(parseCidr(text)).toContain(reason);
  });
});

describe('summarizeRange', () => {
  it.each([
    ['192.0.2.0-192.0.2.255', ['192.0.2.0/24']],
    ['192.0.2.10-192.0.2.10', ['192.0.2.10/32']],
    ['192.0.2.1-192.0.2.6', ['192.0.2.1/32', '192.0.2.2/31', '192.0.2.4/31', '192.0.2.6/32']],
    ['0.0.0.0-255.255.255.255', ['0.0.0.0/0']],
    ['2001:db8::-2001:db8::ffff', ['2001:db8::/112']],
    ['2001:db8::1-2001:db8::3', ['2001:db8::1/128', '2001:db8::2/127']],
  ])('%s', (range, blocks) => {
    const entry = parseAddressEntry(range);
    if (typeof entry === 'string') throw new Error(entry);
    expect(entry.cidrs.map((c) => c.text)).toEqual(blocks);
  });

  const family = fc.constantFrom<IPFamily>('IPv4', 'IPv6');
  const rangeArb = family.chain((f) =>
    fc
      .tuple(fc.bigInt({ min: 0n, max: maxAddress(f) }), fc.bigInt({ min: 0n, max: maxAddress(f) }))
      .map(([a, b]) => ({ family: f, first: a < b ? a : b, last: a < b ? b : a })),
  );

  it('covers exactly [first, last] with contiguous, aligned, ascending blocks', () => {
    fc.assert(
      fc.property(rangeArb, ({ family: f, first, last }) => {
        const blocks = summarizeRange(f, first, last);
        expect(blocks[0]?.base).toBe(first);
        expect(cidrLast(blocks[blocks.length - 1] as Cidr)).toBe(last);
        blocks.forEach((block, i) => {
          const size = cidrLast(block) - block.base + 1n;
          expect(block.base % size).toBe(0n); // aligned: a real CIDR block
          if (i > 0) expect(block.base).toBe(cidrLast(blocks[i - 1] as Cidr) + 1n);
        });
      }),
    );
  });

  it('is minimal: no two neighbouring blocks could merge into one larger block', () => {
    fc.assert(
      fc.property(rangeArb, ({ family: f, first, last }) => {
        const blocks = summarizeRange(f, first, last);
        // The greedy split is minimal iff no adjacent pair of equal size forms an aligned block
        // of twice the size (which is what a shorter list would need).
        for (let i = 1; i < blocks.length; i++) {
          const a = blocks[i - 1] as Cidr;
          const b = blocks[i] as Cidr;
          if (a.prefixLength !== b.prefixLength || a.prefixLength === 0) continue;
          const doubled = 1n << BigInt(familyBits[f] - a.prefixLength + 1);
          expect(a.base % doubled === 0n).toBe(false);
        }
        // And never more than 2 blocks per bit of width.
        expect(blocks.length).toBeLessThanOrEqual(2 * familyBits[f]);
      }),
    );
  });

  it('matches counting by brute force on small ranges', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (a, b) => {
        const [first, last] = a < b ? [a, b] : [b, a];
        const covered = new Set<number>();
        for (const block of summarizeRange('IPv4', BigInt(first), BigInt(last))) {
          for (let x = block.base; x <= cidrLast(block); x++) {
            expect(covered.has(Number(x))).toBe(false);
            covered.add(Number(x));
          }
        }
        expect(covered.size).toBe(last - first + 1);
        expect(Math.min(...covered)).toBe(first);
        expect(Math.max(...covered)).toBe(last);
      }),
    );
  });
});

describe('CIDR normalisation', () => {
  it('is idempotent: parsing the normalised text gives the same block', () => {
    const v4 = fc
      .tuple(
        fc.nat({ max: 255 }),
        fc.nat({ max: 255 }),
        fc.nat({ max: 255 }),
        fc.nat({ max: 255 }),
        fc.nat({ max: 32 }),
      )
      .map(([a, b, c, d, l]) => `${a}.${b}.${c}.${d}/${l}`);
    const v6 = fc
      .tuple(fc.array(fc.nat({ max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.nat({ max: 128 }))
      .map(([groups, l]) => `${groups.map((g) => g.toString(16)).join(':')}/${l}`);
    fc.assert(
      fc.property(fc.oneof(v4, v6), (text) => {
        const once = cidr(text);
        const twice = cidr(once.text);
        expect(twice).toEqual(once);
        // Host bits are cleared.
        expect(once.base % (cidrLast(once) - once.base + 1n)).toBe(0n);
      }),
    );
  });
});

describe('cidrsOverlap', () => {
  it.each([
    ['192.0.2.0/24', '192.0.2.0/24', true],
    ['192.0.2.0/24', '192.0.2.128/25', true],
    ['192.0.2.128/25', '192.0.2.0/24', true],
    ['192.0.2.0/25', '192.0.2.128/25', false],
    ['0.0.0.0/0', '2001:db8::/32', false],
    ['::/0', '2001:db8::/32', true],
  ])('%s vs %s -> %s', (a, b, overlap) => {
    expect(cidrsOverlap(cidr(a), cidr(b))).toBe(overlap);
  });
});

// parseIP/formatIP handle IPv4 by hand (the speaker parses every Service IP on every reconcile);
// ipaddr.js, which they used before, is the reference they must agree with.
describe('parseIP and formatIP for IPv4 agree with ipaddr.js', () => {
  const reference = (text: string): bigint | undefined => {
    const t = text.trim();
    if (!ipaddr.IPv4.isValidFourPartDecimal(t)) return undefined;
    return ipaddr.IPv4.parse(t)
      .toByteArray()
      .reduce((v, b) => (v << 8n) | BigInt(b), 0n);
  };
  const parsedV4 = (text: string) => {
    const ip = parseIP(text);
    return ip?.family === 'IPv4' ? ip.value : undefined;
  };

  it.each([
    ['192.0.2.1', 0xc0000201n],
    ['0.0.0.0', 0n],
    ['255.255.255.255', 0xffffffffn],
    [' 10.0.0.1 ', 0x0a000001n],
    ['01.2.3.4', undefined],
    ['1.2.3.00', undefined],
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['1..2.3', undefined],
    ['1.2.3.', undefined],
    ['.1.2.3', undefined],
    ['1.2.3.4a', undefined],
    ['0x1.2.3.4', undefined],
    ['', undefined],
  ])('%j', (text, value) => {
    expect(parsedV4(text)).toBe(value);
    expect(reference(text)).toBe(value);
  });

  it('on strings of digits and dots, and on any four numbers with optional leading zeros', () => {
    const part = fc.tuple(fc.constantFrom('', '0', '00'), fc.integer({ min: 0, max: 300 }));
    const quads = fc
      .array(part, { minLength: 3, maxLength: 5 })
      .map((ps) => ps.map(([zeros, n]) => `${zeros}${n}`).join('.'));
    const noise = fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', ' ', 'a', ':') });
    fc.assert(
      fc.property(fc.oneof(quads, noise), (text) => {
        expect(parsedV4(text)).toBe(reference(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('formats every address as ipaddr.js does, and parses it back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const text = formatIP({ family: 'IPv4', value: BigInt(n) });
        expect(text).toBe(
          ipaddr.fromByteArray([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString(),
        );
        expect(parsedV4(text)).toBe(BigInt(n));
        expect(canonicalIP(text)).toBe(text);
      }),
      { numRuns: 5000 },
    );
  });

  it('still reads IPv4-mapped IPv6 addresses as IPv4 and leaves IPv6 to ipaddr.js', () => {
    expect(parseIP('::ffff:192.0.2.1')).toEqual({ family: 'IPv4', value: 0xc0000201n });
    expect(parseIP('2001:db8::1')).toEqual({ family: 'IPv6', value: 0x20010db8000000000000000000000001n });
    expect(formatIP({ family: 'IPv6', value: 0x20010db8000000000000000000000001n })).toBe('2001:db8::1');
  });
});
