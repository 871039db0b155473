// The incremental Gateway compiler: a change compiles and attaches only the routes it touches,
// keeps everything else the same objects (what the worker deltas rely on), and always gives what
// compiling the whole state from scratch gives (a property over random sequences of changes).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayCompiler,
  hostIndex,
  type GatewayClusterState,
  type GatewayCompiled,
  type GRPCRoute,
  type HTTPRoute,
} from '../../src/gateway/index.js';
import { service, slice } from '../fixtures.js';

const NOW = Date.UTC(2026, 0, 1);

function httpRoute(i: number, svc = 'a', generation = 1, hostnames = [`h${i % 10}.example.com`]): HTTPRoute {
  return {
    metadata: {
      namespace: 'default',
      name: `r${i}`,
      generation,
      creationTimestamp: new Date(NOW + i * 1000).toISOString(),
    },
    spec: {
      parentRefs: [{ name: 'gw', sectionName: 'http' }],
      hostnames,
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: `/p${i}` } }],
          backendRefs: [{ name: svc, port: 80 }],
        },
      ],
    },
  };
}

// The same objects in every state, as the watch gives them: unchanged objects are not compiled again.
const SERVICES = [service('a'), service('b')];
const SLICES = [slice('a', 3000, ['10.0.0.1']), slice('b', 3000, ['10.0.0.2'])];
const CLASSES = [{ metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } }];
const GATEWAYS: GatewayClusterState['gateways'] = [
  {
    metadata: { namespace: 'default', name: 'gw', generation: 1 },
    spec: {
      gatewayClassName: 'portico',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP' },
        { name: 'other', port: 8080, protocol: 'HTTP' },
      ],
    },
  },
];

function base(httpRoutes: HTTPRoute[], extra: Partial<GatewayClusterState> = {}): GatewayClusterState {
  return {
    gatewayClasses: CLASSES,
    gateways: GATEWAYS,
    httpRoutes,
    referenceGrants: [],
    namespaces: [],
    services: SERVICES,
    endpointSlices: SLICES,
    secrets: [],
    ...extra,
  };
}

describe('GatewayCompiler: only what a change touches', () => {
  const routes = Array.from({ length: 100 }, (_, i) => httpRoute(i));

  it('one route change compiles and attaches that route only, and changes one hostname list', () => {
    const compiler = new GatewayCompiler({ addresses: ['192.0.2.1'] });
    const first = compiler.compile(base(routes));
    expect(first.recompiled).toHaveLength(100);
    expect(first.full).toBe(true);
    const before = first.compiled.listeners[0]!;
    const beforeIndex = new Map(hostIndex(before));

    const changed = [...routes];
    changed[42] = httpRoute(42, 'b', 2);
    const next = compiler.compile(base(changed));
    expect(next.recompiled).toEqual(['HTTPRoute default/r42']);
    expect(next.reattached).toEqual(['HTTPRoute default/r42']);
    expect(next.full).toBe(false);
    expect(next.tableChanged).toBe(true);
    expect(next.statusDirty).toEqual(['httproutes|default|r42']);

    const after = next.compiled.listeners[0]!;
    expect(after).not.toBe(before);
    const afterIndex = hostIndex(after);
    const differing = [...afterIndex.keys()].filter((h) => afterIndex.get(h) !== beforeIndex.get(h));
    expect(differing).toEqual(['h2.example.com']);
    const entry = afterIndex.get('h2.example.com')!.find((e) => e.route === 'default/r42')!;
    expect(entry.rule.backends[0]!.backend).toBe('default/b:80');
    // Every other route keeps its compiled entries, the same objects.
    const other = beforeIndex.get('h3.example.com')!;
    expect(afterIndex.get('h3.example.com')).toBe(other);
    // The listener no route of which changed is the same object.
    expect(next.compiled.listeners[1]).toBe(first.compiled.listeners[1]);
  });

  it('a status-only change (same generation) compiles nothing and is only a status to check', () => {
    const compiler = new GatewayCompiler();
    compiler.compile(base(routes));
    const withStatus = [...routes];
    withStatus[7] = { ...routes[7]!, status: { parents: [] } };
    const next = compiler.compile(base(withStatus));
    expect(next.recompiled).toEqual([]);
    expect(next.reattached).toEqual([]);
    expect(next.tableChanged).toBe(false);
    expect(next.statusDirty).toEqual(['httproutes|default|r7']);
  });

  it('a Service change compiles again only the routes that read it', () => {
    const compiler = new GatewayCompiler();
    const mixed = routes.map((r, i) => (i % 10 === 0 ? httpRoute(i, 'b') : r));
    compiler.compile(base(mixed));
    const next = compiler.compile(
      base(mixed, {
        services: [
          SERVICES[0]!,
          { ...service('b'), metadata: { name: 'b', namespace: 'default', resourceVersion: '2' } },
        ],
      }),
    );
    expect([...next.recompiled].sort()).toEqual(
      Array.from({ length: 10 }, (_, k) => `HTTPRoute default/r${k * 10}`).sort(),
    );
  });

  it('a Service that appears compiles again the routes that missed it', () => {
    const compiler = new GatewayCompiler();
    const missing = [...routes, httpRoute(100, 'c')];
    const first = compiler.compile(base(missing));
    const r100 = first.compiled.httpRoutes.find((r) => r.name === 'r100')!;
    expect(r100.status.parents[0]!.conditions[1]).toMatchObject({
      status: 'False',
      reason: 'BackendNotFound',
    });
    const next = compiler.compile(
      base(missing, {
        services: [...SERVICES, service('c')],
        endpointSlices: [...SLICES, slice('c', 3000, ['10.0.0.3'])],
      }),
    );
    expect(next.recompiled).toEqual(['HTTPRoute default/r100']);
    expect(next.compiled.backends.get('default/c:80')).toEqual([{ address: '10.0.0.3', port: 3000 }]);
  });

  it('an EndpointSlice change compiles no route and changes only the backend', () => {
    const compiler = new GatewayCompiler();
    const first = compiler.compile(base(routes));
    const next = compiler.compile(
      base(routes, {
        endpointSlices: [slice('a', 3000, ['10.0.0.1', '10.0.0.9']), slice('b', 3000, ['10.0.0.2'])],
      }),
    );
    expect(next.recompiled).toEqual([]);
    expect(next.reattached).toEqual([]);
    expect(next.tableChanged).toBe(true);
    expect(next.compiled.listeners[0]).toBe(first.compiled.listeners[0]);
    expect(next.compiled.backends.get('default/a:80')).toHaveLength(2);
  });

  it('a Gateway change attaches every route again but compiles none', () => {
    const compiler = new GatewayCompiler();
    compiler.compile(base(routes));
    const s = base(routes);
    const gw = s.gateways[0]!;
    const next = compiler.compile({
      ...s,
      gateways: [
        {
          ...gw,
          metadata: { ...gw.metadata, generation: 2 },
          spec: { ...gw.spec!, listeners: gw.spec!.listeners.slice(0, 1) },
        },
      ],
    });
    expect(next.full).toBe(true);
    expect(next.recompiled).toEqual([]);
    expect(next.reattached).toHaveLength(100);
    expect(next.compiled.listeners).toHaveLength(1);
  });

  it('a GRPCRoute change alone is compiled (not only HTTPRoute changes count)', () => {
    const grpc = (generation: number, svc: string): GRPCRoute => ({
      metadata: {
        namespace: 'default',
        name: 'g',
        generation,
        creationTimestamp: new Date(NOW).toISOString(),
      },
      spec: {
        parentRefs: [{ name: 'gw', sectionName: 'other' }],
        rules: [{ backendRefs: [{ name: svc, port: 80 }] }],
      },
    });
    const compiler = new GatewayCompiler();
    compiler.compile(base([], { grpcRoutes: [grpc(1, 'a')] }));
    const next = compiler.compile(base([], { grpcRoutes: [grpc(2, 'b')] }));
    expect(next.recompiled).toEqual(['GRPCRoute default/g']);
    expect(next.compiled.listeners[1]!.routes[0]!.rule.backends[0]!.backend).toBe('default/b:80');
  });
});

/** What a compile says, in a form where equal models compare equal (Map and array orders aside). */
function normalized(c: GatewayCompiled) {
  const byName = <T extends { namespace?: string; name: string }>(list: readonly T[]) =>
    [...list].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return {
    listeners: c.listeners.map((l) => ({
      ...l,
      index: Object.fromEntries([...hostIndex(l)].sort(([a], [b]) => a.localeCompare(b))),
    })),
    backends: Object.fromEntries([...c.backends].sort(([a], [b]) => a.localeCompare(b))),
    protocols: Object.fromEntries([...c.backendProtocols].sort(([a], [b]) => a.localeCompare(b))),
    gatewayClasses: c.gatewayClasses,
    gateways: c.gateways,
    httpRoutes: byName(c.httpRoutes),
    grpcRoutes: byName(c.grpcRoutes),
    tlsRoutes: byName(c.tlsRoutes),
  };
}

const HOSTS = ['a.example.com', '*.example.com', 'b.example.com'];
const op = fc.oneof(
  fc.record({
    type: fc.constant('http' as const),
    i: fc.integer({ min: 0, max: 5 }),
    hosts: fc.subarray(HOSTS),
    svc: fc.constantFrom('a', 'b', 'c'),
    path: fc.constantFrom('/', '/x', '/x/y'),
  }),
  fc.record({
    type: fc.constant('grpc' as const),
    i: fc.integer({ min: 0, max: 3 }),
    hosts: fc.subarray(HOSTS),
    svc: fc.constantFrom('a', 'b'),
  }),
  fc.record({ type: fc.constant('delete' as const), i: fc.integer({ min: 0, max: 5 }), grpc: fc.boolean() }),
  fc.record({ type: fc.constant('service' as const), present: fc.boolean() }),
  fc.record({
    type: fc.constant('endpoints' as const),
    ips: fc.subarray(['10.0.0.1', '10.0.0.2', '10.0.0.3']),
  }),
  fc.record({
    type: fc.constant('listener' as const),
    hostname: fc.constantFrom(undefined, '*.example.com', 'a.example.com'),
  }),
);

describe('GatewayCompiler: the same result as compiling everything', () => {
  it('after any sequence of route, Service, EndpointSlice and Gateway changes (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
        const http = new Map<number, HTTPRoute>();
        const grpc = new Map<number, GRPCRoute>();
        let generation = 1;
        // The same objects throughout, as the watch gives them: what is reused must still be right.
        const [sa, sb, sc] = [service('a'), service('b'), service('c')];
        let services = [sa, sc];
        let slices = [slice('a', 3000, ['10.0.0.1'])];
        let listenerHostname: string | undefined;
        let gatewayGeneration = 1;
        const compiler = new GatewayCompiler({ addresses: ['192.0.2.1'] });
        for (const o of ops) {
          generation++;
          if (o.type === 'http')
            http.set(o.i, {
              metadata: {
                namespace: 'default',
                name: `r${o.i}`,
                generation,
                creationTimestamp: new Date(NOW + o.i * 1000).toISOString(),
              },
              spec: {
                parentRefs: [{ name: 'gw' }],
                hostnames: o.hosts,
                rules: [
                  {
                    matches: [{ path: { type: 'PathPrefix', value: o.path } }],
                    backendRefs: [{ name: o.svc, port: 80 }],
                  },
                ],
              },
            });
          else if (o.type === 'grpc')
            grpc.set(o.i, {
              metadata: {
                namespace: 'default',
                name: `g${o.i}`,
                generation,
                creationTimestamp: new Date(NOW + (o.i * 2 + 1) * 500).toISOString(),
              },
              spec: {
                parentRefs: [{ name: 'gw' }],
                hostnames: o.hosts,
                rules: [{ backendRefs: [{ name: o.svc, port: 80 }] }],
              },
            });
          else if (o.type === 'delete') (o.grpc ? grpc : http).delete(o.i);
          else if (o.type === 'service') services = o.present ? [sa, sb, sc] : [sa, sc];
          else if (o.type === 'endpoints') slices = [slice('a', 3000, o.ips)];
          else {
            listenerHostname = o.hostname;
            gatewayGeneration++;
          }
          const state: GatewayClusterState = {
            gatewayClasses: CLASSES,
            // A new object, but the same generation unless the listener changed: not a change.
            gateways: [
              {
                metadata: { namespace: 'default', name: 'gw', generation: gatewayGeneration },
                spec: {
                  gatewayClassName: 'portico',
                  listeners: [
                    {
                      name: 'http',
                      port: 80,
                      protocol: 'HTTP',
                      ...(listenerHostname ? { hostname: listenerHostname } : {}),
                    },
                  ],
                },
              },
            ],
            httpRoutes: [...http.values()],
            grpcRoutes: [...grpc.values()],
            referenceGrants: [],
            namespaces: [],
            services,
            endpointSlices: slices,
            secrets: [],
          };
          const incremental = compiler.compile(state).compiled;
          const whole = compileGateways(state, { addresses: ['192.0.2.1'] });
          expect(normalized(incremental)).toEqual(normalized(whole));
        }
      }),
      { numRuns: 200 },
    );
  });
});
