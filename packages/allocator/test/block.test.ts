import { describe, expect, it } from 'vitest';
import { parseIP } from '@portico/net';
import { Block } from '../src/block.js';
import { isBuggyIP } from '../src/index.js';
import { cidr } from './fixtures.js';

const v = (text: string): bigint => parseIP(text)!.value;

describe('isBuggyIP', () => {
  it.each([
    ['192.0.2.0', true],
    ['192.0.2.255', true],
    ['192.0.2.1', false],
    ['192.0.2.254', false],
    ['2001:db8::', false],
    ['2001:db8::ff', false],
  ])('%s -> %s', (text, buggy) => {
    expect(isBuggyIP(parseIP(text)!)).toBe(buggy);
  });
});

describe('Block', () => {
  it.each([
    { cidr: '192.0.2.0/24', avoid: false, total: 256n },
    { cidr: '192.0.2.0/24', avoid: true, total: 254n },
    { cidr: '10.0.0.0/8', avoid: true, total: (1n << 24n) - 2n * 65536n },
    { cidr: '192.0.2.252/30', avoid: true, total: 3n },
    { cidr: '192.0.2.0/30', avoid: true, total: 3n },
    { cidr: '192.0.2.4/30', avoid: true, total: 4n },
    { cidr: '192.0.2.0/32', avoid: true, total: 0n },
    { cidr: '2001:db8::/64', avoid: true, total: 1n << 64n },
  ])('$cidr avoid=$avoid has $total usable addresses', ({ cidr: text, avoid, total }) => {
    expect(new Block(cidr(text), avoid).usableCount()).toBe(total);
  });

  it('hands out .0 first unless buggy IPs are avoided', () => {
    expect(new Block(cidr('192.0.2.0/24'), false).firstFree()).toBe(v('192.0.2.0'));
    expect(new Block(cidr('192.0.2.0/24'), true).firstFree()).toBe(v('192.0.2.1'));
    expect(new Block(cidr('192.0.2.0/32'), true).firstFree()).toBeUndefined();
  });

  it('skips .255 and .0 between used runs when avoiding buggy IPs', () => {
    const block = new Block(cidr('192.0.2.0/23'), true);
    for (let i = 1; i <= 254; i++) block.used.add(v(`192.0.2.${i}`));
    expect(block.used.runCount).toBe(1);
    expect(block.firstFree()).toBe(v('192.0.3.1'));
    block.used.add(v('192.0.3.1'));
    expect(block.used.runCount).toBe(1);
    expect(block.firstFree()).toBe(v('192.0.3.2'));
  });

  it('reports exhaustion at the end of the block', () => {
    const block = new Block(cidr('192.0.2.0/31'), false);
    block.used.add(v('192.0.2.0'));
    block.used.add(v('192.0.2.1'));
    expect(block.firstFree()).toBeUndefined();
    block.used.delete(v('192.0.2.0'));
    expect(block.firstFree()).toBe(v('192.0.2.0'));
  });

  it('allows only its own family, range and non-buggy addresses', () => {
    const block = new Block(cidr('192.0.2.0/24'), true);
    expect(block.allows(parseIP('192.0.2.7')!)).toBe(true);
    expect(block.allows(parseIP('192.0.2.255')!)).toBe(false);
    expect(block.allows(parseIP('198.51.100.7')!)).toBe(false);
    expect(block.allows(parseIP('::c000:207')!)).toBe(false);
  });
});
