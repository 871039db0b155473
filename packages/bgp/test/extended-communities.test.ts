import { describe, expect, it } from 'vitest';
import {
  formatExtendedCommunity,
  linkBandwidth,
  parseExtendedCommunity,
} from '../src/extended-communities.js';
import { communityValue, largeCommunityValue } from '../src/route.js';

describe('route communities', () => {
  it('reads ASN:VALUE and well-known names (any case)', () => {
    expect(communityValue('65001:100')).toBe(0xfde90064);
    expect(communityValue('no-export')).toBe(0xffffff01);
    expect(communityValue('NO-ADVERTISE')).toBe(0xffffff02);
  });
  it.each(['65536:1', '1:65536', '1', '1:2:3', 'a:b', ''])('rejects community %j', (t) =>
    expect(() => communityValue(t)).toThrow(TypeError),
  );
  it('reads large communities (RFC 8092)', () => {
    expect(largeCommunityValue('4200000000:1:2')).toEqual([4200000000, 1, 2]);
    expect(() => largeCommunityValue('4294967296:1:2')).toThrow(TypeError);
    expect(() => largeCommunityValue('1:2')).toThrow(TypeError);
  });
});

describe('extended communities', () => {
  it('encodes the link-bandwidth extended community', () => {
    const lb = linkBandwidth(65001, 125_000_000);
    expect(Buffer.from(lb).toString('hex')).toBe('4004fde94cee6b28');
    expect(formatExtendedCommunity(lb)).toBe('lb:65001:125000000');
    expect(parseExtendedCommunity('lb:65001:125000000')).toEqual(lb);
    expect(linkBandwidth(65001, 1, true)[0]).toBe(0);
  });
  it('parses route targets and raw hex', () => {
    expect(formatExtendedCommunity(parseExtendedCommunity('rt:65001:7'))).toBe('rt:65001:7');
    expect(formatExtendedCommunity(parseExtendedCommunity('0102030405060708'))).toBe('0102030405060708');
    expect(() => parseExtendedCommunity('xx')).toThrow(TypeError);
  });
});
