// The upstream conformance tests (GATEWAY-HTTP: core and the extended features we claim) with real
// HTTP through the Gateway proxy: each test's manifests (with the suite's base manifests) from the
// sigs.k8s.io/gateway-api/conformance Go module, compiled by the route model, served by
// GatewayProxy/GatewayServers on 127.14.0.1 at the listeners' own ports; every Service answers
// from an echo backend named after it; the expectations are the http.ExpectedResponse literals of
// the test's Go file, checked as the suite's http.go checks them (status; for 200 the backend, the
// path, host and headers the backend received, response headers; for a redirect the Location's
// scheme, host, port and path with the suite's defaults). No API server: the statuses are covered
// by conformance.test.ts.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Server, Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable } from '../../src/index.js';
import { GuardedHttp2Server } from '../../src/http2/guarded-server.js';
import {
  backendEntries,
  cleartextServer,
  compileGateways,
  GatewayProxy,
  GatewayServers,
} from '../../src/gateway/index.js';
import {
  conformanceDir,
  conformanceState,
  expectedCases,
  sliceFor,
  type ExpectedCase,
} from './conformance-kit.js';
import { wsEcho } from './ws-echo.js';

const INFRA = 'gateway-conformance-infra';
/** A loopback address of our own, so the listeners' real ports (80) collide with nothing. */
const ADDRESS = '127.14.0.1';

/**
 * name, manifests, the Gateway(s) the test sends to: with two, every expectation is sent to each
 * (listener isolation), or, with `splitAt`, the expectations from that index on go to the second;
 * `only`: the expectations checked before the test changes the cluster.
 */
interface HttpTest {
  readonly name: string;
  readonly files: string[];
  /** The Go file with the expectations, when not named like the first manifest. */
  readonly goFile?: string;
  readonly gateways: string[];
  readonly splitAt?: number;
  readonly only?: number;
  /** Services (`name` in the infra namespace) that must each receive a copy of every request. */
  readonly mirroredTo?: string[];
  /** Requests sent over HTTP/2 with prior knowledge (the suite's H2CPriorKnowledgeProtocol). */
  readonly h2c?: boolean;
}

const tests: HttpTest[] = [
  {
    name: 'HTTPRouteSimpleSameNamespace',
    files: ['httproute-simple-same-namespace'],
    gateways: ['same-namespace'],
  },
  { name: 'HTTPRouteMatching', files: ['httproute-matching'], gateways: ['same-namespace'] },
  {
    name: 'HTTPRouteExactPathMatching',
    files: ['httproute-exact-path-matching'],
    gateways: ['same-namespace'],
  },
  { name: 'HTTPRouteHeaderMatching', files: ['httproute-header-matching'], gateways: ['same-namespace'] },
  {
    name: 'HTTPRouteQueryParamMatching',
    files: ['httproute-query-param-matching'],
    gateways: ['same-namespace'],
  },
  { name: 'HTTPRouteMethodMatching', files: ['httproute-method-matching'], gateways: ['same-namespace'] },
  {
    name: 'HTTPRouteMatchingAcrossRoutes',
    files: ['httproute-matching-across-routes'],
    gateways: ['same-namespace'],
  },
  { name: 'HTTPRoutePathMatchOrder', files: ['httproute-path-match-order'], gateways: ['same-namespace'] },
  { name: 'HTTPRouteCrossNamespace', files: ['httproute-cross-namespace'], gateways: ['backend-namespaces'] },
  {
    name: 'HTTPRouteInvalidNonExistentBackendRef',
    files: ['httproute-invalid-nonexistent-backendref'],
    gateways: ['same-namespace'],
  },
  {
    name: 'HTTPRouteInvalidBackendRefUnknownKind',
    files: ['httproute-invalid-backendref-unknown-kind'],
    gateways: ['same-namespace'],
  },
  {
    name: 'HTTPRouteRequestHeaderModifier',
    files: ['httproute-request-header-modifier'],
    gateways: ['same-namespace'],
  },
  // Same expectations (the same Test function), the filters on the backendRefs.
  {
    name: 'HTTPRouteBackendRequestHeaderModifier',
    files: ['httproute-request-header-modifier-backend'],
    goFile: 'httproute-request-header-modifier',
    gateways: ['same-namespace'],
  },
  {
    name: 'HTTPRouteInvalidReferenceGrant',
    files: ['httproute-invalid-reference-grant'],
    gateways: ['same-namespace'],
  },
  { name: 'HTTPRouteNamedRule', files: ['httproute-named-rule'], gateways: ['same-namespace'] },
  {
    name: 'HTTPRouteResponseHeaderModifier',
    files: ['httproute-response-header-modifier'],
    gateways: ['same-namespace'],
  },
  { name: 'HTTPRouteRewritePath', files: ['httproute-rewrite-path'], gateways: ['same-namespace'] },
  { name: 'HTTPRouteRewriteHost', files: ['httproute-rewrite-host'], gateways: ['same-namespace'] },
  { name: 'HTTPRouteRedirectPath', files: ['httproute-redirect-path'], gateways: ['same-namespace'] },
  { name: 'HTTPRouteRedirectPort', files: ['httproute-redirect-port'], gateways: ['same-namespace'] },
  { name: 'HTTPRouteRedirectScheme', files: ['httproute-redirect-scheme'], gateways: ['same-namespace'] },
  {
    name: 'HTTPRouteRedirectHostAndStatus',
    files: ['httproute-redirect-host-and-status'],
    gateways: ['same-namespace'],
  },
  { name: 'HTTPRoute303Redirect', files: ['httproute-303-redirect'], gateways: ['same-namespace'] },
  { name: 'HTTPRoute307Redirect', files: ['httproute-307-redirect'], gateways: ['same-namespace'] },
  { name: 'HTTPRoute308Redirect', files: ['httproute-308-redirect'], gateways: ['same-namespace'] },
  {
    name: 'HTTPRouteListenerHostnameMatching',
    files: ['httproute-listener-hostname-matching'],
    gateways: ['httproute-listener-hostname-matching'],
  },
  {
    name: 'HTTPRouteInvalidCrossNamespaceBackendRef',
    files: ['httproute-invalid-cross-namespace-backend-ref'],
    gateways: ['same-namespace'],
  },
  {
    name: 'HTTPRoutePartiallyInvalidViaInvalidReferenceGrant',
    files: ['httproute-partially-invalid-via-invalid-reference-grant'],
    gateways: ['same-namespace'],
  },
  {
    name: 'HTTPRouteListenerPortMatching',
    files: ['httproute-listener-port-matching'],
    gateways: ['httproute-listener-port-matching'],
  },
  {
    name: 'HTTPRouteHostnameIntersection',
    files: ['httproute-hostname-intersection'],
    gateways: ['httproute-hostname-intersection', 'httproute-hostname-intersection-all'],
    splitAt: 27,
  },
  {
    name: 'GatewayHTTPListenerIsolation',
    files: ['gateway-http-listener-isolation', 'gateway-http-listener-isolation-with-hostname-intersection'],
    gateways: ['http-listener-isolation', 'http-listener-isolation-with-hostname-intersection'],
  },
  // The 500 after the ReferenceGrant is deleted is checked on the model (conformance.test.ts).
  {
    name: 'HTTPRouteReferenceGrant',
    files: ['httproute-reference-grant'],
    gateways: ['same-namespace'],
    only: 1,
  },
  // The echo backend sleeps for `?delay=`, like echo-basic.
  { name: 'HTTPRouteTimeoutRequest', files: ['httproute-timeout-request'], gateways: ['same-namespace'] },
  {
    name: 'HTTPRouteTimeoutBackendRequest',
    files: ['httproute-timeout-backend-request'],
    gateways: ['same-namespace'],
  },
  {
    name: 'HTTPRouteRequestMirror',
    files: ['httproute-request-mirror'],
    gateways: ['same-namespace'],
    mirroredTo: ['infra-backend-v2'],
  },
  {
    name: 'HTTPRouteRequestMultipleMirrors',
    files: ['httproute-request-multiple-mirrors'],
    gateways: ['same-namespace'],
    mirroredTo: ['infra-backend-v2', 'infra-backend-v3'],
  },
  // Client to Gateway and Gateway to the Service port with appProtocol kubernetes.io/h2c: HTTP/2
  // with prior knowledge; the echo backend reports the HTTP version it was spoken to with.
  {
    name: 'HTTPRouteBackendProtocolH2C',
    files: ['httproute-backend-protocol-h2c'],
    gateways: ['same-namespace'],
    h2c: true,
  },
];

interface Echo {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  readonly sockets: Set<Socket>;
  /** The request targets received, in order. */
  readonly seen: string[];
}

/**
 * An echo backend like the suite's echo-basic: answers JSON with its name and the request it got,
 * and adds the response headers listed in X-Echo-Set-Header (`Name:value,Name:value`).
 */
async function startEcho(name: string): Promise<Echo> {
  const seen: string[] = [];
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    seen.push(req.url ?? '');
    const delay = /[?&]delay=(\d+)(ms|s)\b/.exec(req.url ?? '');
    if (delay) await sleep(Number(delay[1]) * (delay[2] === 's' ? 1000 : 1));
    for (const kv of String(req.headers['x-echo-set-header'] ?? '').split(',')) {
      const [header, value] = kv.trim().split(/:(.*)/s);
      if (!header) continue;
      const old = res.getHeader(header);
      res.setHeader(header, old === undefined ? (value ?? '') : `${String(old)},${(value ?? '').trim()}`);
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')));
    if (req.headers[':authority'] !== undefined) headers.host = req.headers[':authority'];
    const body = JSON.stringify({
      name,
      url: req.url,
      method: req.method,
      headers,
      version: req.httpVersion,
    });
    res.setHeader('content-type', 'application/json');
    res.end(body);
  };
  // HTTP/1.1 and h2c on one port, as the Service's ports all map to it.
  const http1 = http.createServer((req, res) => void answer(req, res));
  // Every port also takes WebSocket (its kubernetes.io/ws port too, as echo-basic's).
  http1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    seen.push(req.url ?? '');
    wsEcho(req, socket, head);
  });
  // The Gateway's own cleartext port model; its HTTP/2 side (with the request guard, which lets
  // every well-formed request through) answers as the HTTP/1.1 side does.
  const h2c = new GuardedHttp2Server(
    { refuseHttp2: () => undefined, countConnectionError: () => undefined },
    (req, res) => void answer(req, res),
    16 * 1024,
  );
  const server = cleartextServer(http1, h2c);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s.once('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { name, port: (server.address() as AddressInfo).port, server, sockets, seen };
}

async function stopAll(echos: Echo[]): Promise<void> {
  for (const e of echos) {
    for (const s of e.sockets) s.destroy();
    await new Promise((r) => e.server.close(r));
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * The port a case is sent to: the one in its Host when a listener has it (the suite picks the
 * Gateway address of that listener), else 80; a Host may carry another port just to be ignored.
 */
function portOf(c: ExpectedCase, listenerPorts: number[]): number {
  const m = /:(\d+)$/.exec(c.request.host ?? '');
  return m && listenerPorts.includes(Number(m[1])) ? Number(m[1]) : 80;
}

/** The case over HTTP/2 with prior knowledge; the answer says which HTTP version reached the backend. */
async function sendH2c(port: number, c: ExpectedCase): Promise<Answer> {
  const session = http2.connect(`http://${ADDRESS}:${port}`);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({
        ':method': c.request.method ?? 'GET',
        ':path': c.request.path,
        ':authority': c.request.host ?? ADDRESS,
        ...c.request.headers,
      });
      let status = 0;
      let headers: http.IncomingHttpHeaders = {};
      let body = '';
      stream.on('response', (h) => {
        status = Number(h[':status']);
        headers = h as http.IncomingHttpHeaders;
      });
      stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => resolve({ status, headers, body }));
      stream.on('error', reject);
      stream.end();
    });
  } finally {
    session.close();
  }
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

/** Echo backends for every Service, the compiled model, and a proxy with its servers (not yet serving). */
async function setUp(files: string[]) {
  const state = await conformanceState(...files);
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
    backends: backendEntries(compiled),
  });
  /** Serves one Gateway's listeners (only): every request then reaches that Gateway. */
  const serve = async (gateway: string) => {
    const listeners = compiled.listeners.filter((l) => l.gateway === `${INFRA}/${gateway}`);
    expect(listeners.length, `listeners of ${gateway}`).toBeGreaterThan(0);
    expect(await servers.update(listeners), 'ports that could not be opened').toEqual([]);
    return listeners.map((l) => l.port);
  };
  const done = async () => {
    await stop();
    cleanup.splice(cleanup.indexOf(stop), 1);
  };
  /** Waits (up to 5 s) until the echo of `service` has received `target`. */
  const mirrored = async (service: string, target: string): Promise<boolean> => {
    const echo = echos.find((e) => e.name === `${INFRA}/${service}`);
    expect(echo, `echo backend of ${service}`).toBeDefined();
    for (let waited = 0; waited < 5000; waited += 20) {
      if (echo!.seen.includes(target)) return true;
      await sleep(20);
    }
    return false;
  };
  /** What the echo of `service` received so far. */
  const seen = (service: string): string[] => echos.find((e) => e.name === `${INFRA}/${service}`)?.seen ?? [];
  return { serve, done, mirrored, seen };
}

describe('conformance over HTTP through the Gateway proxy', () => {
  for (const t of tests)
    it(t.name, { timeout: 120_000 }, async () => {
      const { serve, done, mirrored } = await setUp(t.files);
      const goFile = t.goFile ?? t.files[0]!;
      const cases = (await expectedCases(goFile, INFRA)).slice(0, t.only);
      expect(cases.length, `expectations read from ${goFile}.go`).toBeGreaterThan(0);
      // [gateway, cases sent to it]
      const plan: [string, ExpectedCase[]][] =
        t.splitAt !== undefined
          ? [
              [t.gateways[0]!, cases.slice(0, t.splitAt)],
              [t.gateways[1]!, cases.slice(t.splitAt)],
            ]
          : t.gateways.map((g) => [g, cases]);
      const failures: string[] = [];
      try {
        for (const [gateway, sent] of plan) {
          expect(sent.length).toBeGreaterThan(0);
          const ports = await serve(gateway);
          for (const c of sent) {
            const answer = await (t.h2c ? sendH2c : send)(portOf(c, ports), c);
            let problem = mismatch(c, answer);
            if (!problem && t.h2c && answer.status === 200) {
              const version = (JSON.parse(answer.body) as { version: string }).version;
              if (version !== '2.0') problem = `the backend was spoken to over HTTP/${version}`;
            }
            if (problem)
              failures.push(
                `${gateway}: ${c.request.method ?? 'GET'} ${c.request.host ?? ''}${c.request.path} ${JSON.stringify(c.request.headers)}: ${problem}`,
              );
            for (const service of t.mirroredTo ?? [])
              if (!(await mirrored(service, c.request.path)))
                failures.push(`${gateway}: ${c.request.path} was not mirrored to ${service}`);
          }
        }
      } finally {
        await done();
      }
      expect(failures).toEqual([]);
    });

  it('HTTPRouteBackendProtocolWebSocket: a text and a binary message echoed through the Gateway', async () => {
    const { serve, done, seen } = await setUp(['httproute-backend-protocol-websocket']);
    try {
      await serve('same-namespace');
      // Node's WebSocket client (undici), as the suite's golang.org/x/net/websocket client.
      const ws = new WebSocket(`ws://${ADDRESS}:80/ws`);
      ws.binaryType = 'arraybuffer';
      const replies: (string | number[])[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.onerror = () => reject(new Error('WebSocket error'));
        ws.onopen = () => ws.send('Websocket Support!');
        ws.onmessage = (e: MessageEvent) => {
          replies.push(typeof e.data === 'string' ? e.data : [...new Uint8Array(e.data as ArrayBuffer)]);
          if (replies.length === 1) ws.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
          else {
            ws.close();
            resolve();
          }
        };
      });
      expect(replies).toEqual(['Websocket Support!', [1, 2, 3, 4, 5, 6, 7]]);
      expect(seen('infra-backend-v1')).toContain('/ws');
    } finally {
      await done();
    }
  });

  it(
    "HTTPRouteRequestPercentageMirror: each path's share of mirrored requests within the suite's 15 points",
    { timeout: 120_000 },
    async () => {
      const REQUESTS = 400;
      const go = readFileSync(
        join(await conformanceDir(), 'tests', 'httproute-request-percentage-mirror.go'),
        'utf8',
      );
      // Each case: its request path and the Percent of its MirroredTo backend.
      const cases = [
        ...go.matchAll(
          /Request:\s*http\.Request\{\s*Path:\s*"([^"]+)"[\s\S]*?Name:\s*"([^"]+)"[\s\S]*?Percent:\s*ptr\.To\(int32\((\d+)\)\)/g,
        ),
      ].map((m) => ({ path: m[1]!, mirror: m[2]!, percent: Number(m[3]) }));
      expect(cases.length, 'cases read from the Go file').toBe(3);
      const { serve, done, seen } = await setUp(['httproute-request-percentage-mirror']);
      const failures: string[] = [];
      try {
        await serve('same-namespace');
        for (const c of cases) {
          for (let i = 0; i < REQUESTS; i++) {
            const a = await send(80, {
              request: { path: c.path, headers: {} },
              statusCode: 200,
              backendSetResponseHeaders: {},
              responseHeaders: {},
              absentResponseHeaders: [],
            });
            expect(a.status).toBe(200);
          }
          await sleep(300); // the last copies are fire-and-forget
          const share = (100 * seen(c.mirror).filter((t) => t === c.path).length) / REQUESTS;
          if (Math.abs(share - c.percent) > 15)
            failures.push(`${c.path}: ${share} % mirrored, expected ${c.percent} % ± 15`);
        }
      } finally {
        await done();
      }
      expect(failures).toEqual([]);
    },
  );

  it(
    'HTTPRouteRequestHeaderModifierBackendWeights: each backend gets the Backend header its backendRef sets',
    { timeout: 120_000 },
    async () => {
      const { serve, done } = await setUp(['httproute-request-header-modifier-backend-weights']);
      const c = (await expectedCases('httproute-request-header-modifier-backend-weights', INFRA))[0]!;
      const failures: string[] = [];
      const answeredBy = new Set<string>();
      try {
        await serve('same-namespace');
        // As the suite: 100 requests, each answered by the pod its Backend header names.
        for (let i = 0; i < 100; i++) {
          const a = await send(80, c);
          expect(a.status, a.body).toBe(c.statusCode);
          const seen = JSON.parse(a.body) as { name: string; headers: http.IncomingHttpHeaders };
          const named = seen.headers.backend;
          answeredBy.add(seen.name);
          if (typeof named !== 'string' || !seen.name.startsWith(`${INFRA}/${named}`))
            failures.push(`answered by ${seen.name} with Backend: ${JSON.stringify(named)}`);
        }
      } finally {
        await done();
      }
      expect(failures).toEqual([]);
      // The weights send requests to more than one backend, so the header is checked per backendRef.
      expect(answeredBy.size).toBeGreaterThan(1);
    },
  );

  it(
    "HTTPRouteWeight: requests split 70/30/0 within the suite's tolerance (5 points)",
    { timeout: 120_000 },
    async () => {
      const REQUESTS = 2000;
      const { serve, done } = await setUp(['httproute-weight']);
      const counts = new Map<string, number>();
      try {
        await serve('same-namespace');
        const c = (await expectedCases('httproute-weight', INFRA))[0]!;
        // The suite sends 500; 2000 make a miss of the 5-point tolerance by chance negligible (4.9 sigma).
        for (let i = 0; i < REQUESTS; i++) {
          const a = await send(80, c);
          expect(a.status, a.body).toBe(200);
          const name = (JSON.parse(a.body) as { name: string }).name;
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      } finally {
        await done();
      }
      const share = (n: string) => (counts.get(`${INFRA}/${n}`) ?? 0) / REQUESTS;
      const seen = JSON.stringify([...counts]);
      expect(Math.abs(share('infra-backend-v1') - 0.7), seen).toBeLessThanOrEqual(0.05);
      expect(Math.abs(share('infra-backend-v2') - 0.3), seen).toBeLessThanOrEqual(0.05);
      expect(share('infra-backend-v3'), seen).toBe(0);
    },
  );
});
