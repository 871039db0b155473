import { describe, expect, it } from 'vitest';
import { electOwner, rankNodes } from '../src/election.js';

describe('electOwner with claim states (sticky through partitions)', () => {
  const nodes = ['a', 'b', 'c'];
  const ip = '192.168.1.240';
  const [best, mid, worst] = rankNodes(ip, nodes) as [string, string, string];

  it.each<[string, Record<string, 'held' | 'lapsed' | 'pending' | boolean>, string]>([
    [
      'an answering node keeps the IP over a better-ranked one waiting for it',
      { [worst]: 'held', [best]: 'pending' },
      worst,
    ],
    ['true is the same as held', { [worst]: true, [best]: 'pending' }, worst],
    ['two answering (a stale view): the better-ranked one', { [worst]: 'held', [mid]: 'held' }, mid],
    ['only waiting claimants: the better-ranked one', { [worst]: 'pending', [mid]: 'pending' }, mid],
    [
      'an owner whose grants ran out (starved, woke up) over a better-ranked one never granted it',
      { [worst]: 'lapsed', [best]: 'pending' },
      worst,
    ],
    ['an answering node over one whose claim lapsed', { [mid]: 'lapsed', [worst]: 'held' }, worst],
    ['two lapsed claims: the better-ranked one', { [worst]: 'lapsed', [mid]: 'lapsed' }, mid],
    ['no claims: the best-ranked candidate', {}, best],
  ])('%s', (_name, claims, expected) => {
    expect(electOwner(ip, nodes, (n) => claims[n])).toBe(expected);
  });
});
