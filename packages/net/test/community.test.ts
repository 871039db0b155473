import { describe, expect, it } from 'vitest';
import {
  WELL_KNOWN_COMMUNITIES,
  formatCommunity,
  formatLargeCommunity,
  parseCommunity,
  parseLargeCommunity,
} from '@portico/net';

describe('communities', () => {
  it('parses asn:value into one 32-bit value and back', () => {
    expect(parseCommunity('65001:100')).toBe(0xfde90064);
    expect(parseCommunity('65535:65535')).toBe(0xffffffff);
    expect(parseCommunity('0:0')).toBe(0);
    expect(formatCommunity(0xffffffff)).toBe('65535:65535');
    expect(formatCommunity(0xfde90064)).toBe('65001:100');
    expect(WELL_KNOWN_COMMUNITIES['no-export']).toBe(0xffffff01);
  });

  it.each([
    ['64500', 'invalid community string "64500"'],
    ['1:2:3', 'invalid community string "1:2:3"'],
    ['no-export', 'invalid community string "no-export"'],
    [
      '65536:1',
      'invalid first section of community "65536": strconv.ParseUint: parsing "65536": value out of range',
    ],
    ['1:x', 'invalid second section of community "x": strconv.ParseUint: parsing "x": invalid syntax'],
    [':1', 'invalid first section of community "": strconv.ParseUint: parsing "": invalid syntax'],
    ['-1:1', 'invalid first section of community "-1": strconv.ParseUint: parsing "-1": invalid syntax'],
    [
      '1:65536',
      'invalid second section of community "65536": strconv.ParseUint: parsing "65536": value out of range',
    ],
    ['1:', 'invalid second section of community "": strconv.ParseUint: parsing "": invalid syntax'],
  ])('refuses %j: %s', (text, error) => {
    expect(parseCommunity(text)).toBe(error);
  });

  it('parses large communities (RFC 8092) and refuses bad sections', () => {
    expect(parseLargeCommunity('4200000000:1:2')).toEqual([4200000000, 1, 2]);
    expect(formatLargeCommunity([65001, 1, 2])).toBe('65001:1:2');
    expect(parseLargeCommunity('4294967296:1:2')).toBe(
      'invalid section "4294967296" of large community "4294967296:1:2": expected a number in 0-4294967295',
    );
    expect(parseLargeCommunity('1:2')).toBe(
      'invalid large community "1:2": expected <uint32>:<uint32>:<uint32>',
    );
  });
});
