// Cleartext HTTP/2 (h2c) on both sides of the Gateway proxy: the cleartext listener's protocol
// sniffing (a dribbled preface, garbage, silence), and h2c backends failing the way HTTP/1 ones
// do (502 refused, 504 silent) and passing trailers through.
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProxyOptions, emptyTable } from '../../src/index.js';
import {
  backendEntries,
  cleartextServer,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayProxy,
  GatewayServers,
} from '../../src/gateway/index.js';
import { sliceFor } from './conformance-kit.js';

const ADDRESS = '127.14.0.4';
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

function raw(port: number, chunks: Buffer[], gapMs: number): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, ADDRESS);
    let data = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => (data = Buffer.concat([data, c])));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ data, closed: true }));
    void (async () => {
      for (const c of chunks) {
        socket.write(c);
        await sleep(gapMs);
      }
      await sleep(300);
      if (!socket.destroyed) {
        resolve({ data, closed: false });
        socket.destroy();
      }
    })();
  });
}

async function h2Request(port: number, path: string) {
  const session = http2.connect(`http://${ADDRESS}:${port}`);
  session.on('error', () => undefined);
  try {
    return await new Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }>(
      (resolve, reject) => {
        const stream = session.request({ ':path': path, ':authority': 'h2c.example', te: 'trailers' });
        let status = 0;
        let body = '';
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('trailers', (t) => (trailers = t));
        stream.setEncoding('utf8').on('data', (c: string) => (body += c));
        stream.on('end', () => resolve({ status, body, trailers }));
        stream.on('error', reject);
        stream.end();
      },
    );
  } finally {
    session.close();
  }
}

describe('h2c', () => {
  let proxy: GatewayProxy;
  let servers: GatewayServers;
  let backend: http2.Http2Server;
  let port: number;
  const backendSessions = new Set<http2.ServerHttp2Session>();

  beforeAll(async () => {
    // An h2c backend: /ok answers with a trailer, /silent never answers.
    backend = http2.createServer();
    backend.on('session', (s) => backendSessions.add(s));
    backend.on('stream', (stream, headers) => {
      if (headers[':path'] === '/silent') return;
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '0', 'x-te': String(headers.te) }),
      );
      stream.end(`h2 ${headers[':authority']}`);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const backendPort = (backend.address() as AddressInfo).port;
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, ADDRESS, r));
    port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));

    const services = [
      { name: 'up', port: backendPort },
      { name: 'down', port: closedPort },
    ].map(({ name, port: p }) => ({
      service: {
        metadata: { namespace: 'default', name },
        spec: { ports: [{ port: 80, appProtocol: 'kubernetes.io/h2c' }] },
      },
      p,
    }));
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
                { backendRefs: [{ name: 'up', port: 80 }] },
                {
                  matches: [{ path: { type: 'PathPrefix', value: '/down' } }],
                  backendRefs: [{ name: 'down', port: 80 }],
                },
              ],
            },
          },
        ],
        referenceGrants: [],
        namespaces: [],
        services: services.map((s) => s.service),
        endpointSlices: services.map((s) => sliceFor(s.service, '127.0.0.1', s.p)),
        secrets: [],
      },
      { addresses: [ADDRESS] },
    );
    expect([...compiled.backendProtocols]).toEqual([
      ['default/up:80', 'h2c'],
      ['default/down:80', 'h2c'],
    ]);
    proxy = new GatewayProxy({ ...defaultProxyOptions, upstreamHeadersTimeout: 300 });
    proxy.setTable({ ...emptyTable, version: 1, backends: backendEntries(compiled) });
    servers = new GatewayServers(proxy, ADDRESS);
    expect(await servers.update(compiled.listeners)).toEqual([]);
  });

  afterAll(async () => {
    await servers.close();
    await proxy.upstreams.close();
    proxy.pool.close();
    for (const s of backendSessions) s.destroy();
    await new Promise((r) => backend.close(r));
  });

  it('an h2c client reaches the h2c backend; its trailers come back; TE: trailers is passed on', async () => {
    const a = await h2Request(port, '/');
    expect(a.status).toBe(200);
    expect(a.body).toBe('h2 h2c.example');
    expect(a.trailers).toMatchObject({ 'grpc-status': '0', 'x-te': 'trailers' });
  });

  it('an HTTP/1.1 client on the same port reaches the h2c backend', async () => {
    const body = await new Promise<string>((resolve, reject) =>
      http
        .get({ host: ADDRESS, port, path: '/', headers: { host: 'one.example' }, agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        })
        .on('error', reject),
    );
    expect(body).toBe('200 h2 one.example');
  });

  it('a refused h2c backend is 502, a silent one 504 (upstream headers timeout)', async () => {
    expect((await h2Request(port, '/down')).status).toBe(502);
    expect((await h2Request(port, '/silent')).status).toBe(504);
  });

  it('clients that send a request and close at once (FIN, or reset) leave the proxy serving', async () => {
    // HEADERS (END_STREAM|END_HEADERS, stream 1): GET http://a/silent, HPACK by hand.
    const block = Buffer.concat([
      Buffer.from([0x82, 0x86, 0x41, 0x01]),
      Buffer.from('a'),
      Buffer.from([0x04, 0x07]),
      Buffer.from('/silent'),
    ]);
    const headers = Buffer.concat([Buffer.from([0, 0, block.length, 1, 0x05, 0, 0, 0, 1]), block]);
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(port, ADDRESS);
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      socket.write(Buffer.concat([PREFACE, EMPTY_SETTINGS, headers]));
      if (i % 2) socket.end();
      else socket.resetAndDestroy();
      await sleep(5);
    }
    await sleep(200);
    expect((await h2Request(port, '/')).status).toBe(200);
  });

  it('the HTTP/2 preface sent one byte at a time is still HTTP/2 (the server answers SETTINGS)', async () => {
    const bytes = [...Buffer.concat([PREFACE, EMPTY_SETTINGS])].map((b) => Buffer.from([b]));
    const { data } = await raw(port, bytes, 2);
    expect(data.length).toBeGreaterThanOrEqual(9);
    expect(data[3]).toBe(4); // a SETTINGS frame
  });

  it('CONNECT is refused with 405, as on the Ingress servers', async () => {
    const { data, closed } = await raw(
      port,
      [Buffer.from('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n')],
      0,
    );
    expect(data.toString('latin1')).toMatch(/^HTTP\/1\.1 405 /);
    expect(closed).toBe(true);
  });

  it('garbage first bytes go to HTTP/1.1, which answers 400 and closes', async () => {
    const { data, closed } = await raw(port, [Buffer.from('PRX garbage\r\n\r\n')], 0);
    expect(data.toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
    expect(closed).toBe(true);
  });

  it('a connection that never decides is closed after decideWithin', async () => {
    const server = cleartextServer(
      http.createServer(),
      { accept: () => expect.fail('an undecided connection went to HTTP/2') },
      200,
    );
    await new Promise<void>((r) => server.listen(0, ADDRESS, r));
    try {
      const started = performance.now();
      const { data, closed } = await raw(
        (server.address() as AddressInfo).port,
        [PREFACE.subarray(0, 5)],
        600,
      );
      expect(closed).toBe(true);
      expect(data.length).toBe(0);
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
