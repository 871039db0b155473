// Gateway API at scale, the pure parts: compiling N HTTPRoutes (one Gateway, one listener, one
// hostname and two rules per route) and matching requests against the compiled listener.
// Run: npx tsc -b packages/ingress && node_modules/.bin/node packages/ingress/bench/gateway-scale.mjs [N]
import { performance } from 'node:perf_hooks';
import { gatewayApi } from '../dist/index.js';

const n = Number(process.argv[2] ?? 10_000);
const routes = Array.from({ length: n }, (_, i) => ({
  metadata: {
    namespace: 'default',
    name: `app-${i}`,
    generation: 1,
    creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString(),
  },
  spec: {
    parentRefs: [{ name: 'web' }],
    hostnames: [`app-${i}.example.com`],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
        backendRefs: [{ name: 'svc', port: 80 }],
      },
      { backendRefs: [{ name: 'svc', port: 80 }] },
    ],
  },
}));
const state = {
  gatewayClasses: [
    { metadata: { name: 'portico' }, spec: { controllerName: gatewayApi.GATEWAY_CONTROLLER_NAME } },
  ],
  gateways: [
    {
      metadata: { namespace: 'default', name: 'web' },
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

const compileMs = [];
let compiled;
for (let run = 0; run < 9; run++) {
  const t0 = performance.now();
  compiled = gatewayApi.compileGateways(state, { addresses: ['192.0.2.1'] });
  compileMs.push(performance.now() - t0);
}
const listener = compiled.listeners[0];
const request = (i) => ({
  host: `app-${i}.example.com`,
  path: '/api/x',
  method: 'GET',
  headers: {},
  query: '',
});
gatewayApi.matchRoute(listener, request(0)); // builds the hostname index once
const lookups = 200_000;
const t0 = performance.now();
let hits = 0;
for (let k = 0; k < lookups; k++) if (gatewayApi.matchRoute(listener, request(k % n))) hits++;
const perLookupUs = ((performance.now() - t0) * 1000) / lookups;
compileMs.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    routes: n,
    entries: listener.routes.length,
    compileMsMedian: Number(compileMs[4].toFixed(1)),
    compileMsMin: Number(compileMs[0].toFixed(1)),
    matchMicrosecondsPerRequest: Number(perLookupUs.toFixed(2)),
    hits,
  }),
);
