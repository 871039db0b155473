// Two upstream conformance tests that need an HTTPS listener next to HTTP ones, with real HTTP and
// TLS through the Gateway proxy; manifests (with the suite's base manifests) and expectations from
// the conformance Go module, the certificate Secrets made as the suite makes them:
// - HTTPRouteRedirectPortAndScheme (extended: HTTPRoutePortRedirect, GatewayPort8080): redirects
//   from listeners on 80, 8080 (HTTP) and 443 (HTTPS), the Location's scheme, host, port and path
//   compared as the suite's http.go compares them; Gateways on 127.14.1.3.
// - HTTPRouteHTTPSListenerDetectMisdirectedRequests (extended: GatewayHTTPSListenerDetectMisdirected-
//   Requests): HTTP/2 over TLS to four HTTPS listeners on 127.14.1.4:443, each case a server name
//   (SNI) and a Host; a Host another listener than the SNI's serves gets 421.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable } from '../../src/index.js';
import { backendEntries, compileGateways, GatewayProxy, GatewayServers } from '../../src/gateway/index.js';
import {
  conformanceDir,
  conformanceState,
  expectedCases,
  sliceFor,
  suiteSecrets,
} from './conformance-kit.js';

const INFRA = 'gateway-conformance-infra';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

/** Echo backends for every Service, the compiled model with the suite's Secrets, a proxy serving `gateways`. */
async function serveGateways(file: string, address: string, gateways: string[]) {
  const state = await conformanceState(file);
  const { secrets, validity } = suiteSecrets();
  const echos: http.Server[] = [];
  const slices = [];
  for (const s of state.services) {
    const name = `${s.metadata!.namespace}/${s.metadata!.name}`;
    const echo = http.createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, host: req.headers.host }));
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echos.push(echo);
    slices.push(sliceFor(s, '127.0.0.1', (echo.address() as AddressInfo).port));
  }
  const compiled = compileGateways(
    { ...state, endpointSlices: slices, secrets: [...state.secrets, ...secrets] },
    { addresses: [address] },
  );
  const proxy = new GatewayProxy(defaultProxyOptions);
  proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(compiled) });
  const servers = new GatewayServers(proxy, address);
  cleanup.push(async () => {
    await servers.close();
    await proxy.upstreams.close();
    proxy.pool.close();
    for (const e of echos) {
      e.closeAllConnections();
      await new Promise((r) => e.close(r));
    }
  });
  const listeners = compiled.listeners.filter((l) => gateways.includes(l.gateway));
  expect(new Set(listeners.map((l) => l.gateway)), 'every Gateway has listeners').toEqual(new Set(gateways));
  expect(await servers.update(listeners), 'ports that could not be opened').toEqual([]);
  return { compiled, validity };
}

function routeAccepted(compiled: ReturnType<typeof compileGateways>, route: string): string[] {
  const r = compiled.httpRoutes.find((x) => `${x.namespace}/${x.name}` === route);
  return r?.status.parents.flatMap((p) => p.conditions.map((k) => `${k.type}=${k.status}`)) ?? [];
}

interface Reply {
  status: number;
  location?: string | undefined;
  body: string;
  fingerprint?: string | undefined;
}

function httpGet(address: string, port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** HTTP/1.1 over TLS with this SNI and Host, the chain checked against the suite's certificate. */
function httpsGet(
  address: string,
  serverName: string,
  host: string,
  path: string,
  ca: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: address,
        port: 443,
        path,
        servername: serverName,
        headers: { host },
        ca,
        // The suite's certificate names `*` and `*.org`, which Node does not accept for a host:
        // the chain is checked, and the fingerprint by the caller.
        checkServerIdentity: () => undefined,
        agent: false,
      },
      (res) => {
        let body = '';
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body, fingerprint }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** HTTP/2 over TLS (ALPN h2), as the suite's H2Protocol round tripper: this SNI, this :authority. */
async function h2Get(
  address: string,
  serverName: string,
  host: string,
  path: string,
  ca: string,
): Promise<Reply> {
  const session = http2.connect(`https://${address}:443`, {
    servername: serverName,
    ca,
    checkServerIdentity: () => undefined,
  });
  try {
    return await new Promise<Reply>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':method': 'GET', ':path': path, ':authority': host });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8').on('data', (c: string) => (body += c));
      stream.on('end', () =>
        resolve({
          status,
          body,
          fingerprint: (session.socket as TLSSocket).getPeerCertificate().fingerprint256,
        }),
      );
      stream.on('error', reject);
      stream.end();
    });
  } finally {
    session.close();
  }
}

describe('HTTPS listener conformance (redirects, misdirected requests)', () => {
  it('HTTPRouteRedirectPortAndScheme', { timeout: 120_000 }, async () => {
    const ADDRESS = '127.14.1.3';
    const file = 'httproute-redirect-port-and-scheme';
    const go = readFileSync(join(await conformanceDir(), 'tests', `${file}.go`), 'utf8');
    // The Go file sends its three lists of cases to these Gateways, in this order.
    const sentTo = [...go.matchAll(/t\.Run\("([\w-]+)\/"/g)].map((m) => m[1]);
    expect(sentTo).toEqual(['http-listener-on-80', 'http-listener-on-8080', 'https-listener-on-443']);
    const lists = [...go.matchAll(/testCases\s*:?=\s*\[\]http\.ExpectedResponse\{/g)];
    expect(lists).toHaveLength(3);
    const cases = await expectedCases(file, INFRA);
    // Each list's length: its Request literals up to the next list.
    const counts = lists.map(
      (m, i) =>
        go.slice(m.index, lists[i + 1]?.index ?? go.length).match(/Request:\s*http\.Request\{/g)!.length,
    );
    expect(counts.reduce((a, b) => a + b)).toBe(cases.length);
    const gateways = [
      `${INFRA}/same-namespace`,
      `${INFRA}/same-namespace-with-http-listener-on-8080`,
      `${INFRA}/same-namespace-with-https-listener`,
    ];
    const { compiled, validity } = await serveGateways(file, ADDRESS, gateways);
    for (const route of ['80', '8080', '443'])
      expect(routeAccepted(compiled, `${INFRA}/http-route-for-listener-on-port-${route}`)).toEqual([
        'Accepted=True',
        'ResolvedRefs=True',
      ]);
    const fingerprint = new X509Certificate(validity.cert).fingerprint256;
    const failures: string[] = [];
    let at = 0;
    for (const [i, count] of counts.entries()) {
      for (const c of cases.slice(at, at + count)) {
        const reply =
          i === 2
            ? await httpsGet(ADDRESS, 'example.org', c.request.host ?? ADDRESS, c.request.path, validity.cert)
            : await httpGet(ADDRESS, i === 0 ? 80 : 8080, c.request.path);
        const label = `${sentTo[i]} ${c.request.path}`;
        if (i === 2 && reply.fingerprint !== fingerprint) failures.push(`${label}: another certificate`);
        if (reply.status !== c.statusCode) {
          failures.push(`${label}: status ${reply.status}, expected ${c.statusCode}`);
          continue;
        }
        // As http.go: host, port (unset: the scheme's well-known port or none), scheme, path.
        const want = c.redirect!;
        const location = new URL(reply.location ?? '');
        const scheme = location.protocol.slice(0, -1);
        const port = location.port;
        if (location.hostname !== want.host) failures.push(`${label}: host ${location.hostname}`);
        if (want.port === undefined) {
          if (port !== '' && port !== (scheme === 'https' ? '443' : '80'))
            failures.push(`${label}: port ${port} for ${scheme}`);
        } else if (port !== want.port)
          failures.push(`${label}: port ${port || '(none)'}, expected ${want.port}`);
        if (scheme !== want.scheme) failures.push(`${label}: scheme ${scheme}, expected ${want.scheme}`);
        if (location.pathname !== (want.path ?? c.request.path))
          failures.push(`${label}: path ${location.pathname}`);
      }
      at += count;
    }
    expect(failures).toEqual([]);
  });

  it('HTTPRouteHTTPSListenerDetectMisdirectedRequests', { timeout: 120_000 }, async () => {
    const ADDRESS = '127.14.1.4';
    const file = 'httproute-https-listener-detect-misdirected-requests';
    const go = readFileSync(join(await conformanceDir(), 'tests', `${file}.go`), 'utf8');
    const cases = [
      ...go.matchAll(
        /\{serverName:\s*"([^"]+)",\s*host:\s*"([^"]+)",\s*statusCode:\s*(\d+)(?:,\s*backend:\s*"([^"]+)")?\}/g,
      ),
    ].map((m) => ({ serverName: m[1]!, host: m[2]!, statusCode: Number(m[3]), backend: m[4] }));
    expect(cases.length, 'cases read from the Go file').toBe(15);
    const path = /Path:\s*"([^"]+)"/.exec(go)![1]!;
    const { compiled, validity } = await serveGateways(file, ADDRESS, [
      `${INFRA}/same-namespace-with-https-listener`,
    ]);
    for (let i = 1; i <= 4; i++)
      expect(
        routeAccepted(compiled, `${INFRA}/https-listener-detect-misdirected-requests-test-${i}`),
      ).toEqual(['Accepted=True', 'ResolvedRefs=True']);
    const fingerprint = new X509Certificate(validity.cert).fingerprint256;
    const failures: string[] = [];
    // HTTP/2 as the suite sends them, and HTTP/1.1 over TLS too: the same answers.
    for (const [protocol, get] of [
      ['h2', h2Get],
      ['http/1.1', httpsGet],
    ] as const)
      for (const tc of cases) {
        const reply = await get(ADDRESS, tc.serverName, tc.host, path, validity.cert);
        const label = `${protocol} SNI ${tc.serverName}, Host ${tc.host}`;
        if (reply.fingerprint !== fingerprint) failures.push(`${label}: another certificate`);
        if (reply.status !== tc.statusCode)
          failures.push(`${label}: ${reply.status}, expected ${tc.statusCode}`);
        else if (tc.backend && (JSON.parse(reply.body) as { name: string }).name !== `${INFRA}/${tc.backend}`)
          failures.push(`${label}: answered by ${reply.body}`);
      }
    expect(failures).toEqual([]);
    // Ours: without SNI there is nothing to compare; the Host alone picks the listener.
    const noSni = await httpsGet(ADDRESS, '', 'second-example.org', path, validity.cert);
    expect(noSni.status).toBe(200);
    expect((JSON.parse(noSni.body) as { name: string }).name).toBe(`${INFRA}/infra-backend-v2`);
  });
});
