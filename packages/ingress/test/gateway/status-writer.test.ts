// What the status writer writes, decided purely: only objects whose status differs, other
// controllers' route parent entries kept, our stale entries dropped, lastTransitionTime kept while
// a condition's status does not change.
import { describe, expect, it } from 'vitest';
import {
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  statusTargets,
  type GatewayClusterState,
  type HTTPRoute,
} from '../../src/gateway/index.js';

const other = {
  parentRef: { name: 'elsewhere' },
  controllerName: 'example.com/other',
  conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: 'theirs' }],
};

function state(routes: HTTPRoute[]): GatewayClusterState {
  return {
    gatewayClasses: [
      { metadata: { name: 'portico', generation: 1 }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } },
    ],
    gateways: [
      {
        metadata: { namespace: 'default', name: 'gw', generation: 1 },
        spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      },
    ],
    httpRoutes: routes,
    referenceGrants: [],
    namespaces: [],
    services: [{ metadata: { namespace: 'default', name: 'svc' }, spec: { ports: [{ port: 80 }] } }],
    endpointSlices: [],
    secrets: [],
  };
}

const route: HTTPRoute = {
  metadata: { namespace: 'default', name: 'r', generation: 4 },
  spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] },
};

describe('statusTargets', () => {
  it('keeps other controllers entries, and times of unchanged conditions', () => {
    const s = state([route]);
    const targets = statusTargets(
      compileGateways(s, { addresses: ['192.0.2.1'] }),
      s.httpRoutes,
      GATEWAY_CONTROLLER_NAME,
    );
    const routeTarget = targets.find((t) => t.plural === 'httproutes')!;
    const first = routeTarget.status({ parents: [other] }, '2026-01-01T00:00:00Z') as {
      parents: (typeof other)[];
    };
    expect(first.parents[0]).toEqual(other);
    expect(
      first.parents[1]!.conditions.map((c) => [c.type, c.status, c.observedGeneration, c.lastTransitionTime]),
    ).toEqual([
      ['Accepted', 'True', 4, '2026-01-01T00:00:00Z'],
      ['ResolvedRefs', 'True', 4, '2026-01-01T00:00:00Z'],
    ]);
    // Written: now current. Rewritten later (nothing changed): the times stay.
    expect(routeTarget.current(first)).toBe(true);
    const again = routeTarget.status(first, '2026-02-02T00:00:00Z') as typeof first;
    expect(again.parents[1]!.conditions.map((c) => c.lastTransitionTime)).toEqual([
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00Z',
    ]);
  });

  it('a changed condition gets a new time; a route no longer ours loses only our entry', () => {
    const s = state([route]);
    const before = statusTargets(
      compileGateways(s, { addresses: ['192.0.2.1'] }),
      s.httpRoutes,
      GATEWAY_CONTROLLER_NAME,
    )
      .find((t) => t.plural === 'httproutes')!
      .status({ parents: [other] }, '2026-01-01T00:00:00Z') as { parents: (typeof other)[] };
    const broken: HTTPRoute = {
      ...route,
      spec: { ...route.spec, rules: [{ backendRefs: [{ name: 'gone', port: 80 }] }] },
    };
    const s2 = state([broken]);
    const t2 = statusTargets(
      compileGateways(s2, { addresses: ['192.0.2.1'] }),
      s2.httpRoutes,
      GATEWAY_CONTROLLER_NAME,
    ).find((t) => t.plural === 'httproutes')!;
    expect(t2.current(before)).toBe(false);
    const after = t2.status(before, '2026-03-03T00:00:00Z') as typeof before;
    expect(after.parents[1]!.conditions.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ['Accepted', 'True', '2026-01-01T00:00:00Z'],
      ['ResolvedRefs', 'False', '2026-03-03T00:00:00Z'],
    ]);
    // The route now points elsewhere: our entry goes, theirs stays.
    const moved: HTTPRoute = {
      ...route,
      spec: { ...route.spec, parentRefs: [{ name: 'elsewhere' }] },
      status: { parents: after.parents },
    };
    const s3 = state([moved]);
    const t3 = statusTargets(
      compileGateways(s3, { addresses: ['192.0.2.1'] }),
      s3.httpRoutes,
      GATEWAY_CONTROLLER_NAME,
    ).find((t) => t.plural === 'httproutes')!;
    expect((t3.status(after, '2026-04-04T00:00:00Z') as typeof before).parents).toEqual([other]);
  });

  it('a Gateway whose status already says it all needs no write', () => {
    const s = state([route]);
    const gw = statusTargets(
      compileGateways(s, { addresses: ['192.0.2.1'] }),
      s.httpRoutes,
      GATEWAY_CONTROLLER_NAME,
    ).find((t) => t.plural === 'gateways')!;
    expect(gw.current(undefined)).toBe(false);
    const written = gw.status(undefined, '2026-01-01T00:00:00Z');
    expect(gw.current(written)).toBe(true);
  });
});
