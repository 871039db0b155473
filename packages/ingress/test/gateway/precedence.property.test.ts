// Precedence across rules and routes, as properties: for random HTTPRoutes on one listener and a
// random request, the compiled model picks the same rule as a direct reading of the spec's ranking
// (written here independently, as a key tuple compared lexicographically), and the order in which
// the routes are listed never matters.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  matchRoute,
  type HTTPRoute,
} from '../../src/gateway/index.js';

const PATHS = ['/', '/a', '/a/b', '/a/b/c', '/b', '/ab'];
const HOSTS = ['x.example.com', '*.example.com', 'y.x.example.com', '*.x.example.com'];

const matchArb = fc.record({
  path: fc.record({ type: fc.constantFrom('Exact', 'PathPrefix'), value: fc.constantFrom(...PATHS) }),
  headers: fc.subarray([
    { name: 'h1', value: 'v' },
    { name: 'h2', value: 'v' },
  ]),
  queryParams: fc.subarray([{ name: 'q', value: '1' }]),
  method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
});

const routeArb = fc.record({
  hostnames: fc.subarray(HOSTS),
  created: fc.integer({ min: 0, max: 3 }),
  rules: fc.array(fc.array(matchArb, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 3 }),
});

const requestArb = fc.record({
  host: fc.constantFrom('x.example.com', 'y.x.example.com', 'z.example.com', 'other.org'),
  path: fc.constantFrom(...PATHS, '/a/', '/a/b/', '/abc', '/b/c'),
  method: fc.constantFrom('GET', 'POST'),
  headers: fc.subarray(['h1', 'h2']).map((hs) => Object.fromEntries(hs.map((h) => [h, 'v']))),
  query: fc.constantFrom('', 'q=1', 'q=2'),
});

type RouteSpec = {
  hostnames: string[];
  created: number;
  rules: {
    path: { type: string; value: string };
    headers: { name: string; value: string }[];
    queryParams: { name: string; value: string }[];
    method: string | undefined;
  }[][];
};

function toRoutes(specs: RouteSpec[]): HTTPRoute[] {
  return specs.map((r, i) => ({
    metadata: {
      namespace: 'default',
      name: `r${i}`,
      generation: 1,
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, r.created)).toISOString(),
    },
    spec: {
      parentRefs: [{ name: 'gw' }],
      ...(r.hostnames.length ? { hostnames: r.hostnames } : {}),
      rules: r.rules.map((matches) => ({
        matches: matches.map((m) => ({
          path: m.path,
          headers: m.headers,
          queryParams: m.queryParams,
          ...(m.method ? { method: m.method } : {}),
        })),
        backendRefs: [{ name: 'svc', port: 80 }],
      })),
    },
  }));
}

function compileRoutes(routes: HTTPRoute[]) {
  const compiled = compileGateways(
    {
      gatewayClasses: [{ metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } }],
      gateways: [
        {
          metadata: { namespace: 'default', name: 'gw' },
          spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
        },
      ],
      httpRoutes: routes,
      referenceGrants: [],
      namespaces: [],
      services: [{ metadata: { namespace: 'default', name: 'svc' }, spec: { ports: [{ port: 80 }] } }],
      endpointSlices: [],
      secrets: [],
    },
    { addresses: ['192.0.2.1'] },
  );
  return compiled.listeners[0]!;
}

type Request = { host: string; path: string; method: string; headers: Record<string, string>; query: string };

function hostOk(pattern: string, host: string): boolean {
  return pattern.startsWith('*.')
    ? host.endsWith(pattern.slice(1)) && host !== pattern.slice(2)
    : pattern === host;
}

function pathOk(type: string, value: string, path: string): boolean {
  if (type === 'Exact') return path === value;
  const prefix = value.replace(/\/+$/, '');
  return prefix === '' || path === prefix || path.startsWith(prefix + '/');
}

/** The spec's ranking read directly: the winner is the candidate with the smallest key. */
function oracle(specs: RouteSpec[], req: Request): string | undefined {
  const query = new URLSearchParams(req.query);
  let best: { key: (number | string)[]; id: string } | undefined;
  specs.forEach((r, i) => {
    for (const hostname of r.hostnames.length ? r.hostnames : [undefined]) {
      if (hostname !== undefined && !hostOk(hostname, req.host)) continue;
      r.rules.forEach((matches, ri) =>
        matches.forEach((m, mi) => {
          if (!pathOk(m.path.type, m.path.value, req.path)) return;
          if (m.method && m.method !== req.method) return;
          if (!m.headers.every((h) => req.headers[h.name] === h.value)) return;
          if (!m.queryParams.every((q) => query.get(q.name) === q.value)) return;
          const exactHost = hostname && !hostname.startsWith('*') ? hostname.length : 0;
          const pathLength =
            m.path.type === 'Exact' ? m.path.value.length : m.path.value.replace(/\/+$/, '').length;
          const key = [
            -exactHost,
            -(hostname?.length ?? 0),
            m.path.type === 'Exact' ? 0 : 1,
            -pathLength,
            m.method ? 0 : 1,
            -m.headers.length,
            -m.queryParams.length,
            r.created,
            `default/r${i}`,
            ri,
            mi,
          ];
          if (!best || less(key, best.key)) best = { key, id: `default/r${i}#${ri}.${mi}` };
        }),
      );
    }
  });
  return best?.id;
}

function less(a: (number | string)[], b: (number | string)[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

function chosen(specs: RouteSpec[], req: Request, order: number[]): string | undefined {
  const routes = toRoutes(specs);
  const listener = compileRoutes(order.map((i) => routes[i]!));
  const e = matchRoute(listener, req);
  return e && `${e.route}#${e.rule.index}.${e.matchIndex}`;
}

describe('HTTPRoute precedence (property)', () => {
  it('the compiled model picks the rule the spec ranks first, whatever the order of the routes', () => {
    let decided = 0;
    fc.assert(
      fc.property(
        fc
          .array(routeArb, { minLength: 1, maxLength: 4 })
          .chain((specs) =>
            fc.tuple(
              fc.constant(specs as RouteSpec[]),
              requestArb,
              fc.shuffledSubarray([...specs.keys()], { minLength: specs.length }),
            ),
          ),
        ([specs, req, order]) => {
          const want = oracle(specs, req);
          if (want !== undefined) decided++;
          expect(chosen(specs, req, [...specs.keys()])).toBe(want);
          expect(chosen(specs, req, order)).toBe(want);
        },
      ),
      { numRuns: 500 },
    );
    // The property says something only if many requests do match a rule.
    expect(decided).toBeGreaterThan(50);
  });
});
