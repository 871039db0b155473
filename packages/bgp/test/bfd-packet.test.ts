import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  BfdDiagnostic,
  BfdState,
  decodeControlPacket,
  encodeControlPacket,
  type ControlPacket,
} from '../src/bfd/index.js';
import { controlPacket } from '../src/testing.js';

function packet(overrides: Partial<ControlPacket> = {}): ControlPacket {
  return controlPacket({
    state: BfdState.Up,
    myDiscriminator: 0x11223344,
    yourDiscriminator: 0x55667788,
    desiredMinTxInterval: 300_000,
    requiredMinRxInterval: 250_000,
    ...overrides,
  });
}

// RFC 5880 section 4.1 layout, written out by hand: version 1, diag 3, state Up, P set, mult 3.
const handWritten = Buffer.from([
  0x23, 0xe0, 0x03, 0x18, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x03,
  0xd0, 0x90, 0x00, 0x00, 0x00, 0x00,
]);

describe('BFD control packet codec', () => {
  test('encodes the RFC 5880 section 4.1 layout bit for bit', () => {
    const bytes = encodeControlPacket(
      packet({
        diagnostic: BfdDiagnostic.NeighborSignaledSessionDown,
        poll: true,
        requiredMinRxInterval: 250_000,
      }),
    );
    expect(bytes).toEqual(handWritten);
  });

  test('decodes the hand-written packet', () => {
    const result = decodeControlPacket(handWritten);
    expect(result).toEqual({
      ok: true,
      packet: packet({ diagnostic: BfdDiagnostic.NeighborSignaledSessionDown, poll: true }),
    });
  });

  test('decodes every flag bit on its own', () => {
    const flags: [number, keyof ControlPacket][] = [
      [0x20, 'poll'],
      [0x10, 'final'],
      [0x08, 'controlPlaneIndependent'],
      [0x02, 'demand'],
    ];
    for (const [bit, name] of flags) {
      const bytes = Buffer.from(handWritten);
      bytes[1] = 0xc0 | bit;
      const result = decodeControlPacket(bytes);
      if (!result.ok) throw new Error(result.reason);
      for (const [, other] of flags) expect(result.packet[other]).toBe(other === name);
    }
  });

  test('keeps the authentication section opaque when the A bit is set', () => {
    const withAuth = packet({ authentication: { type: 1, data: Uint8Array.from([7, 0x61, 0x62, 0x63]) } });
    const bytes = encodeControlPacket(withAuth);
    expect(bytes.length).toBe(30);
    expect(bytes[1]! & 0x04).toBe(0x04);
    expect(bytes[3]).toBe(30);
    expect(bytes[25]).toBe(6); // Auth Len covers type and length too (section 4.2)
    const result = decodeControlPacket(bytes);
    if (!result.ok) throw new Error(result.reason);
    expect(result.packet.authentication?.type).toBe(1);
    expect(Buffer.from(result.packet.authentication!.data)).toEqual(Buffer.from([7, 0x61, 0x62, 0x63]));
  });

  test('accepts trailing bytes beyond the Length field and ignores them', () => {
    const result = decodeControlPacket(Buffer.concat([handWritten, Buffer.from([1, 2, 3])]));
    expect(result.ok).toBe(true);
  });

  // RFC 5880 section 6.8.6 discard rules that need no session state.
  const invalid: [string, (b: Buffer) => void, RegExp][] = [
    ['version 0', (b) => (b[0] = (0 << 5) | (b[0]! & 0x1f)), /version 0/],
    ['version 2', (b) => (b[0] = (2 << 5) | (b[0]! & 0x1f)), /version 2/],
    ['Length below 24', (b) => (b[3] = 23), /too small/],
    ['Length beyond the datagram', (b) => (b[3] = 25), /exceeds/],
    ['A bit with Length 24', (b) => (b[1] = b[1]! | 0x04), /too small/],
    ['Detect Mult zero', (b) => (b[2] = 0), /detect multiplier/],
    ['Multipoint set', (b) => (b[1] = b[1]! | 0x01), /multipoint/],
    ['My Discriminator zero', (b) => b.writeUInt32BE(0, 4), /my discriminator/],
    ['Your Discriminator zero in Up', (b) => b.writeUInt32BE(0, 8), /your discriminator/],
    ['Your Discriminator zero in Init', (b) => (b.writeUInt32BE(0, 8), (b[1] = 0x80)), /your discriminator/],
  ];
  test.each(invalid)('discards %s', (_name, mutate, reason) => {
    const bytes = Buffer.from(handWritten);
    mutate(bytes);
    const result = decodeControlPacket(bytes);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  test('accepts Your Discriminator zero in Down and AdminDown', () => {
    for (const state of [BfdState.Down, BfdState.AdminDown]) {
      const result = decodeControlPacket(encodeControlPacket(packet({ state, yourDiscriminator: 0 })));
      expect(result.ok).toBe(true);
    }
  });

  test('discards an auth section whose Auth Len disagrees with Length', () => {
    const bytes = encodeControlPacket(packet({ authentication: { type: 2, data: new Uint8Array(22) } }));
    bytes[25] = 40; // claims more than the packet holds
    expect(decodeControlPacket(bytes)).toMatchObject({ ok: false });
    bytes[25] = 1; // shorter than its own header
    expect(decodeControlPacket(bytes)).toMatchObject({ ok: false });
  });

  test('discards anything shorter than 24 bytes', () => {
    for (let n = 0; n < 24; n++) expect(decodeControlPacket(handWritten.subarray(0, n)).ok).toBe(false);
  });
});

const u32 = fc.integer({ min: 1, max: 0xffffffff });
const arbitraryPacket: fc.Arbitrary<ControlPacket> = fc
  .record({
    diagnostic: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
    poll: fc.boolean(),
    final: fc.boolean(),
    controlPlaneIndependent: fc.boolean(),
    demand: fc.boolean(),
    detectMultiplier: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: u32,
    yourDiscriminator: fc.nat({ max: 0xffffffff }),
    desiredMinTxInterval: fc.nat({ max: 0xffffffff }),
    requiredMinRxInterval: fc.nat({ max: 0xffffffff }),
    requiredMinEchoRxInterval: fc.nat({ max: 0xffffffff }),
    authentication: fc.option(
      fc.record({ type: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 28 }) }),
      { nil: undefined },
    ),
  })
  .map((p) => ({ ...p, multipoint: false }))
  // Your Discriminator may be zero only in Down and AdminDown (section 6.8.6).
  .filter((p) => p.yourDiscriminator !== 0 || p.state === BfdState.Down || p.state === BfdState.AdminDown);

describe('BFD codec properties', () => {
  test('decode(encode(p)) == p for every valid packet', () => {
    fc.assert(
      fc.property(arbitraryPacket, (p) => {
        const result = decodeControlPacket(encodeControlPacket(p));
        expect(result).toEqual({ ok: true, packet: p });
      }),
      { numRuns: 2000 },
    );
  });

  test('50,000 mutated packets: the decoder never throws, and what it accepts re-encodes the same', () => {
    const mutated = fc
      .tuple(
        arbitraryPacket,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat({ max: 64 }),
      )
      .map(([p, edits, cut]) => {
        const bytes = Buffer.from(encodeControlPacket(p));
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        return bytes.subarray(0, Math.max(0, bytes.length - (cut % 8 === 0 ? cut % 30 : 0)));
      });
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 80 })), (bytes) => {
        const result = decodeControlPacket(bytes);
        if (result.ok) {
          accepted++;
          // The accepted packet obeys the section 6.8.6 rules ...
          expect(result.packet.detectMultiplier).not.toBe(0);
          expect(result.packet.myDiscriminator).not.toBe(0);
          expect(result.packet.multipoint).toBe(false);
          // ... and encodes back to the bytes it came from, except that trailing bytes beyond the
          // mandatory and auth sections are not reproduced (so the Length may shrink).
          const length = bytes[3]!;
          const again = encodeControlPacket(result.packet);
          const original = Buffer.from(bytes);
          expect(again.length).toBeLessThanOrEqual(length);
          expect(again.subarray(0, 3)).toEqual(original.subarray(0, 3));
          expect(again.subarray(4)).toEqual(original.subarray(4, again.length));
        }
      }),
      { numRuns: 50_000 },
    );
    // The mutations must leave a fair share of packets valid, or the test proves little.
    expect(accepted).toBeGreaterThan(1000);
  });
});
