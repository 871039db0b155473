import { describe, expect, it } from 'vitest';
import { addressToBytes, formatAddressBytes, parseAddress } from '@portico/net';
import { formatMac, ipv6MulticastMac, parseMac, solicitedNodeGroup } from '../src/mac.js';

const bytes = (text: string): Buffer => Buffer.from(addressToBytes(parseAddress(text)!));

describe('MAC and multicast helpers', () => {
  it('parses and formats MACs', () => {
    expect(parseMac('02:00:5E:00:53:01')?.toString('hex')).toBe('02005e005301');
    expect(parseMac('02:00:5e:00:53')).toBeUndefined();
    expect(parseMac('02-00-5e-00-53-01')).toBeUndefined();
    expect(formatMac(Buffer.from('02005e005301', 'hex'))).toBe('02:00:5e:00:53:01');
  });

  it('derives the solicited-node group and its Ethernet address (RFC 4291 §2.7.1, RFC 2464 §7)', () => {
    const group = solicitedNodeGroup(bytes('2001:db8:1::abcd:1260'));
    expect(formatAddressBytes(group)).toBe('ff02::1:ffcd:1260');
    expect(formatMac(ipv6MulticastMac(group))).toBe('33:33:ff:cd:12:60');
    expect(formatMac(ipv6MulticastMac(bytes('ff02::1')))).toBe('33:33:00:00:00:01');
  });
});
