// The upstream HTTPS listener conformance test HTTPRouteHTTPSListener: its manifests (with the
// suite's base manifests, whose Gateway same-namespace-with-https-listener has three HTTPS
// listeners on 443) from the conformance Go module; the certificate the suite generates
// (tls-validity-checks-certificate, SANs *, *.org, *.wildcard.org) is generated here with openssl
// as the suite does; requests over real TLS with SNI = Host to 127.14.0.9:443, the certificate
// chain checked against that certificate; cases as the Go file lists them (transcribed below).
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable } from '../../src/index.js';
import { backendEntries, compileGateways, GatewayProxy, GatewayServers } from '../../src/gateway/index.js';
import { conformanceState, selfSignedCertificate, sliceFor, tlsSecret } from './conformance-kit.js';

const INFRA = 'gateway-conformance-infra';
const ADDRESS = '127.14.0.9';

function get(host: string, ca: string): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: ADDRESS,
        port: 443,
        path: '/',
        servername: host,
        headers: { host },
        ca,
        // The chain is checked against the suite's certificate; its `*` and `*.org` names are not
        // ones Node accepts for a host, so the name check is the fingerprint below instead.
        checkServerIdentity: () => undefined,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS listener conformance', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const f of cleanup) await f();
  });

  it('HTTPRouteHTTPSListener', { timeout: 60_000 }, async () => {
    const state = await conformanceState('httproute-https-listener');
    // The certificate the suite generates: SANs *, *.org, *.wildcard.org.
    const pair = selfSignedCertificate(['*', '*.org', '*.wildcard.org']);
    const secret = tlsSecret(INFRA, 'tls-validity-checks-certificate', pair);
    const echos: http.Server[] = [];
    const slices = [];
    for (const s of state.services) {
      const name = `${s.metadata!.namespace}/${s.metadata!.name}`;
      const echo = http.createServer((req, res) => {
        req.resume();
        res.end(JSON.stringify({ name, host: req.headers.host }));
      });
      await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
      echos.push(echo);
      slices.push(sliceFor(s, '127.0.0.1', (echo.address() as AddressInfo).port));
    }
    const c = compileGateways(
      { ...state, endpointSlices: slices, secrets: [...state.secrets, secret] },
      { addresses: [ADDRESS] },
    );
    for (const name of ['httproute-https-test', 'httproute-https-test-no-hostname']) {
      const r = c.httpRoutes.find((x) => x.name === name)!;
      expect(
        r.status.parents[0]!.conditions.map((x) => `${x.type}=${x.status}`),
        name,
      ).toEqual(['Accepted=True', 'ResolvedRefs=True']);
    }
    const proxy = new GatewayProxy(defaultProxyOptions);
    proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(c) });
    const servers = new GatewayServers(proxy, ADDRESS);
    cleanup.push(async () => {
      await servers.close();
      await proxy.upstreams.close();
      proxy.pool.close();
      for (const e of echos) {
        e.closeAllConnections();
        await new Promise((r) => e.close(r));
      }
    });
    const listeners = c.listeners.filter((l) => l.gateway === `${INFRA}/same-namespace-with-https-listener`);
    expect(listeners.length, 'HTTPS listeners of same-namespace-with-https-listener').toBeGreaterThanOrEqual(
      3,
    );
    expect(await servers.update(listeners)).toEqual([]);
    // httproute-https-listener.go, `cases`.
    const cases = [
      { host: 'example.org', statusCode: 200, backend: 'infra-backend-v1' },
      { host: 'unknown-example.org', statusCode: 404 },
      { host: 'second-example.org', statusCode: 200, backend: 'infra-backend-v2' },
    ];
    const fingerprint = new X509Certificate(pair.cert).fingerprint256;
    const failures: string[] = [];
    for (const tc of cases) {
      const got = await get(tc.host, pair.cert);
      if (got.fingerprint !== fingerprint) failures.push(`${tc.host}: served another certificate`);
      if (got.status !== tc.statusCode) failures.push(`${tc.host}: ${got.status}, expected ${tc.statusCode}`);
      else if (tc.backend && (JSON.parse(got.body) as { name: string }).name !== `${INFRA}/${tc.backend}`)
        failures.push(`${tc.host}: answered by ${got.body}`);
    }
    expect(failures).toEqual([]);
  });
});
