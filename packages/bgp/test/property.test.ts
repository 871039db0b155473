import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAttributes, encodeAttributes } from '../src/attributes.js';
import { decodeOpenBody, encodeOpenBody } from '../src/open.js';
import { formatPrefix, parsePrefix } from '../src/prefix.js';
import { packAnnouncement, packWithdrawal } from '../src/sender.js';
import { attributes, capabilities, ipv4, ipv6, prefix4, prefix6 } from './arbitraries.js';
import { receive } from './helpers.js';

const ctx = { fourOctetAs: true, external: false };

describe('round-trip properties', () => {
  it('prefix text form round-trips', () => {
    fc.assert(
      fc.property(fc.oneof(prefix4, prefix6), (p) => {
        expect(parsePrefix(formatPrefix(p))).toEqual(p);
      }),
    );
  });

  it('path attributes round-trip', () => {
    fc.assert(
      fc.property(attributes, ipv4, (attrs, nh) => {
        const withNh = { ...attrs, nextHop: nh };
        const bytes = encodeAttributes(withNh, true);
        const out = decodeAttributes(bytes, 0, bytes.length, true, ctx);
        const expected = { ...withNh, asPath: withNh.asPath?.filter((s) => s.asns.length > 0) };
        expect(out.treatAsWithdraw).toBeUndefined();
        expect(out.attributes).toEqual(expected);
      }),
    );
  });

  it('OPEN round-trips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0xffffffff }),
        ipv4.filter((i) => i !== '0.0.0.0'),
        capabilities,
        (asn, id, caps) => {
          const open = decodeOpenBody(encodeOpenBody(asn, 90, id, caps));
          expect(open.capabilities).toEqual(caps);
          expect(open.bgpId).toBe(id);
          expect(open.myAs).toBe(asn > 0xffff ? 23456 : asn);
        },
      ),
    );
  });

  it('announcements and withdrawals in both families decode to the same prefixes', () => {
    fc.assert(
      fc.property(
        attributes,
        fc.oneof(
          fc.tuple(fc.constant(1 as const), ipv4, fc.array(prefix4, { minLength: 1, maxLength: 3000 })),
          fc.tuple(fc.constant(2 as const), ipv6, fc.array(prefix6, { minLength: 1, maxLength: 1000 })),
        ),
        fc.constantFrom(4096, 65535),
        (attrs, [afi, nh, prefixes], maxLength) => {
          const send = { maxLength, fourOctetAs: true };
          const wire = [
            ...packAnnouncement({ afi, attributes: attrs, nextHops: [nh], prefixes }, send),
            ...packWithdrawal(afi, prefixes, send),
          ];
          const got = receive(wire, ctx, maxLength);
          const announced = got.flatMap((m) =>
            m.type === 'update' ? [...m.update.nlri, ...(m.update.attributes.mpReach?.nlri ?? [])] : [],
          );
          const withdrawn = got.flatMap((m) =>
            m.type === 'update'
              ? [...m.update.withdrawn, ...(m.update.attributes.mpUnreach?.withdrawn ?? [])]
              : [],
          );
          expect(got.every((m) => m.type === 'update' && !m.update.treatAsWithdraw)).toBe(true);
          expect(announced.map(formatPrefix)).toEqual(prefixes.map(formatPrefix));
          expect(withdrawn.map(formatPrefix)).toEqual(prefixes.map(formatPrefix));
        },
      ),
      { numRuns: 50 },
    );
  });
});
