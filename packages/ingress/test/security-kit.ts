/**
 * What the security tests (security-*.test.ts) share: a recording pod that keeps the exact bytes
 * it received and parses them as a strict HTTP/1.1 server would (so a smuggled request shows up as
 * a request of its own), a proxy with plain and TLS listeners in front of two such pods, and raw
 * clients for every data plane:
 *
 * - `fast-http`, `fast-https`: a plain / TLS (ALPN http/1.1) connection, served by the fast path;
 * - `node-http`, `node-https`: the same, but the connection is first handed to Node's HTTP server
 *   by an absolute-form request (which the fast path never takes), so every later request on it is
 *   served by the Node path, as in production;
 * - HTTP/2 over TLS, as raw frames (h2Raw) so that even what Node's own client refuses to send can
 *   be sent.
 */
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { IngressServer, ProxyMetrics, type ServerOptions } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, table } from './backends.js';

export interface PodRequest {
  readonly pod: string;
  /** Which accepted connection of the pod carried it (1, 2, ...). */
  readonly conn: number;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Field lines as received, in order. */
  readonly fields: [string, string][];
  readonly body: string;
}

/** What the pod does with a request once its head arrived; `body` is empty until the body is in. */
export type Responder = (req: PodRequest, sock: Socket, pod: RecordingPod) => 'wait-body' | void;

const ok = (pod: RecordingPod, req: PodRequest, sock: Socket): void => {
  const body = `${pod.name} ${req.method} ${req.target} ${req.body.length}`;
  sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
};

/**
 * A pod on 127.0.0.1 that records every byte and every request it parsed. By default it answers
 * each request, after its body, with 200 and `<pod> <method> <target> <body length>`. Special
 * last path segments: `/early` answers right after the head (then still reads the declared body, as
 * a real server does), `/ws` answers an Upgrade request with 101 and echoes raw bytes, `/ws-other`
 * answers it with 101 for another protocol than the one asked, `/hang` never answers; anything else (an Upgrade request included)
 * gets the plain 200.
 */
export class RecordingPod {
  readonly server: Server;
  port = 0;
  readonly conns: { id: number; bytes: string; closed: boolean }[] = [];
  readonly requests: PodRequest[] = [];
  responder: Responder | undefined;

  constructor(readonly name: string) {
    this.server = createServer((sock) => this.accept(sock));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  /** Everything received since the last reset(), on all connections, in arrival order. */
  bytes = '';

  /** Forgets the requests and bytes seen so far (connections stay listed: the proxy may reuse them). */
  reset(): void {
    this.requests.length = 0;
    this.bytes = '';
  }

  /** The connection that carried `req`. */
  connOf(req: PodRequest): { id: number; bytes: string; closed: boolean } {
    return this.conns[req.conn - 1]!;
  }

  private accept(sock: Socket): void {
    const conn = { id: this.conns.length + 1, bytes: '', closed: false };
    this.conns.push(conn);
    sock.on('error', () => undefined);
    sock.on('close', () => (conn.closed = true));
    let buf = '';
    let tunnel = false;
    /** The request whose body is still being read: remaining length, or -1 for chunked. */
    let pending: { req: PodRequest; remaining: number; answered: boolean } | undefined;
    const step = (): void => {
      for (;;) {
        if (tunnel) {
          if (buf) sock.write(buf);
          buf = '';
          return;
        }
        if (pending) {
          const p = pending;
          let body: string | undefined;
          if (p.remaining >= 0) {
            if (buf.length < p.remaining) return;
            body = buf.slice(0, p.remaining);
            buf = buf.slice(p.remaining);
          } else {
            const decoded = decodeChunked(buf);
            if (!decoded) return;
            body = decoded.body;
            buf = buf.slice(decoded.used);
          }
          const done = { ...p.req, body };
          this.requests[this.requests.indexOf(p.req)] = done;
          pending = undefined;
          if (!p.answered) this.answer(done, sock);
          continue;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.slice(0, end).split('\r\n');
        buf = buf.slice(end + 4);
        const [method = '', target = '', version = ''] = lines[0]!.split(' ');
        const fields = lines.slice(1).map((l): [string, string] => {
          const c = l.indexOf(':');
          return [l.slice(0, c), l.slice(c + 1).trim()];
        });
        const req: PodRequest = { pod: this.name, conn: conn.id, method, target, version, fields, body: '' };
        this.requests.push(req);
        const te = field(fields, 'transfer-encoding');
        const cl = field(fields, 'content-length');
        const remaining = te !== undefined ? -1 : cl !== undefined ? Number(cl) : 0;
        const path = target.split('?')[0]!;
        const last = path.slice(path.lastIndexOf('/'));
        const asked = field(fields, 'upgrade');
        if ((last === '/ws' || last === '/ws-other') && asked !== undefined) {
          const proto = last === '/ws' ? asked : asked === 'h2c' ? 'websocket' : 'h2c';
          sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${proto}\r\nConnection: Upgrade\r\n\r\n`);
          tunnel = true;
          continue;
        }
        const early = last === '/early';
        if (early) this.answer(req, sock);
        if (remaining !== 0) {
          pending = { req, remaining, answered: early };
          continue;
        }
        if (!early) this.answer(req, sock);
      }
    };
    sock.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      conn.bytes += text;
      this.bytes += text;
      buf += text;
      step();
    });
  }

  private answer(req: PodRequest, sock: Socket): void {
    if (req.target.split('?')[0]!.endsWith('/hang')) return;
    if (this.responder) this.responder(req, sock, this);
    else ok(this, req, sock);
  }
}

export function field(fields: readonly [string, string][], name: string): string | undefined {
  return fields.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** A chunked body at the start of `s`, decoded, or undefined while incomplete. */
function decodeChunked(s: string): { body: string; used: number } | undefined {
  let i = 0;
  let body = '';
  for (;;) {
    const eol = s.indexOf('\r\n', i);
    if (eol < 0) return undefined;
    const size = parseInt(s.slice(i, eol), 16);
    i = eol + 2;
    if (size === 0) {
      // Trailer section: lines up to an empty one.
      for (;;) {
        const e = s.indexOf('\r\n', i);
        if (e < 0) return undefined;
        const empty = e === i;
        i = e + 2;
        if (empty) return { body, used: i };
      }
    }
    if (s.length < i + size + 2) return undefined;
    body += s.slice(i, i + size);
    i += size + 2;
  }
}

export interface Harness {
  readonly server: IngressServer;
  readonly metrics: ProxyMetrics;
  readonly pub: RecordingPod;
  readonly api: RecordingPod;
  readonly httpPort: number;
  readonly httpsPort: number;
  close(): Promise<void>;
}

/** The host every test uses: `/public` goes to the `pub` pod, `/api` to the `api` pod, nothing else routes. */
export const HOST = 's.test';

/** A proxy (plain and TLS listeners) in front of two recording pods. */
export async function startHarness(options: Partial<ServerOptions> = {}): Promise<Harness> {
  const pub = await new RecordingPod('pub').start();
  const api = await new RecordingPod('api').start();
  const metrics = new ProxyMetrics();
  const server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    headersTimeout: 2_000,
    requestTimeout: 3_000,
    timeoutCheckInterval: 100,
    ...options,
    proxy: { upstreamHeadersTimeout: 3_000, ...options.proxy, metrics },
  });
  server.setTable(
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
  const ports = await server.listen();
  return {
    server,
    metrics,
    pub,
    api,
    httpPort: ports.httpPort,
    httpsPort: ports.httpsPort!,
    async close() {
      await server.close();
      await Promise.all([pub.stop(), api.stop()]);
    },
  };
}

export type Plane = 'fast-http' | 'fast-https' | 'node-http' | 'node-https';
export const PLANES: readonly Plane[] = ['fast-http', 'fast-https', 'node-http', 'node-https'];

/** The request that hands a connection to the Node path (absolute-form: the fast path never takes it). */
export const HANDOVER = `GET http://${HOST}/public/handover HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

export interface RawResult {
  /** Everything the proxy sent, minus the answer to the hand-over request (node-* planes). */
  readonly text: string;
  /** The proxy closed the connection (rather than our time limit running out). */
  readonly closed: boolean;
}

/** One raw connection to the proxy on `plane`: writes, reads, and tells what came back. */
export class RawClient {
  private socket: Socket;
  private received = '';
  private skip = 0;
  closed = false;
  private readonly ready: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(
    h: Harness,
    readonly plane: Plane,
  ) {
    const tls = plane.endsWith('https');
    const onData = (d: Buffer) => {
      this.received += d.toString('latin1');
      this.wake();
    };
    if (tls)
      this.socket = tlsConnect({
        host: '127.0.0.1',
        port: h.httpsPort,
        servername: HOST,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
    else this.socket = netConnect(h.httpPort, '127.0.0.1');
    this.socket.on('data', onData);
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.ready = new Promise<void>((resolve) =>
      this.socket.once(tls ? 'secureConnect' : 'connect', () => resolve()),
    ).then(async () => {
      if (!plane.startsWith('node')) return;
      this.socket.write(HANDOVER);
      await this.until((t) => completeResponses(t) >= 1, 3_000);
      this.skip = responseEnd(this.received, 0);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** What the proxy answered to our requests (the hand-over answer left out). */
  get text(): string {
    return this.received.slice(this.skip);
  }

  async write(data: string | Buffer): Promise<void> {
    await this.ready;
    this.socket.write(data);
  }

  /** Waits until `done(text)`, the connection closes, or `limitMs` passes. */
  async until(done: (text: string) => boolean, limitMs = 3_000): Promise<RawResult> {
    const deadline = Date.now() + limitMs;
    while (!done(this.received.slice(this.skip)) && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return { text: this.text, closed: this.closed };
  }

  /** Waits for `n` complete responses (or close / time limit). */
  responses(n: number, limitMs = 3_000): Promise<RawResult> {
    return this.until((t) => completeResponses(t) >= n, limitMs);
  }

  /** Stops reading from the connection (the proxy's writes pile up in the socket buffers). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends `data` on a new connection of `plane` and waits for `n` responses or the close. */
export async function send(
  h: Harness,
  plane: Plane,
  data: string,
  n = 1,
  limitMs = 3_000,
): Promise<RawResult> {
  const c = new RawClient(h, plane);
  try {
    await c.write(data);
    return await c.responses(n, limitMs);
  } finally {
    c.destroy();
  }
}

/** Sends `data` on a new connection of `plane` and reads until the proxy closes it (or `limitMs`). */
export async function sendUntilClose(
  h: Harness,
  plane: Plane,
  data: string,
  limitMs = 3_000,
): Promise<RawResult> {
  const c = new RawClient(h, plane);
  try {
    await c.write(data);
    return await c.until(() => false, limitMs);
  } finally {
    c.destroy();
  }
}

/** The status codes of the responses in `text`, in order. */
export function statuses(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length;) {
    const m = /^HTTP\/1\.1 (\d\d\d)/.exec(text.slice(i));
    if (!m) break;
    out.push(Number(m[1]));
    const end = responseEnd(text, i);
    if (end < 0) break;
    i = end;
  }
  return out;
}

/** How many whole responses `text` holds (Content-Length or chunked framing). */
export function completeResponses(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; n++) {
    const end = responseEnd(text, i);
    if (end < 0) break;
    i = end;
  }
  return n;
}

/** Where the response starting at `at` ends, or -1 while incomplete (no framing: never). */
export function responseEnd(text: string, at: number): number {
  const headEnd = text.indexOf('\r\n\r\n', at);
  if (headEnd < 0) return -1;
  const head = text.slice(at, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  if (status < 200 || status === 204 || status === 304) return headEnd + 4;
  const cl = /\r\ncontent-length: *(\d+)/.exec(head);
  if (cl) {
    const end = headEnd + 4 + Number(cl[1]);
    return text.length >= end ? end : -1;
  }
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    const decoded = decodeChunked(text.slice(headEnd + 4));
    return decoded ? headEnd + 4 + decoded.used : -1;
  }
  return -1;
}

/** Waits until `fn()` holds (every 20 ms, at most `limitMs`). */
export async function waitFor(fn: () => boolean, limitMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!fn()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The value of a Prometheus sample in a registry's text output, 0 when absent. */
export async function sample(
  metrics: ProxyMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await metrics.registry.metrics();
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    const have = inner.split(',').sort();
    if (want.every((w) => have.includes(w))) return Number(line.slice(line.indexOf('}') + 2));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 as raw frames (RFC 9113): enough to send any header block and read back frame types.

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefix: number, first: number): number[] {
  const max = (1 << prefix) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out.push(value);
  return out;
}

/** A header block of literal fields without indexing, no Huffman: exactly the bytes asked for. */
export function hpack(fields: readonly [string, string][]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    out.push(0x00);
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    out.push(...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v);
  }
  return Buffer.from(out);
}

export interface H2Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

export const H2 = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 };

/**
 * One HTTP/2 connection (over TLS with ALPN h2, or h2c) on raw frames. `request` sends one stream's HEADERS
 * (and DATA); `status` reads the :status of the response on a stream (Node's HPACK encoder sends
 * it as an indexed static entry or as a literal with a Huffman-coded value, both decoded here).
 */
export class H2Raw {
  private readonly socket: Socket;
  private buf = Buffer.alloc(0);
  readonly frames: H2Frame[] = [];
  closed = false;
  private readonly ready: Promise<void>;
  private next = 1;

  /** Over TLS (ALPN h2) to `httpsPort`, or cleartext with prior knowledge (h2c) to `h2cPort`. */
  constructor(target: Pick<Harness, 'httpsPort'> | { readonly h2cPort: number }) {
    const h2c = 'h2cPort' in target;
    this.socket = h2c
      ? netConnect({ host: '127.0.0.1', port: target.h2cPort })
      : tlsConnect({
          host: '127.0.0.1',
          port: target.httpsPort,
          servername: HOST,
          rejectUnauthorized: false,
          ALPNProtocols: ['h2'],
        });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        const f = {
          type: this.buf[3]!,
          flags: this.buf[4]!,
          stream: this.buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.buf.subarray(9, 9 + len),
        };
        this.buf = this.buf.subarray(9 + len);
        this.frames.push(f);
        if (f.type === H2.SETTINGS && !(f.flags & 1))
          this.socket.write(frame(H2.SETTINGS, 1, 0, Buffer.alloc(0)));
      }
    });
    this.ready = new Promise<void>((resolve) =>
      this.socket.once(h2c ? 'connect' : 'secureConnect', () => {
        this.socket.write(Buffer.concat([Buffer.from(PREFACE), frame(H2.SETTINGS, 0, 0, Buffer.alloc(0))]));
        resolve();
      }),
    );
  }

  /**
   * Sends a request on a new stream; returns its id. `body` undefined: END_STREAM on HEADERS;
   * `open`: the body is sent without END_STREAM (the request stays unfinished).
   */
  async request(fields: readonly [string, string][], body?: string, open = false): Promise<number> {
    await this.ready;
    const id = this.next;
    this.next += 2;
    const end = body === undefined ? 1 : 0;
    const frames = [frame(H2.HEADERS, 0x4 | end, id, hpack(fields))];
    if (body !== undefined) frames.push(frame(H2.DATA, open ? 0 : 1, id, Buffer.from(body, 'latin1')));
    this.socket.write(Buffer.concat(frames));
    return id;
  }

  /** `n` streams, each HEADERS (END_STREAM) then RST_STREAM CANCEL, in one write. */
  async burst(n: number): Promise<void> {
    await this.ready;
    const frames: Buffer[] = [];
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(8);
    for (let i = 0; i < n; i++) {
      const id = this.next;
      this.next += 2;
      frames.push(frame(H2.HEADERS, 0x5, id, hpack(h2Get(`/public/rst-${i}`))));
      frames.push(frame(H2.RST_STREAM, 0, id, cancel));
    }
    this.socket.write(Buffer.concat(frames));
  }

  /** A trailer block (HEADERS with END_STREAM) on an open stream. */
  trailers(stream: number, fields: readonly [string, string][]): void {
    this.socket.write(frame(H2.HEADERS, 0x5, stream, hpack(fields)));
  }

  /** A request split into HEADERS and CONTINUATION frames of at most `size` octets of header block each. */
  async continued(fields: readonly [string, string][], size: number): Promise<number> {
    await this.ready;
    const id = this.next;
    this.next += 2;
    const block = hpack(fields);
    const frames: Buffer[] = [];
    for (let at = 0; at < block.length; at += size) {
      const last = at + size >= block.length ? 0x4 : 0;
      const piece = block.subarray(at, at + size);
      frames.push(at === 0 ? frame(H2.HEADERS, 0x1 | last, id, piece) : frame(9, last, id, piece));
    }
    this.socket.write(Buffer.concat(frames));
    return id;
  }

  /** The error code of the GOAWAY the server sent, if it sent one. */
  goawayCode(): number | undefined {
    const f = this.frames.find((x) => x.type === H2.GOAWAY);
    return f ? f.payload.readUInt32BE(4) : undefined;
  }

  /** The error code of the RST_STREAM the server sent on `stream`, if it sent one. */
  resetCode(stream: number): number | undefined {
    const f = this.frames.find((x) => x.type === H2.RST_STREAM && x.stream === stream);
    return f ? f.payload.readUInt32BE(0) : undefined;
  }

  /** More DATA on an open stream. */
  data(stream: number, body: string, end = false): void {
    this.socket.write(frame(H2.DATA, end ? 1 : 0, stream, Buffer.from(body, 'latin1')));
  }

  /** The response status of `stream`, 'reset' for RST_STREAM, 'goaway', or 'none' after `limitMs`. */
  async status(stream: number, limitMs = 3_000): Promise<number | 'reset' | 'goaway' | 'none'> {
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      for (const f of this.frames) {
        if (f.stream === stream && f.type === H2.HEADERS) return decodeStatus(f.payload);
        if (f.stream === stream && f.type === H2.RST_STREAM) return 'reset';
        if (f.type === H2.GOAWAY) return 'goaway';
      }
      if (this.closed) return 'goaway';
      await new Promise((r) => setTimeout(r, 10));
    }
    return 'none';
  }

  close(): void {
    this.socket.destroy();
  }
}

const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };
/** Huffman codes of '0'..'9' (RFC 7541 Appendix B): [code, bits]. */
const HUFFMAN_DIGITS: [number, number][] = [
  [0x0, 5],
  [0x1, 5],
  [0x2, 5],
  [0x19, 6],
  [0x1a, 6],
  [0x1b, 6],
  [0x1c, 6],
  [0x1d, 6],
  [0x1e, 6],
  [0x1f, 6],
];

/** :status from the first field of a response header block (Node puts it first). */
function decodeStatus(block: Buffer): number {
  const b0 = block[0]!;
  if (b0 & 0x80) return STATIC_STATUS[b0 & 0x7f] ?? -1;
  // Literal with an indexed name (:status is static 8..14): 6-bit (with indexing) or 4-bit prefix.
  const idx = b0 & 0x40 ? b0 & 0x3f : b0 & 0x0f;
  if (idx < 8 || idx > 14) return -1;
  const len = block[1]! & 0x7f;
  const value = block.subarray(2, 2 + len);
  if (!(block[1]! & 0x80)) return Number(value.toString('latin1'));
  let bits = '';
  for (const byte of value) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  while (out.length < 3) {
    const hit = HUFFMAN_DIGITS.findIndex(
      ([code, n]) => bits.slice(0, n) === code.toString(2).padStart(n, '0'),
    );
    if (hit < 0) return -1;
    out += String(hit);
    bits = bits.slice(HUFFMAN_DIGITS[hit]![1]);
  }
  return Number(out);
}

/** The pseudo-headers of a GET on HOST. */
export function h2Get(path: string, method = 'GET'): [string, string][] {
  return [
    [':method', method],
    [':scheme', 'https'],
    [':authority', HOST],
    [':path', path],
  ];
}
