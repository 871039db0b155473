// The upstream Gateway conformance tests that check statuses only, on the compiled model:
// GATEWAY-HTTP core (the listener's certificate references and their ReferenceGrants, invalid TLS
// configuration, listeners added and removed, the observedGeneration of GatewayClass, Gateway and
// HTTPRoute after the test's patch), extended GatewayPort8080, and the provisional
// GatewayInfrastructure and GatewayOptionalAddressValue on the Gateway's Service and addresses.
// Each test's manifests with the suite's base manifests and the certificate Secrets the suite
// creates; the listener statuses its Go file expects (the `[]v1.ListenerStatus` literals), compared
// as the suite's GatewayStatusMustHaveListeners compares them, with every Gateway condition at the
// Gateway's generation (GatewayMustHaveLatestConditions).
import { describe, expect, it } from 'vitest';
import type { Gateway, GatewayClusterState } from '../../src/gateway/index.js';
import {
  compileGateways,
  desiredGatewayService,
  gatewayAddressing,
  withAddressing,
  type GatewayCompiled,
} from '../../src/gateway/index.js';
import { conformanceState, listenerExpectations, listenerMismatch, suiteSecrets } from './conformance-kit.js';
import { answer } from './serve-model.js';

const INFRA = 'gateway-conformance-infra';
const TIMEOUT = { timeout: 120_000 };
const { secrets } = suiteSecrets();

async function stateOf(file: string): Promise<GatewayClusterState> {
  const state = await conformanceState(file);
  return { ...state, secrets: [...state.secrets, ...secrets] };
}

const compile = (state: GatewayClusterState): GatewayCompiled =>
  compileGateways(state, { addresses: ['192.0.2.10'] });

function gatewayOf(c: GatewayCompiled, gateway: string) {
  const found = c.gateways.find((g) => `${g.namespace}/${g.name}` === gateway);
  expect(found, `status of ${gateway}`).toBeDefined();
  return found!;
}

/** The suite's ConditionsHaveLatestObservedGeneration for the Gateway's own conditions. */
function staleConditions(c: GatewayCompiled, gateway: string, generation: number): string[] {
  return (gatewayOf(c, gateway).status.conditions ?? [])
    .filter((k) => k.observedGeneration !== generation)
    .map((k) => `${k.type} at ${k.observedGeneration}, expected ${generation}`);
}

/** Tests with one listener list in their Go file, expected of every Gateway the test names. */
const listenerTests: [test: string, file: string][] = [
  ['GatewaySecretInvalidReferenceGrant', 'gateway-secret-invalid-reference-grant'],
  ['GatewaySecretMissingReferenceGrant', 'gateway-secret-missing-reference-grant'],
  ['GatewaySecretReferenceGrantAllInNamespace', 'gateway-secret-reference-grant-all-in-namespace'],
  ['GatewaySecretReferenceGrantSpecific', 'gateway-secret-reference-grant-specific'],
  ['GatewayInvalidTLSConfiguration', 'gateway-invalid-tls-configuration'],
  ['GatewayWithAttachedRoutesWithPort8080', 'gateway-with-attached-routes'],
];

describe('conformance: Gateway listener statuses as the upstream tests expect', () => {
  for (const [test, file] of listenerTests)
    it(test, TIMEOUT, async () => {
      const manifests = test === 'GatewayWithAttachedRoutesWithPort8080' ? `${file}-with-port-8080` : file;
      const c = compile(await stateOf(manifests));
      const { lists, gateways } = await listenerExpectations(file, test);
      expect(lists, `listener lists in ${file}.go`).toHaveLength(1);
      expect(gateways.length, `Gateways named in ${file}.go`).toBeGreaterThan(0);
      for (const gateway of gateways) {
        expect(listenerMismatch(lists[0]!, gatewayOf(c, gateway).status.listeners ?? []), gateway).toBe(
          undefined,
        );
        expect(staleConditions(c, gateway, 1)).toEqual([]);
      }
    });

  it(
    'GatewayModifyListeners: a listener added is served and counted; a listener removed is gone',
    TIMEOUT,
    async () => {
      const state = await stateOf('gateway-modify-listeners');
      const { lists, gateways } = await listenerExpectations(
        'gateway-modify-listeners',
        'GatewayModifyListeners',
      );
      expect(lists).toHaveLength(2);
      expect(gateways).toEqual([`${INFRA}/gateway-add-listener`, `${INFRA}/gateway-remove-listener`]);
      const [add, remove] = gateways as [string, string];
      // Before: the Gateways as applied.
      const before = compile(state);
      expect(gatewayOf(before, add).status.listeners!.map((l) => l.name)).toEqual(['https']);
      expect(gatewayOf(before, remove).status.listeners!.map((l) => l.name)).toEqual(['https', 'http']);
      // The test's patches, each bumping the Gateway's generation as the API server does.
      const patch = (g: Gateway): Gateway => {
        const name = `${g.metadata?.namespace}/${g.metadata?.name}`;
        if (name === add)
          return {
            ...g,
            metadata: { ...g.metadata, generation: 2 },
            spec: {
              ...g.spec,
              listeners: [
                ...(g.spec?.listeners ?? []),
                {
                  name: 'http',
                  port: 80,
                  protocol: 'HTTP',
                  hostname: 'data.test.com',
                  allowedRoutes: { namespaces: { from: 'All' } },
                },
              ],
            },
          };
        if (name === remove)
          return {
            ...g,
            metadata: { ...g.metadata, generation: 2 },
            spec: { ...g.spec, listeners: (g.spec?.listeners ?? []).filter((l) => l.name === 'http') },
          };
        return g;
      };
      const after = compile({ ...state, gateways: state.gateways.map(patch) });
      expect(listenerMismatch(lists[0]!, gatewayOf(after, add).status.listeners ?? [])).toBe(undefined);
      expect(listenerMismatch(lists[1]!, gatewayOf(after, remove).status.listeners ?? [])).toBe(undefined);
      for (const gateway of gateways) expect(staleConditions(after, gateway, 2)).toEqual([]);
      // "A listener that then becomes available for routing traffic": the new HTTP listener
      // serves the route; the removed HTTPS listener's port no longer serves this Gateway.
      const request = { host: 'data.test.com', path: '/', headers: {} };
      expect(answer(before, add, 80, request)).toEqual({ status: 404 });
      expect(answer(after, add, 80, request)).toEqual({ backend: `${INFRA}/infra-backend-v1` });
      expect(answer(after, remove, 80, { path: '/', headers: {} })).toEqual({
        backend: `${INFRA}/infra-backend-v1`,
      });
      expect(after.listeners.filter((l) => l.gateway === remove).map((l) => l.port)).toEqual([80]);
    },
  );

  it(
    'GatewayClassObservedGenerationBump: Accepted at the new generation after a spec change',
    TIMEOUT,
    async () => {
      const state = await stateOf('gatewayclass-observed-generation-bump');
      const name = 'gatewayclass-observed-generation-bump';
      const accepted = (c: GatewayCompiled) =>
        c.gatewayClasses
          .find((g) => g.name === name)
          ?.status.conditions.map((k) => [k.type, k.status, k.observedGeneration]);
      expect(accepted(compile(state))).toEqual([['Accepted', 'True', 1]]);
      const bumped = compile({
        ...state,
        gatewayClasses: state.gatewayClasses.map((g) =>
          g.metadata?.name === name
            ? { ...g, metadata: { ...g.metadata, generation: 2 }, spec: { ...g.spec, description: 'new' } }
            : g,
        ),
      });
      expect(accepted(bumped)).toEqual([['Accepted', 'True', 2]]);
    },
  );

  it(
    'GatewayInfrastructure: the Gateway accepted; its Service carries the infrastructure labels and annotations',
    TIMEOUT,
    async () => {
      const state = await stateOf('gateway-infrastructure');
      const name = 'gateway-with-infrastructure-metadata';
      const gateway = state.gateways.find((g) => g.metadata?.name === name)!;
      const c = compile(state);
      expect(
        gatewayOf(c, `${INFRA}/${name}`).status.conditions?.find((k) => k.type === 'Accepted')?.status,
      ).toBe('True');
      expect(staleConditions(c, `${INFRA}/${name}`, 1)).toEqual([]);
      // The resource the suite lists by the gateway-name label in the Gateway's namespace.
      const service = desiredGatewayService(gateway)!;
      expect(service.metadata?.namespace).toBe(INFRA);
      expect(service.metadata?.labels?.['gateway.networking.k8s.io/gateway-name']).toBe(name);
      expect(service.metadata?.labels).toMatchObject(gateway.spec!.infrastructure!.labels!);
      expect(service.metadata?.annotations).toMatchObject(gateway.spec!.infrastructure!.annotations!);
      expect(Object.keys(gateway.spec!.infrastructure!.labels!).length).toBeGreaterThan(0);
    },
  );

  it(
    'GatewayOptionalAddressValue: an IPAddress without a value gets an address from the pools',
    TIMEOUT,
    async () => {
      const state = await stateOf('gateway-optional-address-value');
      const name = 'gateway-without-address-value';
      const gateway = state.gateways.find((g) => g.metadata?.name === name)!;
      expect(gateway.spec?.addresses).toEqual([{ type: 'IPAddress' }]);
      // Its Service asks the controller for no particular IP...
      const service = desiredGatewayService(gateway)!;
      expect(service.metadata?.annotations?.['metallb.io/loadBalancerIPs']).toBeUndefined();
      // ...and the address the controller gives it is the Gateway's (--gateway-services, no static address).
      const compiled = compileGateways(state);
      const status = gatewayOf(compiled, `${INFRA}/${name}`).status;
      const addressed = withAddressing(
        status,
        1,
        gatewayAddressing(gateway, {
          staticAddresses: [],
          withService: true,
          service: { ...service, status: { loadBalancer: { ingress: [{ ip: '192.0.2.7' }] } } },
        }),
      );
      expect(addressed.addresses).toEqual([{ type: 'IPAddress', value: '192.0.2.7' }]);
      expect(addressed.conditions?.map((k) => [k.type, k.status, k.observedGeneration])).toEqual([
        ['Accepted', 'True', 1],
        ['Programmed', 'True', 1],
      ]);
    },
  );

  it(
    'HTTPRouteObservedGenerationBump: the backendRef changed, Accepted and ResolvedRefs at the new generation',
    TIMEOUT,
    async () => {
      const state = await stateOf('httproute-observed-generation-bump');
      const route = `${INFRA}/observed-generation-bump`;
      const conditions = (c: GatewayCompiled) =>
        c.httpRoutes
          .find((r) => `${r.namespace}/${r.name}` === route)
          ?.status.parents.find((p) => p.parentRef.name === 'same-namespace')
          ?.conditions.map((k) => [k.type, k.status, k.observedGeneration]);
      expect(conditions(compile(state))).toEqual([
        ['Accepted', 'True', 1],
        ['ResolvedRefs', 'True', 1],
      ]);
      // The test's patch: the first backendRef now names infra-backend-v2.
      const patched = compile({
        ...state,
        httpRoutes: state.httpRoutes.map((r) =>
          `${r.metadata?.namespace}/${r.metadata?.name}` === route
            ? {
                ...r,
                metadata: { ...r.metadata, generation: 2 },
                spec: {
                  ...r.spec,
                  rules: r.spec!.rules!.map((rule, i) =>
                    i === 0
                      ? {
                          ...rule,
                          backendRefs: rule.backendRefs!.map((b, j) =>
                            j === 0 ? { ...b, name: 'infra-backend-v2' } : b,
                          ),
                        }
                      : rule,
                  ),
                },
              }
            : r,
        ),
      });
      expect(conditions(patched)).toEqual([
        ['Accepted', 'True', 2],
        ['ResolvedRefs', 'True', 2],
      ]);
      expect(answer(patched, `${INFRA}/same-namespace`, 80, { path: '/', headers: {} })).toEqual({
        backend: `${INFRA}/infra-backend-v2`,
      });
    },
  );

  it(
    'GatewayObservedGenerationBump: a listener added; every Gateway condition at the new generation',
    TIMEOUT,
    async () => {
      const state = await stateOf('gateway-observed-generation-bump');
      const gateway = `${INFRA}/gateway-observed-generation-bump`;
      expect(staleConditions(compile(state), gateway, 1)).toEqual([]);
      // The test's patch: a listener "alternate" for foo.com on port 80.
      const bumped = compile({
        ...state,
        gateways: state.gateways.map((g) =>
          `${g.metadata?.namespace}/${g.metadata?.name}` === gateway
            ? {
                ...g,
                metadata: { ...g.metadata, generation: 2 },
                spec: {
                  ...g.spec!,
                  listeners: [
                    ...(g.spec?.listeners ?? []),
                    {
                      name: 'alternate',
                      hostname: 'foo.com',
                      port: 80,
                      protocol: 'HTTP',
                      allowedRoutes: { namespaces: { from: 'All' } },
                    },
                  ],
                },
              }
            : g,
        ),
      });
      expect(staleConditions(bumped, gateway, 2)).toEqual([]);
      expect(gatewayOf(bumped, gateway).status.conditions?.map((k) => [k.type, k.status])).toEqual([
        ['Accepted', 'True'],
        ['Programmed', 'True'],
      ]);
      expect(gatewayOf(bumped, gateway).status.listeners?.map((l) => l.name)).toEqual(['http', 'alternate']);
    },
  );

  it(
    'a Gateway none of whose listeners can be served is Programmed False/Invalid, also when its address is added after the compile',
    TIMEOUT,
    async () => {
      const state = await stateOf('gateway-invalid-tls-configuration');
      const name = `${INFRA}/gateway-certificate-nonexistent-secret`;
      const gateway = state.gateways.find((g) => `${g.metadata?.namespace}/${g.metadata?.name}` === name)!;
      const programmed = (status: GatewayCompiled['gateways'][number]['status']) =>
        status.conditions?.find((k) => k.type === 'Programmed');
      expect(programmed(gatewayOf(compile(state), name).status)).toMatchObject({
        status: 'False',
        reason: 'Invalid',
      });
      // The controller compiles without addresses and adds them after (controller.ts withAddresses).
      const bare = gatewayOf(compileGateways(state), name).status;
      expect(programmed(bare)).toMatchObject({ status: 'False', reason: 'Invalid' });
      const addressed = withAddressing(
        bare,
        1,
        gatewayAddressing(gateway, { staticAddresses: ['192.0.2.10'], withService: false }),
      );
      expect(programmed(addressed)).toMatchObject({ status: 'False', reason: 'Invalid' });
    },
  );
});
