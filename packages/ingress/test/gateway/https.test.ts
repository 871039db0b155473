// HTTPS Gateway listeners over real TLS: two listeners on one port with their own hostnames and
// certificates; the SNI server name picks the certificate of the listener it matches, and the
// request is routed by that listener's routes only.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import { defaultProxyOptions, emptyTable, selfSignedPair } from '../../src/index.js';
import {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayProxy,
  GatewayServers,
  type HTTPRoute,
} from '../../src/gateway/index.js';
import { sliceFor } from './conformance-kit.js';

const ADDRESS = '127.14.0.2';

function secret(name: string, dnsName: string): V1Secret {
  const pair = selfSignedPair(dnsName);
  return {
    metadata: { namespace: 'default', name, resourceVersion: '1' },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pair.cert).toString('base64'),
      'tls.key': Buffer.from(pair.key).toString('base64'),
    },
  };
}

function route(name: string, sectionName: string, backend: string): HTTPRoute {
  return {
    metadata: { namespace: 'default', name },
    spec: {
      parentRefs: [{ name: 'gw', sectionName }],
      rules: [{ backendRefs: [{ name: backend, port: 80 }] }],
    },
  };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, ADDRESS, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('HTTPS listeners', () => {
  let backends: http.Server[] = [];
  let servers: GatewayServers;
  let proxy: GatewayProxy;
  let port: number;

  beforeAll(async () => {
    const ports: number[] = [];
    for (const name of ['a', 'b']) {
      const server = http.createServer((req, res) => {
        req.resume();
        res.end(name);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      backends.push(server);
      ports.push((server.address() as AddressInfo).port);
    }
    port = await freePort();
    const services = ['svc-a', 'svc-b'].map((name) => ({
      metadata: { namespace: 'default', name },
      spec: { ports: [{ port: 80 }] },
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
                  name: 'a',
                  port,
                  protocol: 'HTTPS',
                  hostname: 'a.example.com',
                  tls: { certificateRefs: [{ name: 'cert-a' }] },
                },
                {
                  name: 'b',
                  port,
                  protocol: 'HTTPS',
                  hostname: '*.b.example.com',
                  tls: { certificateRefs: [{ name: 'cert-b' }] },
                },
              ],
            },
          },
        ],
        httpRoutes: [route('to-a', 'a', 'svc-a'), route('to-b', 'b', 'svc-b')],
        referenceGrants: [],
        namespaces: [],
        services,
        endpointSlices: services.map((s, i) => sliceFor(s, '127.0.0.1', ports[i])),
        secrets: [secret('cert-a', 'a.example.com'), secret('cert-b', 'x.b.example.com')],
      },
      { addresses: [ADDRESS] },
    );
    proxy = new GatewayProxy(defaultProxyOptions);
    proxy.setTable({
      ...emptyTable,
      version: 1,
      backends: backendEntries(compiled),
    });
    servers = new GatewayServers(proxy, ADDRESS);
    expect(await servers.update(compiled.listeners)).toEqual([]);
  });

  afterAll(async () => {
    await servers?.close();
    await proxy?.upstreams.close();
    proxy?.pool.close();
    for (const b of backends) {
      b.closeAllConnections();
      await new Promise((r) => b.close(r));
    }
    backends = [];
  });

  function get(servername: string): Promise<{ body: string; status: number; subject: string }> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        {
          host: ADDRESS,
          port,
          servername,
          headers: { host: servername },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          const raw = (
            res.socket as import('node:tls').TLSSocket
          ).getPeerX509Certificate() as X509Certificate;
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ body, status: res.statusCode ?? 0, subject: raw.subject }));
        },
      );
      req.on('error', reject);
    });
  }

  it('serves each listener with its own certificate and its own routes', async () => {
    expect(await get('a.example.com')).toEqual({ body: 'a', status: 200, subject: 'CN=a.example.com' });
    expect(await get('x.b.example.com')).toEqual({ body: 'b', status: 200, subject: 'CN=x.b.example.com' });
    expect(await get('y.z.b.example.com')).toMatchObject({ body: 'b', subject: 'CN=x.b.example.com' });
    // No listener for this name: the first listener's certificate, and no route (404).
    expect(await get('other.org')).toMatchObject({ status: 404, subject: 'CN=a.example.com' });
  });
});
