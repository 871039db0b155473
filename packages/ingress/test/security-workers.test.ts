/**
 * Issue 11, item 5: no worker ever dies from input. An exception while serving a connection closes
 * that connection and is counted (portico_ingress_connection_errors_total{reason="exception"}); and
 * every case of the issue, sent to real node:cluster workers, leaves every worker running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cluster from 'node:cluster';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { selfSignedPair, WorkerPool } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, table } from './backends.js';
import {
  h2Get,
  H2Raw,
  HOST,
  PLANES,
  RawClient,
  RecordingPod,
  sample,
  send,
  sendUntilClose,
  startHarness,
  statuses,
  type Harness,
} from './security-kit.js';

describe('an exception while serving a connection', () => {
  let h: Harness;
  /** What the proxy's own log wrote (no access log: the harness has none). */
  const errors: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const log = pino(
      {},
      { write: (line: string) => errors.push(JSON.parse(line) as Record<string, unknown>) },
    );
    h = await startHarness({ proxy: { log } });
    // A bug reachable from input, on purpose: routing a request for boom.test throws.
    const decide = h.server.proxy.decide.bind(h.server.proxy);
    h.server.proxy.decide = (host, ...rest) => {
      if (host.startsWith('boom.test')) throw new Error('injected bug');
      return decide(host, ...rest);
    };
  });
  afterAll(async () => {
    await h?.close();
  });

  const exceptions = (plane: string) =>
    sample(h.metrics, 'portico_ingress_connection_errors_total', { plane, reason: 'exception' });

  it.each(PLANES)('%s: closes that connection, counts it, and the proxy goes on serving', async (plane) => {
    const metricPlane = plane.startsWith('fast') ? 'fast' : 'node';
    const before = await exceptions(metricPlane);
    const { text, closed } = await sendUntilClose(
      h,
      plane,
      'GET /public/x HTTP/1.1\r\nHost: boom.test\r\n\r\n',
    );
    expect(closed).toBe(true);
    expect(statuses(text)).toEqual([]);
    expect(await exceptions(metricPlane)).toBe(before + 1);
    expect(errors.at(-1)).toMatchObject({
      level: 50,
      plane: metricPlane,
      err: { message: 'injected bug' },
      msg: 'exception while serving a connection; connection closed',
    });
    const after = await send(h, plane, `GET /public/after HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    expect(statuses(after.text)).toEqual([200]);
  });

  it('an Upgrade request: the same', async () => {
    const before = await exceptions('node');
    const { closed } = await sendUntilClose(
      h,
      'fast-http',
      'GET /public/ws HTTP/1.1\r\nHost: boom.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    expect(closed).toBe(true);
    expect(await exceptions('node')).toBe(before + 1);
  });

  it('HTTP/2: the stream is reset, the connection and its other streams go on', async () => {
    const before = await exceptions('node');
    const c = new H2Raw(h);
    try {
      const bad = await c.request([
        [':method', 'GET'],
        [':scheme', 'https'],
        [':authority', 'boom.test'],
        [':path', '/public/x'],
      ]);
      expect(await c.status(bad)).toBe('reset');
      expect(await c.status(await c.request(h2Get('/public/ok')))).toBe(200);
    } finally {
      c.close();
    }
    expect(await exceptions('node')).toBe(before + 1);
  });
});

describe('the issue, sent to running cluster workers', () => {
  let pool: WorkerPool;
  let pub: RecordingPod;
  let api: RecordingPod;
  const ports = { httpPort: 0, httpsPort: 0 };
  const target = ports as unknown as Harness;

  const freePort = (): Promise<number> =>
    new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });

  beforeAll(async () => {
    pub = await new RecordingPod('pub').start();
    api = await new RecordingPod('api').start();
    ports.httpPort = await freePort();
    ports.httpsPort = await freePort();
    pool = new WorkerPool({
      count: 2,
      config: {
        host: '127.0.0.1',
        httpPort: ports.httpPort,
        httpsPort: ports.httpsPort,
        defaultCert: selfSignedPair(),
        accessLog: false,
        proxy: { upstreamHeadersTimeout: 2_000 },
      },
      logger: pino({ level: 'silent' }),
      exec: fileURLToPath(new URL('./cluster-worker.mjs', import.meta.url)),
      execArgv: ['--experimental-transform-types', '--no-warnings'],
    });
    pool.publish(
      table([
        loopbackService('pub', [pub.port]),
        loopbackService('api', [api.port]),
        {
          ingresses: [
            ingress('sec', {
              rules: [rule(HOST, { path: '/public', svc: 'pub' }, { path: '/api', svc: 'api' })],
            }),
          ],
        },
      ]),
    );
    const deadline = Date.now() + 30_000;
    while (!pool.ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pool.ready()).toBe(true);
  });

  afterAll(async () => {
    await pool?.stop();
    await Promise.all([pub?.stop(), api?.stop()]);
  });

  const SMUGGLED = `GET /api/secret HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  const CASES: string[] = [
    // The one-line crash, and its relatives.
    `GET /public/x HTTP/2.0\r\nHost: ${HOST}\r\n\r\n`,
    `GET /public/x HTTP/0.9\r\nHost: ${HOST}\r\n\r\n`,
    `GET /public/x HTTP/1.2\r\nHost: ${HOST}\r\n\r\n`,
    `POST /public/x HTTP/2.0\r\nHost: ${HOST}\r\nContent-Length: 3\r\n\r\nabc`,
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    // Connection tokens.
    `POST /public/u HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Content-Length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /public/u HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close, Content-Length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /public/u HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    // Upgrades without a 101.
    `GET /public/plain HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${SMUGGLED}`,
    `GET /public/plain HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n${SMUGGLED}`,
    `GET /public/ws-other HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    // Early answers.
    `POST /public/early HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100\r\n\r\n0123456789`,
    `POST /public/early HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n`,
    // Paths.
    ...[
      '/public/../api/x',
      '/public/%2e%2e/api/x',
      '/public/..%2fapi/x',
      '//api/x',
      '/%70ublic/x',
      '/public/x#f',
    ].map((p) => `GET ${p} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`),
    // Framing and headers.
    `POST /public/u HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    `GET /public/x HTTP/1.1\r\nHost: ${HOST}\r\nHost: other.test\r\n\r\n`,
    `GET /public/x HTTP/1.1\r\nHost: ${HOST}:80:80\r\n\r\n`,
  ];

  it('every case on every plane, three times, and HTTP/2 cases: no worker restarts', async () => {
    const ids = Object.values(cluster.workers ?? {}).map((w) => w!.process.pid);
    for (let round = 0; round < 3; round++)
      await Promise.all(PLANES.flatMap((plane) => CASES.map((c) => sendUntilClose(target, plane, c, 1_500))));
    // Slow chunked uploads, cut off by the deadline (60 s by default: here they give up first).
    const slow = PLANES.map(async (plane) => {
      const c = new RawClient(target, plane);
      await c.write(`POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      for (let i = 0; i < 5; i++) {
        await c.write('1\r\nx\r\n');
        await new Promise((r) => setTimeout(r, 100));
      }
      c.destroy();
    });
    await Promise.all(slow);
    // HTTP/2: the path cases as :path, a host that contradicts :authority, a rapid reset.
    const c = new H2Raw(target);
    try {
      for (const p of ['/public/../api/x', '/public/..%2fapi/x', '/public/x#f', 'http://x/api'])
        await c.status(await c.request(h2Get(p)));
      await c.status(await c.request([...h2Get('/public/x'), ['host', 'other.test']]));
      await c.status(await c.request([...h2Get('/public/x', 'POST'), ['content-length', '0']], 'smuggled'));
      await c.burst(200);
    } finally {
      c.close();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(pool.restarts).toBe(0);
    expect(Object.values(cluster.workers ?? {}).map((w) => w!.process.pid)).toEqual(ids);
    // And both still serve: fresh connections are spread by the kernel.
    for (let i = 0; i < 10; i++) {
      const { text } = await send(
        target,
        PLANES[i % PLANES.length]!,
        `GET /public/ok HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      );
      expect(statuses(text)).toEqual([200]);
    }
  }, 120_000);
});
