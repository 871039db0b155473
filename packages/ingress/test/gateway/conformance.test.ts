// The route model against the upstream conformance tests (GATEWAY-HTTP, core): their manifests and
// their expectations, read from the sigs.k8s.io/gateway-api/conformance Go module. What the suite
// checks by sending HTTP through a Gateway, this checks on the compiled model (which listener, which
// route entry, which backend, or which status code); the statuses are checked as the suite checks
// them (condition type, status, reason; attachedRoutes; supportedKinds).
import { describe, expect, it } from 'vitest';
import { compileGateways, type GatewayCompiled } from '../../src/gateway/index.js';
import { conformanceState, expectedResponses } from './conformance-kit.js';
import { answer } from './serve-model.js';

const INFRA = 'gateway-conformance-infra';
const WEB = 'gateway-conformance-web-backend';
const TIMEOUT = { timeout: 120_000 };

async function compileTest(file: string): Promise<GatewayCompiled> {
  return compileGateways(await conformanceState(file), { addresses: ['192.0.2.10'] });
}

function routeCondition(c: GatewayCompiled, route: string, gateway: string, type: string) {
  const [ns, name] = route.split('/');
  const r = c.httpRoutes.find((x) => x.namespace === ns && x.name === name);
  const [gns, gname] = gateway.split('/');
  const parent = r?.status.parents.find(
    (p) => p.parentRef.name === gname && (p.parentRef.namespace ?? ns) === gns,
  );
  const cond = parent?.conditions.find((k) => k.type === type);
  return cond && { status: cond.status, reason: cond.reason };
}

function gatewayStatus(c: GatewayCompiled, gateway: string) {
  const [ns, name] = gateway.split('/');
  return c.gateways.find((g) => g.namespace === ns && g.name === name)?.status;
}

/** Tests whose expectations are requests and the backend (or status) that must answer them. */
const routingTests: {
  test: string;
  file: string;
  gateway: string;
  routes: string[];
  before?: number;
  then?: { at: number; gateway: string };
}[] = [
  {
    test: 'HTTPRouteSimpleSameNamespace',
    file: 'httproute-simple-same-namespace',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/gateway-conformance-infra-test`],
  },
  {
    test: 'HTTPRouteMatching',
    file: 'httproute-matching',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/matching`],
  },
  {
    test: 'HTTPRouteExactPathMatching',
    file: 'httproute-exact-path-matching',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/exact-matching`],
  },
  {
    test: 'HTTPRouteHeaderMatching',
    file: 'httproute-header-matching',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/header-matching`],
  },
  {
    test: 'HTTPRouteQueryParamMatching',
    file: 'httproute-query-param-matching',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/query-param-matching`],
  },
  {
    test: 'HTTPRouteMethodMatching',
    file: 'httproute-method-matching',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/method-matching`],
  },
  {
    test: 'HTTPRouteMatchingAcrossRoutes',
    file: 'httproute-matching-across-routes',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/matching-part1`, `${INFRA}/matching-part2`],
  },
  {
    test: 'HTTPRoutePathMatchOrder',
    file: 'httproute-path-match-order',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/path-matching-order`],
  },
  {
    test: 'HTTPRouteHostnameIntersection',
    file: 'httproute-hostname-intersection',
    gateway: `${INFRA}/httproute-hostname-intersection`,
    routes: [
      `${INFRA}/specific-host-matches-listener-specific-host`,
      `${INFRA}/specific-host-matches-listener-wildcard-host`,
      `${INFRA}/wildcard-host-matches-listener-specific-host`,
      `${INFRA}/wildcard-host-matches-listener-wildcard-host`,
    ],
    // The last subtest sends its requests to a second Gateway whose listener has no hostname.
    then: { at: 27, gateway: `${INFRA}/httproute-hostname-intersection-all` },
  },
  {
    test: 'HTTPRouteListenerHostnameMatching',
    file: 'httproute-listener-hostname-matching',
    gateway: `${INFRA}/httproute-listener-hostname-matching`,
    routes: [`${INFRA}/backend-v1`, `${INFRA}/backend-v2`, `${INFRA}/backend-v3`],
  },
  {
    test: 'HTTPRouteCrossNamespace',
    file: 'httproute-cross-namespace',
    gateway: `${INFRA}/backend-namespaces`,
    routes: [`${WEB}/cross-namespace`],
  },
  {
    test: 'HTTPRouteReferenceGrant',
    file: 'httproute-reference-grant',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/reference-grant`],
    before: 1,
  },
  {
    test: 'HTTPRouteInvalidCrossNamespaceBackendRef',
    file: 'httproute-invalid-cross-namespace-backend-ref',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/invalid-cross-namespace-backend-ref`],
  },
  {
    test: 'HTTPRouteInvalidNonExistentBackendRef',
    file: 'httproute-invalid-nonexistent-backendref',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/invalid-nonexistent-backend-ref`],
  },
  {
    test: 'HTTPRouteInvalidBackendRefUnknownKind',
    file: 'httproute-invalid-backendref-unknown-kind',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/invalid-backend-ref-unknown-kind`],
  },
  {
    test: 'HTTPRoutePartiallyInvalidViaInvalidReferenceGrant',
    file: 'httproute-partially-invalid-via-invalid-reference-grant',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/invalid-reference-grant`],
  },
  {
    test: 'HTTPRouteInvalidReferenceGrant',
    file: 'httproute-invalid-reference-grant',
    gateway: `${INFRA}/same-namespace`,
    routes: [`${INFRA}/reference-grant`],
  },
];

describe('conformance: requests routed as the upstream tests expect', () => {
  for (const t of routingTests)
    it(t.test, TIMEOUT, async () => {
      const compiled = await compileTest(t.file);
      for (const route of t.routes)
        expect(routeCondition(compiled, route, t.gateway, 'Accepted'), `${route} Accepted`).toEqual({
          status: 'True',
          reason: 'Accepted',
        });
      // `before`: the expectations the test checks before it changes the cluster (checked below).
      const cases = (await expectedResponses(t.file, INFRA)).slice(0, t.before);
      expect(cases.length, `expectations read from ${t.file}.go`).toBeGreaterThan(0);
      expect(t.then === undefined || cases.length > t.then.at).toBe(true);
      for (const [i, c] of cases.entries()) {
        const gateway = t.then && i >= t.then.at ? t.then.gateway : t.gateway;
        const got = answer(compiled, gateway, 80, c);
        // As the suite's http.go: the backend is checked only for a 200.
        const want =
          c.backend && (c.statusCode ?? 200) === 200
            ? { backend: c.backend }
            : { status: c.statusCode ?? 200 };
        expect(got, `${c.method ?? 'GET'} ${c.host ?? ''}${c.path} ${JSON.stringify(c.headers)}`).toEqual(
          want,
        );
      }
    });
});

it(
  'HTTPRouteReferenceGrant: after the ReferenceGrant is deleted, the route gets 500 and RefNotPermitted',
  TIMEOUT,
  async () => {
    const state = await conformanceState('httproute-reference-grant');
    const cases = await expectedResponses('httproute-reference-grant', INFRA);
    expect(cases.map((c) => c.statusCode)).toEqual([200, 500]);
    const without = compileGateways(
      {
        ...state,
        referenceGrants: state.referenceGrants.filter((g) => g.metadata?.name !== 'reference-grant'),
      },
      { addresses: ['192.0.2.10'] },
    );
    expect(answer(without, `${INFRA}/same-namespace`, 80, cases[1]!)).toEqual({ status: 500 });
    expect(
      routeCondition(without, `${INFRA}/reference-grant`, `${INFRA}/same-namespace`, 'ResolvedRefs'),
    ).toEqual({
      status: 'False',
      reason: 'RefNotPermitted',
    });
  },
);

describe('conformance: statuses as the upstream tests expect', () => {
  const resolvedRefs: [string, string, string, string][] = [
    [
      'HTTPRouteInvalidCrossNamespaceBackendRef',
      'httproute-invalid-cross-namespace-backend-ref',
      `${INFRA}/invalid-cross-namespace-backend-ref`,
      'RefNotPermitted',
    ],
    [
      'HTTPRouteInvalidNonExistentBackendRef',
      'httproute-invalid-nonexistent-backendref',
      `${INFRA}/invalid-nonexistent-backend-ref`,
      'BackendNotFound',
    ],
    [
      'HTTPRouteInvalidBackendRefUnknownKind',
      'httproute-invalid-backendref-unknown-kind',
      `${INFRA}/invalid-backend-ref-unknown-kind`,
      'InvalidKind',
    ],
    [
      'HTTPRoutePartiallyInvalidViaInvalidReferenceGrant',
      'httproute-partially-invalid-via-invalid-reference-grant',
      `${INFRA}/invalid-reference-grant`,
      'RefNotPermitted',
    ],
    // Seven ReferenceGrants, each wrong in one field: none permits the reference.
    [
      'HTTPRouteInvalidReferenceGrant',
      'httproute-invalid-reference-grant',
      `${INFRA}/reference-grant`,
      'RefNotPermitted',
    ],
  ];
  for (const [test, file, route, reason] of resolvedRefs)
    it(`${test}: ResolvedRefs False/${reason}, still Accepted`, TIMEOUT, async () => {
      const c = await compileTest(file);
      expect(routeCondition(c, route, `${INFRA}/same-namespace`, 'ResolvedRefs')).toEqual({
        status: 'False',
        reason,
      });
      expect(routeCondition(c, route, `${INFRA}/same-namespace`, 'Accepted')).toEqual({
        status: 'True',
        reason: 'Accepted',
      });
    });

  const notAccepted: [string, string, string, string, string][] = [
    [
      'HTTPRouteInvalidCrossNamespaceParentRef',
      'httproute-invalid-cross-namespace-parent-ref',
      `${WEB}/invalid-cross-namespace-parent-ref`,
      `${INFRA}/same-namespace`,
      'NotAllowedByListeners',
    ],
    [
      'HTTPRouteInvalidParentRefNotMatchingSectionName',
      'httproute-invalid-parentref-not-matching-section-name',
      `${INFRA}/httproute-listener-not-matching-section-name`,
      `${INFRA}/same-namespace`,
      'NoMatchingParent',
    ],
    [
      'HTTPRouteInvalidParentRefNotMatchingListenerPort',
      'httproute-invalid-parentref-not-matching-listener-port',
      `${INFRA}/httproute-listener-not-matching-route-port`,
      `${INFRA}/same-namespace`,
      'NoMatchingParent',
    ],
    [
      'HTTPRouteInvalidParentRefSectionNameNotMatchingPort',
      'httproute-invalid-parentref-section-name-not-matching-port',
      `${INFRA}/httproute-listener-section-name-not-matching-port`,
      `${INFRA}/gateway-with-one-not-matching-port-and-section-name-route`,
      'NoMatchingParent',
    ],
    [
      'HTTPRouteDisallowedKind',
      'httproute-disallowed-kind',
      `${INFRA}/disallowed-kind`,
      `${INFRA}/tlsroutes-only`,
      'NotAllowedByListeners',
    ],
    [
      'HTTPRouteHostnameIntersection (no intersecting hosts)',
      'httproute-hostname-intersection',
      `${INFRA}/no-intersecting-hosts`,
      `${INFRA}/httproute-hostname-intersection`,
      'NoMatchingListenerHostname',
    ],
  ];
  for (const [test, file, route, gateway, reason] of notAccepted)
    it(`${test}: Accepted False/${reason}, not served`, TIMEOUT, async () => {
      const c = await compileTest(file);
      expect(routeCondition(c, route, gateway, 'Accepted')).toEqual({ status: 'False', reason });
      for (const l of c.listeners) expect(l.routes.map((e) => e.route)).not.toContain(route);
      // The suite's GatewayMustHaveZeroRoutes, where the Gateway is the test's own.
      if (gateway !== `${INFRA}/httproute-hostname-intersection`)
        for (const l of gatewayStatus(c, gateway)?.listeners ?? [])
          expect(l.attachedRoutes, `${gateway} listener ${l.name}`).toBe(0);
    });

  it(
    'GatewayInvalidRouteKind: ResolvedRefs False/InvalidRouteKinds, supportedKinds only the valid kinds',
    TIMEOUT,
    async () => {
      const c = await compileTest('gateway-invalid-route-kind');
      const only = gatewayStatus(c, `${INFRA}/gateway-only-invalid-route-kind`)!.listeners![0]!;
      expect(only.supportedKinds).toEqual([]);
      expect(only.attachedRoutes).toBe(0);
      expect(only.conditions.find((k) => k.type === 'ResolvedRefs')).toMatchObject({
        status: 'False',
        reason: 'InvalidRouteKinds',
      });
      const mixed = gatewayStatus(c, `${INFRA}/gateway-supported-and-invalid-route-kind`)!.listeners![0]!;
      expect(mixed.supportedKinds).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]);
      expect(mixed.conditions.find((k) => k.type === 'ResolvedRefs')).toMatchObject({
        status: 'False',
        reason: 'InvalidRouteKinds',
      });
    },
  );

  it(
    'GatewayWithAttachedRoutes: attachedRoutes counts the routes attached to each listener',
    TIMEOUT,
    async () => {
      const c = await compileTest('gateway-with-attached-routes');
      const counts = Object.fromEntries(
        c.gateways
          .filter((g) => g.namespace === INFRA)
          .map((g) => [g.name, g.status.listeners!.map((l) => l.attachedRoutes)]),
      );
      expect(counts['gateway-with-one-attached-route']).toEqual([1]);
      expect(counts['gateway-with-two-attached-routes']).toEqual([2]);
      expect(
        routeCondition(
          c,
          `${INFRA}/http-route-not-accepted`,
          `${INFRA}/gateway-with-two-attached-routes`,
          'Accepted',
        ),
      ).toEqual({ status: 'False', reason: 'NoMatchingListenerHostname' });
      // A listener whose certificate is missing still counts its attached routes, and is not programmed.
      const unresolved = gatewayStatus(c, `${INFRA}/unresolved-gateway-with-one-attached-unresolved-route`)!
        .listeners![0]!;
      expect(unresolved.attachedRoutes).toBe(1);
      expect(
        unresolved.conditions
          .filter((k) => k.type === 'Programmed' || k.type === 'ResolvedRefs')
          .map((k) => k.status),
      ).toEqual(['False', 'False']);
      expect(
        routeCondition(
          c,
          `${INFRA}/http-route-4`,
          `${INFRA}/unresolved-gateway-with-one-attached-unresolved-route`,
          'ResolvedRefs',
        )?.status,
      ).toBe('False');
    },
  );

  it(
    'GatewayClass Accepted, Gateway Accepted/Programmed with its address, observedGeneration kept',
    TIMEOUT,
    async () => {
      const c = await compileTest('httproute-simple-same-namespace');
      expect(c.gatewayClasses.find((g) => g.name === 'portico')!.status.conditions).toMatchObject([
        { type: 'Accepted', status: 'True', reason: 'Accepted', observedGeneration: 1 },
      ]);
      const gw = gatewayStatus(c, `${INFRA}/same-namespace`)!;
      expect(gw.addresses).toEqual([{ type: 'IPAddress', value: '192.0.2.10' }]);
      expect(gw.conditions!.map((k) => [k.type, k.status, k.reason, k.observedGeneration])).toEqual([
        ['Accepted', 'True', 'Accepted', 1],
        ['Programmed', 'True', 'Programmed', 1],
      ]);
      expect(gw.listeners![0]!.conditions.map((k) => [k.type, k.status, k.reason])).toEqual([
        ['Accepted', 'True', 'Accepted'],
        ['Programmed', 'True', 'Programmed'],
        ['ResolvedRefs', 'True', 'ResolvedRefs'],
        ['Conflicted', 'False', 'NoConflicts'],
      ]);
      // Without an address the Gateway is accepted but not programmed.
      const none = compileGateways(await conformanceState('httproute-simple-same-namespace'));
      expect(gatewayStatus(none, `${INFRA}/same-namespace`)!.conditions![1]).toMatchObject({
        status: 'False',
        reason: 'AddressNotAssigned',
      });
    },
  );
});
