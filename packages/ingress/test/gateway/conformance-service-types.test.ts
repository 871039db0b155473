// The upstream conformance test HTTPRouteServiceTypes (GATEWAY-HTTP core) with real HTTP through
// the Gateway proxy: a Service with a selector and no cluster IP (headless), and two Services
// without a selector (one headless) whose EndpointSlices the test writes itself. Its manifests
// from the conformance Go module; the pod of infra-backend-v1 is an echo server on 127.14.1.1 at
// the Services' targetPort 3000, the Gateway is served on 127.14.1.2:80. As the suite does, the
// test's own IPv4 EndpointSlices get the pod's address (ready, serving, not terminating) and its
// IPv6 ones stay empty; the headless Service with a selector gets the slice the EndpointSlice
// controller would make. Each path must be answered 200 by infra-backend-v1, read from the Go file.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { defaultProxyOptions, emptyTable } from '../../src/index.js';
import { backendEntries, compileGateways, GatewayProxy, GatewayServers } from '../../src/gateway/index.js';
import { conformanceDir, conformanceState, sliceFor } from './conformance-kit.js';

const INFRA = 'gateway-conformance-infra';
const POD = '127.14.1.1';
const GATEWAY = '127.14.1.2';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: GATEWAY, port: 80, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

it(
  'HTTPRouteServiceTypes: headless Services and hand-made EndpointSlices are served',
  { timeout: 120_000 },
  async () => {
    const go = readFileSync(join(await conformanceDir(), 'tests', 'httproute-service-types.go'), 'utf8');
    // The Go file's service types: each is a path (`/<type>`) and the name of its Service.
    const list = (name: string): string[] => {
      const m = new RegExp(`${name}\\s*=\\s*\\[\\]string\\{([^}]*)\\}`).exec(go);
      return m ? [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!) : [];
    };
    const manual = list('typeManualEndpointSlices');
    const managed = list('typeManaged');
    expect(manual, 'typeManualEndpointSlices in the Go file').toEqual([
      'manual-endpointslices',
      'headless-manual-endpointslices',
    ]);
    expect(managed, 'typeManaged in the Go file').toEqual(['headless']);
    expect(go).toContain('Backend:   "infra-backend-v1"');

    // The pod of infra-backend-v1: an echo server that names its Service.
    const pod = http.createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: `${INFRA}/infra-backend-v1`, url: req.url }));
    });
    await new Promise<void>((r) => pod.listen(3000, POD, r));
    cleanup.push(() => new Promise((r) => pod.close(() => r())));

    const state = await conformanceState('httproute-service-types');
    const podOf = (selector: Record<string, string> | undefined) => selector?.app === 'infra-backend-v1';
    const headless = state.services.find((s) => s.metadata?.name === 'headless');
    expect(headless?.spec?.clusterIP).toBe('None');
    const slices: V1EndpointSlice[] = state.endpointSlices.flatMap((slice) => {
      const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
      const own = state.services.find((s) => s.metadata?.name === service && s.metadata?.namespace === INFRA);
      // The EndpointSlice controller's slices: those of infra-backend-v1's Services point at the pod.
      if (own?.spec?.selector) return podOf(own.spec.selector) ? [sliceFor(own, POD)] : [slice];
      // The test's own slices, patched as its setupEndpointSlices does: the pod's IPv4 address in
      // the IPv4 slices; the IPv6 slices left without endpoints.
      if (slice.addressType !== 'IPv4') return [slice];
      return [
        {
          ...slice,
          endpoints: [
            {
              addresses: [POD],
              conditions: { ready: true, serving: true, terminating: false },
              targetRef: { kind: 'Pod', name: 'infra-backend-v1-0', namespace: INFRA },
            },
          ],
        },
      ];
    });
    expect(
      slices.filter(
        (s) => s.metadata?.name?.startsWith('manual-') || s.metadata?.name?.startsWith('headless-manual-'),
      ),
    ).toHaveLength(4);

    const compiled = compileGateways({ ...state, endpointSlices: slices }, { addresses: [GATEWAY] });
    const route = compiled.httpRoutes.find((r) => r.name === 'service-types')!;
    expect(
      route.status.parents[0]!.conditions.map((k) => [k.type, k.status, k.reason]),
      'the route Accepted with its references resolved',
    ).toEqual([
      ['Accepted', 'True', 'Accepted'],
      ['ResolvedRefs', 'True', 'ResolvedRefs'],
    ]);
    const proxy = new GatewayProxy(defaultProxyOptions);
    const servers = new GatewayServers(proxy, GATEWAY);
    cleanup.push(async () => {
      await servers.close();
      await proxy.upstreams.close();
      proxy.pool.close();
    });
    proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(compiled) });
    const listeners = compiled.listeners.filter((l) => l.gateway === `${INFRA}/same-namespace`);
    expect(await servers.update(listeners), 'ports that could not be opened').toEqual([]);

    const failures: string[] = [];
    for (const type of [...manual, ...managed]) {
      const a = await get(`/${type}`);
      if (a.status !== 200) failures.push(`/${type}: status ${a.status}`);
      else if ((JSON.parse(a.body) as { name: string }).name !== `${INFRA}/infra-backend-v1`)
        failures.push(`/${type}: answered by ${a.body}`);
    }
    expect(failures).toEqual([]);
  },
);
