import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsedRanges } from '../src/index.js';

const runs = (r: UsedRanges): Array<[number, number]> =>
  r.runs().map((x) => [Number(x.first), Number(x.last)]);

describe('UsedRanges', () => {
  it('merges neighbours into one run and splits on delete', () => {
    const r = new UsedRanges();
    for (const x of [5n, 7n, 6n, 1n]) r.add(x);
    expect(runs(r)).toEqual([
      [1, 1],
      [5, 7],
    ]);
    r.delete(6n);
    expect(runs(r)).toEqual([
      [1, 1],
      [5, 5],
      [7, 7],
    ]);
    r.delete(1n);
    r.delete(1n);
    expect(r.runCount).toBe(2);
  });

  it.each([
    { used: [], from: 0n, free: 0n },
    { used: [0n, 1n, 2n], from: 0n, free: 3n },
    { used: [0n, 1n, 3n], from: 0n, free: 2n },
    { used: [0n, 1n, 3n], from: 2n, free: 2n },
    { used: [0n, 1n, 2n, 3n], from: 2n, free: 4n },
  ])('firstFree from $from with $used is $free', ({ used, from, free }) => {
    const r = new UsedRanges();
    for (const x of used) r.add(x);
    expect(r.firstFree(from)).toBe(free);
  });

  it('works on IPv6-sized numbers without enumerating', () => {
    const base = 0x20010db8000000000000000000000000n;
    const r = new UsedRanges();
    for (let i = 0n; i < 1000n; i++) r.add(base + i);
    expect(r.runCount).toBe(1);
    expect(r.firstFree(base)).toBe(base + 1000n);
  });

  it('matches a plain Set for random add/delete sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 200 }),
        (ops) => {
          const r = new UsedRanges();
          const model = new Set<number>();
          for (const [add, x] of ops) {
            if (add) {
              r.add(BigInt(x));
              model.add(x);
            } else {
              r.delete(BigInt(x));
              model.delete(x);
            }
          }
          for (let x = 0; x <= 41; x++) {
            expect(r.has(BigInt(x))).toBe(model.has(x));
            let free = x;
            while (model.has(free)) free++;
            expect(r.firstFree(BigInt(x))).toBe(BigInt(free));
          }
          // Runs are maximal: no two touch.
          const list = r.runs();
          for (let i = 1; i < list.length; i++) expect(list[i]!.first > list[i - 1]!.last + 1n).toBe(true);
        },
      ),
    );
  });
});
