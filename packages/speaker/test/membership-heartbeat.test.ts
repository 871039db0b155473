import { describe, expect, it } from 'vitest';
import {
  claimParts,
  claimsDigest,
  decodeHeartbeat,
  EMPTY_DIGEST,
  encodeHeartbeat,
  type Heartbeat,
  MAX_ENTRIES_PER_PART,
  MAX_REFUSED,
  pendingDigestOf,
} from '../src/membership/heartbeat.js';

const base = { incarnation: 1_790_000_000_123.25, digest: 0xdeadbeef, pendingDigest: EMPTY_DIGEST };

describe('heartbeat codec (version 2)', () => {
  it.each<[string, Heartbeat]>([
    ['no claims', { ...base, name: 'node-1', seq: 7 }],
    [
      'IPv4 and IPv6 claims, some pending',
      {
        ...base,
        name: 'worker-ä',
        seq: 0xffffffff,
        claims: {
          index: 0,
          count: 1,
          ips: ['198.51.100.1', '2001:db8::1', '2001:db8:0:1::', '::'],
          pending: ['2001:db8::1'],
        },
      },
    ],
    [
      'claims pending and lapsed',
      {
        ...base,
        name: 'n',
        seq: 2,
        claims: {
          index: 0,
          count: 1,
          ips: ['198.51.100.1', '198.51.100.2', '2001:db8::1'],
          pending: ['198.51.100.2', '2001:db8::1'],
          lapsed: ['2001:db8::1'],
        },
      },
    ],
    ['an empty claim list', { ...base, name: 'n', seq: 1, claims: { index: 0, count: 1, ips: [] } }],
    ['a leave notice', { ...base, name: 'n', seq: 3, leaving: true }],
    [
      'an echo only',
      {
        ...base,
        name: 'n',
        seq: 4,
        ack: { incarnation: 5.5, seq: 9, lease: false, grants: false, refused: [] },
      },
    ],
    [
      'a lease without grants',
      {
        ...base,
        name: 'n',
        seq: 4,
        ack: { incarnation: 5.5, seq: 9, lease: true, grants: false, refused: [] },
      },
    ],
    [
      'grants with refusals, and claims',
      {
        ...base,
        name: 'n',
        seq: 4,
        ack: {
          incarnation: 5.5,
          seq: 9,
          lease: true,
          grants: true,
          refused: ['198.51.100.7', '2001:db8::9'],
        },
        claims: { index: 1, count: 2, ips: ['198.51.100.8'] },
      },
    ],
  ])('round-trips %s', (_name, hb) => {
    expect(decodeHeartbeat(encodeHeartbeat(hb))).toEqual(hb);
  });

  it('never grants without vouching (the grant bit alone means nothing)', () => {
    const hb: Heartbeat = {
      ...base,
      name: 'n',
      seq: 1,
      ack: { incarnation: 1, seq: 1, lease: false, grants: true, refused: ['198.51.100.1'] },
    };
    expect(decodeHeartbeat(encodeHeartbeat(hb))?.ack).toEqual({
      incarnation: 1,
      seq: 1,
      lease: false,
      grants: false,
      refused: [],
    });
  });

  it('refuses to encode more refusals than fit (the voter sends "no grants" instead)', () => {
    const refused = Array.from({ length: MAX_REFUSED + 1 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    expect(() =>
      encodeHeartbeat({
        ...base,
        name: 'n',
        seq: 1,
        ack: { incarnation: 1, seq: 1, lease: true, grants: true, refused },
      }),
    ).toThrow(RangeError);
  });

  it('authenticates with a shared secret and rejects a wrong one or a tampered datagram', () => {
    const secret = Buffer.from('s3cret');
    const hb: Heartbeat = {
      ...base,
      name: 'n1',
      seq: 1,
      claims: { index: 0, count: 1, ips: ['198.51.100.3'] },
    };
    const data = encodeHeartbeat(hb, secret);
    expect(decodeHeartbeat(data, secret)).toEqual(hb);
    expect(decodeHeartbeat(data, Buffer.from('other'))).toBeUndefined();
    expect(decodeHeartbeat(encodeHeartbeat(hb), secret)).toBeUndefined();
    const tampered = Buffer.from(data);
    tampered[tampered.length - 20]! ^= 1;
    expect(decodeHeartbeat(tampered, secret)).toBeUndefined();
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['wrong magic', Buffer.from('XX0200000000000000000000000000000000', 'hex')],
    ['unknown version', Buffer.from('505303000000000000000000000000000000', 'hex')],
    ['truncated name', encodeHeartbeat({ ...base, name: 'node-1', seq: 1 }).subarray(0, 27)],
    ['trailing bytes', Buffer.concat([encodeHeartbeat({ ...base, name: 'n', seq: 1 }), Buffer.from([0])])],
    [
      'bad address length',
      (() => {
        const b = encodeHeartbeat({
          ...base,
          name: 'n',
          seq: 1,
          claims: { index: 0, count: 1, ips: ['198.51.100.1'] },
        });
        b[b.length - 5] = 5;
        return b;
      })(),
    ],
    [
      'a pending refusal (the flag has no meaning there)',
      (() => {
        const b = encodeHeartbeat({
          ...base,
          name: 'n',
          seq: 1,
          ack: { incarnation: 1, seq: 1, lease: true, grants: true, refused: ['198.51.100.1'] },
        });
        b[b.length - 5]! |= 0x80;
        return b;
      })(),
    ],
    [
      'a lapsed claim that is not pending (lapsed is a kind of pending)',
      (() => {
        const b = encodeHeartbeat({
          ...base,
          name: 'n',
          seq: 1,
          claims: { index: 0, count: 1, ips: ['198.51.100.1'] },
        });
        b[b.length - 5]! |= 0x40;
        return b;
      })(),
    ],
    [
      'a lapsed refusal',
      (() => {
        const b = encodeHeartbeat({
          ...base,
          name: 'n',
          seq: 1,
          ack: { incarnation: 1, seq: 1, lease: true, grants: true, refused: ['198.51.100.1'] },
        });
        b[b.length - 5]! |= 0x40;
        return b;
      })(),
    ],
  ])('rejects %s', (_name, data) => {
    expect(decodeHeartbeat(data)).toBeUndefined();
  });

  it('splits large claim sets into datagrams under the UDP limit, keeping the pending flags', () => {
    const ips = Array.from({ length: 5000 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    const parts = claimParts(ips, new Set([ips[0]!, ips[4999]!]));
    expect(parts.map((p) => p.ips.length)).toEqual([MAX_ENTRIES_PER_PART, MAX_ENTRIES_PER_PART, 1000]);
    for (const p of parts) {
      const data = encodeHeartbeat({
        ...base,
        name: 'n',
        seq: 1,
        claims: p,
        ack: { incarnation: 1, seq: 1, lease: true, grants: true, refused: ips.slice(0, MAX_REFUSED) },
      });
      expect(data.length).toBeLessThan(65_507);
      expect(decodeHeartbeat(data)?.claims).toEqual(p);
    }
    expect(parts.flatMap((p) => p.ips)).toEqual(ips);
    expect(parts.flatMap((p) => p.pending ?? [])).toEqual([ips[0], ips[4999]]);
  });

  it('leaves a claims part undecoded when the receiver holds that list already', () => {
    const ips = Array.from({ length: 3000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    const [first, second] = claimParts(ips);
    const ack = { incarnation: 1, seq: 4, lease: true, grants: true, refused: ['10.9.9.9'] };
    const data = encodeHeartbeat({ ...base, name: 'n', seq: 9, claims: second!, ack });
    const seen: Heartbeat[] = [];
    const skipped = decodeHeartbeat(data, undefined, (head) => {
      seen.push({ ...head });
      return true;
    });
    expect(skipped).toEqual({ ...base, name: 'n', seq: 9, ack, skippedClaims: { index: 1, count: 2 } });
    expect(seen).toEqual([{ ...base, name: 'n', seq: 9, ack }]); // asked once, before the claims
    const decoded = decodeHeartbeat(data, undefined, () => false);
    expect(decoded?.claims).toEqual(second);
    expect(decoded?.skippedClaims).toBeUndefined();
    expect(first!.ips).toHaveLength(MAX_ENTRIES_PER_PART);
    // Even undecoded, a truncated part is malformed.
    expect(
      decodeHeartbeat(data.subarray(0, data.length - (second!.ips.length * 5 + 4)), undefined, () => true),
    ).toBeUndefined();
  });

  it('the pending digest changes when a pending claim lapses', () => {
    const pending = ['198.51.100.1', '198.51.100.2'];
    expect(pendingDigestOf(pending, new Set())).toBe(claimsDigest(pending));
    expect(pendingDigestOf(pending, new Set(['198.51.100.2']))).not.toBe(claimsDigest(pending));
    expect(pendingDigestOf([], new Set())).toBe(EMPTY_DIGEST);
  });

  it('digests sets, not lists', () => {
    expect(claimsDigest(['198.51.100.1', '198.51.100.2'])).toBe(
      claimsDigest(['198.51.100.2', '198.51.100.1']),
    );
    expect(claimsDigest(['198.51.100.1'])).not.toBe(claimsDigest(['198.51.100.2']));
    expect(EMPTY_DIGEST).toBe(claimsDigest([]));
  });
});

describe('version 1 heartbeats (speakers before the grant protocol)', () => {
  /** Version 1 as the previous release wrote it. */
  function v1(name: string, seq: number, digest: number, flags: number, part?: Buffer): Buffer {
    const n = Buffer.from(name);
    const head = Buffer.alloc(13 + n.length);
    head.writeUInt16BE(0x5053, 0);
    head.writeUInt8(1, 2);
    head.writeUInt8(flags, 3);
    head.writeUInt32BE(seq, 4);
    head.writeUInt32BE(digest, 8);
    head.writeUInt8(n.length, 12);
    n.copy(head, 13);
    return Buffer.concat([head, ...(part ? [part] : [])]);
  }

  it('decodes as a legacy heartbeat: liveness and claims, no incarnation, no ack', () => {
    const part = Buffer.from('000000010001' + '04c6336401', 'hex'); // index 0, count 1, 1 entry: 198.51.100.1
    expect(decodeHeartbeat(v1('old', 12, 34, 1, part))).toEqual({
      name: 'old',
      incarnation: 0,
      seq: 12,
      digest: 34,
      pendingDigest: EMPTY_DIGEST,
      legacy: true,
      claims: { index: 0, count: 1, ips: ['198.51.100.1'] },
    });
    expect(decodeHeartbeat(v1('old', 13, 0, 2))).toMatchObject({ leaving: true, legacy: true });
  });
});
