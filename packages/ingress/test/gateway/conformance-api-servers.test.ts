// The status-only upstream conformance tests on both API servers (development and kube-apiserver
// with the upstream CRDs from the Go module), as the suite runs them: the base manifests and the
// tests' own applied (what a cluster without pods can hold: no Deployments), the certificate
// Secrets the suite creates, a GatewayController serving our class on 127.14.1.5 as leader; then
// the statuses it writes are read back from the API server and compared with what each test's Go
// file expects: the listener statuses (`[]v1.ListenerStatus` literals, as
// GatewayStatusMustHaveListeners compares them, every Gateway condition at the Gateway's
// generation) and the route conditions (the `metav1.Condition` of HTTPRouteMustHaveCondition, for
// the test's route and Gateway). GatewayModifyListeners makes its patches through the API server.
// Then every supported GATEWAY-HTTP test's manifests, one test at a time: the statuses written for
// its routes, Gateways and GatewayClasses must be the model's (which the conformance*.test.ts files
// check against the suite's expectations), CRD defaults, validation and watches included.
// As the suite: the base manifests once, each test's own for the test and deleted after it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, isNotFound, kubeconfigCredentials } from '@portico/kube';
import { profileTests } from './conformance-profile.js';
import {
  API_SERVERS,
  installGatewayApiCrds,
  startTestApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import {
  compileGateways,
  GatewayController,
  GATEWAY_CONTROLLER_NAME,
  type GatewayCompiled,
} from '../../src/gateway/index.js';
import {
  CLASS_NAME,
  conformanceDir,
  conformanceManifests,
  conformanceState,
  listenerExpectations,
  listenerMismatch,
  suiteSecrets,
  type Json,
} from './conformance-kit.js';

const ADDRESS = '127.14.1.5';
const GROUP = 'gateway.networking.k8s.io';

/** Tests whose one listener list is expected of every Gateway they name: [ShortName, Go file, manifest]. */
const listenerTests: [string, string, string][] = [
  ['GatewaySecretInvalidReferenceGrant', 'gateway-secret-invalid-reference-grant', ''],
  ['GatewaySecretMissingReferenceGrant', 'gateway-secret-missing-reference-grant', ''],
  ['GatewaySecretReferenceGrantAllInNamespace', 'gateway-secret-reference-grant-all-in-namespace', ''],
  ['GatewaySecretReferenceGrantSpecific', 'gateway-secret-reference-grant-specific', ''],
  ['GatewayInvalidTLSConfiguration', 'gateway-invalid-tls-configuration', ''],
  [
    'GatewayWithAttachedRoutesWithPort8080',
    'gateway-with-attached-routes',
    'gateway-with-attached-routes-with-port-8080',
  ],
];

/** Tests that expect one condition on one route's entry for one Gateway: [ShortName, Go file]. */
const routeTests: [string, string][] = [
  ['HTTPRouteInvalidCrossNamespaceParentRef', 'httproute-invalid-cross-namespace-parent-ref'],
  [
    'HTTPRouteInvalidParentRefNotMatchingSectionName',
    'httproute-invalid-parentref-not-matching-section-name',
  ],
  [
    'HTTPRouteInvalidParentRefSectionNameNotMatchingPort',
    'httproute-invalid-parentref-section-name-not-matching-port',
  ],
  ['HTTPRouteInvalidNonExistentBackendRef', 'httproute-invalid-nonexistent-backendref'],
  ['HTTPRouteInvalidBackendRefUnknownKind', 'httproute-invalid-backendref-unknown-kind'],
  ['HTTPRouteInvalidCrossNamespaceBackendRef', 'httproute-invalid-cross-namespace-backend-ref'],
];

/** The route, the Gateway and the condition a route test's Go file names. */
async function routeExpectation(file: string) {
  const go = readFileSync(join(await conformanceDir(), 'tests', `${file}.go`), 'utf8');
  const nn = (variable: string) => {
    const m = new RegExp(
      `${variable}\\s*:?=\\s*types\\.NamespacedName\\{Name:\\s*"([^"]+)",\\s*Namespace:\\s*"([^"]+)"\\}`,
    ).exec(go);
    if (!m) throw new Error(`${file}.go: no ${variable}`);
    return { namespace: m[2]!, name: m[1]! };
  };
  const c =
    /Type:\s*string\(v1\.RouteCondition(\w+)\),\s*Status:\s*metav1\.Condition(\w+),\s*Reason:\s*string\(v1\.RouteReason(\w+)\)/.exec(
      go,
    );
  if (!c) throw new Error(`${file}.go: no route condition`);
  return {
    route: nn('routeNN'),
    gateway: nn('gwNN'),
    type: c[1]!,
    status: c[2]!,
    reason: c[3]!,
    // The test's further checks, when it makes them.
    noAcceptedParents: go.includes('HTTPRouteMustHaveNoAcceptedParents('),
    zeroRoutes: go.includes('GatewayMustHaveZeroRoutes('),
  };
}

/** The kinds applied here, by their resource names (applyObject in @portico/kube would say "gatewaies"). */
const RESOURCES: Record<string, { plural: string; cluster?: boolean }> = {
  Namespace: { plural: 'namespaces', cluster: true },
  GatewayClass: { plural: 'gatewayclasses', cluster: true },
  Gateway: { plural: 'gateways' },
  HTTPRoute: { plural: 'httproutes' },
  ReferenceGrant: { plural: 'referencegrants' },
  Service: { plural: 'services' },
  Secret: { plural: 'secrets' },
  EndpointSlice: { plural: 'endpointslices' },
};

function collection(o: Json): string {
  const resource = RESOURCES[o.kind as string];
  if (!resource) throw new Error(`no resource known for kind ${o.kind}`);
  const version = (o.apiVersion as string).includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const scope = resource.cluster ? '' : `/namespaces/${o.metadata?.namespace ?? 'default'}`;
  return `${version}${scope}/${resource.plural}`;
}

/** What a cluster without pods can hold (no Deployments), Namespaces first as `kubectl apply` needs. */
function applicable(manifests: Json[]): Json[] {
  const order = (o: Json) => (o.kind === 'Namespace' ? 0 : 1);
  return manifests
    .filter((o) => o.kind !== 'Deployment' && o.kind !== 'ConfigMap')
    .sort((a, b) => order(a) - order(b));
}

/** The certificate Secrets the suite creates, the same on the API servers and in the model. */
const SUITE = suiteSecrets();

/**
 * The GATEWAY-HTTP tests whose features we support (docs/gateway-api.md lists the others as not
 * run), with their manifests: every one is applied below and its statuses compared with the model's.
 */
const UNSUPPORTED =
  /^(BackendTLSPolicy|ListenerSet|GatewayFrontendClientCertificate|GatewayBackendClientCertificate|HTTPRouteCORS)/;
const supported = (await profileTests()).tests.filter(
  (t) =>
    !t.features.some((f) => UNSUPPORTED.test(f)) &&
    // Its manifest has placeholders for addresses the suite fills in per cluster; run with them
    // filled in by packages/cli/test/gateway-addresses.test.ts.
    t.name !== 'GatewayStaticAddresses',
);

/** The statuses of a test's own routes and Gateways as lines (type, status, reason; counts). */
function statusLines(
  routes: { ns: string | undefined; name: string; parents: Json[] }[],
  gateways: { ns: string | undefined; name: string; status: Json }[],
  classes: { name: string; conditions: Json[] }[],
): string[] {
  const lines: string[] = [];
  for (const k of classes)
    for (const c of k.conditions) lines.push(`GatewayClass ${k.name} ${c.type}=${c.status}/${c.reason}`);
  for (const r of routes)
    for (const p of r.parents) {
      const ref = p.parentRef as Json;
      const at = `${r.ns}/${r.name} -> ${ref.namespace ?? r.ns}/${ref.name}#${ref.sectionName ?? ''}:${ref.port ?? ''}`;
      for (const c of p.conditions as Json[]) lines.push(`${at} ${c.type}=${c.status}/${c.reason}`);
    }
  for (const g of gateways) {
    for (const c of (g.status.conditions ?? []) as Json[])
      lines.push(`${g.ns}/${g.name} ${c.type}=${c.status}/${c.reason}`);
    for (const l of (g.status.listeners ?? []) as Json[]) {
      lines.push(`${g.ns}/${g.name}#${l.name} attachedRoutes=${l.attachedRoutes}`);
      for (const c of l.conditions as Json[])
        lines.push(`${g.ns}/${g.name}#${l.name} ${c.type}=${c.status}/${c.reason}`);
    }
  }
  return lines.sort();
}

/** Polls until `check` returns nothing to complain about (30 s: the machine is shared). */
async function until(check: () => Promise<string | undefined>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last: string | undefined = 'not checked';
  while (Date.now() < deadline) {
    try {
      last = await check();
    } catch (err) {
      last = String(err);
    }
    if (last === undefined) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: ${last}`);
}

describe.each(API_SERVERS)('conformance statuses written to the %s API server', (kind) => {
  let api: TestApiServer;
  let kube: ApiClient;
  let controller: GatewayController;
  const gatewayPath = (namespace: string, name: string) =>
    `/apis/${GROUP}/v1/namespaces/${namespace}/gateways/${name}`;
  const getGateway = (gateway: string): Promise<Json> => {
    const [namespace, name] = gateway.split('/') as [string, string];
    return kube.request<Json>('GET', gatewayPath(namespace, name));
  };
  /** What GatewayStatusMustHaveListeners would find wrong with the Gateway's status. */
  const listenersWrong = async (
    gateway: string,
    expected: Awaited<ReturnType<typeof listenerExpectations>>['lists'][number],
  ) => {
    const g = await getGateway(gateway);
    const stale = (g.status?.conditions ?? []).filter(
      (c: Json) => c.observedGeneration !== g.metadata.generation,
    );
    if (!g.status?.conditions?.length || stale.length > 0)
      return `conditions not at generation ${g.metadata.generation}`;
    return listenerMismatch(expected, g.status.listeners ?? []);
  };

  const create = (o: Json) => kube.request('POST', collection(o), { body: o });
  /** The test's own manifests (those after the base ones), applied for `run` and deleted after it. */
  const withManifests = async (file: string | string[], run: (own: Json[]) => Promise<void>) => {
    const base = (await conformanceManifests()).length;
    const own = applicable((await conformanceManifests(...[file].flat())).slice(base));
    expect(own.length, `manifests of ${file}`).toBeGreaterThan(0);
    for (const o of own) await create(o);
    try {
      await run(own);
    } finally {
      for (const o of own.reverse())
        await kube.request('DELETE', `${collection(o)}/${o.metadata.name}`).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    }
  };

  beforeAll(async () => {
    api = await startTestApiServer(kind);
    kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
    await installGatewayApiCrds(kube);
    for (const o of [...applicable(await conformanceManifests()), ...SUITE.secrets]) await create(o);
    await create({
      apiVersion: `${GROUP}/v1`,
      kind: 'GatewayClass',
      metadata: { name: CLASS_NAME },
      spec: { controllerName: GATEWAY_CONTROLLER_NAME },
    });
    controller = new GatewayController({
      api: kube,
      address: ADDRESS,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      debounceMs: 10,
      statusResyncMs: 60_000,
    });
    await controller.start();
    controller.setLeading(true);
  }, 240_000);

  afterAll(async () => {
    await controller?.stop();
    await kube?.close();
    await api?.close();
  });

  for (const [test, file, manifest] of listenerTests)
    it(test, { timeout: 60_000 }, async () => {
      const { lists, gateways } = await listenerExpectations(file, test);
      expect(lists).toHaveLength(1);
      expect(gateways.length).toBeGreaterThan(0);
      await withManifests(manifest || file, async () => {
        for (const gateway of gateways) await until(() => listenersWrong(gateway, lists[0]!), gateway);
      });
    });

  for (const [test, file] of routeTests)
    it(test, { timeout: 60_000 }, async () => {
      const want = await routeExpectation(file);
      await withManifests(file, () =>
        until(async () => {
          const r = await kube.request<Json>(
            'GET',
            `/apis/${GROUP}/v1/namespaces/${want.route.namespace}/httproutes/${want.route.name}`,
          );
          const parent = (r.status?.parents ?? []).find(
            (p: Json) =>
              p.parentRef.name === want.gateway.name &&
              (p.parentRef.namespace ?? want.route.namespace) === want.gateway.namespace,
          );
          const got = parent?.conditions?.find((c: Json) => c.type === want.type);
          if (!got) return `no ${want.type} condition for ${want.gateway.name}`;
          if (got.observedGeneration !== r.metadata.generation)
            return `${want.type} not at the latest generation`;
          if (got.status !== want.status || got.reason !== want.reason)
            return `${want.type} ${got.status}/${got.reason}, expected ${want.status}/${want.reason}`;
          const accepted = (r.status?.parents ?? []).filter((p: Json) =>
            p.conditions?.some((c: Json) => c.type === 'Accepted' && c.status === 'True'),
          );
          if (want.noAcceptedParents && accepted.length > 0) return 'a parent has Accepted True';
          if (want.zeroRoutes) {
            const g = await getGateway(`${want.gateway.namespace}/${want.gateway.name}`);
            const attached = (g.status?.listeners ?? []).map((l: Json) => l.attachedRoutes as number);
            if (attached.some((n: number) => n !== 0)) return `the Gateway's attachedRoutes ${attached}`;
          }
          return undefined;
        }, `${want.route.namespace}/${want.route.name}`),
      );
    });

  it('GatewayModifyListeners: the patches made through the API server', { timeout: 60_000 }, async () => {
    const { lists, gateways } = await listenerExpectations(
      'gateway-modify-listeners',
      'GatewayModifyListeners',
    );
    expect(lists).toHaveLength(2);
    const [add, remove] = gateways as [string, string];
    await withManifests('gateway-modify-listeners', async () => {
      const patch = async (gateway: string, listeners: (current: Json[]) => Json[]) => {
        const g = await getGateway(gateway);
        const [namespace, name] = gateway.split('/') as [string, string];
        // A merge patch of the spec, as the suite's client.MergeFrom: no resourceVersion to conflict
        // with the status the controller writes meanwhile.
        await kube.request('PATCH', gatewayPath(namespace, name), {
          body: { spec: { listeners: listeners(g.spec.listeners as Json[]) } },
          contentType: 'application/merge-patch+json',
        });
      };
      // Before: as applied, each at its first generation.
      await until(async () => {
        const g = await getGateway(add);
        return g.status?.listeners?.length === 1 ? undefined : 'the first listener';
      }, add);
      await patch(add, (ls) => [
        ...ls,
        {
          name: 'http',
          port: 80,
          protocol: 'HTTP',
          hostname: 'data.test.com',
          allowedRoutes: { namespaces: { from: 'All' } },
        },
      ]);
      await patch(remove, (ls) => ls.filter((l) => l.name === 'http'));
      await until(() => listenersWrong(add, lists[0]!), add);
      await until(() => listenersWrong(remove, lists[1]!), remove);
      for (const gateway of [add, remove]) expect((await getGateway(gateway)).metadata.generation).toBe(2);
    });
  });

  // Every supported test's manifests: the statuses the controller writes through the API server
  // (CRD defaults, validation and watches included) are those of the model, which the tests above
  // and conformance*.test.ts check against the suite's expectations.
  for (const t of supported)
    it(`${t.name}: the statuses written are the model's`, { timeout: 60_000 }, async () => {
      const state = await conformanceState(...t.manifests);
      const model: GatewayCompiled = compileGateways(
        { ...state, secrets: [...state.secrets, ...SUITE.secrets] },
        { addresses: [ADDRESS] },
      );
      await withManifests(t.manifests, async (own) => {
        const routes = own.filter((o) => o.kind === 'HTTPRoute');
        const gateways = own.filter((o) => o.kind === 'Gateway');
        const classes = own.filter((o) => o.kind === 'GatewayClass');
        const key = (o: Json) => `${o.metadata.namespace}/${o.metadata.name}`;
        const want = statusLines(
          model.httpRoutes
            .filter((r) => routes.some((o) => key(o) === `${r.namespace}/${r.name}`))
            .map((r) => ({ ns: r.namespace, name: r.name, parents: r.status.parents as unknown as Json[] })),
          model.gateways
            .filter((g) => gateways.some((o) => key(o) === `${g.namespace}/${g.name}`))
            .map((g) => ({ ns: g.namespace, name: g.name, status: g.status as Json })),
          model.gatewayClasses
            .filter((k) => classes.some((o) => o.metadata.name === k.name))
            .map((k) => ({ name: k.name, conditions: k.status.conditions as unknown as Json[] })),
        );
        expect(want.length, `statuses in the model for ${t.manifests.join(', ')}`).toBeGreaterThan(0);
        let got: string[] = [];
        await until(async () => {
          const read = async (o: Json) => kube.request<Json>('GET', `${collection(o)}/${o.metadata.name}`);
          const liveRoutes = await Promise.all(routes.map(read));
          const liveGateways = await Promise.all(gateways.map(read));
          const liveClasses = await Promise.all(classes.map(read));
          const stale = [
            ...liveRoutes.flatMap((r) => (r.status?.parents ?? []).flatMap((p: Json) => p.conditions)),
            ...[...liveGateways, ...liveClasses].flatMap((o) => o.status?.conditions ?? []),
          ].some((c: Json) => c.observedGeneration !== 1);
          got = statusLines(
            liveRoutes.map((r) => ({
              ns: r.metadata.namespace,
              name: r.metadata.name,
              parents: (r.status?.parents ?? []).filter(
                (p: Json) => p.controllerName === GATEWAY_CONTROLLER_NAME,
              ),
            })),
            liveGateways.map((g) => ({
              ns: g.metadata.namespace,
              name: g.metadata.name,
              status: g.status ?? {},
            })),
            liveClasses.map((k) => ({ name: k.metadata.name, conditions: k.status?.conditions ?? [] })),
          );
          if (stale) return 'conditions not at generation 1';
          return JSON.stringify(got) === JSON.stringify(want) ? undefined : 'differs';
        }, t.name).catch(() => undefined);
        expect(got).toEqual(want);
      });
    });
});
