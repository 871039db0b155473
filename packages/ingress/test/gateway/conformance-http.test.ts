// The upstream conformance tests (GATEWAY-HTTP: core and the extended features we claim) with real
// HTTP through the Gateway proxy: each test's manifests (with the suite's base manifests) from the
// sigs.k8s.io/gateway-api/conformance Go module, compiled by the route model, served by
// GatewayProxy/GatewayServers on 127.14.0.1 at the listeners' own ports; every Service answers
// from an echo backend named after it; the expectations are the http.ExpectedResponse literals of
// the test's Go file, checked as the suite's http.go checks them (status; for 200 the backend, the
// path, host and headers the backend received, response headers; for a redirect the Location's
// scheme, host, port and path with the suite's defaults). No API server: the statuses are covered
// by conformance.test.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable } from '../../src/index.js';
import { compileGateways, GatewayProxy, GatewayServers } from '../../src/gateway/index.js';
import { conformanceState, expectedCases, sliceFor, type ExpectedCase } from './conformance-kit.js';

const INFRA = 'gateway-conformance-infra';
/** A loopback address of our own, so the listeners' real ports (80) collide with nothing. */
const ADDRESS = '127.14.0.1';

const tests: [name: string, file: string, gateway: string][] = [
  ['HTTPRouteSimpleSameNamespace', 'httproute-simple-same-namespace', 'same-namespace'],
  ['HTTPRouteMatching', 'httproute-matching', 'same-namespace'],
  ['HTTPRouteExactPathMatching', 'httproute-exact-path-matching', 'same-namespace'],
  ['HTTPRouteHeaderMatching', 'httproute-header-matching', 'same-namespace'],
  ['HTTPRouteQueryParamMatching', 'httproute-query-param-matching', 'same-namespace'],
  ['HTTPRouteMethodMatching', 'httproute-method-matching', 'same-namespace'],
  ['HTTPRouteMatchingAcrossRoutes', 'httproute-matching-across-routes', 'same-namespace'],
  ['HTTPRoutePathMatchOrder', 'httproute-path-match-order', 'same-namespace'],
  [
    'HTTPRouteListenerHostnameMatching',
    'httproute-listener-hostname-matching',
    'httproute-listener-hostname-matching',
  ],
  ['HTTPRouteCrossNamespace', 'httproute-cross-namespace', 'backend-namespaces'],
  [
    'HTTPRouteInvalidCrossNamespaceBackendRef',
    'httproute-invalid-cross-namespace-backend-ref',
    'same-namespace',
  ],
  ['HTTPRouteInvalidNonExistentBackendRef', 'httproute-invalid-nonexistent-backendref', 'same-namespace'],
  ['HTTPRouteInvalidBackendRefUnknownKind', 'httproute-invalid-backendref-unknown-kind', 'same-namespace'],
  [
    'HTTPRoutePartiallyInvalidViaInvalidReferenceGrant',
    'httproute-partially-invalid-via-invalid-reference-grant',
    'same-namespace',
  ],
  ['HTTPRouteRequestHeaderModifier', 'httproute-request-header-modifier', 'same-namespace'],
  ['HTTPRouteResponseHeaderModifier', 'httproute-response-header-modifier', 'same-namespace'],
  ['HTTPRouteRewritePath', 'httproute-rewrite-path', 'same-namespace'],
  ['HTTPRouteRewriteHost', 'httproute-rewrite-host', 'same-namespace'],
  ['HTTPRouteRedirectPath', 'httproute-redirect-path', 'same-namespace'],
  ['HTTPRouteRedirectPort', 'httproute-redirect-port', 'same-namespace'],
  ['HTTPRouteRedirectScheme', 'httproute-redirect-scheme', 'same-namespace'],
  ['HTTPRouteRedirectHostAndStatus', 'httproute-redirect-host-and-status', 'same-namespace'],
  ['HTTPRoute303Redirect', 'httproute-303-redirect', 'same-namespace'],
  ['HTTPRoute307Redirect', 'httproute-307-redirect', 'same-namespace'],
  ['HTTPRoute308Redirect', 'httproute-308-redirect', 'same-namespace'],
];

interface Echo {
  readonly port: number;
  readonly server: http.Server;
}

/**
 * An echo backend like the suite's echo-basic: answers JSON with its name and the request it got,
 * and adds the response headers listed in X-Echo-Set-Header (`Name:value,Name:value`).
 */
async function startEcho(name: string): Promise<Echo> {
  const server = http.createServer((req, res) => {
    req.resume();
    for (const kv of String(req.headers['x-echo-set-header'] ?? '').split(',')) {
      const [header, value] = kv.trim().split(/:(.*)/s);
      if (!header) continue;
      const old = res.getHeader(header);
      res.setHeader(header, old === undefined ? (value ?? '') : `${String(old)},${(value ?? '').trim()}`);
    }
    const body = JSON.stringify({ name, url: req.url, method: req.method, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

async function stopAll(echos: Echo[]): Promise<void> {
  for (const e of echos) {
    e.server.closeAllConnections();
    await new Promise((r) => e.server.close(r));
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(port: number, c: ExpectedCase): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: ADDRESS,
        port,
        path: c.request.path,
        method: c.request.method ?? 'GET',
        headers: {
          host: c.request.host ?? ADDRESS,
          ...c.request.headers,
          'x-echo-set-header': Object.entries(c.backendSetResponseHeaders)
            .map(([k, v]) => `${k}:${v}`)
            .join(','),
        },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** What the suite's http.go would report as wrong about this answer, or undefined. */
function mismatch(c: ExpectedCase, a: Answer): string | undefined {
  if (a.status !== c.statusCode) return `status ${a.status}, expected ${c.statusCode}`;
  if (a.status === 200) {
    const seen = JSON.parse(a.body) as {
      name: string;
      url: string;
      method: string;
      headers: http.IncomingHttpHeaders;
    };
    if (c.backend && seen.name !== c.backend) return `answered by ${seen.name}, expected ${c.backend}`;
    const want = c.expectedRequest ?? { path: c.request.path, headers: {}, absent: [] };
    if (want.path !== undefined && seen.url !== want.path)
      return `backend got path ${seen.url}, expected ${want.path}`;
    if (seen.method !== (c.request.method ?? 'GET')) return `backend got method ${seen.method}`;
    if (want.host !== undefined && seen.headers.host !== want.host)
      return `backend got host ${seen.headers.host}, expected ${want.host}`;
    for (const [name, value] of Object.entries(want.headers)) {
      const got = seen.headers[name.toLowerCase()];
      if ((Array.isArray(got) ? got.join(',') : got) !== value)
        return `backend got ${name}: ${String(got)}, expected ${value}`;
    }
    for (const name of want.absent)
      if (seen.headers[name.toLowerCase()] !== undefined) return `backend got ${name}`;
    for (const [name, value] of Object.entries(c.responseHeaders)) {
      const got = a.headers[name.toLowerCase()];
      if ((Array.isArray(got) ? got.join(',') : got) !== value)
        return `response ${name}: ${String(got)}, expected ${value}`;
    }
    for (const name of c.absentResponseHeaders)
      if (a.headers[name.toLowerCase()] !== undefined) return `response has ${name}`;
  } else if ([301, 302, 303, 307, 308].includes(a.status) && c.redirect) {
    const location = new URL(a.headers.location ?? '');
    const scheme = location.protocol.slice(0, -1);
    const host = location.hostname;
    if ((c.redirect.host ?? host) !== host) return `redirect host ${host}, expected ${c.redirect.host}`;
    if (c.redirect.port === undefined) {
      if (location.port !== '' && location.port !== (scheme === 'https' ? '443' : '80'))
        return `redirect port ${location.port}`;
    } else if (
      location.port !== c.redirect.port &&
      !(location.port === '' && c.redirect.port === (scheme === 'https' ? '443' : '80'))
    )
      return `redirect port ${location.port || '(none)'}, expected ${c.redirect.port}`;
    if ((c.redirect.scheme ?? 'http') !== scheme)
      return `redirect scheme ${scheme}, expected ${c.redirect.scheme ?? 'http'}`;
    const path = c.request.path.split('?')[0];
    if ((c.redirect.path ?? path) !== location.pathname)
      return `redirect path ${location.pathname}, expected ${c.redirect.path ?? path}`;
  }
  return undefined;
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup) await f();
});

describe('conformance over HTTP through the Gateway proxy', () => {
  for (const [name, file, gateway] of tests)
    it(name, { timeout: 120_000 }, async () => {
      const state = await conformanceState(file);
      const echos: Echo[] = [];
      const slices = [];
      for (const s of state.services) {
        const echo = await startEcho(`${s.metadata?.namespace}/${s.metadata?.name}`);
        echos.push(echo);
        slices.push(sliceFor(s, '127.0.0.1', echo.port));
      }
      const proxy = new GatewayProxy(defaultProxyOptions);
      const servers = new GatewayServers(proxy, ADDRESS);
      const stop = async () => {
        await servers.close();
        await proxy.upstreams.close();
        proxy.pool.close();
        await stopAll(echos);
      };
      cleanup.push(stop);
      const compiled = compileGateways({ ...state, endpointSlices: slices }, { addresses: [ADDRESS] });
      proxy.setTable({
        ...emptyTable,
        version: 1,
        backends: [...compiled.backends].map(([key, endpoints]) => ({ key, endpoints })),
      });
      const listeners = compiled.listeners.filter((l) => l.gateway === `${INFRA}/${gateway}`);
      expect(listeners.length, `listeners of ${gateway}`).toBeGreaterThan(0);
      expect(await servers.update(listeners), 'ports that could not be opened').toEqual([]);
      const cases = await expectedCases(file, INFRA);
      expect(cases.length, `expectations read from ${file}.go`).toBeGreaterThan(0);
      const failures: string[] = [];
      for (const c of cases) {
        const problem = mismatch(c, await send(listeners[0]!.port, c));
        if (problem)
          failures.push(
            `${c.request.method ?? 'GET'} ${c.request.host ?? ''}${c.request.path} ${JSON.stringify(c.request.headers)}: ${problem}`,
          );
      }
      expect(failures).toEqual([]);
      await stop();
      cleanup.pop();
    });
});
