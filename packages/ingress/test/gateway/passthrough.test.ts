// TLS passthrough through a Gateway TLS listener with real clients (openssl s_client, Node's TLS
// client) and real TLS backends: the backend's own certificate reaches the client untouched, SNI
// picks the TLSRoute (exact before wildcard); and what an attacker sends: garbage, a ClientHello
// dribbled one byte at a time, a huge record, no SNI, silence.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable, ProxyMetrics, selfSignedPair } from '../../src/index.js';
import {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayProxy,
  GatewayServers,
  TlsPassthrough,
  type TLSRoute,
} from '../../src/gateway/index.js';
import { sliceFor } from './conformance-kit.js';
import { converse, startTlsBackend, WELCOME, type TlsBackend } from './tls-kit.js';

const ADDRESS = '127.14.0.7';

function route(name: string, hostnames: string[], backend: string): TLSRoute {
  return {
    metadata: { namespace: 'default', name },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames,
      rules: [{ backendRefs: [{ name: backend, port: 8443 }] }],
    },
  };
}

/** Bytes written on a raw connection (each chunk after `gapMs`); resolves when it closes or after `waitMs`. */
function raw(
  port: number,
  chunks: Buffer[],
  gapMs = 0,
  waitMs = 500,
): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, ADDRESS);
    let data = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => (data = Buffer.concat([data, c])));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ data, closed: true }));
    void (async () => {
      for (const c of chunks) {
        if (socket.destroyed) return;
        socket.write(c);
        if (gapMs) await sleep(gapMs);
      }
      await sleep(waitMs);
      if (!socket.destroyed) {
        resolve({ data, closed: false });
        socket.destroy();
      }
    })();
  });
}

/** A real ClientHello for `servername`, captured from Node's TLS client. */
async function clientHello(servername: string): Promise<Buffer> {
  let captured = Buffer.alloc(0);
  const server = net.createServer((s) => {
    s.on('data', (c: Buffer) => (captured = Buffer.concat([captured, c])));
    setTimeout(() => s.destroy(), 100);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername });
    c.on('error', () => undefined);
    c.on('close', () => resolve());
  });
  await new Promise((r) => server.close(r));
  return captured;
}

describe('TLS passthrough', () => {
  const pairs = { exact: selfSignedPair('abc.example.com'), wild: selfSignedPair('x.example.com') };
  const backends: Record<string, TlsBackend> = {};
  const metrics = new ProxyMetrics();
  const dir = mkdtempSync(join(tmpdir(), 'portico-passthrough-'));
  let proxy: GatewayProxy;
  let servers: GatewayServers;
  let port: number;

  beforeAll(async () => {
    backends.exact = await startTlsBackend('default', 'exact', pairs.exact);
    backends.wild = await startTlsBackend('default', 'wild', pairs.wild);
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, ADDRESS, r));
    port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const services = ['exact', 'wild'].map((name) => ({
      metadata: { namespace: 'default', name },
      spec: { ports: [{ port: 8443 }] },
    }));
    const compiled = compileGateways(
      {
        gatewayClasses: [
          { metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } },
        ],
        gateways: [
          {
            metadata: { namespace: 'default', name: 'gw' },
            spec: {
              gatewayClassName: 'portico',
              listeners: [
                {
                  name: 'tls',
                  port,
                  protocol: 'TLS',
                  hostname: '*.example.com',
                  tls: { mode: 'Passthrough' },
                },
              ],
            },
          },
        ],
        httpRoutes: [],
        tlsRoutes: [route('wild', ['*.example.com'], 'wild'), route('exact', ['abc.example.com'], 'exact')],
        referenceGrants: [],
        namespaces: [],
        services,
        endpointSlices: services.map((s) => sliceFor(s, '127.0.0.1', backends[s.metadata.name]!.port)),
        secrets: [],
      },
      { addresses: [ADDRESS] },
    );
    for (const r of compiled.tlsRoutes)
      expect(
        r.status.parents[0]!.conditions.map((c) => c.status),
        r.name,
      ).toEqual(['True', 'True']);
    expect(compiled.gateways[0]!.status.listeners![0]).toMatchObject({
      attachedRoutes: 2,
      supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }],
    });
    proxy = new GatewayProxy({ ...defaultProxyOptions, metrics });
    proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(compiled) });
    servers = new GatewayServers(proxy, ADDRESS);
    expect(await servers.update(compiled.listeners)).toEqual([]);
    writeFileSync(join(dir, 'exact.pem'), pairs.exact.cert);
  });

  afterAll(async () => {
    await servers?.close();
    await proxy?.upstreams.close();
    proxy?.pool.close();
    for (const b of Object.values(backends)) await b.close();
  });

  const count = async (result: string) =>
    (
      await metrics.registry.getSingleMetric('portico_gateway_tls_passthrough_connections_total')!.get()
    ).values.find((v) => v.labels.result === result)?.value ?? 0;

  it('openssl s_client: SNI abc.example.com reaches the exact route; it verifies the backend certificate', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        'openssl',
        [
          's_client',
          '-connect',
          `${ADDRESS}:${port}`,
          '-servername',
          'abc.example.com',
          '-CAfile',
          join(dir, 'exact.pem'),
          '-verify_return_error',
          '-verify_hostname',
          'abc.example.com',
          '-quiet',
          '-no_ign_eof',
        ],
        { timeout: 10_000 },
        (err, stdout, stderr) =>
          stdout.includes('PONG') ? resolve(stdout) : reject(new Error(`${err} ${stderr}`)),
      );
      child.stdin!.write('PING\n');
      setTimeout(() => child.stdin!.end(), 1000);
    });
    expect(out).toBe(`${WELCOME}PONG\n`);
  });

  it("exact beats wildcard, the rest goes to the wildcard route; the certificate is the backend's own", async () => {
    const a = await converse(ADDRESS, port, 'abc.example.com', pairs.exact.cert);
    expect(JSON.parse(a.lines[3]!)).toMatchObject({
      pod: 'exact-pod',
      tls: { serverName: 'abc.example.com' },
    });
    expect(a.fingerprint).toBe(new X509Certificate(pairs.exact.cert).fingerprint256);
    const b = await converse(ADDRESS, port, 'x.example.com', pairs.wild.cert);
    expect(b.lines.slice(0, 3)).toEqual([WELCOME.trim(), 'PONG', 'true']);
    expect(JSON.parse(b.lines[3]!)).toMatchObject({ pod: 'wild-pod', tls: { serverName: 'x.example.com' } });
    expect(b.fingerprint).toBe(new X509Certificate(pairs.wild.cert).fingerprint256);
    expect(await count('routed')).toBeGreaterThanOrEqual(2);
  });

  it('a ClientHello dribbled one byte at a time is still routed (the backend answers a ServerHello)', async () => {
    const hello = await clientHello('abc.example.com');
    const before = await count('routed');
    const { data } = await raw(
      port,
      [...hello].map((b) => Buffer.from([b])),
      1,
      500,
    );
    expect(data[0]).toBe(0x16); // a TLS handshake record from the backend
    expect(await count('routed')).toBe(before + 1);
  });

  it('garbage, a huge record, no SNI, a host no route serves: closed, no backend connection', async () => {
    const seen = backends.exact!.connections + backends.wild!.connections;
    const before = { invalid: await count('invalid'), noRoute: await count('no_route') };
    expect(await raw(port, [Buffer.from('GET / HTTP/1.1\r\nHost: abc.example.com\r\n\r\n')])).toEqual({
      data: Buffer.alloc(0),
      closed: true,
    });
    expect((await raw(port, [Buffer.from([0x16, 3, 1, 0xff, 0xff])])).closed).toBe(true);
    expect((await raw(port, [await clientHello('nothing.other.org')])).closed).toBe(true);
    // Node sends no SNI to an IP address.
    await expect(
      new Promise((resolve, reject) => {
        const c = tls.connect({ host: ADDRESS, port, rejectUnauthorized: false });
        c.on('secureConnect', resolve);
        c.on('error', reject);
        c.on('close', () => reject(new Error('closed')));
      }),
    ).rejects.toThrow();
    expect(await count('invalid')).toBe(before.invalid + 2);
    expect(await count('no_route')).toBe(before.noRoute + 2);
    await sleep(100);
    expect(backends.exact!.connections + backends.wild!.connections).toBe(seen);
  });

  it('a connection that sends no complete ClientHello is closed after the hello timeout', async () => {
    const passthrough = new TlsPassthrough(proxy, undefined, undefined, 200);
    const server = passthrough.server(() => []);
    await new Promise<void>((r) => server.listen(0, ADDRESS, r));
    try {
      const started = performance.now();
      const probe = net.connect((server.address() as AddressInfo).port, ADDRESS);
      probe.on('error', () => undefined);
      probe.write(Buffer.from([0x16, 3, 1]));
      await new Promise((r) => probe.once('close', r));
      expect(performance.now() - started).toBeGreaterThan(150);
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
