/**
 * The one upstream policy (src/upstream-policy.ts), pinned on both data planes with real sockets:
 * for each way a pod can fail, a tiny misbehaving backend on loopback (or an address the kernel
 * refuses to route), one request through the proxy on the fast path (GET over HTTP/1.1) and one on
 * the Node path (GET over HTTP/1.0, which the fast path hands to Node's server and undici), and the
 * same expected outcome on both: the client's status, how many retries, which endpoints were
 * ejected (one failure ejects here) and the reason label of upstream_errors_total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { IngressServer, ProxyMetrics } from '@portico/ingress';
import { judge, type FailedAttempt, type RetryScope, type Verdict } from '../src/upstream-policy.js';
import { ingress, rule, service, slice } from './fixtures.js';
import { table } from './backends.js';

type Plane = 'fast' | 'node';
const PLANES: Plane[] = ['fast', 'node'];

/** How a backend misbehaves. */
type Behaviour =
  'refused' | 'unreachable' | 'blackhole' | 'reset-before' | 'reset-after' | 'stale' | 'silent' | 'malformed';

interface Row {
  readonly name: string;
  readonly behaviour: Behaviour;
  /** Two endpoints that fail alike (so a retry fails too, whichever is picked first), or one. */
  readonly endpoints: 1 | 2;
  readonly status: number;
  /** The response was cut after its head (the body is short of its Content-Length). */
  readonly cut?: boolean;
  readonly retries: number;
  /** How many of the endpoints end up ejected. */
  readonly ejected: number;
  /** upstream_errors_total by reason for the row's service. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Requests the backends saw (undefined: nothing listens, nothing to count). */
  readonly seen?: number;
}

const ROWS: readonly Row[] = [
  {
    name: 'connect refused',
    behaviour: 'refused',
    endpoints: 2,
    status: 502,
    retries: 1,
    ejected: 2,
    reasons: { connect: 2 },
  },
  {
    name: 'network unreachable',
    behaviour: 'unreachable',
    endpoints: 2,
    status: 502,
    retries: 1,
    ejected: 2,
    reasons: { connect: 2 },
  },
  {
    name: 'connect timeout',
    behaviour: 'blackhole',
    endpoints: 2,
    status: 504,
    retries: 1,
    ejected: 2,
    reasons: { timeout: 2 },
  },
  {
    name: 'reset before any response byte',
    behaviour: 'reset-before',
    endpoints: 2,
    status: 502,
    retries: 1,
    ejected: 2,
    reasons: { reset: 2 },
    seen: 2,
  },
  {
    name: 'reset after response bytes',
    behaviour: 'reset-after',
    endpoints: 2,
    status: 200,
    cut: true,
    retries: 0,
    ejected: 1,
    reasons: { reset: 1 },
    seen: 1,
  },
  // A warm-up request leaves a keep-alive connection the pod then drops when it is reused.
  {
    name: 'stale keep-alive connection',
    behaviour: 'stale',
    endpoints: 1,
    status: 200,
    retries: 1,
    ejected: 0,
    reasons: {},
    seen: 3,
  },
  {
    name: 'read timeout',
    behaviour: 'silent',
    endpoints: 2,
    status: 504,
    retries: 0,
    ejected: 0,
    reasons: { timeout: 1 },
    seen: 1,
  },
  {
    name: 'malformed response head',
    behaviour: 'malformed',
    endpoints: 2,
    status: 502,
    retries: 0,
    ejected: 0,
    reasons: { protocol: 1 },
    seen: 1,
  },
];

interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** A backend that reads a request head and misbehaves as told; counts the requests it saw. */
class Misbehaving {
  seen = 0;
  readonly sockets = new Set<Socket>();
  constructor(
    readonly server: Server,
    readonly behaviour: Behaviour,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buffered = '';
      let onThisConnection = 0;
      socket.on('data', (d: Buffer) => {
        buffered += d.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
          this.seen++;
          this.answer(socket, ++onThisConnection);
        }
      });
    });
  }

  private answer(socket: Socket, nth: number): void {
    switch (this.behaviour) {
      case 'reset-before':
        return void socket.resetAndDestroy();
      case 'reset-after':
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
        // Late enough that the head and the first bytes are read before the reset arrives.
        setTimeout(() => socket.resetAndDestroy(), 100);
        return;
      case 'stale':
        // The second request on a connection: closed unanswered, as a pod whose idle timeout ran
        // out just as the proxy reused the connection.
        if (nth > 1) return void socket.end();
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: keep-alive\r\n\r\nfresh');
        return;
      case 'silent':
        return;
      case 'malformed':
        socket.write('HTTP/1.1 2x0 Nonsense\r\nthis is not a header\r\n\r\n');
        return;
      default:
        throw new Error(`no listener behaves as ${this.behaviour}`);
    }
  }

  static async start(behaviour: Behaviour): Promise<Misbehaving> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return new Misbehaving(server, behaviour);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Listening sockets that never accept, their accept queues filled (python3: Node's servers accept
 * on their own): the kernel drops further SYNs, so a connect hangs until its timeout.
 */
async function blackholes(n: number): Promise<{ ports: number[]; child: ChildProcess; fillers: Socket[] }> {
  const script =
    'import socket,sys,time\n' +
    `ss=[socket.socket() for _ in range(${n})]\n` +
    "for s in ss: s.bind(('127.0.0.1',0)); s.listen(0)\n" +
    "print(' '.join(str(s.getsockname()[1]) for s in ss), flush=True)\n" +
    'sys.stdin.read()\n';
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString()));
  });
  const ports = line.trim().split(' ').map(Number);
  const fillers: Socket[] = [];
  for (const port of ports)
    for (let i = 0; i < 2; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      fillers.push(s);
    }
  await new Promise((r) => setTimeout(r, 100));
  // The prerequisite, checked: a connect to each must now hang.
  for (const port of ports) {
    const outcome = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve('connected'));
      s.once('error', (e) => resolve(String(e)));
      setTimeout(() => resolve('hangs'), 300);
      fillers.push(s);
    });
    if (outcome !== 'hangs')
      throw new Error(`a full accept queue on port ${port} did not drop a SYN: ${outcome}`);
  }
  return { ports, child, fillers };
}

/** One GET on `plane`; the whole response text (the proxy closes the connection after it). */
function get(port: number, plane: Plane, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    sock.on('close', () => resolve(text));
    sock.write(
      plane === 'fast'
        ? `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
        : `GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`,
    );
  });
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
const bodyOf = (text: string): string => text.slice(text.indexOf('\r\n\r\n') + 4);

const metrics = new ProxyMetrics();
let server: IngressServer;
let port = 0;
const backends: Misbehaving[] = [];
let holes: Awaited<ReturnType<typeof blackholes>> | undefined;
/** The endpoints of each row's service, by `${row}/${plane}`. */
const endpointsOf = new Map<string, Endpoint[]>();
const keyOf = (i: number, plane: Plane): string => `${i}/${plane}`;
const svcOf = (i: number, plane: Plane): string => `policy${i}-${plane}`;

beforeAll(async () => {
  const blackholeRows = ROWS.filter((r) => r.behaviour === 'blackhole');
  holes = await blackholes(blackholeRows.reduce((n, r) => n + r.endpoints, 0) * PLANES.length);
  const holePorts = [...holes.ports];
  // Addresses the kernel will not route a TCP connection to (ENETUNREACH), a port per plane.
  const unreachable = ['224.0.0.1', '255.255.255.255'];
  let unreachablePort = 81;
  const parts = [];
  for (const [i, row] of ROWS.entries())
    for (const plane of PLANES) {
      const eps: Endpoint[] = [];
      for (let n = 0; n < row.endpoints; n++) {
        if (row.behaviour === 'refused') eps.push({ ip: '127.0.0.1', port: await deadPort() });
        else if (row.behaviour === 'unreachable') eps.push({ ip: unreachable[n]!, port: unreachablePort });
        else if (row.behaviour === 'blackhole') eps.push({ ip: '127.0.0.1', port: holePorts.shift()! });
        else {
          const b = await Misbehaving.start(row.behaviour);
          backends.push(b);
          eps.push({ ip: '127.0.0.1', port: b.port });
        }
      }
      if (row.behaviour === 'unreachable') unreachablePort++;
      endpointsOf.set(keyOf(i, plane), eps);
      const svc = svcOf(i, plane);
      parts.push({
        services: [service(svc, 80, 'http')],
        endpointSlices: eps.map((e, n) =>
          slice(svc, e.port, [{ ip: e.ip, ready: true }], 'http', 'default', `${svc}-${n}`),
        ),
        ingresses: [ingress(svc, { rules: [rule(`${svc}.test`, { path: '/', svc })] })],
      });
    }
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: null,
    timeoutCheckInterval: 50,
    proxy: {
      metrics,
      upstreamHeadersTimeout: 500,
      upstream: { connections: 16, keepAliveTimeout: 4_000, connectTimeout: 300 },
      // One failure ejects, so every counted failure shows.
      ejection: { failures: 1, ejectMs: 60_000 },
    },
  });
  port = (await server.listen()).httpPort;
  server.setTable(table(parts));
}, 30_000);

afterAll(async () => {
  await server?.close();
  for (const b of backends) b.close();
  for (const s of holes?.fillers ?? []) s.destroy();
  holes?.child.kill();
});

async function counted(svc: string): Promise<{ reasons: Record<string, number>; retries: number }> {
  const service = `default/${svc}:80`;
  const reasons: Record<string, number> = {};
  for (const v of (await metrics.upstreamErrors.get()).values)
    if (v.labels.service === service && v.value > 0) reasons[String(v.labels.reason)] = v.value;
  const retries = (await metrics.upstreamRetries.get()).values.find((v) => v.labels.service === service);
  return { reasons, retries: retries?.value ?? 0 };
}

describe('one upstream policy on both data planes', () => {
  for (const [i, row] of ROWS.entries())
    for (const plane of PLANES)
      it(`${row.name} (${plane} path): ${row.status}, ${row.retries} retr${row.retries === 1 ? 'y' : 'ies'}, ${row.ejected} ejected`, async () => {
        const svc = svcOf(i, plane);
        const host = `${svc}.test`;
        const eps = endpointsOf.get(keyOf(i, plane))!;
        const mine = backends.filter((b) => eps.some((e) => e.port === b.port));
        if (row.behaviour === 'stale') {
          const warm = await get(port, plane, host);
          expect(statusOf(warm)).toBe(200);
        }
        const text = await get(port, plane, host);
        expect(statusOf(text)).toBe(row.status);
        if (row.cut) expect(bodyOf(text).length).toBeLessThan(100);
        else if (row.status === 200) expect(bodyOf(text)).toBe('fresh');
        const { reasons, retries } = await counted(svc);
        expect(retries).toBe(row.retries);
        expect(reasons).toEqual(row.reasons);
        const ejected = eps.filter((e) => server.proxy.balancer.isEjected(`http://${e.ip}:${e.port}`));
        expect(ejected.length).toBe(row.ejected);
        if (row.seen !== undefined) expect(mine.reduce((n, b) => n + b.seen, 0)).toBe(row.seen);
      });
});

describe('the policy itself, for what the sockets above do not reach', () => {
  const get: RetryScope = { method: 'GET', hasBody: false, retried: false, endpoints: 2 };
  const fresh = (code: string): FailedAttempt => ({ code, responded: false, reused: false });
  const rows: [string, FailedAttempt, RetryScope, Verdict][] = [
    [
      'a POST is never retried',
      fresh('ECONNREFUSED'),
      { ...get, method: 'POST' },
      { retry: 'none', eject: true, status: 502, reason: 'connect' },
    ],
    [
      'a request with a body is never retried',
      fresh('ECONNRESET'),
      { ...get, hasBody: true },
      { retry: 'none', eject: true, status: 502, reason: 'reset' },
    ],
    [
      'at most one retry',
      fresh('ECONNREFUSED'),
      { ...get, retried: true },
      { retry: 'none', eject: true, status: 502, reason: 'connect' },
    ],
    [
      'one endpoint: nowhere else to go',
      fresh('ECONNRESET'),
      { ...get, endpoints: 1 },
      { retry: 'none', eject: true, status: 502, reason: 'reset' },
    ],
    [
      'a stale connection of a POST: 502, counted, not ejected',
      { code: 'UND_ERR_SOCKET', responded: false, reused: true },
      { ...get, method: 'POST' },
      { retry: 'none', eject: false, status: 502, reason: 'reset' },
    ],
    [
      'TLS to the pod failed',
      fresh('ERR_SSL_WRONG_VERSION_NUMBER'),
      get,
      { retry: 'none', eject: false, status: 502, reason: 'tls' },
    ],
    [
      'a refused pod certificate',
      fresh('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      get,
      { retry: 'none', eject: false, status: 502, reason: 'tls' },
    ],
    [
      'an HTTP/2 stream reset',
      fresh('ERR_HTTP2_STREAM_ERROR'),
      { ...get, method: 'POST' },
      { retry: 'none', eject: true, status: 502, reason: 'reset' },
    ],
    ['an error with no code', fresh(''), get, { retry: 'none', eject: false, status: 502, reason: 'other' }],
  ];
  for (const [name, attempt, scope, verdict] of rows)
    it(name, () => {
      expect(judge(attempt, scope)).toEqual(verdict);
    });
});
