import { describe, expect, it } from 'vitest';
import { electOwner, electionHash, rankNodes } from '../src/election.js';
import { createHash } from 'node:crypto';

describe('rankNodes', () => {
  // Vectors from `printf 'a#192.168.1.240' | sha256sum` etc.: for .240 c=5f4b.., a=f1d5.., b=f2cd..;
  // .241 c=1681.., a=8d6f.., b=bf58..; 10.20.30.1 c=567f.., b=9cdb.., a=a718...
  it.each([
    ['192.168.1.240', ['c', 'a', 'b']],
    ['192.168.1.241', ['c', 'a', 'b']],
    ['10.20.30.1', ['c', 'b', 'a']],
  ])('ranks by hash for %s', (ip, order) => {
    expect(rankNodes(ip, ['a', 'b', 'c'])).toEqual(order);
  });

  it('orders by SHA-256 of "<node>#<ip>", bytewise', () => {
    const nodes = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'];
    const ranked = rankNodes('198.51.100.7', nodes);
    const hashes = ranked.map((n) => createHash('sha256').update(`${n}#198.51.100.7`).digest());
    for (let i = 1; i < hashes.length; i++) expect(Buffer.compare(hashes[i - 1]!, hashes[i]!)).toBe(-1);
    expect(electionHash('node-1', '198.51.100.7')).toEqual(hashes[ranked.indexOf('node-1')]);
  });

  it('does not depend on the order or duplicates of the candidates', () => {
    expect(rankNodes('2001:db8::1', ['c', 'a', 'b', 'a'])).toEqual(rankNodes('2001:db8::1', ['b', 'c', 'a']));
  });
});

describe('electOwner', () => {
  const nodes = ['a', 'b', 'c'];
  const ip = '192.168.1.240'; // rank: a first
  const order = rankNodes(ip, nodes);

  it.each<[string, string[], string[], string | undefined]>([
    ['no claims: the best-ranked candidate', nodes, [], order[0]],
    ['a claimant keeps the IP even when ranked last', nodes, [order[2]!], order[2]],
    ['two claimants: the better-ranked one', nodes, [order[2]!, order[1]!], order[1]],
    ['a claim from a non-candidate is ignored', [order[1]!, order[2]!], [order[0]!], order[1]],
    ['no candidates: nobody', [], ['a'], undefined],
  ])('%s', (_name, candidates, claimants, expected) => {
    expect(electOwner(ip, candidates, (n) => claimants.includes(n))).toBe(expected);
  });
});
