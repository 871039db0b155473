import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, readPrefixes, writePrefix } from '../src/prefix.js';
import { BgpError } from '../src/errors.js';

describe('prefix', () => {
  it.each([
    ['198.51.100.10/32', '198.51.100.10/32', 1],
    ['198.51.100.10', '198.51.100.10/32', 1],
    ['0.0.0.0/0', '0.0.0.0/0', 1],
    ['2001:db8::/32', '2001:db8::/32', 2],
    ['2001:DB8:0:0:1::1/128', '2001:db8::1:0:0:1/128', 2],
    ['::/0', '::/0', 2],
    ['::ffff:192.0.2.1/128', '::ffff:c000:201/128', 2],
  ])('parses %s', (text, canonical, afi) => {
    const p = parsePrefix(text);
    expect(formatPrefix(p)).toBe(canonical);
    expect(p.afi).toBe(afi);
  });

  it.each(['198.51.100.10/33', '198.51.101.0/23', 'foo', '2001:db8::1/64', '10.0.0.0/-1', '10.0.0.0/'])(
    'rejects %s',
    (text) => expect(() => parsePrefix(text)).toThrow(TypeError),
  );

  it('writes the fewest octets and reads them back', () => {
    const p = parsePrefix('198.51.100.0/23'.replace('23', '24'));
    const buf = new Uint8Array(8);
    expect(writePrefix(buf, 0, p)).toBe(4);
    expect([...buf.subarray(0, 4)]).toEqual([24, 198, 51, 100]);
    expect(readPrefixes(buf, 0, 4, 1).map(formatPrefix)).toEqual(['198.51.100.0/24']);
  });

  it('clears trailing bits of a received prefix', () => {
    const [p] = readPrefixes(Uint8Array.of(20, 198, 51, 255), 0, 4, 1);
    expect(formatPrefix(p!)).toBe('198.51.240.0/20');
  });

  it.each([
    ['length above 32', [33, 1, 2, 3, 4, 5]],
    ['overrun', [24, 198, 51]],
  ])('rejects NLRI with %s as Invalid Network Field', (_name, bytes) => {
    const buf = Uint8Array.from(bytes);
    try {
      readPrefixes(buf, 0, buf.length, 1);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BgpError);
      expect([(err as BgpError).code, (err as BgpError).subcode]).toEqual([3, 10]);
    }
  });
});
