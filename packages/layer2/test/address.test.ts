import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatIpv6,
  formatMac,
  ipFromBytes,
  ipv6MulticastMac,
  parseIp,
  parseMac,
  solicitedNodeGroup,
} from '../src/address.js';

describe('parseIp', () => {
  it.each([
    ['192.0.2.1', 4, 'c0000201', '192.0.2.1'],
    ['2001:db8::1', 6, '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:0DB8:0:0:0:0:0:1', 6, '20010db8000000000000000000000001', '2001:db8::1'],
    ['::', 6, '00000000000000000000000000000000', '::'],
    ['::1', 6, '00000000000000000000000000000001', '::1'],
    ['fe80::', 6, 'fe800000000000000000000000000000', 'fe80::'],
    ['2001:db8:0:1:1:1:1:1', 6, '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', 6, '20010000000000010000000000000001', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', 6, '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['::ffff:192.0.2.1', 6, '00000000000000000000ffffc0000201', '::ffff:c000:201'],
  ])('%s', (text, family, hex, canonical) => {
    const ip = parseIp(text);
    expect(ip?.family).toBe(family);
    expect(ip?.bytes.toString('hex')).toBe(hex);
    expect(ip?.text).toBe(canonical);
  });

  it.each(['', '192.0.2', '192.0.2.256', '1:2:3:4:5:6:7:8:9', '2001:db8::/64', 'fe80::1%eth0', 'host'])(
    'rejects %j',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
    },
  );

  it('formats any 16 bytes like the WHATWG URL serializer (RFC 5952) and parses them back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (raw, sparse) => {
        // Zero some groups so that runs of zeros, the interesting case, are common.
        const bytes = Buffer.from(raw.map((b, i) => (sparse && raw[i - (i % 2)]! % 3 === 0 ? 0 : b)));
        const text = formatIpv6(bytes);
        expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
        expect(new URL(`http://[${bytes.toString('hex').replace(/(.{4})(?!$)/g, '$1:')}]/`).hostname).toBe(
          `[${text}]`,
        );
        expect(parseIp(text)?.bytes.equals(bytes)).toBe(true);
      }),
    );
  });

  it('ipFromBytes refuses other lengths', () => {
    expect(ipFromBytes(Buffer.from([192, 0, 2, 7])).text).toBe('192.0.2.7');
    expect(() => ipFromBytes(Buffer.alloc(5))).toThrow(RangeError);
  });
});

describe('MAC and multicast helpers', () => {
  it('parses and formats MACs', () => {
    expect(parseMac('02:00:5E:00:53:01')?.toString('hex')).toBe('02005e005301');
    expect(parseMac('02:00:5e:00:53')).toBeUndefined();
    expect(parseMac('02-00-5e-00-53-01')).toBeUndefined();
    expect(formatMac(Buffer.from('02005e005301', 'hex'))).toBe('02:00:5e:00:53:01');
  });

  it('derives the solicited-node group and its Ethernet address (RFC 4291 §2.7.1, RFC 2464 §7)', () => {
    const group = solicitedNodeGroup(parseIp('2001:db8:1::abcd:1260')!.bytes);
    expect(formatIpv6(group)).toBe('ff02::1:ffcd:1260');
    expect(formatMac(ipv6MulticastMac(group))).toBe('33:33:ff:cd:12:60');
    expect(formatMac(ipv6MulticastMac(parseIp('ff02::1')!.bytes))).toBe('33:33:00:00:00:01');
  });
});
