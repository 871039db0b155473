// Route model cases the conformance manifests do not cover: listener conflicts, HTTPS
// certificates (valid, missing, cross-namespace without a ReferenceGrant), a route attached twice
// to one listener, unsupported filters, and the Gateway API's wildcard hostnames.
import { describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import { selfSignedPair } from '../../src/index.js';
import {
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  hostMatches,
  intersectHostnames,
  type Gateway,
  type GatewayClusterState,
  type HTTPRoute,
  type Listener,
} from '../../src/gateway/index.js';

function state(
  listeners: Listener[],
  routes: HTTPRoute[] = [],
  extra: Partial<GatewayClusterState> = {},
): GatewayClusterState {
  const gateway: Gateway = {
    metadata: { namespace: 'default', name: 'gw', generation: 3 },
    spec: { gatewayClassName: 'portico', listeners },
  };
  return {
    gatewayClasses: [{ metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } }],
    gateways: [gateway],
    httpRoutes: routes,
    referenceGrants: [],
    namespaces: [],
    services: [{ metadata: { namespace: 'default', name: 'svc' }, spec: { ports: [{ port: 80 }] } }],
    endpointSlices: [],
    secrets: [],
    ...extra,
  };
}

const listenerConditions = (s: GatewayClusterState, name: string) =>
  Object.fromEntries(
    compileGateways(s, { addresses: ['192.0.2.1'] })
      .gateways[0]!.status.listeners!.find((l) => l.name === name)!
      .conditions.map((c) => [c.type, `${c.status}/${c.reason}`]),
  );

function tlsSecret(namespace: string, name: string): V1Secret {
  const pair = selfSignedPair();
  return {
    metadata: { namespace, name, resourceVersion: '1' },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pair.cert).toString('base64'),
      'tls.key': Buffer.from(pair.key).toString('base64'),
    },
  };
}

describe('listeners', () => {
  it('one port with two protocols: every listener on it is Conflicted/ProtocolConflict and not served', () => {
    const s = state(
      [
        { name: 'a', port: 80, protocol: 'HTTP' },
        { name: 'b', port: 80, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
        { name: 'c', port: 8080, protocol: 'HTTP' },
      ],
      [],
      { secrets: [tlsSecret('default', 'cert')] },
    );
    expect(listenerConditions(s, 'a')).toMatchObject({
      Conflicted: 'True/ProtocolConflict',
      Programmed: 'False/Invalid',
    });
    expect(listenerConditions(s, 'b')).toMatchObject({ Conflicted: 'True/ProtocolConflict' });
    expect(listenerConditions(s, 'c')).toMatchObject({
      Conflicted: 'False/NoConflicts',
      Programmed: 'True/Programmed',
    });
    expect(compileGateways(s, { addresses: ['192.0.2.1'] }).listeners.map((l) => l.name)).toEqual(['c']);
  });

  it('one port, one protocol, the same hostname twice: HostnameConflict', () => {
    const s = state([
      { name: 'a', port: 80, protocol: 'HTTP', hostname: 'x.example.com' },
      { name: 'b', port: 80, protocol: 'HTTP', hostname: 'X.example.com' },
      { name: 'c', port: 80, protocol: 'HTTP', hostname: 'y.example.com' },
    ]);
    expect(listenerConditions(s, 'a')).toMatchObject({ Conflicted: 'True/HostnameConflict' });
    expect(listenerConditions(s, 'c')).toMatchObject({
      Conflicted: 'False/NoConflicts',
      Accepted: 'True/Accepted',
    });
  });

  it('HTTPS: a valid Secret is served; a missing one is InvalidCertificateRef; another namespace needs a ReferenceGrant', () => {
    const https = (name: string, ref: { name: string; namespace?: string }): Listener => ({
      name,
      port: 443,
      protocol: 'HTTPS',
      hostname: `${name}.example.com`,
      tls: { certificateRefs: [ref] },
    });
    const listeners = [
      https('ok', { name: 'cert' }),
      https('missing', { name: 'nope' }),
      https('other', { name: 'cert', namespace: 'certs' }),
    ];
    const secrets = [tlsSecret('default', 'cert'), tlsSecret('certs', 'cert')];
    const s = state(listeners, [], { secrets });
    expect(listenerConditions(s, 'ok')).toMatchObject({
      ResolvedRefs: 'True/ResolvedRefs',
      Programmed: 'True/Programmed',
    });
    expect(listenerConditions(s, 'missing')).toMatchObject({
      ResolvedRefs: 'False/InvalidCertificateRef',
      Programmed: 'False/Invalid',
    });
    expect(listenerConditions(s, 'other')).toMatchObject({ ResolvedRefs: 'False/RefNotPermitted' });
    const granted = state(listeners, [], {
      secrets,
      referenceGrants: [
        {
          metadata: { namespace: 'certs', name: 'gw' },
          spec: {
            from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default' }],
            to: [{ group: '', kind: 'Secret' }],
          },
        },
      ],
    });
    expect(listenerConditions(granted, 'other')).toMatchObject({
      ResolvedRefs: 'True/ResolvedRefs',
      Programmed: 'True/Programmed',
    });
    const served = compileGateways(granted, { addresses: ['192.0.2.1'] }).listeners;
    expect(served.find((l) => l.name === 'other')!.certificates.map((c) => c.id)).toEqual(['certs/cert@1']);
  });
});

describe('routes', () => {
  const route = (spec: HTTPRoute['spec']): HTTPRoute => ({
    metadata: { namespace: 'default', name: 'r', generation: 2 },
    spec,
  });

  it('attached to one listener through two parentRefs: counted and served once', () => {
    const s = state(
      [{ name: 'http', port: 80, protocol: 'HTTP' }],
      [
        route({
          parentRefs: [{ name: 'gw' }, { name: 'gw', sectionName: 'http' }],
          rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }],
        }),
      ],
    );
    const c = compileGateways(s, { addresses: ['192.0.2.1'] });
    expect(c.gateways[0]!.status.listeners![0]!.attachedRoutes).toBe(1);
    expect(c.listeners[0]!.routes).toHaveLength(1);
    expect(c.httpRoutes[0]!.status.parents).toHaveLength(2);
  });

  it('an unsupported filter: Accepted False/UnsupportedValue naming the field, observedGeneration kept, not served', () => {
    const s = state(
      [{ name: 'http', port: 80, protocol: 'HTTP' }],
      [
        route({
          parentRefs: [{ name: 'gw' }],
          rules: [{ filters: [{ type: 'CORS' }], backendRefs: [{ name: 'svc', port: 80 }] }],
        }),
      ],
    );
    const c = compileGateways(s, { addresses: ['192.0.2.1'] });
    expect(c.httpRoutes[0]!.status.parents[0]!.conditions[0]).toMatchObject({
      type: 'Accepted',
      status: 'False',
      reason: 'UnsupportedValue',
      message: 'spec.rules[0].filters[0].type: filter "CORS" is not supported',
      observedGeneration: 2,
    });
    expect(c.listeners[0]!.routes).toHaveLength(0);
  });

  it('timeouts: parsed to ms, 0s disables, a bad duration or backendRequest > request is UnsupportedValue', () => {
    const compile = (timeouts: { request?: string; backendRequest?: string }) =>
      compileGateways(
        state(
          [{ name: 'http', port: 80, protocol: 'HTTP' }],
          [
            route({
              parentRefs: [{ name: 'gw' }],
              rules: [{ timeouts, backendRefs: [{ name: 'svc', port: 80 }] }],
            }),
          ],
        ),
        { addresses: ['192.0.2.1'] },
      );
    expect(
      compile({ request: '1m30s', backendRequest: '500ms' }).listeners[0]!.routes[0]!.rule.timeouts,
    ).toEqual({
      request: 90_000,
      backendRequest: 500,
    });
    expect(compile({ request: '0s' }).listeners[0]!.routes[0]!.rule.timeouts).toEqual({});
    const bad = compile({ request: '10 seconds' });
    expect(bad.httpRoutes[0]!.status.parents[0]!.conditions[0]).toMatchObject({
      status: 'False',
      reason: 'UnsupportedValue',
      message:
        'spec.rules[0].timeouts.request: "10 seconds" is not a duration (e.g. "500ms", "10s", "1h30m")',
    });
    expect(bad.listeners[0]!.routes).toHaveLength(0);
    expect(
      compile({ request: '1s', backendRequest: '2s' }).httpRoutes[0]!.status.parents[0]!.conditions[0],
    ).toMatchObject({
      reason: 'UnsupportedValue',
      message: 'spec.rules[0].timeouts.backendRequest: "2s" is longer than request "1s"',
    });
    expect(compile({ request: '1s1s' }).httpRoutes[0]!.status.parents[0]!.conditions[0]!.message).toBe(
      'spec.rules[0].timeouts.request: "1s1s" repeats the unit "s"',
    );
  });

  it('RequestMirror: its backend resolved like a backendRef (BackendNotFound when missing), percent or fraction', () => {
    const mirror = (requestMirror: object) =>
      compileGateways(
        state(
          [{ name: 'http', port: 80, protocol: 'HTTP' }],
          [
            route({
              parentRefs: [{ name: 'gw' }],
              rules: [
                {
                  filters: [{ type: 'RequestMirror', requestMirror } as never],
                  backendRefs: [{ name: 'svc', port: 80 }],
                },
              ],
            }),
          ],
        ),
        { addresses: ['192.0.2.1'] },
      );
    const ok = mirror({ backendRef: { name: 'svc', port: 80 }, fraction: { numerator: 1, denominator: 4 } });
    expect(ok.listeners[0]!.routes[0]!.rule.filters).toEqual([
      { type: 'RequestMirror', backend: 'default/svc:80', percent: 25 },
    ]);
    const missing = mirror({ backendRef: { name: 'nope', port: 80 } });
    expect(missing.httpRoutes[0]!.status.parents[0]!.conditions[1]).toMatchObject({
      type: 'ResolvedRefs',
      status: 'False',
      reason: 'BackendNotFound',
    });
    // The main backend is still served; the mirror copies nothing.
    expect(missing.listeners[0]!.routes[0]!.rule.filters).toEqual([
      { type: 'RequestMirror', backend: null, percent: 100 },
    ]);
    expect(mirror({ backendRef: { name: 'svc', port: 80 }, percent: 120 }).listeners[0]!.routes).toHaveLength(
      0,
    );
  });

  it('an invalid regular expression: Accepted False/UnsupportedValue', () => {
    const s = state(
      [{ name: 'http', port: 80, protocol: 'HTTP' }],
      [
        route({
          parentRefs: [{ name: 'gw' }],
          rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(' } }] }],
        }),
      ],
    );
    const p = compileGateways(s, { addresses: ['192.0.2.1'] }).httpRoutes[0]!.status.parents[0]!;
    expect(p.conditions[0]).toMatchObject({ status: 'False', reason: 'UnsupportedValue' });
    expect(p.conditions[0]!.message).toMatch(
      /^spec\.rules\[0\]\.matches\[0\]\.path\.value: "\/\(" is not a valid regular expression/,
    );
  });
});

describe('hostnames (wildcards match one or more labels)', () => {
  it.each([
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['a.example.com', 'a.example.com', true],
    ['a.example.com', 'b.example.com', false],
  ])('%s matches %s: %s', (pattern, host, want) => expect(hostMatches(pattern, host)).toBe(want));

  it.each([
    [undefined, undefined, undefined],
    [undefined, ['A.example.com'], ['a.example.com']],
    ['*.example.com', undefined, ['*.example.com']],
    [
      '*.example.com',
      ['a.example.com', 'other.org', '*.b.example.com', '*.com'],
      ['a.example.com', '*.b.example.com', '*.example.com'],
    ],
    ['a.example.com', ['*.example.com', 'b.example.com'], ['a.example.com']],
    ['a.example.com', ['b.example.com'], []],
  ])('listener %s, route %j: %j', (listener, route, want) =>
    expect(intersectHostnames(listener, route)).toEqual(want),
  );
});
