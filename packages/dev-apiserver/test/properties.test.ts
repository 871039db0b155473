// Property-based tests (fast-check) of the development API server's building blocks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpAllocator } from '../src/ip-allocator.js';
import { applyJsonPatch } from '../src/json-patch.js';
import { applyMergePatch } from '../src/merge-patch.js';
import { matchesLabels, parseLabelSelector } from '../src/selectors.js';
import { applyStrategicMergePatch } from '../src/strategic-merge.js';
import { WatchHub } from '../src/watch-hub.js';

const key = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const jsonObject = fc.dictionary(key, jsonValue, { maxKeys: 5 });

describe('properties', () => {
  it('merge patch: a patch built from two objects turns the first into the second', () => {
    // diff(a, b): members of b that differ, null for members only in a (RFC 7386 section 2).
    const diff = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(a)) if (!(k in b)) out[k] = null;
      for (const [k, v] of Object.entries(b)) if (JSON.stringify(a[k]) !== JSON.stringify(v)) out[k] = v;
      return out;
    };
    const noNulls = fc.dictionary(key, fc.oneof(fc.integer(), fc.string(), fc.array(fc.integer())), {
      maxKeys: 6,
    });
    fc.assert(
      fc.property(noNulls, noNulls, (a, b) => {
        expect(applyMergePatch(a, diff(a, b))).toEqual(b);
      }),
    );
  });

  it('strategic merge equals merge patch on objects without lists or directives', () => {
    const plain = fc.dictionary(
      key,
      fc.oneof(
        fc.integer(),
        fc.string(),
        fc.constant(null),
        fc.dictionary(key, fc.integer(), { maxKeys: 3 }),
      ),
      {
        maxKeys: 6,
      },
    );
    fc.assert(
      fc.property(plain, plain, (target, patch) => {
        expect(applyStrategicMergePatch(target, patch, 'any')).toEqual(applyMergePatch(target, patch));
      }),
    );
  });

  it('JSON patch: replace at the root and add then remove leave documents as expected, never mutating the input', () => {
    fc.assert(
      fc.property(jsonObject, key, jsonValue, (doc, k, value) => {
        const before = JSON.stringify(doc);
        expect(applyJsonPatch(doc, [{ op: 'replace', path: '', value }])).toEqual(value);
        const added = applyJsonPatch(doc, [{ op: 'add', path: `/${k}`, value }]) as Record<string, unknown>;
        expect(added[k]).toEqual(value);
        const removed = applyJsonPatch(added, [{ op: 'remove', path: `/${k}` }]) as Record<string, unknown>;
        expect(k in removed).toBe(false);
        expect(JSON.stringify(doc)).toBe(before);
      }),
    );
  });

  it('label selectors: `k in (v)` equals `k=v`, `k notin (v)` equals `k!=v`, `!k` is the negation of `k`', () => {
    const labels = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y', ''), {
      maxKeys: 3,
    });
    fc.assert(
      fc.property(labels, fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y'), (l, k, v) => {
        expect(matchesLabels(parseLabelSelector(`${k} in (${v})`), l)).toBe(
          matchesLabels(parseLabelSelector(`${k}=${v}`), l),
        );
        expect(matchesLabels(parseLabelSelector(`${k} notin (${v})`), l)).toBe(
          matchesLabels(parseLabelSelector(`${k}!=${v}`), l),
        );
        expect(matchesLabels(parseLabelSelector(`!${k}`), l)).toBe(!matchesLabels(parseLabelSelector(k), l));
      }),
    );
  });

  it('IP allocator: never hands out an address twice while it is held', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 200 }), (ops) => {
        const allocator = new IpAllocator('10.0.0.0/26');
        const held: string[] = [];
        for (const allocate of ops) {
          if (allocate || held.length === 0) {
            const ip = allocator.allocateNext();
            if (ip === undefined) {
              expect(held).toHaveLength(62);
              continue;
            }
            expect(held).not.toContain(ip);
            held.push(ip);
          } else {
            allocator.release(held.shift()!);
          }
          expect(allocator.allocatedCount).toBe(held.length);
        }
      }),
    );
  });

  it('watch history: since(v) is exactly the retained events after v, or 410 when some were dropped', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        (limit, published, from) => {
          const hub = new WatchHub(limit);
          for (let rv = 1; rv <= published; rv++) {
            hub.publish({
              resourceVersion: rv,
              type: 'ADDED',
              collection: 'c',
              object: { metadata: { name: `o${rv}` } },
            });
          }
          const oldestKept = Math.max(1, published - limit + 1);
          if (from < oldestKept - 1) {
            expect(() => hub.since(from)).toThrow(/too old resource version/);
          } else {
            const expected = [];
            for (let rv = from + 1; rv <= published; rv++) expected.push(rv);
            expect(hub.since(from).map((e) => e.resourceVersion)).toEqual(expected);
          }
        },
      ),
    );
  });
});
