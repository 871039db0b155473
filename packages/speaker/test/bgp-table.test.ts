/**
 * BgpTable: the one table the BGP speaker holds, each session's own variants through its export
 * policy, and the differences it sends (a prefix counts as changed when only some session's
 * variant changed, so that session's policy is asked again).
 */
import type { Route } from '@portico/bgp';
import { describe, expect, it } from 'vitest';
import { BgpTable } from '../src/bgp-table.js';

function recorder() {
  const calls: string[] = [];
  return {
    calls,
    setRoutes: (routes: Route[]) => calls.push(`set ${routes.map((r) => r.prefix).join(',')}`),
    announce: (route: Route) => calls.push(`announce ${route.prefix}`),
    withdraw: (prefix: string) => calls.push(`withdraw ${prefix}`),
  };
}

const A = { prefix: '203.0.113.9/32', communities: ['64500:1', '64500:2'] };
const B = { prefix: '203.0.113.0/24' };

describe('BgpTable', () => {
  it('every session gets every route while no advertisement names peers', () => {
    const table = new BgpTable();
    const bgp = recorder();
    expect(table.apply(bgp, [A, B], new Map())).toEqual({ initial: true, announced: 2, withdrawn: 0 });
    expect(bgp.calls).toEqual(['set 203.0.113.9/32,203.0.113.0/24']);
    expect(table.policyFor('192.0.2.1')(A)).toBe(A);
  });

  it('sessions get their own variants, or nothing', () => {
    const table = new BgpTable();
    const r1 = table.policyFor('192.0.2.1');
    const r2 = table.policyFor('192.0.2.2');
    table.apply(
      recorder(),
      [A, B],
      new Map([
        ['192.0.2.1', [{ prefix: A.prefix, communities: ['64500:1'] }]],
        ['192.0.2.2', [{ prefix: A.prefix, communities: ['64500:2'] }, B]],
      ]),
    );
    expect(r1(A)).toEqual({ prefix: A.prefix, communities: ['64500:1'] });
    expect(r1(B)).toBeNull();
    expect(r2(A)).toEqual({ prefix: A.prefix, communities: ['64500:2'] });
    expect(r2(B)).toEqual(B);
    // A session the decision does not know gets nothing while tables are per session.
    expect(table.policyFor('192.0.2.9')(A)).toBeNull();
  });

  it('sends only differences; a change of one session’s variant re-announces that prefix', () => {
    const table = new BgpTable();
    const bgp = recorder();
    const byPeer = (communities: string[]) =>
      new Map([
        ['192.0.2.1', [{ prefix: A.prefix, communities }]],
        ['192.0.2.2', [A, B]],
      ]);
    table.apply(bgp, [A, B], byPeer(['64500:1']));
    bgp.calls.length = 0;
    expect(table.apply(bgp, [A, B], byPeer(['64500:1']))).toEqual({
      initial: false,
      announced: 0,
      withdrawn: 0,
    });
    expect(table.apply(bgp, [A, B], byPeer(['64500:2']))).toEqual({
      initial: false,
      announced: 1,
      withdrawn: 0,
    });
    expect(bgp.calls).toEqual([`announce ${A.prefix}`]);
    bgp.calls.length = 0;
    // Back to one table for all: both prefixes change for the sessions.
    expect(table.apply(bgp, [A], new Map())).toEqual({ initial: false, announced: 1, withdrawn: 1 });
    expect(bgp.calls).toEqual([`withdraw ${B.prefix}`, `announce ${A.prefix}`]);
  });
});
