/**
 * The HTTP/2 request guard in front of the Gateway listener ports, attacked as security-http2.test.ts
 * attacks the Ingress's: raw frames over h2c (an HTTP listener, prior knowledge) and over TLS
 * (an HTTPS listener, ALPN h2) to a Gateway served by GatewayServing, two recording pods behind it.
 * Rapid reset, fields Node would drop silently, a header list over the limit, and a CONTINUATION
 * flood (a header block far over any limit, cut off with GOAWAY ENHANCE_YOUR_CALM before nghttp2
 * reads it whole); after each, a well-formed request is still served.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProxyMetrics, selfSignedPair } from '../../src/index.js';
import {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayServing,
} from '../../src/gateway/index.js';
import { H2Raw, HOST, RecordingPod, sample, waitFor } from '../security-kit.js';
import { sliceFor } from './conformance-kit.js';

const ADDRESS = '127.0.0.1';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, ADDRESS, () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

let pub: RecordingPod;
let api: RecordingPod;
let metrics: ProxyMetrics;
let serving: GatewayServing;
let h2cPort: number;
let httpsPort: number;

beforeAll(async () => {
  pub = await new RecordingPod('pub').start();
  api = await new RecordingPod('api').start();
  metrics = new ProxyMetrics();
  [h2cPort, httpsPort] = [await freePort(), await freePort()];
  const pair = selfSignedPair(HOST);
  const secret: V1Secret = {
    metadata: { namespace: 'default', name: 'cert', resourceVersion: '1' },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pair.cert).toString('base64'),
      'tls.key': Buffer.from(pair.key).toString('base64'),
    },
  };
  const services = ['pub', 'api'].map((name) => ({
    metadata: { namespace: 'default', name },
    spec: { ports: [{ port: 80 }] },
  }));
  const compiled = compileGateways(
    {
      gatewayClasses: [{ metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } }],
      gateways: [
        {
          metadata: { namespace: 'default', name: 'gw' },
          spec: {
            gatewayClassName: 'portico',
            listeners: [
              { name: 'h2c', port: h2cPort, protocol: 'HTTP', hostname: HOST },
              {
                name: 'tls',
                port: httpsPort,
                protocol: 'HTTPS',
                hostname: HOST,
                tls: { certificateRefs: [{ name: 'cert' }] },
              },
            ],
          },
        },
      ],
      httpRoutes: [
        {
          metadata: { namespace: 'default', name: 'sec' },
          spec: {
            parentRefs: [{ name: 'gw' }],
            rules: ['pub', 'api'].map((svc) => ({
              matches: [{ path: { type: 'PathPrefix', value: `/${svc === 'pub' ? 'public' : 'api'}` } }],
              backendRefs: [{ name: svc, port: 80 }],
            })),
          },
        },
      ],
      referenceGrants: [],
      namespaces: [],
      services,
      endpointSlices: [
        sliceFor(services[0]!, '127.0.0.1', pub.port),
        sliceFor(services[1]!, '127.0.0.1', api.port),
      ],
      secrets: [secret],
    },
    { addresses: [ADDRESS] },
  );
  serving = new GatewayServing({ address: ADDRESS, proxy: { metrics, upstreamHeadersTimeout: 3_000 } });
  serving.publish({ version: 1, listeners: compiled.listeners, backends: backendEntries(compiled) });
  await serving.settled();
  expect(serving.failedPorts()).toBe(0);
});

afterAll(async () => {
  await serving?.close();
  await Promise.all([pub?.stop(), api?.stop()]);
});

beforeEach(() => {
  pub.reset();
  api.reset();
});

const PLANES = [
  ['h2c (HTTP listener)', 'http', () => new H2Raw({ h2cPort })],
  ['h2 (HTTPS listener, ALPN)', 'https', () => new H2Raw({ httpsPort })],
] as const;

describe.each(PLANES)('Gateway %s', (_name, scheme, connect) => {
  const get = (path: string, method = 'GET'): [string, string][] => [
    [':method', method],
    [':scheme', scheme],
    [':authority', HOST],
    [':path', path],
  ];

  async function status(fields: [string, string][]): Promise<number | string> {
    const c = connect();
    try {
      return await c.status(await c.request(fields));
    } finally {
      c.close();
    }
  }

  it('a well-formed request is served through the guard', async () => {
    expect(await status(get('/public/ok'))).toBe(200);
    expect(pub.requests.map((r) => r.target)).toEqual(['/public/ok']);
  });

  it('rapid reset: 300 streams reset right after their HEADERS are (nearly) not forwarded, and a new client is served at once', async () => {
    const c = connect();
    try {
      await c.burst(300);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      c.close();
    }
    // nghttp2 may still dispatch a few before it reads their RST_STREAM (as on the Ingress ports).
    expect(pub.requests.length).toBeLessThan(50);
    const t0 = Date.now();
    expect(await status(get('/public/fresh'))).toBe(200);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await waitFor(() => pub.requests.some((r) => r.target === '/public/fresh'))).toBe(true);
  });

  it.each([
    ['a space in a name', ['x a', 'v']],
    ['a colon in a name', ['x:a', 'v']],
    ['a NUL in a value', ['x-a', 'v\0w']],
    [
      'CR LF and a smuggled request in a value',
      ['x-a', `v\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: ${HOST}`],
    ],
  ] as [string, [string, string]][])(
    '%s: RST_STREAM PROTOCOL_ERROR, counted, nothing forwarded, the connection still serves',
    async (_n, bad) => {
      const labels = { plane: 'node', reason: 'malformed' };
      const before = await sample(metrics, 'portico_ingress_connection_errors_total', labels);
      const c = connect();
      try {
        const id = await c.request([...get('/public/x'), bad]);
        expect(await c.status(id)).toBe('reset');
        expect(c.resetCode(id)).toBe(1);
        const next = await c.request(get('/public/after'));
        expect(await c.status(next)).toBe(200);
      } finally {
        c.close();
      }
      expect(pub.requests.map((r) => r.target)).toEqual(['/public/after']);
      expect(api.requests).toHaveLength(0);
      expect((await sample(metrics, 'portico_ingress_connection_errors_total', labels)) - before).toBe(1);
    },
  );

  const big = (n: number, size: number): [string, string][] =>
    Array.from({ length: n }, (_, i): [string, string] => [`x-big-${i}`, 'v'.repeat(size)]);

  it('a header list over 16 KiB (in CONTINUATION frames) gets 431, nothing forwarded; one under it is served', async () => {
    const c = connect();
    try {
      const over = await c.continued([...get('/public/over'), ...big(24, 1000)], 10_000);
      expect(await c.status(over)).toBe(431);
      const under = await c.continued([...get('/public/under'), ...big(10, 1000)], 10_000);
      expect(await c.status(under)).toBe(200);
    } finally {
      c.close();
    }
    expect(pub.requests.map((r) => r.target)).toEqual(['/public/under']);
  });

  it('a header block of 100 KiB closes the connection with GOAWAY ENHANCE_YOUR_CALM before Node reads it whole; others are served', async () => {
    const c = connect();
    try {
      const id = await c.continued([...get('/public/x'), ...big(100, 1000)], 16_000);
      expect(await c.status(id)).toBe('goaway');
      expect(c.goawayCode()).toBe(11);
    } finally {
      c.close();
    }
    expect(pub.requests).toHaveLength(0);
    expect(await status(get('/public/fresh'))).toBe(200);
  });

  it('a CONTINUATION flood (1,000 frames of 100 octets) gets a GOAWAY and the connection closed; nothing forwarded, others served', async () => {
    const c = connect();
    try {
      const id = await c.continued([...get('/public/x'), ...big(100, 1000)], 100);
      expect(await c.status(id)).toBe('goaway');
      // ENHANCE_YOUR_CALM when the guard's block limit ends it first, INTERNAL_ERROR when nghttp2's
      // own CONTINUATION limit does (Node ends the session on nghttp2's error): the connection is
      // closed either way, and no request was made of the block.
      expect([2, 11]).toContain(c.goawayCode());
      expect(await waitFor(() => c.closed)).toBe(true);
    } finally {
      c.close();
    }
    expect(pub.requests).toHaveLength(0);
    expect(await status(get('/public/fresh'))).toBe(200);
  });
});
