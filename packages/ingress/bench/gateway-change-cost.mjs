// Gateway API route change, the pure parts: what one HTTPRoute change costs the primary at N routes
// (GatewayCompiler.compile, the delta to the workers and its serialization) and a worker (reading
// and applying the delta). 1,000 hostnames, one PathPrefix rule per route, like gateway-changes.mjs.
// Run: npx tsc -b packages/ingress && node_modules/.bin/node packages/ingress/bench/gateway-change-cost.mjs [N] [CHANGES]
import { performance } from 'node:perf_hooks';
import { deserialize, serialize } from 'node:v8';
import { gatewayApi } from '../dist/index.js';

const n = Number(process.argv[2] ?? 10_000);
const changes = Number(process.argv[3] ?? 50);
const route = (i, svc = 'a', generation = 1) => ({
  metadata: {
    namespace: 'default',
    name: `r${i}`,
    uid: `uid-${i}`,
    generation,
    resourceVersion: String(generation * 1_000_000 + i),
    creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  },
  spec: {
    parentRefs: [{ name: 'gw' }],
    hostnames: [`h${i % 1000}.example.com`],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: `/p${i}` } }],
        backendRefs: [{ name: svc, port: 80 }],
      },
    ],
  },
});
const service = (name) => ({
  metadata: { namespace: 'default', name, resourceVersion: '1' },
  spec: { ports: [{ name: 'http', port: 80 }] },
});
const slice = (name, port) => ({
  metadata: {
    namespace: 'default',
    name: `${name}-1`,
    resourceVersion: '1',
    labels: { 'kubernetes.io/service-name': name },
  },
  addressType: 'IPv4',
  ports: [{ name: 'http', port }],
  endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }],
});
const base = {
  gatewayClasses: [
    {
      metadata: { name: 'portico', generation: 1 },
      spec: { controllerName: gatewayApi.GATEWAY_CONTROLLER_NAME },
    },
  ],
  gateways: [
    {
      metadata: { namespace: 'default', name: 'gw', generation: 1 },
      spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    },
  ],
  referenceGrants: [],
  namespaces: [],
  services: [service('a'), service('b')],
  endpointSlices: [slice('a', 8001), slice('b', 8002)],
  secrets: [],
};

let routes = Array.from({ length: n }, (_, i) => route(i));
const compiler = new gatewayApi.GatewayCompiler();
const primary = new gatewayApi.GatewayTableState();
const worker = new gatewayApi.GatewayTableState();
const table = (compiled, version) => ({
  version,
  listeners: compiled.listeners,
  backends: gatewayApi.backendEntries(compiled),
});
let t0 = performance.now();
const first = compiler.compile({ ...base, httpRoutes: routes });
const fullCompileMs = performance.now() - t0;
const fullBytes = serialize(primary.advance(table(first.compiled, 1)));
worker.apply(deserialize(fullBytes));

const cpu = (f) => {
  const c0 = process.cpuUsage();
  const result = f();
  const c = process.cpuUsage(c0);
  return [result, (c.user + c.system) / 1000];
};
const compileCpu = [];
const deltaCpu = [];
const workerCpu = [];
const bytes = [];
for (let k = 0; k < changes; k++) {
  routes = [...routes];
  const i = (k * 7919) % n;
  routes[i] = route(i, k % 2 ? 'a' : 'b', k + 2);
  const [result, compileMs] = cpu(() => compiler.compile({ ...base, httpRoutes: routes }));
  if (result.recompiled.length !== 1)
    throw new Error(`expected one route compiled, got ${result.recompiled.length}`);
  const [encoded, deltaMs] = cpu(() => serialize(primary.advance(table(result.compiled, k + 2))));
  const [, workerMs] = cpu(() => worker.apply(deserialize(encoded)));
  compileCpu.push(compileMs);
  deltaCpu.push(deltaMs);
  workerCpu.push(workerMs);
  bytes.push(encoded.length);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);
console.log(
  JSON.stringify({
    routes: n,
    changes,
    fullCompileMs: Number(fullCompileMs.toFixed(0)),
    fullTableBytes: fullBytes.length,
    changeCompileCpuMs: {
      median: Number(median(compileCpu).toFixed(2)),
      max: Number(max(compileCpu).toFixed(2)),
    },
    changeDeltaCpuMs: { median: Number(median(deltaCpu).toFixed(2)), max: Number(max(deltaCpu).toFixed(2)) },
    changeWorkerCpuMs: {
      median: Number(median(workerCpu).toFixed(2)),
      max: Number(max(workerCpu).toFixed(2)),
    },
    deltaBytes: { median: median(bytes), max: max(bytes) },
  }),
);
