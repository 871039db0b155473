import { describe, expect, it } from 'vitest';
import {
  cidrBroadcast,
  cidrContains,
  cidrNetwork,
  cidrSize,
  cidrsOverlap,
  formatAddress,
  hostCidr,
  parseAddress,
  parseCidr,
  summarizeRange,
  makeRange,
  type Cidr,
} from '@portico/net';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text, { clearHostBits: true });
  if (typeof parsed === 'string') throw new Error(`${text}: ${parsed}`);
  return parsed;
}

describe('parseCidr', () => {
  it.each([
    ['192.0.2.0/24', '192.0.2.0/24', 'IPv4'],
    ['10.20.30.40/24', '10.20.30.0/24', 'IPv4'],
    ['10.20.30.40/32', '10.20.30.40/32', 'IPv4'],
    ['10.20.30.40/0', '0.0.0.0/0', 'IPv4'],
    ['2001:db8::1/64', '2001:db8::/64', 'IPv6'],
    ['2001:0DB8:0000::/32', '2001:db8::/32', 'IPv6'],
    ['::ffff:192.0.2.0/120', '::ffff:c000:200/120', 'IPv6'],
  ])('%s, host bits cleared as Go does -> %s', (text, normalised, family) => {
    const parsed = cidr(text);
    expect(parsed.text).toBe(normalised);
    expect(parsed.family).toBe(family);
  });

  it.each([
    ['10.0.0.1', 'missing "/prefix-length"'],
    ['10.0.0.0/33', 'invalid prefix length "33" for IPv4 (0-32)'],
    ['2001:db8::/129', 'invalid prefix length "129" for IPv6 (0-128)'],
    ['10.0.0.0/-1', 'invalid prefix length "-1" for IPv4 (0-32)'],
    ['10.0.0.0/', 'invalid prefix length "" for IPv4 (0-32)'],
    ['10.0.0/8', 'invalid address "10.0.0"'],
    ['010.0.0.0/8', 'invalid address "010.0.0.0"'],
    ['fe80::1%eth0/64', 'invalid address "fe80::1%eth0"'],
    ['host/24', 'invalid address "host"'],
    ['198.51.101.0/23', 'host bits set in "198.51.101.0/23" (the network is 198.51.100.0/23)'],
    ['2001:db8::1/64', 'host bits set in "2001:db8::1/64" (the network is 2001:db8::/64)'],
  ])('%s is refused: %s', (text, reason) => {
    expect(parseCidr(text)).toBe(reason);
  });

  it('gives size, network, broadcast and containment', () => {
    const block = cidr('192.0.2.0/30');
    expect(cidrSize(block)).toBe(4n);
    expect(formatAddress(cidrNetwork(block))).toBe('192.0.2.0');
    expect(formatAddress(cidrBroadcast(block))).toBe('192.0.2.3');
    expect(cidrContains(block, parseAddress('192.0.2.3')!)).toBe(true);
    expect(cidrContains(block, parseAddress('192.0.2.4')!)).toBe(false);
    expect(cidrContains(cidr('::/0'), parseAddress('192.0.2.1')!)).toBe(false);
    expect(hostCidr(parseAddress('2001:db8::7')!).text).toBe('2001:db8::7/128');
  });

  it.each([
    ['192.0.2.0/24', '192.0.2.0/24', true],
    ['192.0.2.0/24', '192.0.2.128/25', true],
    ['192.0.2.128/25', '192.0.2.0/24', true],
    ['192.0.2.0/25', '192.0.2.128/25', false],
    ['0.0.0.0/0', '2001:db8::/32', false],
    ['::/0', '2001:db8::/32', true],
  ])('%s overlaps %s: %s', (a, b, overlap) => {
    expect(cidrsOverlap(cidr(a), cidr(b))).toBe(overlap);
  });
});

describe('ranges', () => {
  const range = (first: string, last: string) => makeRange(parseAddress(first)!, parseAddress(last)!);

  it.each([
    ['192.0.2.0', '192.0.2.255', ['192.0.2.0/24']],
    ['192.0.2.10', '192.0.2.10', ['192.0.2.10/32']],
    ['192.0.2.1', '192.0.2.6', ['192.0.2.1/32', '192.0.2.2/31', '192.0.2.4/31', '192.0.2.6/32']],
    ['0.0.0.0', '255.255.255.255', ['0.0.0.0/0']],
    ['2001:db8::', '2001:db8::ffff', ['2001:db8::/112']],
    ['2001:db8::1', '2001:db8::3', ['2001:db8::1/128', '2001:db8::2/127']],
  ])('%s-%s summarises into %j', (first, last, blocks) => {
    const r = range(first, last);
    if (typeof r === 'string') throw new Error(r);
    expect(summarizeRange(r).map((c) => c.text)).toEqual(blocks);
  });

  it('refuses reversed ends and mixed families', () => {
    expect(range('192.0.2.2', '192.0.2.1')).toBe('the first address is after the last');
    expect(range('192.0.2.1', '::1')).toBe('the ends are of different families (IPv4, IPv6)');
  });
});
