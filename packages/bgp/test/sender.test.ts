import { describe, expect, it } from 'vitest';
import { encodeEndOfRib, packAnnouncement, packWithdrawal } from '../src/sender.js';
import { formatPrefix, parsePrefix } from '../src/prefix.js';
import type { UpdateMessage } from '../src/update.js';
import { receive } from './helpers.js';

function v4(n: number) {
  return Array.from({ length: n }, (_, i) => parsePrefix(`198.18.${(i >> 8) & 0xff}.${i & 0xff}/32`));
}
function v6(n: number) {
  return Array.from({ length: n }, (_, i) => parsePrefix(`2001:db8:1::${i.toString(16)}/128`));
}
const attrs = {
  origin: 0 as const,
  asPath: [{ type: 2 as const, asns: [65001] }],
  communities: [0xfde90064],
};

function updates(messages: Buffer[], maxLength = 4096): UpdateMessage[] {
  return receive(messages, { fourOctetAs: true, external: true }, maxLength).map((m) => {
    if (m.type !== 'update') throw new Error(`not an update: ${JSON.stringify(m)}`);
    return m.update;
  });
}

describe('sender (UPDATE packing)', () => {
  it('packs 10,000 IPv4 /32s into few UPDATEs within 4096 octets, all decodable', () => {
    const prefixes = v4(10_000);
    const msgs = packAnnouncement(
      { afi: 1, attributes: attrs, nextHops: ['192.0.2.2'], prefixes },
      { maxLength: 4096, fourOctetAs: true },
    );
    expect(msgs.every((m) => m.length <= 4096)).toBe(true);
    expect(msgs.length).toBe(Math.ceil(10_000 / Math.floor((4096 - 23 - 7 - 9 - 7 - 7) / 5)));
    const got = updates(msgs);
    expect(got.flatMap((u) => u.nlri).map(formatPrefix)).toEqual(prefixes.map(formatPrefix));
    expect(got[0]!.attributes.nextHop).toBe('192.0.2.2');
    expect(got.every((u) => !u.treatAsWithdraw)).toBe(true);
  });

  it('packs IPv6 into MP_REACH_NLRI with the real IPv6 next hop, 65535 octets with extended messages', () => {
    const prefixes = v6(10_000);
    const small = packAnnouncement(
      { afi: 2, attributes: attrs, nextHops: ['2001:db8::2'], prefixes },
      { maxLength: 4096, fourOctetAs: true },
    );
    const big = packAnnouncement(
      { afi: 2, attributes: attrs, nextHops: ['2001:db8::2'], prefixes },
      { maxLength: 65535, fourOctetAs: true },
    );
    expect(small.every((m) => m.length <= 4096)).toBe(true);
    expect(big.every((m) => m.length <= 65535)).toBe(true);
    expect(big.length).toBeLessThan(small.length / 10);
    const got = updates(big, 65535);
    expect(got[0]!.attributes.mpReach?.nextHops).toEqual(['2001:db8::2']);
    expect(got.flatMap((u) => u.attributes.mpReach!.nlri).map(formatPrefix)).toEqual(
      prefixes.map(formatPrefix),
    );
  });

  it('sends IPv4 routes with an IPv6 next hop in MP_REACH_NLRI (RFC 8950)', () => {
    const msgs = packAnnouncement(
      { afi: 1, attributes: attrs, nextHops: ['2001:db8::2'], prefixes: v4(3) },
      { maxLength: 4096, fourOctetAs: true },
    );
    const [u] = updates(msgs);
    expect(u!.nlri).toEqual([]);
    expect(u!.attributes.mpReach).toMatchObject({ afi: 1, nextHops: ['2001:db8::2'] });
    expect(u!.attributes.mpReach!.nlri).toHaveLength(3);
  });

  it('packs withdrawals in both families', () => {
    const w4 = updates(packWithdrawal(1, v4(2000), { maxLength: 4096, fourOctetAs: true }));
    expect(w4.flatMap((u) => u.withdrawn)).toHaveLength(2000);
    expect(w4.length).toBe(Math.ceil(2000 / Math.floor((4096 - 23) / 5)));
    const w6 = updates(packWithdrawal(2, v6(500), { maxLength: 4096, fourOctetAs: true }));
    expect(w6.flatMap((u) => u.attributes.mpUnreach!.withdrawn)).toHaveLength(500);
  });

  it('encodes End-of-RIB for both families (RFC 4724 §2)', () => {
    expect(updates([encodeEndOfRib(1)])[0]!.endOfRib).toEqual({ afi: 1, safi: 1 });
    expect(updates([encodeEndOfRib(2)])[0]!.endOfRib).toEqual({ afi: 2, safi: 1 });
    expect(
      updates(packWithdrawal(2, v6(1), { maxLength: 4096, fourOctetAs: true }))[0]!.endOfRib,
    ).toBeUndefined();
  });
});
