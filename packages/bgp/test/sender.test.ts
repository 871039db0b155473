import { describe, expect, it } from 'vitest';
import {
  type Announcement,
  encodeEndOfRib,
  packAnnouncement,
  packChanges,
  packWithdrawal,
} from '../src/sender.js';
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

  describe('withdrawals riding with announcements (RFC 4271 §4.3, RFC 4760 §3-4)', () => {
    const ctx = { maxLength: 4096, fourOctetAs: true };
    const announce = (prefixes: string[], nextHop = '192.0.2.2'): Announcement => ({
      afi: prefixes[0]!.includes(':') ? 2 : 1,
      attributes: attrs,
      nextHops: [nextHop],
      prefixes: prefixes.map(parsePrefix),
    });
    const names = (ps: { length: number } & Iterable<Parameters<typeof formatPrefix>[0]>) =>
      [...ps].map(formatPrefix);

    it('sends a churn tick (5 withdrawn, 5 announced IPv4 /32s) as one UPDATE with both fields', () => {
      const gone = v4(10).slice(0, 5);
      const added = [
        '198.51.100.1/32',
        '198.51.100.2/32',
        '198.51.100.3/32',
        '198.51.100.4/32',
        '198.51.100.5/32',
      ];
      const msgs = packChanges({ 1: gone, 2: [] }, [announce(added)], ctx);
      expect(msgs).toHaveLength(1);
      const [u] = updates(msgs);
      expect(names(u!.withdrawn)).toEqual(names(gone));
      expect(names(u!.nlri)).toEqual(added);
      expect(u!.attributes.nextHop).toBe('192.0.2.2');
      expect(u!.treatAsWithdraw).toBeUndefined();
      expect(u!.endOfRib).toBeUndefined();
    });

    it('puts MP_UNREACH_NLRI next to MP_REACH_NLRI for IPv6, both ahead of the other attributes', () => {
      const gone = v6(5);
      const added = ['2001:db8:2::1/128', '2001:db8:2::2/128'];
      const msgs = packChanges({ 1: [], 2: gone }, [announce(added, '2001:db8::2')], ctx);
      expect(msgs).toHaveLength(1);
      const [u] = updates(msgs);
      expect(names(u!.attributes.mpUnreach!.withdrawn)).toEqual(names(gone));
      expect(names(u!.attributes.mpReach!.nlri)).toEqual(added);
      expect(u!.attributes.mpReach!.nextHops).toEqual(['2001:db8::2']);
      expect(u!.attributes.communities).toEqual(attrs.communities);
      expect([u!.withdrawn, u!.nlri, u!.treatAsWithdraw, u!.endOfRib]).toEqual([
        [],
        [],
        undefined,
        undefined,
      ]);
      // RFC 7606 §5.1: attribute types in wire order start with MP_REACH_NLRI (14), MP_UNREACH_NLRI (15).
      const body = msgs[0]!.subarray(19);
      const types: number[] = [];
      const end = 4 + body.readUInt16BE(2);
      for (let at = 4; at < end;) {
        const ext = (body[at]! & 0x10) !== 0;
        types.push(body[at + 1]!);
        at += ext ? 4 + body.readUInt16BE(at + 2) : 3 + body[at + 2]!;
      }
      expect(types.slice(0, 2)).toEqual([14, 15]);
      expect(types.slice(2)).not.toContain(14);
      expect(types.slice(2)).not.toContain(15);
    });

    it('rides RFC 8950 IPv4 announcements (MP_REACH_NLRI) with the IPv4 Withdrawn Routes field', () => {
      const gone = v4(3);
      const msgs = packChanges({ 1: gone, 2: [] }, [announce(['198.51.100.1/32'], '2001:db8::2')], ctx);
      expect(msgs).toHaveLength(1);
      const [u] = updates(msgs);
      expect(names(u!.withdrawn)).toEqual(names(gone));
      expect(u!.attributes.mpReach).toMatchObject({ afi: 1, nextHops: ['2001:db8::2'] });
      expect(names(u!.attributes.mpReach!.nlri)).toEqual(['198.51.100.1/32']);
    });

    it('never mixes families: IPv4 withdrawals stay apart from IPv6 announcements', () => {
      const msgs = packChanges({ 1: v4(2), 2: [] }, [announce(['2001:db8:2::1/128'], '2001:db8::2')], ctx);
      const got = updates(msgs);
      expect(got).toHaveLength(2);
      expect([got[0]!.withdrawn.length, got[0]!.attributes.mpReach]).toEqual([2, undefined]);
      expect([got[1]!.withdrawn.length, got[1]!.attributes.mpReach?.nlri.length]).toEqual([0, 1]);
    });

    it('fills an UPDATE to exactly the size limit, and one withdrawal more goes out alone', () => {
      const one = packAnnouncement(announce(['198.51.100.1/32']), ctx);
      // Octets left for withdrawals next to the header, attributes and one announced /32.
      const room = 4096 - one[0]!.length;
      // /32s take 5 octets, /24s 4: m /24s (m < 5) make any total reachable exactly.
      const m = [0, 1, 2, 3, 4].find((k) => (room - 4 * k) % 5 === 0)!;
      const slash24 = Array.from({ length: m }, (_, i) => parsePrefix(`198.19.${i}.0/24`));
      const gone = [...v4((room - 4 * m) / 5), ...slash24];
      const full = packChanges({ 1: gone, 2: [] }, [announce(['198.51.100.1/32'])], ctx);
      expect(full.map((b) => b.length)).toEqual([4096]);
      const [u] = updates(full);
      expect(names(u!.withdrawn)).toEqual(names(gone));
      expect(names(u!.nlri)).toEqual(['198.51.100.1/32']);

      const more = [...gone, parsePrefix('203.0.113.1/32')];
      const split = packChanges({ 1: more, 2: [] }, [announce(['198.51.100.1/32'])], ctx);
      expect(split.every((b) => b.length <= 4096)).toBe(true);
      const got = updates(split);
      expect(got.length).toBe(packWithdrawal(1, more, ctx).length + 1);
      expect(got.slice(0, -1).every((g) => g.nlri.length === 0)).toBe(true);
      expect(got.at(-1)!.withdrawn).toEqual([]);
      expect(got.flatMap((g) => names(g.withdrawn))).toEqual(names(more));
    });

    it('keeps large syncs as before: withdrawals that do not fit go first, split by the limit', () => {
      for (const maxLength of [4096, 65535]) {
        const big = { maxLength, fourOctetAs: true };
        const gone = v4(maxLength === 4096 ? 3000 : 20_000);
        const a = announce(['198.51.100.1/32', '198.51.100.2/32']);
        const msgs = packChanges({ 1: gone, 2: [] }, [a], big);
        const before = [...packWithdrawal(1, gone, big), ...packAnnouncement(a, big)];
        expect(Buffer.concat(msgs)).toEqual(Buffer.concat(before));
        expect(msgs.every((b) => b.length <= maxLength)).toBe(true);
      }
    });

    it('lets withdrawals share the first of many announcing UPDATEs, within 65535 octets', () => {
      const big = { maxLength: 65535, fourOctetAs: true };
      const gone = v6(5);
      const v6added = Array.from({ length: 20_000 }, (_, i) => `2001:db8:3::${(i + 1).toString(16)}/128`);
      const msgs = packChanges({ 1: [], 2: gone }, [announce(v6added, '2001:db8::2')], big);
      expect(msgs.every((b) => b.length <= 65535)).toBe(true);
      const got = updates(msgs, 65535);
      expect(names(got[0]!.attributes.mpUnreach!.withdrawn)).toEqual(names(gone));
      expect(got.slice(1).every((g) => g.attributes.mpUnreach === undefined)).toBe(true);
      expect(got.flatMap((g) => names(g.attributes.mpReach!.nlri))).toEqual(v6added);
      expect(msgs.length).toBeLessThanOrEqual(
        packAnnouncement(announce(v6added, '2001:db8::2'), big).length + 1,
      );
    });
  });
});
