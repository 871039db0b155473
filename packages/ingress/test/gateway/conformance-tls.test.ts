// The upstream TLSRoute conformance tests: their manifests (with the suite's base manifests) from
// the conformance Go module. Statuses are checked on the compiled model against the conditions the
// Go files require (transcribed below, test by test, with the objects they name);
// TLSRouteSimpleSameNamespace is run with traffic: the suite's conversation (welcome, PING,
// IS_TLS, TEST) over TLS to a tcp-backend like the suite's, through a TLS passthrough listener on
// 127.14.0.8:443, the backend's certificate for abc.example.com checked by the client, as the
// suite does with the certificate it generates.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable, selfSignedPair } from '../../src/index.js';
import {
  backendEntries,
  compileGateways,
  GatewayProxy,
  GatewayServers,
  type GatewayCompiled,
} from '../../src/gateway/index.js';
import { conformanceDir, conformanceState, sliceFor } from './conformance-kit.js';
import { converse, startTlsBackend, WELCOME } from './tls-kit.js';

const INFRA = 'gateway-conformance-infra';
const ADDRESS = '127.14.0.8';

async function compiled(file: string): Promise<GatewayCompiled> {
  return compileGateways(await conformanceState(file), { addresses: [ADDRESS] });
}

/** `type=status/reason` of a route's parent entry for a Gateway. */
function routeConditions(c: GatewayCompiled, route: string, gateway: string): string[] {
  const r = c.tlsRoutes.find((x) => x.name === route && x.namespace === INFRA);
  const parent = r?.status.parents.find((p) => p.parentRef.name === gateway);
  expect(parent, `${route} -> ${gateway}`).toBeDefined();
  return parent!.conditions.map((x) => `${x.type}=${x.status}/${x.reason}`);
}

function listener(c: GatewayCompiled, gateway: string, name: string) {
  const l = c.gateways.find((g) => g.name === gateway)?.status.listeners?.find((x) => x.name === name);
  expect(l, `${gateway} listener ${name}`).toBeDefined();
  return {
    ...l!,
    conditions: Object.fromEntries(l!.conditions.map((x) => [x.type, `${x.status}/${x.reason}`])),
  };
}

describe('TLSRoute conformance (statuses, on the compiled model)', () => {
  it('TLSRouteInvalidBackendRefNonexistent', async () => {
    const c = await compiled('tlsroute-invalid-backendref-nonexistent');
    expect(
      routeConditions(
        c,
        'invalid-backend-ref-nonexistent',
        'gateway-tlsroute-invalid-backend-ref-nonexistent',
      ),
    ).toEqual(['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']);
  });

  it('TLSRouteInvalidBackendRefUnknownKind', async () => {
    const c = await compiled('tlsroute-invalid-backendref-unknown-kind');
    expect(
      routeConditions(
        c,
        'invalid-backend-ref-unknown-kind',
        'gateway-tlsroute-invalid-backend-ref-unknown-kind',
      ),
    ).toEqual(['Accepted=True/Accepted', 'ResolvedRefs=False/InvalidKind']);
  });

  it('TLSRouteInvalidReferenceGrant', async () => {
    const c = await compiled('tlsroute-invalid-reference-grant');
    expect(routeConditions(c, 'gateway-conformance-infra-test', 'gateway-tlsroute-referencegrant')).toEqual([
      'Accepted=True/Accepted',
      'ResolvedRefs=False/RefNotPermitted',
    ]);
  });

  it('TLSRouteInvalidNoMatchingListener', async () => {
    const c = await compiled('tlsroute-invalid-no-matching-listener');
    expect(routeConditions(c, 'tlsroute-not-allowed-protocol-http', 'gateway-tlsroute-http-only')[0]).toBe(
      'Accepted=False/NotAllowedByListeners',
    );
    expect(routeConditions(c, 'tlsroute-not-allowed-protocol-https', 'gateway-tlsroute-https-only')[0]).toBe(
      'Accepted=False/NotAllowedByListeners',
    );
    expect(
      routeConditions(c, 'tlsroute-no-matching-section-name', 'gateway-tlsroute-tls-passthrough-only')[0],
    ).toBe('Accepted=False/NoMatchingParent');
    for (const g of ['gateway-tlsroute-http-only', 'gateway-tlsroute-https-only'])
      for (const l of c.gateways.find((x) => x.name === g)!.status.listeners ?? [])
        expect(l.attachedRoutes, `${g}/${l.name}`).toBe(0);
  });

  it('TLSRouteInvalidNoMatchingListenerHostname', async () => {
    const c = await compiled('tlsroute-invalid-no-matching-listener-hostname');
    expect(routeConditions(c, 'tlsroute-hostname-mismatch-1', 'gateway-tls-exact-hostname')[0]).toBe(
      'Accepted=False/NoMatchingListenerHostname',
    );
    expect(routeConditions(c, 'tlsroute-hostname-mismatch-2', 'gateway-tls-wildcard-hostname')[0]).toBe(
      'Accepted=False/NoMatchingListenerHostname',
    );
  });

  it('TLSRouteListenerPassthroughSupportedKinds', async () => {
    const c = await compiled('tlsroute-listener-passthrough-supported-kinds');
    const l = listener(c, 'gateway-tlsroute-passthrough-supported-kind', 'tls-passthrough');
    expect(l.supportedKinds).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }]);
    expect(l.conditions.ResolvedRefs).toBe('False/InvalidRouteKinds');
    expect(l.attachedRoutes).toBe(0);
  });

  it('TLSRouteListenerTerminateNotSupported', async () => {
    const c = await compiled('tlsroute-listener-terminate-not-supported');
    const l = listener(c, 'gateway-tlsroute-terminate-unsupported', 'tls-terminate');
    expect(l.conditions.Accepted).toBe('False/UnsupportedValue');
    expect(l.attachedRoutes).toBe(0);
  });

  it('TLSRouteListenerMixedTerminationNotSupported', async () => {
    const c = await compiled('tlsroute-listener-mixed-termination-not-supported');
    for (const name of ['tls-terminate', 'tls-passthrough']) {
      const l = listener(c, 'gateway-tlsroute-mixed-termination-not-supported', name);
      expect(l.conditions.Accepted, name).toBe('False/ProtocolConflict');
      expect(l.attachedRoutes, name).toBe(0);
    }
  });
});

describe('TLSRoute conformance (traffic through the passthrough listener)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const f of cleanup) await f();
  });

  it('TLSRouteSimpleSameNamespace', { timeout: 60_000 }, async () => {
    const state = await conformanceState('tlsroute-simple-same-namespace');
    // The suite generates this certificate (tls-passthrough-checks-certificate) for abc.example.com.
    const pair = selfSignedPair('abc.example.com');
    const backend = await startTlsBackend(INFRA, 'tcp-backend', pair);
    cleanup.push(() => backend.close());
    const slices = state.services.map((s) =>
      s.metadata?.name === 'tcp-backend'
        ? sliceFor(s, '127.0.0.1', backend.port)
        : sliceFor(s, '127.0.0.1', 9),
    );
    const c = compileGateways({ ...state, endpointSlices: slices }, { addresses: [ADDRESS] });
    expect(routeConditions(c, 'gateway-conformance-infra-test', 'gateway-tlsroute')).toEqual([
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    const proxy = new GatewayProxy(defaultProxyOptions);
    proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(c) });
    const servers = new GatewayServers(proxy, ADDRESS);
    cleanup.push(async () => {
      await servers.close();
      await proxy.upstreams.close();
      proxy.pool.close();
    });
    const listeners = c.listeners.filter((l) => l.gateway === `${INFRA}/gateway-tlsroute`);
    expect(await servers.update(listeners)).toEqual([]);
    const got = await converse(ADDRESS, 443, 'abc.example.com', pair.cert);
    expect(got.lines.slice(0, 3)).toEqual([WELCOME.trim(), 'PONG', 'true']);
    expect(JSON.parse(got.lines[3]!)).toMatchObject({
      namespace: INFRA,
      pod: 'tcp-backend-pod',
      tls: { serverName: 'abc.example.com' },
    });
    expect(got.fingerprint).toBe(new X509Certificate(pair.cert).fingerprint256);
  });

  it('TLSRouteHostnameIntersection', { timeout: 60_000 }, async () => {
    const ADDRESS_2 = '127.14.0.10';
    const file = 'tlsroute-hostname-intersection';
    const go = readFileSync(join(await conformanceDir(), 'tests', `${file}.go`), 'utf8');
    // Per Gateway of the Go file: the requests that must reach a backend (SNI, Host, backend) and
    // the server names whose connection must be refused.
    const plan = go
      .split(/gwNN := types\.NamespacedName\{Name: "/)
      .slice(1)
      .map((part) => ({
        gateway: part.slice(0, part.indexOf('"')),
        reach: [
          ...part.matchAll(
            /MakeTLSRequestAndExpectEventuallyConsistentResponse\([^"]*"([^"]+)",\s*http\.ExpectedResponse\{\s*Request:\s*http\.Request\{Host: "([^"]+)"[^}]*\},\s*Backend:\s*"([^"]+)"/g,
          ),
        ].map((m) => ({ sni: m[1]!, host: m[2]!, backend: m[3]! })),
        refused: [
          ...part.matchAll(/MakeTLSConnectionAndExpectEventuallyConnectionRejection\([^"]*"([^"]+)"\)/g),
        ].map((m) => m[1]!),
      }));
    expect(plan.length, `Gateways read from ${file}.go`).toBe(4);
    const state = await conformanceState(file);
    // The suite's tls-checks-certificate names abc.example.com and other.example.com (CA-signed
    // there; self-signed here, trusted by the client as the suite trusts its PEM).
    const pair = certificateFor(['abc.example.com', 'other.example.com']);
    const echos = new Map<string, https.Server>();
    const slices = [];
    for (const svc of state.services) {
      const name = svc.metadata!.name!;
      if (!name.startsWith('tls-backend')) {
        slices.push(sliceFor(svc, '127.0.0.1', 9));
        continue;
      }
      const server = https.createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
        req.resume();
        res.end(JSON.stringify({ namespace: INFRA, pod: `${name}-pod`, host: req.headers.host }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      echos.set(name, server);
      slices.push(sliceFor(svc, '127.0.0.1', (server.address() as AddressInfo).port));
    }
    cleanup.push(async () => {
      for (const e of echos.values()) {
        e.closeAllConnections();
        await new Promise((r) => e.close(r));
      }
    });
    const c = compileGateways({ ...state, endpointSlices: slices }, { addresses: [ADDRESS_2] });
    for (const r of c.tlsRoutes)
      for (const p of r.status.parents)
        expect(
          p.conditions.map((x) => `${x.type}=${x.status}`),
          `${r.name} -> ${p.parentRef.name}`,
        ).toEqual(['Accepted=True', 'ResolvedRefs=True']);
    const proxy = new GatewayProxy(defaultProxyOptions);
    proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(c) });
    const servers = new GatewayServers(proxy, ADDRESS_2);
    cleanup.push(async () => {
      await servers.close();
      await proxy.upstreams.close();
      proxy.pool.close();
    });
    const failures: string[] = [];
    for (const step of plan) {
      const listeners = c.listeners.filter((l) => l.gateway === `${INFRA}/${step.gateway}`);
      expect(listeners.length, step.gateway).toBeGreaterThan(0);
      expect(await servers.update(listeners)).toEqual([]);
      const port = listeners[0]!.port;
      for (const r of step.reach) {
        const got = await httpsGet(ADDRESS_2, port, r.sni, r.host, pair.cert).catch((err: Error) => err);
        if (got instanceof Error) failures.push(`${step.gateway} ${r.sni}: ${got.message}`);
        else if (!(JSON.parse(got) as { pod: string }).pod.startsWith(`${r.backend}-`))
          failures.push(`${step.gateway} ${r.sni}: answered ${got}, expected ${r.backend}`);
      }
      for (const sni of step.refused) {
        const got = await httpsGet(ADDRESS_2, port, sni, sni, pair.cert).catch((err: Error) => err);
        if (!(got instanceof Error))
          failures.push(`${step.gateway} ${sni}: answered ${got}, expected a refusal`);
      }
    }
    expect(failures).toEqual([]);
  });
});

function certificateFor(names: string[]): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'portico-conformance-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/O=gateway-api-conformance',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-addext',
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

function httpsGet(
  address: string,
  port: number,
  servername: string,
  host: string,
  ca: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: address, port, path: '/', servername, headers: { host }, ca, agent: false, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
