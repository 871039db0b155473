import { describe, expect, it } from 'vitest';
import {
  claimParts,
  claimsDigest,
  decodeHeartbeat,
  encodeHeartbeat,
  MAX_ENTRIES_PER_PART,
} from '../src/membership/heartbeat.js';

describe('heartbeat codec', () => {
  it.each([
    ['no claims', { name: 'node-1', seq: 7, digest: 0xdeadbeef }],
    [
      'IPv4 and IPv6 claims',
      {
        name: 'worker-ä',
        seq: 0xffffffff,
        digest: 1,
        claims: { index: 0, count: 1, ips: ['198.51.100.1', '2001:db8::1', '2001:db8:0:1::', '::'] },
      },
    ],
    ['an empty claim list', { name: 'n', seq: 1, digest: 2, claims: { index: 0, count: 1, ips: [] } }],
    ['a leave notice', { name: 'n', seq: 3, digest: 4, leaving: true }],
  ])('round-trips %s', (_name, hb) => {
    expect(decodeHeartbeat(encodeHeartbeat(hb))).toEqual(hb);
  });

  it('authenticates with a shared secret and rejects a wrong one or a tampered datagram', () => {
    const secret = Buffer.from('s3cret');
    const hb = { name: 'n1', seq: 1, digest: 5, claims: { index: 0, count: 1, ips: ['198.51.100.3'] } };
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
    ['wrong magic', Buffer.from('XX0100000000000000000000', 'hex')],
    ['truncated name', encodeHeartbeat({ name: 'node-1', seq: 1, digest: 1 }).subarray(0, 15)],
    ['trailing bytes', Buffer.concat([encodeHeartbeat({ name: 'n', seq: 1, digest: 1 }), Buffer.from([0])])],
    [
      'bad address length',
      (() => {
        const b = encodeHeartbeat({
          name: 'n',
          seq: 1,
          digest: 1,
          claims: { index: 0, count: 1, ips: ['198.51.100.1'] },
        });
        b[b.length - 5] = 5;
        return b;
      })(),
    ],
  ])('rejects %s', (_name, data) => {
    expect(decodeHeartbeat(data)).toBeUndefined();
  });

  it('splits large claim sets into datagrams under the UDP limit', () => {
    const ips = Array.from({ length: 5000 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    const parts = claimParts(ips);
    expect(parts.map((p) => p.ips.length)).toEqual([MAX_ENTRIES_PER_PART, MAX_ENTRIES_PER_PART, 1000]);
    for (const p of parts) {
      const data = encodeHeartbeat({ name: 'n', seq: 1, digest: 1, claims: p });
      expect(data.length).toBeLessThan(65_507);
      expect(decodeHeartbeat(data)?.claims).toEqual(p);
    }
    expect(parts.flatMap((p) => p.ips)).toEqual(ips);
  });

  it('digests sets, not lists', () => {
    expect(claimsDigest(['198.51.100.1', '198.51.100.2'])).toBe(
      claimsDigest(['198.51.100.2', '198.51.100.1']),
    );
    expect(claimsDigest(['198.51.100.1'])).not.toBe(claimsDigest(['198.51.100.2']));
  });
});
