/**
 * Gateway listeners drain on shutdown as the Ingress ports do (GatewayServing.close(graceMs), which
 * a worker runs on its 'stop' message and the primary with --workers 0): no new connections, idle
 * keep-alive connections closed at once, HTTP/2 sessions told GOAWAY, requests in flight finished
 * within the grace, and whatever is left closed when it runs out. Real clients (node:http, https,
 * http2) on an HTTP listener (HTTP/1.1 and h2c) and an HTTPS listener (HTTP/1.1 and h2 by ALPN).
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedPair } from '../../src/index.js';
import {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayServing,
} from '../../src/gateway/index.js';
import { sliceFor } from './conformance-kit.js';

const ADDRESS = '127.0.0.1';
const HOST = 'drain.test';
const pair = selfSignedPair(HOST);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, ADDRESS, () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** The backend: `/slow?ms=N` answers after N ms, `/hang` never; it records what it received. */
let backend: http.Server;
let backendPort: number;
const received: string[] = [];

beforeAll(async () => {
  backend = http.createServer((req, res) => {
    received.push(req.url ?? '');
    req.resume();
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/hang') return;
    const ms = Number(url.searchParams.get('ms') ?? 0);
    setTimeout(() => res.end(`done ${url.pathname}`), ms);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as AddressInfo).port;
});

afterAll(async () => {
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
});

interface Served {
  serving: GatewayServing;
  http: number;
  https: number;
}

/** A Gateway with an HTTP and an HTTPS listener, every request to the backend. */
async function serve(): Promise<Served> {
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const secret: V1Secret = {
    metadata: { namespace: 'default', name: 'cert', resourceVersion: '1' },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pair.cert).toString('base64'),
      'tls.key': Buffer.from(pair.key).toString('base64'),
    },
  };
  const svc = { metadata: { namespace: 'default', name: 'app' }, spec: { ports: [{ port: 80 }] } };
  const compiled = compileGateways(
    {
      gatewayClasses: [{ metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } }],
      gateways: [
        {
          metadata: { namespace: 'default', name: 'gw' },
          spec: {
            gatewayClassName: 'portico',
            listeners: [
              { name: 'http', port: httpPort, protocol: 'HTTP' },
              {
                name: 'https',
                port: httpsPort,
                protocol: 'HTTPS',
                tls: { certificateRefs: [{ name: 'cert' }] },
              },
            ],
          },
        },
      ],
      httpRoutes: [
        {
          metadata: { namespace: 'default', name: 'app' },
          spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'app', port: 80 }] }] },
        },
      ],
      referenceGrants: [],
      namespaces: [],
      services: [svc],
      endpointSlices: [sliceFor(svc, '127.0.0.1', backendPort)],
      secrets: [secret],
    },
    { addresses: [ADDRESS] },
  );
  const serving = new GatewayServing({ address: ADDRESS });
  serving.publish({ version: 1, listeners: compiled.listeners, backends: backendEntries(compiled) });
  await serving.settled();
  expect(serving.failedPorts()).toBe(0);
  return { serving, http: httpPort, https: httpsPort };
}

async function until(what: string, fn: () => boolean, limitMs = 3_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
  socket: Socket;
}

/** One HTTP/1.1 request; `agent` keeps the connection for the next one. */
function get(
  scheme: 'http' | 'https',
  port: number,
  path: string,
  agent: http.Agent | false = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host: ADDRESS, port, path, headers: { host: HOST }, agent };
    // Kept: a keep-alive agent takes the socket back once the response ends.
    let socket: Socket | undefined;
    const done = (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          body,
          socket: socket!,
        }),
      );
    };
    const req =
      scheme === 'http'
        ? http.get(options, done)
        : https.get({ ...options, servername: HOST, rejectUnauthorized: false }, done);
    req.once('socket', (s: Socket) => (socket = s));
    req.on('error', reject);
  });
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, ADDRESS);
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe.each(['http', 'https'] as const)('HTTP/1.1 on the %s listener', (scheme) => {
  it('drain: new connections refused, an idle keep-alive closed at once, a request in flight finishes (Connection: close), then close() resolves', async () => {
    const s = await serve();
    const port = s[scheme];
    const agent =
      scheme === 'http'
        ? new http.Agent({ keepAlive: true })
        : new https.Agent({ keepAlive: true, rejectUnauthorized: false, servername: HOST });
    try {
      const idle = await get(scheme, port, '/first', agent);
      expect(idle.status).toBe(200);
      let idleClosedAt = 0;
      idle.socket.once('close', () => (idleClosedAt = performance.now()));
      const slowPath = `/slow?ms=700&n=${scheme}`;
      const inFlight = get(scheme, port, slowPath);
      await until('the slow request at the backend', () => received.includes(slowPath));

      const started = performance.now();
      let closedAt = 0;
      const closing = s.serving.close(10_000).then(() => (closedAt = performance.now()));
      expect(await refused(port)).toBe(true);
      await until('the idle keep-alive connection closed', () => idleClosedAt > 0, 1_000);
      expect(idleClosedAt - started).toBeLessThan(500);

      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('done /slow');
      expect(answer.connection).toBe('close');
      await closing;
      // It waited for the request in flight, and no longer than that.
      expect(closedAt - started).toBeGreaterThan(400);
      expect(closedAt - started).toBeLessThan(3_000);
    } finally {
      agent.destroy();
      await s.serving.close();
    }
  });

  it('a request still in flight when the grace runs out is cut off, and close() resolves then', async () => {
    const s = await serve();
    const port = s[scheme];
    try {
      const hang = `/hang?n=${scheme}`;
      const inFlight = get(scheme, port, hang).then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code ?? String(err),
      );
      await until('the hanging request at the backend', () => received.includes(hang));
      const started = performance.now();
      await s.serving.close(400);
      const took = performance.now() - started;
      expect(took).toBeGreaterThan(350);
      expect(took).toBeLessThan(2_000);
      expect(await inFlight).toBe('ECONNRESET');
    } finally {
      await s.serving.close();
    }
  });
});

describe.each(['http', 'https'] as const)('HTTP/2 on the %s listener', (scheme) => {
  it('drain: GOAWAY to the session, its stream in flight finishes, the session closes, then close() resolves', async () => {
    const s = await serve();
    const session = http2.connect(`${scheme}://${ADDRESS}:${s[scheme]}`, {
      servername: HOST,
      rejectUnauthorized: false,
    });
    session.on('error', () => undefined);
    try {
      let goaway = false;
      session.on('goaway', () => (goaway = true));
      let sessionClosed = false;
      session.on('close', () => (sessionClosed = true));
      const slowPath = `/slow?ms=700&h2=${scheme}`;
      const stream = session.request({ ':path': slowPath, ':authority': HOST });
      stream.end();
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        let status = 0;
        let body = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (c: Buffer) => (body += c.toString()));
        stream.on('end', () => resolve({ status, body }));
        stream.on('error', reject);
      });
      await until('the slow stream at the backend', () => received.includes(slowPath));

      const started = performance.now();
      let closedAt = 0;
      const closing = s.serving.close(10_000).then(() => (closedAt = performance.now()));
      await until('a GOAWAY', () => goaway, 1_000);
      expect(await refused(s[scheme])).toBe(true);
      expect(await answer).toEqual({ status: 200, body: 'done /slow' });
      await until('the session closed', () => sessionClosed, 2_000);
      await closing;
      expect(closedAt - started).toBeGreaterThan(400);
      expect(closedAt - started).toBeLessThan(3_000);
    } finally {
      session.destroy();
      await s.serving.close();
    }
  });
});

/** A raw TCP client: what it received, and when the server closed it. */
async function rawClient(
  port: number,
): Promise<{ socket: Socket; text: () => string; closed: () => number }> {
  const socket = connect(port, ADDRESS);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let closedAt = 0;
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closedAt = performance.now()));
  return { socket, text: () => text, closed: () => closedAt };
}

describe('h2c on the HTTP listener: connections whose protocol is not decided yet', () => {
  const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

  it('half an HTTP/2 preface: the connection is closed when the drain starts, and close() does not wait for it', async () => {
    const s = await serve();
    try {
      const c = await rawClient(s.http);
      c.socket.write(PREFACE.slice(0, 12));
      // The server has read the half preface (the connection is waiting for the rest).
      await new Promise((r) => setTimeout(r, 100));
      expect(c.closed()).toBe(0);
      const started = performance.now();
      await s.serving.close(10_000);
      const took = performance.now() - started;
      await until('the connection closed', () => c.closed() > 0, 1_000);
      expect(c.closed() - started).toBeLessThan(500);
      expect(took).toBeLessThan(1_000);
      // Nothing was answered: neither HTTP/1.1 nor HTTP/2 ever saw it.
      expect(c.text()).toBe('');
    } finally {
      await s.serving.close();
    }
  });

  it('a whole preface sent after the drain started is not served (the connection was closed)', async () => {
    const s = await serve();
    try {
      const c = await rawClient(s.http);
      c.socket.write(PREFACE.slice(0, 5));
      await new Promise((r) => setTimeout(r, 100));
      const closing = s.serving.close(10_000);
      c.socket.write(PREFACE.slice(5));
      await closing;
      await until('the connection closed', () => c.closed() > 0, 1_000);
      expect(c.text()).toBe('');
    } finally {
      await s.serving.close();
    }
  });

  it('HTTP/1.1 with Upgrade: h2c in flight: answered as an ordinary request (no 101) with Connection: close, then close() resolves', async () => {
    const s = await serve();
    try {
      const c = await rawClient(s.http);
      const slowPath = '/slow?ms=600&upgrade=h2c';
      c.socket.write(
        `GET ${slowPath} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
          'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      );
      await until('the upgrade request at the backend', () => received.includes(slowPath));
      const started = performance.now();
      await s.serving.close(10_000);
      const took = performance.now() - started;
      await until('the connection closed', () => c.closed() > 0, 1_000);
      const head = c.text().split('\r\n\r\n')[0]!.toLowerCase();
      expect(head.startsWith('http/1.1 200')).toBe(true);
      expect(head).toContain('connection: close');
      expect(c.text().endsWith('done /slow')).toBe(true);
      // It waited for the answer, no longer.
      expect(took).toBeGreaterThan(300);
      expect(took).toBeLessThan(3_000);
    } finally {
      await s.serving.close();
    }
  });

  it('HTTP/1.1 with Upgrade: h2c answered before the drain (200, not 101): the idle connection is closed when the drain starts', async () => {
    const s = await serve();
    try {
      const c = await rawClient(s.http);
      c.socket.write(
        `GET /first HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
          'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      );
      await until('the answer', () => c.text().endsWith('done /first'));
      expect(c.text().toLowerCase().startsWith('http/1.1 200')).toBe(true);
      expect(c.text().toLowerCase()).not.toContain('connection: close');
      expect(c.closed()).toBe(0);
      const started = performance.now();
      await s.serving.close(10_000);
      await until('the connection closed', () => c.closed() > 0, 1_000);
      expect(c.closed() - started).toBeLessThan(500);
    } finally {
      await s.serving.close();
    }
  });
});
