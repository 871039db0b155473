/**
 * The codec's properties, checked once here for every package that uses it. The oracles are
 * independent of the code under test: node:net decides what is an address, the WHATWG URL parser
 * writes IPv6 in RFC 5952 form, and bigint arithmetic decides order and containment.
 */
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressFromBytes,
  addressToBytes,
  cidrContains,
  cidrLast,
  cidrRange,
  cidrSize,
  cidrsOverlap,
  compareAddresses,
  familyBits,
  formatAddress,
  formatCommunity,
  formatLargeCommunity,
  makeCidr,
  maxAddress,
  parseAddress,
  parseCidr,
  parseCommunity,
  parseLargeCommunity,
  rangeContains,
  rangeSize,
  rangesOverlap,
  summarizeRange,
  type Address,
  type AddressRange,
  type Cidr,
  type IPFamily,
} from '@portico/net';

const family = fc.constantFrom<IPFamily>('IPv4', 'IPv6');

/** Values with runs of zero groups, the interesting case for `::`, as likely as dense ones. */
const v6Value = fc
  .tuple(
    fc.array(fc.nat({ max: 0xffff }), { minLength: 8, maxLength: 8 }),
    fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  )
  .map(([groups, zero]) => groups.reduce((v, g, i) => (v << 16n) | BigInt(zero[i] ? 0 : g), 0n));
const valueOf = (f: IPFamily) =>
  f === 'IPv4'
    ? fc.bigInt({ min: 0n, max: maxAddress('IPv4') })
    : fc.oneof(v6Value, fc.bigInt({ min: 0n, max: maxAddress('IPv6') }));
const address: fc.Arbitrary<Address> = family.chain((f) => valueOf(f).map((value) => ({ family: f, value })));
const sameFamilyPair = family.chain((f) =>
  fc.tuple(valueOf(f), valueOf(f)).map(
    ([a, b]) =>
      [
        { family: f, value: a },
        { family: f, value: b },
      ] as const,
  ),
);
const cidr: fc.Arbitrary<Cidr> = family.chain((f) =>
  fc.tuple(valueOf(f), fc.nat({ max: familyBits[f] })).map(([v, length]) => makeCidr(f, v, length)),
);
const range: fc.Arbitrary<AddressRange> = sameFamilyPair.map(([a, b]) => ({
  family: a.family,
  first: a.value < b.value ? a.value : b.value,
  last: a.value < b.value ? b.value : a.value,
}));

const groupsOf = (value: bigint): number[] =>
  Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));

/** Any spelling RFC 4291 allows: upper or lower case, leading zeros, `::` anywhere it fits, a dotted tail. */
const spelling = (value: bigint) =>
  fc
    .record({
      upper: fc.boolean(),
      pad: fc.boolean(),
      gapAt: fc.nat({ max: 8 }),
      gapLength: fc.nat({ max: 8 }),
      dotted: fc.boolean(),
    })
    .map(({ upper, pad, gapAt, gapLength, dotted }) => {
      const numbers = groupsOf(value);
      const hexWords = numbers.map((g) => {
        const text = pad ? g.toString(16).padStart(4, '0') : g.toString(16);
        return upper ? text.toUpperCase() : text;
      });
      const [g6, g7] = [numbers[6]!, numbers[7]!];
      const tail = dotted ? [`${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`] : [];
      const words = dotted ? hexWords.slice(0, 6) : hexWords;
      // Compress (part of) a run of zero groups that starts at gapAt, if there is one.
      const start = Math.min(gapAt, words.length);
      let end = start;
      while (end < words.length && end - start < gapLength && numbers[end] === 0) end++;
      if (end === start) return [...words, ...tail].join(':');
      return `${words.slice(0, start).join(':')}::${[...words.slice(end), ...tail].join(':')}`;
    });

describe('address properties', () => {
  it('format then parse gives the address back; bytes too', () => {
    fc.assert(
      fc.property(address, (a) => {
        expect(parseAddress(formatAddress(a))).toEqual(a);
        const bytes = addressToBytes(a);
        expect(bytes.length).toBe(familyBits[a.family] / 8);
        expect(addressFromBytes(bytes)).toEqual(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes IPv6 in RFC 5952 form (the WHATWG URL serialiser is the reference) from any spelling', () => {
    fc.assert(
      fc.property(
        v6Value.chain((value) => fc.tuple(fc.constant(value), spelling(value))),
        ([value, text]) => {
          const canonical = formatAddress({ family: 'IPv6', value });
          expect(`[${canonical}]`).toBe(new URL(`http://[${text}]/`).hostname);
          expect(isIPv6(text)).toBe(true);
          expect(parseAddress(text)).toEqual({ family: 'IPv6', value });
          // Canonical text is lower case, without leading zeros, with no `::` for a single zero group.
          expect(canonical).toBe(canonical.toLowerCase());
          expect(canonical).not.toMatch(/(^|:)0[0-9a-f]/);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly what node:net accepts as an address, zone ids aside', () => {
    const unit = fc.constantFrom(
      '0',
      '1',
      '2',
      '5',
      '9',
      'a',
      'f',
      'F',
      'g',
      '.',
      ':',
      ':',
      ':',
      ' ',
      '%',
      '/',
    );
    const noise = fc.string({ unit, maxLength: 24 });
    const nearValid = address.chain((a) =>
      fc
        .tuple(fc.constant(formatAddress(a)), fc.nat({ max: 40 }), unit, fc.boolean())
        .map(([text, at, c, insert]) => {
          const i = at % (text.length + 1);
          return insert ? text.slice(0, i) + c + text.slice(i) : text.slice(0, i) + text.slice(i + 1);
        }),
    );
    fc.assert(
      fc.property(fc.oneof(noise, nearValid), (text) => {
        const expected = isIPv4(text) ? 'IPv4' : isIPv6(text) && !text.includes('%') ? 'IPv6' : undefined;
        expect(parseAddress(text)?.family).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('orders addresses as their numeric values (and octets) order', () => {
    fc.assert(
      fc.property(sameFamilyPair, ([a, b]) => {
        const sign = Math.sign(compareAddresses(a, b));
        expect(sign).toBe(a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
        expect(sign).toBe(Buffer.compare(addressToBytes(a), addressToBytes(b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('a CIDR contains exactly the addresses of its range, and its text parses back', () => {
    fc.assert(
      fc.property(cidr, address, (c, a) => {
        const hostBits = BigInt(familyBits[c.family] - c.prefixLength);
        const sameNetwork = a.family === c.family && a.value >> hostBits === c.base >> hostBits;
        expect(cidrContains(c, a)).toBe(sameNetwork);
        expect(rangeContains(cidrRange(c), a)).toBe(sameNetwork);
        expect(rangeSize(cidrRange(c))).toBe(cidrSize(c));
        expect(c.base % cidrSize(c)).toBe(0n);
        expect(parseCidr(c.text)).toEqual(c);
      }),
      { numRuns: 2000 },
    );
  });

  it('CIDR overlap is range overlap', () => {
    fc.assert(
      fc.property(cidr, cidr, (a, b) => {
        expect(cidrsOverlap(a, b)).toBe(rangesOverlap(cidrRange(a), cidrRange(b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('a range summarises into aligned, contiguous, minimal blocks that cover exactly it', () => {
    fc.assert(
      fc.property(range, address, (r, a) => {
        const blocks = summarizeRange(r);
        expect(blocks[0]?.base).toBe(r.first);
        expect(cidrLast(blocks.at(-1)!)).toBe(r.last);
        expect(blocks.reduce((sum, b) => sum + cidrSize(b), 0n)).toBe(rangeSize(r));
        blocks.forEach((b, i) => {
          expect(b.base % cidrSize(b)).toBe(0n);
          if (i > 0) expect(b.base).toBe(cidrLast(blocks[i - 1]!) + 1n);
          // Minimal: no two neighbours of one size form an aligned block of twice the size.
          const previous = blocks[i - 1];
          if (previous && previous.prefixLength === b.prefixLength) {
            expect(previous.base % (2n * cidrSize(b))).not.toBe(0n);
          }
        });
        expect(blocks.length).toBeLessThanOrEqual(2 * familyBits[r.family]);
        expect(blocks.some((b) => cidrContains(b, a))).toBe(rangeContains(r, a));
      }),
      { numRuns: 300 },
    );
  });

  it('communities parse back from their text', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })),
        (value, large) => {
          expect(parseCommunity(formatCommunity(value))).toBe(value);
          expect(parseLargeCommunity(formatLargeCommunity(large))).toEqual(large);
        },
      ),
    );
  });
});
