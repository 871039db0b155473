import { describe, expect, it } from 'vitest';
import {
  decodeAttributes,
  encodeAttribute,
  encodeAttributes,
  type PathAttributes,
} from '../src/attributes.js';
import { linkBandwidth } from '../src/extended-communities.js';
import { BgpError } from '../src/errors.js';
import { hex } from './helpers.js';

const ibgp = { fourOctetAs: true, external: false };
const ebgp = { fourOctetAs: true, external: true };

function decode(bytes: Uint8Array, hasNlri = true, ctx = ibgp) {
  return decodeAttributes(bytes, 0, bytes.length, hasNlri, ctx);
}

const base: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.2' };

describe('path attributes', () => {
  it('round-trips every attribute we send', () => {
    const attrs: PathAttributes = {
      ...base,
      med: 10,
      localPref: 200,
      atomicAggregate: true,
      aggregator: { asn: 65001, address: '192.0.2.2' },
      communities: [0xfde90064, 0xffffff01],
      extendedCommunities: [linkBandwidth(65001, 1e9)],
      largeCommunities: [[65001, 1, 2]],
      unknown: [{ flags: 0xc0, type: 99, value: Uint8Array.of(7) }],
    };
    const out = decode(encodeAttributes(attrs, true));
    expect(out.treatAsWithdraw).toBeUndefined();
    expect(out.attributes).toEqual(attrs);
  });

  it('encodes ORIGIN, AS_PATH (4-octet), NEXT_HOP exactly', () => {
    expect(Buffer.from(encodeAttributes(base, true)).toString('hex')).toBe(
      '40010100' + '40020602010000fde9' + '400304c0000202',
    );
  });

  it('uses 2-octet ASes and AS_TRANS + AS4_PATH for an old speaker (RFC 6793)', () => {
    const attrs: PathAttributes = { ...base, asPath: [{ type: 2, asns: [4200000001] }] };
    attrs.as4Path = attrs.asPath;
    const bytes = encodeAttributes(attrs, false);
    const out = decode(bytes, true, { fourOctetAs: false, external: true });
    expect(out.attributes.asPath).toEqual([{ type: 2, asns: [23456] }]);
    expect(out.attributes.as4Path).toEqual([{ type: 2, asns: [4200000001] }]);
  });

  it('splits AS paths longer than 255 into several segments', () => {
    const asns = Array.from({ length: 300 }, (_, i) => i + 1);
    const out = decode(encodeAttributes({ ...base, asPath: [{ type: 2, asns }] }, true));
    expect(out.attributes.asPath?.map((s) => s.asns.length)).toEqual([255, 45]);
  });

  it('sets the extended length bit only when needed', () => {
    expect(encodeAttribute(0xc0, 8, new Uint8Array(255))[0]).toBe(0xc0);
    const big = encodeAttribute(0xc0, 8, new Uint8Array(256));
    expect([big[0], big[2], big[3]]).toEqual([0xd0, 1, 0]);
  });

  it('ignores LOCAL_PREF from an external peer (RFC 7606 §7.5)', () => {
    const out = decode(encodeAttributes({ ...base, localPref: 5 }, true), true, ebgp);
    expect(out.attributes.localPref).toBeUndefined();
    expect(out.treatAsWithdraw).toBeUndefined();
  });

  // RFC 7606: which malformations are treat-as-withdraw, which discard, which reset.
  const withdrawCases: [string, string][] = [
    ['ORIGIN value 3', '40010103 40020602010000fde9 400304c0000202'],
    ['ORIGIN length 2', '4001020000 40020602010000fde9 400304c0000202'],
    ['AS_PATH segment type 3', '40010100 40020603010000fde9 400304c0000202'],
    ['AS_PATH segment overrun', '40010100 40020602020000fde9 400304c0000202'],
    ['NEXT_HOP length 3', '40010100 40020602010000fde9 400303c00002'],
    ['MED length 2', '40010100 40020602010000fde9 400304c0000202 80040200 01'],
    ['COMMUNITIES length 3', '40010100 40020602010000fde9 400304c0000202 c00803010203'],
    ['LARGE_COMMUNITY length 8', '40010100 40020602010000fde9 400304c0000202 c020080000000100000002'],
    ['EXTENDED_COMMUNITIES length 4', '40010100 40020602010000fde9 400304c0000202 c0100400000000'],
    ['ORIGIN marked optional', 'c0010100 40020602010000fde9 400304c0000202'],
    ['missing ORIGIN', '40020602010000fde9 400304c0000202'],
    ['missing AS_PATH', '40010100 400304c0000202'],
    ['missing NEXT_HOP', '40010100 40020602010000fde9'],
    ['attribute overrunning the list', '40010100 40020602010000fde9 400305c0000202'],
  ];
  it.each(withdrawCases)('treats %s as withdraw', (_name, h) => {
    const out = decode(hex(h));
    expect(out.treatAsWithdraw).toBeTruthy();
  });

  it.each([
    ['ATOMIC_AGGREGATE with a value', '40060101', 6],
    ['AGGREGATOR of the wrong length', 'c00703000001', 7],
    ['AS4_PATH with a bad segment', 'c0110609010000fde9', 17],
  ])('discards %s and keeps the routes', (_name, extra, type) => {
    const out = decode(hex('40010100 40020602010000fde9 400304c0000202' + extra));
    expect(out.treatAsWithdraw).toBeUndefined();
    expect(out.discarded).toContain(type);
  });

  it('keeps the first of a repeated attribute', () => {
    const out = decode(hex('40010100 40010102 40020602010000fde9 400304c0000202'));
    expect(out.attributes.origin).toBe(0);
    expect(out.discarded).toEqual([1]);
  });

  it.each([
    ['an unknown well-known attribute', '40010100 40630100', [3, 2]],
    [
      'a repeated MP_REACH_NLRI',
      '800e0a0002011000000000 800e0a000201100000000000'.slice(0, 0) + mpTwice(),
      [3, 1],
    ],
    ['MP_REACH_NLRI with next hop length 5', '800e0a00010105c000020201 00 00'.replace(/ /g, ''), [3, 9]],
    ['MP_UNREACH_NLRI with a bad prefix', '800f050002018120', [3, 9]],
    ['MP_REACH_NLRI marked transitive', 'c00e0900010104c000020200', [3, 4]],
    ['MP_UNREACH_NLRI overrunning the list', '800f0900020140', [3, 5]],
  ])('resets the session for %s', (_name, h, [code, subcode]) => {
    try {
      decode(hex(h), false);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BgpError);
      expect([(err as BgpError).code, (err as BgpError).subcode]).toEqual([code, subcode]);
    }
  });

  it('decodes MP_REACH_NLRI with a global and a link-local IPv6 next hop', () => {
    const nh = '20010db8000000000000000000000002' + 'fe800000000000000000000000000002';
    const nlri = '80' + '20010db8010000000000000000000010';
    const value = '000201' + '20' + nh + '00' + nlri;
    const mp = '800e' + (value.length / 2).toString(16).padStart(2, '0') + value;
    const out = decode(hex('40010100 40020602010000fde9' + mp), false);
    expect(out.attributes.mpReach?.nextHops).toEqual(['2001:db8::2', 'fe80::2']);
    expect(out.attributes.mpReach?.nlri).toHaveLength(1);
  });
});

function mpTwice(): string {
  const one = '800e0900010104c000020200';
  return one + one;
}
