// GRPCRoute in the route model, beyond the conformance manifests: method matches as paths, the
// GRPCRoute precedence, invalid names refused with the field named, listener kinds, and an
// HTTPRoute and a GRPCRoute that would share a hostname on one listener.
import { describe, expect, it } from 'vitest';
import {
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  matchRoute,
  type GatewayClusterState,
  type GRPCRoute,
  type HTTPRoute,
  type Listener,
} from '../../src/gateway/index.js';

const NOW = Date.UTC(2026, 0, 1);

function grpcRoute(name: string, spec: GRPCRoute['spec'], ageSeconds = 0): GRPCRoute {
  return {
    metadata: {
      namespace: 'default',
      name,
      generation: 1,
      creationTimestamp: new Date(NOW - ageSeconds * 1000).toISOString(),
    },
    spec: { parentRefs: [{ name: 'gw' }], ...spec },
  };
}

function state(
  grpcRoutes: GRPCRoute[],
  httpRoutes: HTTPRoute[] = [],
  listeners: Listener[] = [{ name: 'http', port: 80, protocol: 'HTTP' }],
): GatewayClusterState {
  return {
    gatewayClasses: [{ metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } }],
    gateways: [
      {
        metadata: { namespace: 'default', name: 'gw', generation: 1 },
        spec: { gatewayClassName: 'portico', listeners },
      },
    ],
    httpRoutes,
    grpcRoutes,
    referenceGrants: [],
    namespaces: [],
    services: ['a', 'b', 'c', 'd'].map((name) => ({
      metadata: { namespace: 'default', name },
      spec: { ports: [{ port: 50051 }] },
    })),
    endpointSlices: [],
    secrets: [],
  };
}

const to = (name: string) => [{ name, port: 50051 }];

/** The Service that takes a call (`/service/method`, headers), or undefined (404: UNIMPLEMENTED). */
function route(
  s: GatewayClusterState,
  path: string,
  headers: Record<string, string> = {},
  host = 'x.example',
) {
  const compiled = compileGateways(s, { addresses: ['192.0.2.1'] });
  const entry = matchRoute(compiled.listeners[0]!, { host, path, method: 'POST', headers, query: '' });
  return entry?.rule.backends[0]?.backend?.split(':')[0];
}

describe('GRPCRoute model', () => {
  it('service+method Exact, service only, method only, RegularExpression, and no match', () => {
    const s = state([
      grpcRoute('r', {
        rules: [
          { matches: [{ method: { service: 'pkg.Svc', method: 'Get' } }], backendRefs: to('a') },
          { matches: [{ method: { service: 'pkg.Svc' } }], backendRefs: to('b') },
          { matches: [{ method: { method: 'Ping' } }], backendRefs: to('c') },
          {
            matches: [{ method: { type: 'RegularExpression', service: 'other\\..*', method: 'L.*' } }],
            backendRefs: to('d'),
          },
        ],
      }),
    ]);
    expect(route(s, '/pkg.Svc/Get')).toBe('default/a');
    expect(route(s, '/pkg.Svc/Put')).toBe('default/b');
    // Service characters rank before method characters: the service-only rule wins over method-only.
    expect(route(s, '/pkg.Svc/Ping')).toBe('default/b');
    expect(route(s, '/x.Y/Ping')).toBe('default/c');
    expect(route(s, '/other.Thing/List')).toBe('default/d');
    expect(route(s, '/pkg.Svc.v2/Get')).toBeUndefined(); // a service is not a prefix of another
    expect(route(s, '/other.Thing/Get')).toBeUndefined();
  });

  it('precedence: more service characters, then more method characters, then more headers, then the older route', () => {
    const s = state([
      grpcRoute(
        'young',
        { rules: [{ matches: [{ method: { service: 'a.B', method: 'M' } }], backendRefs: to('a') }] },
        0,
      ),
      grpcRoute(
        'old',
        {
          rules: [
            { matches: [{ method: { service: 'a.B', method: 'M' } }], backendRefs: to('b') },
            {
              matches: [{ method: { service: 'a.B', method: 'M' }, headers: [{ name: 'v', value: '2' }] }],
              backendRefs: to('c'),
            },
          ],
        },
        60,
      ),
    ]);
    expect(route(s, '/a.B/M', { v: '2' })).toBe('default/c');
    expect(route(s, '/a.B/M')).toBe('default/b');
  });

  it('an invalid service name or regular expression: Accepted False/UnsupportedValue naming the field', () => {
    const c = compileGateways(
      state([
        grpcRoute('bad', {
          rules: [
            { matches: [{ method: { service: 'not a service', method: 'Get' } }], backendRefs: to('a') },
            { matches: [{ method: { type: 'RegularExpression', method: '(' } }], backendRefs: to('a') },
          ],
        }),
      ]),
      { addresses: ['192.0.2.1'] },
    );
    const accepted = c.grpcRoutes[0]!.status.parents[0]!.conditions[0]!;
    expect(accepted).toMatchObject({ status: 'False', reason: 'UnsupportedValue' });
    expect(accepted.message).toContain(
      'spec.rules[0].matches[0].method.service: "not a service" is not a gRPC service name',
    );
    expect(accepted.message).toContain(
      'spec.rules[1].matches[0].method.method: "(" is not a valid regular expression',
    );
    expect(c.listeners[0]!.routes).toHaveLength(0);
  });

  it('a listener that allows only HTTPRoutes: NotAllowedByListeners; supportedKinds lists what it allows', () => {
    const c = compileGateways(
      state(
        [grpcRoute('r', { rules: [{ backendRefs: to('a') }] })],
        [],
        [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }] } }],
      ),
      { addresses: ['192.0.2.1'] },
    );
    expect(c.grpcRoutes[0]!.status.parents[0]!.conditions[0]).toMatchObject({
      status: 'False',
      reason: 'NotAllowedByListeners',
    });
    expect(c.gateways[0]!.status.listeners![0]!.supportedKinds).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' },
    ]);
  });

  it('an HTTPRoute and a GRPCRoute sharing a hostname on a listener: the older is accepted, the younger is not', () => {
    const http: HTTPRoute = {
      metadata: {
        namespace: 'default',
        name: 'web',
        generation: 1,
        creationTimestamp: new Date(NOW - 60_000).toISOString(),
      },
      spec: { parentRefs: [{ name: 'gw' }], hostnames: ['*.example'], rules: [{ backendRefs: to('a') }] },
    };
    const clash = grpcRoute('rpc', { hostnames: ['x.example'], rules: [{ backendRefs: to('b') }] });
    const apart = grpcRoute('rpc2', { hostnames: ['grpc.other'], rules: [{ backendRefs: to('c') }] });
    const s = state([clash, apart], [http]);
    const c = compileGateways(s, { addresses: ['192.0.2.1'] });
    expect(c.httpRoutes[0]!.status.parents[0]!.conditions[0]!.status).toBe('True');
    const byName = new Map(c.grpcRoutes.map((r) => [r.name, r.status.parents[0]!.conditions[0]!]));
    expect(byName.get('rpc')).toMatchObject({ status: 'False', reason: 'HostnameConflict' });
    expect(byName.get('rpc')!.message).toContain('"default/web"');
    expect(byName.get('rpc2')).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(c.gateways[0]!.status.listeners![0]!.attachedRoutes).toBe(2);
    expect(route(s, '/p.S/M', {}, 'x.example')).toBe('default/a');
    expect(route(s, '/p.S/M', {}, 'grpc.other')).toBe('default/c');
  });

  it('GRPCRoute backends are spoken to over h2c whatever their appProtocol', () => {
    const c = compileGateways(state([grpcRoute('r', { rules: [{ backendRefs: to('a') }] })]), {
      addresses: ['192.0.2.1'],
    });
    expect([...c.backendProtocols]).toEqual([['default/a:50051', 'h2c']]);
  });
});
