import { describe, expect, it } from 'vitest';
import {
  formatCommunity,
  formatExtendedCommunity,
  formatLargeCommunity,
  linkBandwidth,
  parseCommunity,
  parseExtendedCommunity,
  parseLargeCommunity,
} from '../src/communities.js';

describe('communities', () => {
  it('parses ASN:VALUE and well-known names', () => {
    expect(parseCommunity('65001:100')).toBe(0xfde90064);
    expect(formatCommunity(parseCommunity('65535:65535'))).toBe('65535:65535');
    expect(parseCommunity('no-export')).toBe(0xffffff01);
    expect(parseCommunity('NO-ADVERTISE')).toBe(0xffffff02);
  });
  it.each(['65536:1', '1:65536', '1', '1:2:3', 'a:b', ''])('rejects community %j', (t) =>
    expect(() => parseCommunity(t)).toThrow(TypeError),
  );
  it('parses large communities (RFC 8092)', () => {
    expect(parseLargeCommunity('4200000000:1:2')).toEqual([4200000000, 1, 2]);
    expect(formatLargeCommunity([65001, 1, 2])).toBe('65001:1:2');
    expect(() => parseLargeCommunity('4294967296:1:2')).toThrow(TypeError);
    expect(() => parseLargeCommunity('1:2')).toThrow(TypeError);
  });
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
