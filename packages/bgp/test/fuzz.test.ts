import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Receiver } from '../src/receiver.js';
import { message } from './arbitraries.js';

/** The (code, subcode) pairs a decoding error may legitimately produce (RFC 4271 §6, RFC 7313 §5). */
const ALLOWED: Record<number, number[]> = {
  1: [1, 2, 3],
  2: [0, 1, 2, 3, 4, 6, 7],
  3: [1, 2, 3, 4, 5, 6, 8, 9, 10, 11],
  7: [1],
};

const MUTATIONS_PER_MESSAGE = 50;
const BASE_MESSAGES = 2_000; // 2,000 x 50 = 100,000 mutated messages

/** mulberry32: a tiny seeded generator, so each mutation is reproducible from fast-check's seed. */
class Rng {
  constructor(private state: number) {}
  nextInt(min: number, max: number): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return min + Math.floor(x * (max - min + 1));
  }
}

/** Mutations aimed at the places decoders get wrong: lengths, counts, flags and truncation. */
function mutate(wire: Uint8Array, rng: Rng): Uint8Array {
  const out = Uint8Array.from(wire);
  const kind = rng.nextInt(0, 5);
  const at = rng.nextInt(16, out.length - 1);
  switch (kind) {
    case 0: // flip one bit
      out[at] = (out[at] as number) ^ (1 << rng.nextInt(0, 7));
      return out;
    case 1: // random byte
      out[at] = rng.nextInt(0, 255);
      return out;
    case 2: {
      // truncate and fix the header length so the body is short
      const cut = out.subarray(0, Math.max(19, at));
      new DataView(cut.buffer, cut.byteOffset).setUint16(16, cut.length);
      return cut.slice();
    }
    case 3: // several random bytes in the body
      for (let i = 0; i < 4; i++) out[rng.nextInt(19, Math.max(19, out.length - 1))] = rng.nextInt(0, 255);
      return out;
    case 4: // off-by-a-few in a 16-bit field
      if (at + 1 < out.length) {
        const v = ((out[at] as number) << 8) | (out[at + 1] as number);
        const w = (v + rng.nextInt(-3, 3)) & 0xffff;
        out[at] = w >> 8;
        out[at + 1] = w & 0xff;
      }
      return out;
    default: {
      // extend with garbage and fix the header length
      const extra = rng.nextInt(1, 32);
      const longer = new Uint8Array(out.length + extra);
      longer.set(out);
      for (let i = out.length; i < longer.length; i++) longer[i] = rng.nextInt(0, 255);
      new DataView(longer.buffer).setUint16(16, Math.min(0xffff, longer.length));
      return longer;
    }
  }
}

describe('decoder fuzz', () => {
  it(`survives ${BASE_MESSAGES * MUTATIONS_PER_MESSAGE} mutated messages and answers each error with a valid NOTIFICATION`, () => {
    let errors = 0;
    let decoded = 0;
    fc.assert(
      fc.property(message, fc.infiniteStream(fc.integer()), (wire, seeds) => {
        const it = seeds[Symbol.iterator]();
        for (let i = 0; i < MUTATIONS_PER_MESSAGE; i++) {
          const seed = it.next().value as number;
          const mutated = mutate(wire, new Rng(seed));
          const r = new Receiver();
          r.maxLength = 65535;
          r.context = { fourOctetAs: (seed & 1) === 0, external: (seed & 2) === 0 };
          // A receiver must never throw (the session would die), whatever the input.
          const results = r.push(mutated);
          for (const res of results) {
            if (res.type !== 'error') {
              decoded++;
              continue;
            }
            errors++;
            const allowed = ALLOWED[res.error.code];
            if (!allowed || !allowed.includes(res.error.subcode)) {
              throw new Error(
                `unexpected NOTIFICATION ${res.error.code}/${res.error.subcode}: ${res.error.message}`,
              );
            }
          }
        }
      }),
      { numRuns: BASE_MESSAGES },
    );
    // Both paths were exercised: the fuzzer is not just producing garbage or just valid messages.
    expect(errors).toBeGreaterThan(1000);
    expect(decoded).toBeGreaterThan(1000);
  }, 60_000);
});
