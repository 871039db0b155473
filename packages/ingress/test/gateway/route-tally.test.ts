import { describe, expect, it } from 'vitest';
import { RouteTally, type RouteStatusView } from '../../src/gateway/route-tally.js';
import type { Condition } from '../../src/gateway/types.js';

const cond = (type: string, ok: boolean, reason: string): Condition => ({
  type,
  status: ok ? 'True' : 'False',
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: '2026-12-07T00:00:00Z',
});

function status(name: string, ...parents: Condition[][]): RouteStatusView {
  return {
    namespace: 'default',
    name,
    uid: `uid-${name}`,
    status: {
      parents: parents.map((conditions) => ({
        parentRef: { name: 'gw' },
        controllerName: 'portico.dev/gateway-controller',
        conditions,
      })),
    },
  };
}

const good = [cond('Accepted', true, 'Accepted'), cond('ResolvedRefs', true, 'ResolvedRefs')];
const missing = [cond('Accepted', true, 'Accepted'), cond('ResolvedRefs', false, 'BackendNotFound')];

describe('RouteTally', () => {
  it('counts HTTPRoute parents accepted and rejected, route by route, and forgets a route that is gone', () => {
    const t = new RouteTally();
    expect(t.set('HTTPRoute default/a', status('a', good, missing))).toHaveLength(1);
    expect(t.set('HTTPRoute default/b', status('b', good))).toEqual([]);
    expect([t.accepted, t.rejected]).toEqual([2, 1]);
    // A GRPCRoute's problems are reported, but the gauges count HTTPRoutes only.
    expect(t.set('GRPCRoute default/g', status('g', missing))).toHaveLength(1);
    expect([t.accepted, t.rejected]).toEqual([2, 1]);
    t.set('HTTPRoute default/a', status('a', good, good));
    expect([t.accepted, t.rejected]).toEqual([3, 0]);
    t.set('HTTPRoute default/b', undefined);
    expect([t.accepted, t.rejected]).toEqual([2, 0]);
    t.clear();
    expect([t.accepted, t.rejected]).toEqual([0, 0]);
  });

  it('a problem is new once: not again while it lasts, again after it went away and came back', () => {
    const t = new RouteTally();
    const [first] = t.set('HTTPRoute default/a', status('a', missing));
    expect(first?.kind).toBe('HTTPRoute');
    expect(first?.object).toMatchObject({ namespace: 'default', name: 'a', uid: 'uid-a' });
    expect(first?.condition.reason).toBe('BackendNotFound');
    expect(t.set('HTTPRoute default/a', status('a', missing))).toEqual([]);
    expect(t.set('HTTPRoute default/a', status('a', good))).toEqual([]);
    expect(t.set('HTTPRoute default/a', status('a', missing))).toHaveLength(1);
    // A pass over every route (a Gateway changed) reports nothing that is already known, and
    // forgets the routes it did not see.
    t.set('HTTPRoute default/b', status('b', missing));
    t.retain(new Set(['HTTPRoute default/a']));
    expect(t.set('HTTPRoute default/a', status('a', missing))).toEqual([]);
    expect([t.accepted, t.rejected]).toEqual([0, 1]);
    expect(t.set('HTTPRoute default/b', status('b', missing))).toHaveLength(1);
    // Deleted and created again: reported again.
    t.set('HTTPRoute default/a', undefined);
    expect(t.set('HTTPRoute default/a', status('a', missing))).toHaveLength(1);
  });
});
