import { describe, expect, it } from 'vitest';
import { GrantTable } from '../src/membership/grants.js';
import { LeaseBook } from '../src/membership/leases.js';

const grant = (order: number, echo: number, expiry: number, refused: string[] = []) => ({
  order,
  echo,
  expiry,
  refused: new Set(refused),
});

describe('LeaseBook (the claimant)', () => {
  function book(voters = ['a', 'b', 'c', 'd', 'e']) {
    const b = new LeaseBook();
    b.setVoters(voters, 'a');
    return b;
  }

  it('answers for an IP only while a majority, itself included, grants it', () => {
    const b = book();
    b.claim('ip1', 10);
    expect(b.recompute(0)).toEqual({ gained: [], lost: [] });
    b.vote('b', 1, grant(1, 10, 400));
    expect(b.recompute(0).gained).toEqual([]); // a + b: 2 of 5
    b.vote('c', 1, grant(1, 11, 300));
    expect(b.recompute(0).gained).toEqual(['ip1']); // a + b + c
    expect(b.nextExpiry()).toBe(300); // the majority holds until its weakest needed grant ends
    expect(b.mayAnswer('ip1', 299)).toBe(true);
    expect(b.mayAnswer('ip1', 300)).toBe(false);
    expect(b.recompute(300).lost).toEqual(['ip1']);
  });

  it('a claim that was answered and whose grants ran out is lapsed until it is released', () => {
    const b = book(['a', 'b', 'c']);
    b.claim('ip1', 10);
    expect(b.lapsed('ip1')).toBe(false); // never answered: pending
    b.vote('b', 1, grant(1, 10, 400));
    expect(b.recompute(0).gained).toEqual(['ip1']);
    expect(b.lapsed('ip1')).toBe(false); // answering
    expect(b.recompute(400).lost).toEqual(['ip1']);
    expect(b.lapsed('ip1')).toBe(true);
    b.vote('b', 1, grant(2, 11, 900));
    expect(b.recompute(500).gained).toEqual(['ip1']);
    expect(b.lapsed('ip1')).toBe(false);
    b.release('ip1');
    b.claim('ip1', 20);
    expect(b.lapsed('ip1')).toBe(false); // a new claim starts pending
  });

  it('counts only grants of heartbeats sent since the IP was claimed', () => {
    const b = book(['a', 'b', 'c']);
    b.vote('b', 1, grant(1, 9, 400));
    b.claim('ip1', 10);
    expect(b.recompute(0).gained).toEqual([]);
    b.vote('b', 1, grant(2, 10, 500));
    expect(b.recompute(0).gained).toEqual(['ip1']);
    b.release('ip1');
    b.claim('ip1', 20); // claimed again: the old grant is worth nothing
    expect(b.answering.size).toBe(0);
    expect(b.recompute(0).gained).toEqual([]);
  });

  it('a refusal takes one IP out, not the others', () => {
    const b = book(['a', 'b', 'c']);
    b.claim('ip1', 1);
    b.claim('ip2', 1);
    b.vote('b', 1, grant(1, 1, 400, ['ip2']));
    expect(b.recompute(0).gained).toEqual(['ip1']);
  });

  it('an older vote, or a liveness-only one, does not replace a grant; a new incarnation does', () => {
    const b = book(['a', 'b', 'c']);
    b.claim('ip1', 1);
    b.vote('b', 1, grant(5, 3, 400));
    expect(b.vote('b', 1, grant(4, 4, 900))).toBe(false);
    b.vote('b', 1, { order: 6, echo: 5, expiry: 500 }); // no grants: keeps the promise of order 5
    expect(b.recompute(0).gained).toEqual(['ip1']);
    expect(b.nextExpiry()).toBe(400);
    b.vote('b', 2, { order: 1, echo: 6, expiry: 600 }); // the voter restarted
    expect(b.recompute(0).lost).toEqual(['ip1']);
  });

  it('node-level quorum: a majority acknowledged a heartbeat within the lease', () => {
    const b = book(['a', 'b', 'c']);
    expect(b.hasQuorum(0)).toBe(false);
    b.vote('c', 1, { order: 1, echo: 1, expiry: 250 });
    expect(b.hasQuorum(0)).toBe(true);
    expect(b.quorumExpiry(0)).toBe(250);
    expect(b.hasQuorum(250)).toBe(false);
  });

  it('one or two voters: its own grant is enough (documented trade-off)', () => {
    const b = book(['a', 'b']);
    b.claim('ip1', 1);
    expect(b.recompute(0).gained).toEqual(['ip1']);
    expect(b.nextExpiry()).toBe(Infinity);
  });

  it('merges claim groups no live vote tells apart (under the stricter number)', () => {
    const b = book(['a', 'b', 'c']);
    b.claim('ip1', 1);
    b.claim('ip2', 5);
    b.vote('b', 1, grant(1, 6, 400));
    b.recompute(0);
    expect([b.claimSeqOf('ip1'), b.claimSeqOf('ip2')]).toEqual([5, 5]);
    expect(b.answering.size).toBe(2);
  });
  it('a renewal keeps a whole group leased without reporting it; its end loses every IP at once', () => {
    const b = book(['a', 'b', 'c']);
    const ips = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    for (const ip of ips) b.claim(ip, 1);
    b.vote('b', 1, grant(1, 1, 400));
    expect(b.recompute(0).gained).toHaveLength(1000);
    for (let t = 1; t < 10; t++) {
      b.vote('b', 1, grant(1 + t, 1 + t, 400 + 100 * t));
      expect(b.recompute(100 * t)).toEqual({ gained: [], lost: [] });
      expect(b.nextExpiry()).toBe(400 + 100 * t);
    }
    expect(b.mayAnswer(ips[999]!, 1299)).toBe(true);
    expect(b.mayAnswer(ips[999]!, 1300)).toBe(false);
    // Two recomputes later than the last grant, with nothing renewed: lost, and lapsed.
    expect(b.recompute(1250)).toEqual({ gained: [], lost: [] });
    expect(b.recompute(1300).lost).toHaveLength(1000);
    expect(b.answering.size).toBe(0);
    expect(b.lapsed(ips[0]!)).toBe(true);
  });

  it('an IP refused for a while follows its group again once granted', () => {
    const b = book(['a', 'b', 'c']);
    b.claim('ip1', 1);
    b.claim('ip2', 1);
    b.vote('b', 1, grant(1, 1, 400, ['ip2']));
    expect(b.recompute(0).gained).toEqual(['ip1']);
    expect(b.mayAnswer('ip2', 0)).toBe(false);
    b.vote('b', 1, grant(2, 2, 500));
    expect(b.recompute(100).gained).toEqual(['ip2']);
    expect(b.nextExpiry()).toBe(500);
    b.vote('b', 1, grant(3, 3, 600, ['ip1']));
    expect(b.recompute(200).lost).toEqual(['ip1']);
    expect(b.mayAnswer('ip1', 200)).toBe(false);
    expect(b.mayAnswer('ip2', 599)).toBe(true);
  });

  it('a new claim merged into a large leased group is looked at on its own', () => {
    const b = book(['a', 'b', 'c']);
    for (let i = 0; i < 100; i++) b.claim(`ip${i}`, 1);
    b.vote('b', 1, grant(1, 1, 400));
    expect(b.recompute(0).gained).toHaveLength(100);
    b.claim('new', 7);
    expect(b.recompute(10)).toEqual({ gained: [], lost: [] }); // no grant since 7 yet
    b.vote('b', 1, grant(2, 7, 500));
    expect(b.recompute(20).gained).toEqual(['new']);
    expect(b.claimSeqOf('ip0')).toBe(7);
    expect(b.claimSeqOf('new')).toBe(7);
    b.release('ip0');
    expect(b.recompute(30)).toEqual({ gained: [], lost: [] });
    expect(b.answering.size).toBe(100);
  });
});

describe('GrantTable (the voter)', () => {
  it('first come, first served; a holder keeps its grant until it no longer holds the IP', () => {
    const holding = new Map<string, Set<string>>([
      ['p', new Set(['ip1'])],
      ['q', new Set(['ip1', 'ip2'])],
    ]);
    const t = new GrantTable((node, ip) => holding.get(node)?.has(ip) ?? false);
    expect(t.decide('p', ['ip1'])).toEqual([]);
    expect(t.decide('q', ['ip1', 'ip2'])).toEqual(['ip1']);
    expect(t.holder('ip1')).toBe('p');
    holding.get('p')!.delete('ip1'); // p released it (or was declared dead)
    expect(t.decide('q', ['ip1', 'ip2'])).toEqual([]);
    expect(t.holder('ip1')).toBe('q');
    holding.clear();
    t.prune();
    expect(t.size).toBe(0);
  });
});
