// gRPC through an HTTPS Gateway listener: HTTP/2 chosen by ALPN, TLS terminated with the
// listener's certificate (checked by the client against it), the call routed by its GRPCRoute to
// an h2c backend.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable, selfSignedPair } from '../../src/index.js';
import {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayProxy,
  GatewayServers,
} from '../../src/gateway/index.js';
import { sliceFor } from './conformance-kit.js';
import { call, startGrpcEcho, SERVICE } from './grpc-kit.js';

const ADDRESS = '127.14.0.6';

describe('gRPC over an HTTPS listener', () => {
  const pair = selfSignedPair('grpc.example.com');
  let echo: grpc.Server;
  let proxy: GatewayProxy;
  let servers: GatewayServers;
  let port: number;

  beforeAll(async () => {
    const started = await startGrpcEcho('default', 'rpc');
    echo = started.server;
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, ADDRESS, r));
    port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const service = { metadata: { namespace: 'default', name: 'rpc' }, spec: { ports: [{ port: 50051 }] } };
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
                  name: 'https',
                  port,
                  protocol: 'HTTPS',
                  hostname: 'grpc.example.com',
                  tls: { certificateRefs: [{ name: 'cert' }] },
                },
              ],
            },
          },
        ],
        httpRoutes: [],
        grpcRoutes: [
          {
            metadata: { namespace: 'default', name: 'rpc' },
            spec: {
              parentRefs: [{ name: 'gw' }],
              rules: [
                { matches: [{ method: { service: SERVICE } }], backendRefs: [{ name: 'rpc', port: 50051 }] },
              ],
            },
          },
        ],
        referenceGrants: [],
        namespaces: [],
        services: [service],
        endpointSlices: [sliceFor(service, '127.0.0.1', started.port)],
        secrets: [
          {
            metadata: { namespace: 'default', name: 'cert', resourceVersion: '1' },
            type: 'kubernetes.io/tls',
            data: {
              'tls.crt': Buffer.from(pair.cert).toString('base64'),
              'tls.key': Buffer.from(pair.key).toString('base64'),
            },
          },
        ],
      },
      { addresses: [ADDRESS] },
    );
    expect(compiled.grpcRoutes[0]!.status.parents[0]!.conditions.map((c) => c.status)).toEqual([
      'True',
      'True',
    ]);
    proxy = new GatewayProxy(defaultProxyOptions);
    proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(compiled) });
    servers = new GatewayServers(proxy, ADDRESS);
    expect(await servers.update(compiled.listeners)).toEqual([]);
  });

  afterAll(async () => {
    await servers?.close();
    await proxy?.upstreams.close();
    proxy?.pool.close();
    echo?.forceShutdown();
  });

  const tls = () => grpc.credentials.createSsl(Buffer.from(pair.cert));

  it('a call with SNI grpc.example.com reaches the backend; the client verified our certificate', async () => {
    const got = await call(
      `${ADDRESS}:${port}`,
      { method: 'EchoTwo', metadata: { k: 'v' }, code: 'OK' },
      tls(),
      {
        'grpc.ssl_target_name_override': 'grpc.example.com',
        'grpc.default_authority': 'grpc.example.com',
      },
    );
    expect(got.code, got.details).toBe('OK');
    expect(got.answer).toMatchObject({ fullyQualifiedMethod: `/${SERVICE}/EchoTwo`, pod: 'rpc-pod' });
    expect(got.answer!.headers.k).toBe('v');
  });

  it('a client that does not trust the certificate fails the handshake (UNAVAILABLE), nothing reaches the backend', async () => {
    const other = selfSignedPair('grpc.example.com');
    const got = await call(
      `${ADDRESS}:${port}`,
      { method: 'Echo', metadata: {}, code: 'OK' },
      grpc.credentials.createSsl(Buffer.from(other.cert)),
      { 'grpc.ssl_target_name_override': 'grpc.example.com', 'grpc.default_authority': 'grpc.example.com' },
    );
    expect(got.code).toBe('UNAVAILABLE');
  });
});
