// RequestMirror and GEP-1742 timeouts through the real Gateway proxy, beyond what the conformance
// tests check: a mirror that never answers does not slow the request, a body over the mirror bound
// is not copied (and counted), and a timeout that expires mid-response cuts the response.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable, ProxyMetrics } from '../../src/index.js';
import {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayProxy,
  GatewayServers,
  MIRROR_BODY_BYTES,
  type HTTPRouteRule,
} from '../../src/gateway/index.js';
import { sliceFor } from './conformance-kit.js';

const ADDRESS = '127.14.0.3';

interface Backend {
  server: http.Server;
  port: number;
  /** Each request's method, target and body length. */
  seen: { method: string; url: string; body: number }[];
}

/** `hold`: never answers; `stall`: sends its head and a first chunk, then nothing. */
async function backend(mode: 'echo' | 'hold' | 'stall'): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const server = http.createServer((req, res) => {
    let body = 0;
    req.on('data', (c: Buffer) => (body += c.length));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      if (mode === 'echo') res.end(`got ${body}`);
      else if (mode === 'stall') res.writeHead(200, { 'content-length': '100' }).write('first');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, ADDRESS, r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function request(
  port: number,
  path: string,
  body?: Buffer,
): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: ADDRESS, port, path, method: body ? 'POST' : 'GET', agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', (err) => resolve({ status: res.statusCode ?? 0, body: text, error: String(err) }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: '', error: String(err) }));
    req.end(body);
  });
}

describe('RequestMirror and timeouts', () => {
  const backends: Record<string, Backend> = {};
  const metrics = new ProxyMetrics();
  let proxy: GatewayProxy;
  let servers: GatewayServers;
  let port: number;

  beforeAll(async () => {
    backends.main = await backend('echo');
    backends.mirror = await backend('hold');
    backends.stall = await backend('stall');
    port = await freePort();
    const names = Object.keys(backends);
    const services = names.map((name) => ({
      metadata: { namespace: 'default', name },
      spec: { ports: [{ port: 80 }] },
    }));
    const rule = (prefix: string, extra: Partial<HTTPRouteRule>, to = 'main'): HTTPRouteRule => ({
      matches: [{ path: { type: 'PathPrefix', value: prefix } }],
      backendRefs: [{ name: to, port: 80 }],
      ...extra,
    });
    const compiled = compileGateways(
      {
        gatewayClasses: [
          { metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } },
        ],
        gateways: [
          {
            metadata: { namespace: 'default', name: 'gw' },
            spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', port, protocol: 'HTTP' }] },
          },
        ],
        httpRoutes: [
          {
            metadata: { namespace: 'default', name: 'r' },
            spec: {
              parentRefs: [{ name: 'gw' }],
              rules: [
                rule('/mirror', {
                  filters: [
                    { type: 'RequestMirror', requestMirror: { backendRef: { name: 'mirror', port: 80 } } },
                  ],
                }),
                rule('/stall', { timeouts: { backendRequest: '300ms' } }, 'stall'),
                rule('/stall-request', { timeouts: { request: '300ms' } }, 'stall'),
              ],
            },
          },
        ],
        referenceGrants: [],
        namespaces: [],
        services,
        endpointSlices: services.map((s) => sliceFor(s, '127.0.0.1', backends[s.metadata.name]!.port)),
        secrets: [],
      },
      { addresses: [ADDRESS] },
    );
    expect(compiled.httpRoutes[0]!.status.parents[0]!.conditions.map((c) => c.status)).toEqual([
      'True',
      'True',
    ]);
    proxy = new GatewayProxy({ ...defaultProxyOptions, metrics });
    proxy.setTable({
      ...emptyTable,
      version: 1,
      backends: backendEntries(compiled),
    });
    servers = new GatewayServers(proxy, ADDRESS);
    expect(await servers.update(compiled.listeners)).toEqual([]);
  });

  afterAll(async () => {
    await servers.close();
    await proxy.upstreams.close();
    proxy.pool.close();
    for (const b of Object.values(backends)) {
      b.server.closeAllConnections();
      await new Promise((r) => b.server.close(r));
    }
  });

  const mirrorCount = async (result: string) =>
    (await metrics.registry.getSingleMetric('portico_gateway_mirrored_requests_total')!.get()).values.find(
      (v) => v.labels.result === result,
    )?.value ?? 0;

  it('a mirror that never answers neither slows nor fails the request; it gets the same body', async () => {
    const started = performance.now();
    const a = await request(port, '/mirror/x', Buffer.from('hello'));
    const took = performance.now() - started;
    expect(a).toEqual({ status: 200, body: 'got 5' });
    expect(took).toBeLessThan(1000);
    for (let i = 0; i < 100 && backends.mirror!.seen.length === 0; i++) await sleep(20);
    expect(backends.mirror!.seen).toEqual([{ method: 'POST', url: '/mirror/x', body: 5 }]);
  });

  it(`a body over ${MIRROR_BODY_BYTES} bytes reaches the backend whole and is not mirrored (counted)`, async () => {
    const before = backends.mirror!.seen.length;
    const big = Buffer.alloc(MIRROR_BODY_BYTES + 1, 'a');
    expect(await request(port, '/mirror/big', big)).toEqual({ status: 200, body: `got ${big.length}` });
    await sleep(200);
    expect(backends.mirror!.seen.length).toBe(before);
    expect(await mirrorCount('body_too_large')).toBe(1);
  });

  for (const path of ['/stall', '/stall-request'])
    it(`${path}: a timeout expiring after the response started cuts it (never a second status)`, async () => {
      const started = performance.now();
      const a = await request(port, path);
      const took = performance.now() - started;
      expect(a.status).toBe(200);
      expect(a.body).toBe('first');
      expect(a.error).toMatch(/aborted|ECONNRESET|socket hang up/);
      expect(took).toBeGreaterThan(250);
      expect(took).toBeLessThan(2000);
    });
});
