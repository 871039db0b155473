import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@portico/config';
import { cidrsOverlap, makeCidr, type Cidr } from '@portico/net';
import { DisjointCidrSet } from '../src/cidr-set.js';

const block = fc
  .tuple(fc.nat({ max: 255 }), fc.integer({ min: 24, max: 32 }))
  .map(([x, len]) => makeCidr('IPv4', 0xc0000200n + BigInt(x), len)); // inside 192.0.2.0/24

describe('DisjointCidrSet', () => {
  it('finds an overlap exactly when a pairwise comparison does', () => {
    fc.assert(
      fc.property(fc.array(block, { maxLength: 40 }), (blocks) => {
        const set = new DisjointCidrSet<number>();
        const accepted: Cidr[] = [];
        blocks.forEach((cidr, i) => {
          const naive = accepted.some((a) => cidrsOverlap(a, cidr));
          const found = set.findOverlap(cidr);
          expect(found !== undefined).toBe(naive);
          if (found) expect(cidrsOverlap(found.cidr, cidr)).toBe(true);
          else {
            set.add(cidr, i);
            accepted.push(cidr);
          }
        });
      }),
    );
  });

  it('keeps families apart', () => {
    const set = new DisjointCidrSet<string>();
    set.add(makeCidr('IPv4', 0n, 0), 'all v4');
    expect(set.findOverlap(makeCidr('IPv6', 0n, 128))).toBeUndefined();
    expect(set.findOverlap(makeCidr('IPv4', 5n, 32))?.owner).toBe('all v4');
  });
});

describe('overlap check on a large config', () => {
  it('handles 200 long IPv6 ranges (31,600 blocks) quickly', () => {
    const addresses = Array.from(
      { length: 200 },
      (_, i) => `2001:db8:${i.toString(16)}::1-2001:db8:${i.toString(16)}:ffff:ffff:ffff:ffff:fffe`,
    );
    const text = `address-pools:\n- name: big\n  protocol: layer2\n  addresses:\n${addresses.map((a) => `  - ${a}\n`).join('')}`;
    // A /48 without its first and last address summarises into 2 blocks per length /49../128.
    const started = Date.now();
    const result = parseConfig(text);
    const elapsed = Date.now() - started;
    expect(result.ok && result.config.pools[0]?.addresses.reduce((n, a) => n + a.cidrs.length, 0)).toBe(
      200 * 2 * (80 - 1),
    );
    // Pairwise comparison would be over a billion bigint comparisons; generous bound for a busy machine.
    expect(elapsed).toBeLessThan(20_000);
  });
});
