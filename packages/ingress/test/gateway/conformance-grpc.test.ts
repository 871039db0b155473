// The upstream GRPCRoute conformance tests with real gRPC (@grpc/grpc-js) through the Gateway
// proxy: each test's manifests (with the suite's base manifests) from the conformance Go module,
// compiled by the route model and served by GatewayProxy/GatewayServers on 127.14.0.5 at the
// listeners' own ports. The client speaks h2c with prior knowledge to the Gateway, as the suite's
// client does; every grpc-infra-backend-* Service is a gRPC echo server (h2c) that answers like
// the suite's grpc-echo: the fully qualified method, its namespace and pod (named after the
// Service). The expectations are the grpc.ExpectedResponse literals of the test's Go file.
import type * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable } from '../../src/index.js';
import { backendEntries, compileGateways, GatewayProxy, GatewayServers } from '../../src/gateway/index.js';
import { conformanceState, expectedGrpcCases, sliceFor } from './conformance-kit.js';
import { call, SERVICE, startGrpcEcho } from './grpc-kit.js';

const INFRA = 'gateway-conformance-infra';
const ADDRESS = '127.14.0.5';
/** `NOT_FOUND` (grpc-js) and `NotFound` (Go's codes) as one name. */
const codeName = (code: string): string => code.replaceAll('_', '').toUpperCase();

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup) await f();
});

async function setUp(file: string, gateway: string) {
  const state = await conformanceState(file);
  const echos: grpc.Server[] = [];
  const slices = [];
  for (const s of state.services) {
    const [namespace, name] = [s.metadata!.namespace!, s.metadata!.name!];
    if (!name.startsWith('grpc-')) {
      slices.push(sliceFor(s, '127.0.0.1', 9)); // not a gRPC Service: never called here
      continue;
    }
    const echo = await startGrpcEcho(namespace, name);
    echos.push(echo.server);
    slices.push(sliceFor(s, '127.0.0.1', echo.port));
  }
  const proxy = new GatewayProxy(defaultProxyOptions);
  const servers = new GatewayServers(proxy, ADDRESS);
  const stop = async () => {
    await servers.close();
    await proxy.upstreams.close();
    proxy.pool.close();
    for (const e of echos) e.forceShutdown();
  };
  cleanup.push(stop);
  const compiled = compileGateways({ ...state, endpointSlices: slices }, { addresses: [ADDRESS] });
  // Every GRPCRoute parent of the test is Accepted with its references resolved.
  const parents = compiled.grpcRoutes.flatMap((r) => r.status.parents);
  expect(parents.length, 'GRPCRoute parents of ours').toBeGreaterThan(0);
  for (const p of parents)
    expect(p.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
  proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(compiled) });
  const listeners = compiled.listeners.filter((l) => l.gateway === `${INFRA}/${gateway}`);
  expect(listeners.length, `listeners of ${gateway}`).toBeGreaterThan(0);
  expect(await servers.update(listeners), 'ports that could not be opened').toEqual([]);
  const done = async () => {
    await stop();
    cleanup.splice(cleanup.indexOf(stop), 1);
  };
  return { port: listeners[0]!.port, done };
}

const tests = [
  { name: 'GRPCExactMethodMatching', file: 'grpcroute-exact-method-matching', gateway: 'same-namespace' },
  { name: 'GRPCRouteHeaderMatching', file: 'grpcroute-header-matching', gateway: 'same-namespace' },
  {
    name: 'GRPCRouteListenerHostnameMatching',
    file: 'grpcroute-listener-hostname-matching',
    gateway: 'grpcroute-listener-hostname-matching',
  },
  { name: 'GRPCRouteNamedRule', file: 'grpcroute-named-rule', gateway: 'same-namespace' },
];

describe('GRPCRoute conformance over h2c through the Gateway proxy', () => {
  for (const t of tests)
    it(t.name, { timeout: 120_000 }, async () => {
      const cases = await expectedGrpcCases(t.file, INFRA);
      expect(cases.length, `expectations read from ${t.file}.go`).toBeGreaterThan(0);
      const { port, done } = await setUp(t.file, t.gateway);
      const failures: string[] = [];
      try {
        for (const c of cases) {
          const got = await call(`${ADDRESS}:${port}`, c);
          const what = `${c.authority ?? ADDRESS} ${c.method} ${JSON.stringify(c.metadata)}`;
          if (codeName(got.code) !== codeName(c.code))
            failures.push(`${what}: ${got.code} (${got.details}), expected ${c.code}`);
          else if (c.code === 'OK') {
            const a = got.answer!;
            if (a.fullyQualifiedMethod !== `/${SERVICE}/${c.method}`)
              failures.push(`${what}: the backend got ${a.fullyQualifiedMethod}`);
            if (c.backend && `${a.namespace}/${a.pod}`.startsWith(c.backend) === false)
              failures.push(`${what}: answered by ${a.namespace}/${a.pod}, expected ${c.backend}`);
          }
        }
      } finally {
        await done();
      }
      expect(failures).toEqual([]);
    });

  it("GRPCRouteWeight: calls split 70/30/0 within the suite's tolerance", { timeout: 120_000 }, async () => {
    const CALLS = 1000;
    const { port, done } = await setUp('grpcroute-weight', 'same-namespace');
    const counts = new Map<string, number>();
    try {
      for (let i = 0; i < CALLS; i++) {
        const got = await call(`${ADDRESS}:${port}`, {
          method: 'Echo',
          metadata: { 'x-jitter': String(i) },
          code: 'OK',
        });
        expect(got.code, got.details).toBe('OK');
        counts.set(got.answer!.pod, (counts.get(got.answer!.pod) ?? 0) + 1);
      }
    } finally {
      await done();
    }
    const share = (n: string) => (counts.get(`${n}-pod`) ?? 0) / CALLS;
    const seen = JSON.stringify([...counts]);
    expect(Math.abs(share('grpc-infra-backend-v1') - 0.7), seen).toBeLessThanOrEqual(0.05);
    expect(Math.abs(share('grpc-infra-backend-v2') - 0.3), seen).toBeLessThanOrEqual(0.05);
    expect(share('grpc-infra-backend-v3'), seen).toBe(0);
  });
});
