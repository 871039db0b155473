import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isFieldName, isFieldNameAt } from '../src/field-name.js';

const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) });
/** A name in random case: each letter of `lower` upper-cased or not. */
const anyCase = (lower: string) =>
  fc
    .array(fc.boolean(), { minLength: lower.length, maxLength: lower.length })
    .map((up) => [...lower].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
const NAMES = ['host', 'content-length', 'transfer-encoding', 'x-forwarded-for', 'te', 'http2-settings'];

describe('field names compared in place', () => {
  it('agrees with toLowerCase() on any latin1 string', () => {
    fc.assert(
      fc.property(latin1, fc.constantFrom(...NAMES), (s, lower) => {
        expect(isFieldName(s, lower)).toBe(s.toLowerCase() === lower);
      }),
      { numRuns: 20_000 },
    );
  });

  it('takes every case of a name, and no name one character off', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NAMES).chain((n) => fc.tuple(fc.constant(n), anyCase(n))),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        ([lower, name], at, code) => {
          expect(isFieldName(name, lower)).toBe(true);
          const i = at % name.length;
          const other = name.slice(0, i) + String.fromCharCode(code) + name.slice(i + 1);
          expect(isFieldName(other, lower)).toBe(other.toLowerCase() === lower);
        },
      ),
    );
  });

  it('compares a span of a longer text, and nothing past its end', () => {
    const text = 'GET / HTTP/1.1\r\nHOST: a\r\nContent-Lengthy: 1';
    expect(isFieldNameAt(text, 16, 20, 'host')).toBe(true);
    expect(isFieldNameAt(text, 16, 21, 'host')).toBe(false);
    expect(isFieldNameAt(text, 25, 39, 'content-length')).toBe(true);
    expect(isFieldNameAt(text, 25, 40, 'content-length')).toBe(false);
    // Bytes that fold onto a letter under `| 0x20` but are no letter ('@' and '`', '[' and '{').
    expect(isFieldName('@', '`')).toBe(false);
    expect(isFieldName('[', '{')).toBe(false);
    expect(isFieldName('\xc0', '\xe0')).toBe(false);
  });
});
