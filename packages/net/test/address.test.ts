import { describe, expect, it } from 'vitest';
import {
  addressFromBytes,
  addressToBytes,
  canonicalIP,
  compareAddresses,
  formatAddress,
  formatAddressBytes,
  parseAddress,
  parseIP,
  unmapIPv4,
} from '@portico/net';

const hex = (text: string): string | undefined => {
  const address = parseAddress(text);
  return address && Buffer.from(addressToBytes(address)).toString('hex');
};

describe('parseAddress', () => {
  it.each([
    ['192.0.2.1', 'c0000201', '192.0.2.1'],
    ['0.0.0.0', '00000000', '0.0.0.0'],
    ['255.255.255.255', 'ffffffff', '255.255.255.255'],
    ['2001:db8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:0DB8:0:0:0:0:0:1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['fe80::', 'fe800000000000000000000000000000', 'fe80::'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008', '0:2:3:4:5:6:7:8'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '20010000000000010000000000000001', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201', '::ffff:c000:201'],
    ['2001:db8::ffff:192.0.2.1', '20010db8000000000000ffffc0000201', '2001:db8::ffff:c000:201'],
    ['1:2:3:4:5:6:192.0.2.1', '000100020003000400050006c0000201', '1:2:3:4:5:6:c000:201'],
    ['::192.0.2.1', '000000000000000000000000c0000201', '::c000:201'],
  ])('%s', (text, bytes, canonical) => {
    expect(hex(text)).toBe(bytes);
    expect(formatAddress(parseAddress(text)!)).toBe(canonical);
  });

  it.each([
    '',
    ' 192.0.2.1',
    '192.0.2',
    '192.0.2.256',
    '01.2.3.4',
    '1.2.3.00',
    '1..2.3',
    '0x1.2.3.4',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '12345::',
    '1:::2',
    '1::2::3',
    ':1::',
    '1::2:',
    ':',
    '::g',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::1.2.3',
    '::1.2.3.4:5',
    '::01.2.3.4',
    '2001:db8::/64',
    'fe80::1%eth0',
    'host',
  ])('rejects %j (zone ids, prefix lengths, white space and malformed text)', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });
});

describe('parseIP (Go net.ParseIP)', () => {
  it('ignores surrounding white space and reads IPv4-mapped IPv6 as IPv4', () => {
    expect(parseIP(' 10.0.0.1 ')).toEqual({ family: 'IPv4', value: 0x0a000001n });
    expect(parseIP('::ffff:192.0.2.1')).toEqual({ family: 'IPv4', value: 0xc0000201n });
    expect(parseIP('::fffe:192.0.2.1')?.family).toBe('IPv6');
    expect(unmapIPv4({ family: 'IPv6', value: 0xffffc0000201n })).toEqual({
      family: 'IPv4',
      value: 0xc0000201n,
    });
    expect(canonicalIP('2001:DB8::0:1')).toBe('2001:db8::1');
    expect(canonicalIP('not an address')).toBeUndefined();
  });
});

describe('bytes and order', () => {
  it('converts to and from network-order octets, refusing other lengths', () => {
    expect(addressFromBytes(Buffer.from([192, 0, 2, 7]))).toEqual({ family: 'IPv4', value: 0xc0000207n });
    expect(formatAddress(addressFromBytes(Buffer.from('ff020000000000000000000000000001', 'hex')))).toBe(
      'ff02::1',
    );
    expect(formatAddressBytes(Buffer.from([192, 0, 2, 7]))).toBe('192.0.2.7');
    expect(() => addressFromBytes(Buffer.alloc(5))).toThrow(RangeError);
  });

  it('orders IPv4 before IPv6, then by value', () => {
    const sorted = ['2001:db8::1', '10.0.0.2', '::', '10.0.0.10', '9.255.255.255']
      .map((t) => parseAddress(t)!)
      .sort(compareAddresses)
      .map(formatAddress);
    expect(sorted).toEqual(['9.255.255.255', '10.0.0.2', '10.0.0.10', '::', '2001:db8::1']);
  });
});
