/** fast-check generators of valid BGP messages, shared by the round-trip and fuzz tests. */
import fc from 'fast-check';
import type { PathAttributes } from '../src/attributes.js';
import type { Capabilities } from '../src/capabilities.js';
import { encodeKeepalive, encodeMessage, encodeNotification, encodeRouteRefresh } from '../src/message.js';
import { encodeOpenBody } from '../src/open.js';
import { formatAddressBytes } from '@portico/net';
import type { Prefix } from '../src/prefix.js';
import { packAnnouncement, packWithdrawal } from '../src/sender.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const asn = fc.integer({ min: 1, max: 0xffffffff });

export const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatAddressBytes(b));
export const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatAddressBytes(b));

function masked(afi: 1 | 2) {
  const size = afi === 1 ? 4 : 16;
  return fc
    .tuple(fc.uint8Array({ minLength: size, maxLength: size }), fc.integer({ min: 0, max: size * 8 }))
    .map(([bytes, len]) => {
      // Clear the host bits: keep whole octets inside the prefix, mask the one it ends in.
      const address = bytes.map((b, i) =>
        i * 8 >= len ? 0 : i * 8 + 8 <= len ? b : b & (0xff << (8 - (len - i * 8))),
      );
      return { afi, length: len, address } as Prefix;
    });
}
export const prefix4 = masked(1);
export const prefix6 = masked(2);

export const attributes: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
    asPath: fc.array(
      fc.record({
        type: fc.constantFrom(1 as const, 2 as const),
        asns: fc.array(asn, { minLength: 1, maxLength: 8 }),
      }),
      { maxLength: 3 },
    ),
    med: u32,
    localPref: u32,
    communities: fc.array(u32, { minLength: 1, maxLength: 6 }),
    largeCommunities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 4 }),
    extendedCommunities: fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), {
      minLength: 1,
      maxLength: 4,
    }),
  },
  { requiredKeys: ['origin', 'asPath'] },
);

export const capabilities: fc.Arbitrary<Capabilities> = fc.record({
  multiprotocol: fc.array(fc.record({ afi: fc.constantFrom(1 as const, 2 as const), safi: fc.constant(1) }), {
    maxLength: 2,
  }),
  routeRefresh: fc.boolean(),
  fourOctetAs: asn,
  extendedMessage: fc.boolean(),
  extendedNextHop: fc.array(
    fc.record({ afi: fc.constant(1 as const), safi: fc.constant(1), nextHopAfi: fc.constant(2 as const) }),
    { maxLength: 1 },
  ),
  gracefulRestart: fc.record({
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(
      fc.record({
        afi: fc.constantFrom(1 as const, 2 as const),
        safi: fc.constant(1),
        forwarding: fc.boolean(),
      }),
      { maxLength: 2 },
    ),
  }),
  unknown: fc.constant([]),
});

/** Any valid message, as wire bytes. */
export const message: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(encodeKeepalive()),
  fc
    .tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 12 }), fc.uint8Array({ maxLength: 20 }))
    .map(([c, s, d]) => encodeNotification(c, s, d)),
  fc.constantFrom(1 as const, 2 as const).map((afi) => encodeRouteRefresh(afi, 1)),
  fc
    .tuple(
      asn,
      fc.constantFrom(0, 3, 90, 180),
      ipv4.filter((i) => i !== '0.0.0.0'),
      capabilities,
    )
    .map(([a, h, id, c]) => encodeMessage(1, encodeOpenBody(a, h, id, c))),
  fc
    .tuple(attributes, ipv4, fc.array(prefix4, { minLength: 1, maxLength: 20 }))
    .map(
      ([attrs, nh, ps]) =>
        packAnnouncement(
          { afi: 1, attributes: attrs, nextHops: [nh], prefixes: ps },
          { maxLength: 4096, fourOctetAs: true },
        )[0]!,
    ),
  fc
    .tuple(attributes, ipv6, fc.array(prefix6, { minLength: 1, maxLength: 20 }))
    .map(
      ([attrs, nh, ps]) =>
        packAnnouncement(
          { afi: 2, attributes: attrs, nextHops: [nh], prefixes: ps },
          { maxLength: 4096, fourOctetAs: true },
        )[0]!,
    ),
  fc
    .array(prefix4, { minLength: 1, maxLength: 20 })
    .map((ps) => packWithdrawal(1, ps, { maxLength: 4096, fourOctetAs: true })[0]!),
  fc
    .array(prefix6, { minLength: 1, maxLength: 20 })
    .map((ps) => packWithdrawal(2, ps, { maxLength: 4096, fourOctetAs: true })[0]!),
);
