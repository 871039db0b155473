/**
 * The plain-HTTP fast path against a scripted pod (exact bytes on the wire: chunked, read-until-close,
 * interim responses, broken framing, stale keep-alive connections) and against the echo pods for
 * bodies, pipelining and hand-over to Node's HTTP server in the middle of a connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { request } from 'undici';
import { IngressServer, ProxyMetrics } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { eventually } from './eventually.js';

/** A pod that answers each request by path with exact bytes. Counts connections and closes. */
function startScripted(): Promise<{
  server: Server;
  port: number;
  accepted: number;
  closed: number;
  held: Socket[];
}> {
  const state = {
    server: undefined as unknown as Server,
    port: 0,
    accepted: 0,
    closed: 0,
    held: [] as Socket[],
  };
  const answer = (sock: Socket, method: string, path: string, served: number): void => {
    const mutant = /^\/mutant\?seed=(\d+)$/.exec(path);
    if (mutant) {
      // A broken pod: a valid response with a few bytes changed, then the connection closes.
      sock.end(mutateResponse(Number(mutant[1])));
      return;
    }
    switch (path) {
      case '/chunked':
        sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
        setTimeout(() => sock.write('6;x=y\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'), 20);
        return;
      case '/close':
        sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close');
        return;
      case '/early':
        sock.write(
          'HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
        );
        return;
      case '/len':
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n${method === 'HEAD' ? '' : 'fives'}`);
        return;
      case '/bad':
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
        return;
      case '/stale':
        // Second request on a connection: the pod had already given up on it.
        if (served > 0) return void sock.destroy();
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh');
        return;
      case '/hold':
        // Answered by the test, when it chooses.
        state.held.push(sock);
        return;
      case '/drip':
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nfirst');
        return; // never finishes: the client gives up
      default:
        sock.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    }
  };
  state.server = createServer((sock) => {
    state.accepted++;
    sock.on('close', () => state.closed++);
    sock.on('error', () => undefined);
    let buf = '';
    let served = 0;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const [method, path] = buf.slice(0, buf.indexOf('\r\n')).split(' ');
        buf = buf.slice(end + 4);
        answer(sock, method!, path!, served++);
      }
    });
  });
  return new Promise((resolve) =>
    state.server.listen(0, '127.0.0.1', () => {
      state.port = (state.server.address() as AddressInfo).port;
      resolve(state);
    }),
  );
}

/**
 * A pod that reads nothing for its first 400 ms (its socket buffers fill, so the proxy's writes to
 * it queue), then reads a request with a Content-Length body and answers the body's SHA-256.
 */
function startSink(): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.pause();
    setTimeout(() => sock.resume(), 400);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(buf.toString('latin1', 0, end))?.[1]);
      if (end < 0 || buf.length < end + 4 + length) return;
      const sha = createHash('sha256')
        .update(buf.subarray(end + 4))
        .digest('hex');
      sock.end(`HTTP/1.1 200 OK\r\nContent-Length: ${sha.length}\r\n\r\n${sha}`);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })),
  );
}

/** Deterministic small generator for the mutation tests (xorshift). */
function generator(seed: number): (n: number) => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return (n) => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x % n;
  };
}

function mutateResponse(seed: number): Buffer {
  const rnd = generator(seed);
  const bases = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
  ];
  const bytes = [...Buffer.from(bases[rnd(bases.length)]!, 'latin1')];
  for (let i = 0, edits = 1 + rnd(3); i < edits; i++) {
    const at = rnd(bytes.length);
    if (rnd(2) === 0) bytes[at] = [0x0d, 0x0a, 0x00, 0x3a, 0x20, 0x30, 0x66, rnd(256)][rnd(8)]!;
    else bytes.splice(at, 1);
  }
  return Buffer.from(bytes);
}

/** Writes `data`, collects the answer until `until(text)` holds or the proxy closes. */
function exchange(
  port: number,
  data: string | Buffer,
  until: (text: string) => boolean = () => false,
  limitMs = 5_000,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => done(false), limitMs);
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (until(text)) done(false);
    });
    sock.on('close', () => done(true));
    sock.on('error', () => undefined);
    sock.write(data);
  });
}

const responses = (text: string) => text.match(/HTTP\/1\.1 \d\d\d/g) ?? [];

let scripted: Awaited<ReturnType<typeof startScripted>>;
let sink: Awaited<ReturnType<typeof startSink>>;
let echo: Echo;
let server: IngressServer;
let port = 0;
const metrics = new ProxyMetrics();

beforeAll(async () => {
  scripted = await startScripted();
  sink = await startSink();
  echo = await startEcho('echo');
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: null,
    headersTimeout: 1_000,
    requestTimeout: 1_000,
    keepAliveTimeout: 600,
    timeoutCheckInterval: 100,
    proxy: { maxBodyBytes: 16 * 1024 * 1024, metrics },
  });
  server.setTable(
    table([
      loopbackService('scripted', [scripted.port]),
      loopbackService('echo', [echo.port]),
      loopbackService('sink', [sink.port]),
      {
        ingresses: [
          ingress('fast', {
            rules: [
              rule('s.example.com', { path: '/', svc: 'scripted' }),
              rule('e.example.com', { path: '/', svc: 'echo' }),
              rule('sink.example.com', { path: '/', svc: 'sink' }),
            ],
          }),
        ],
      },
    ]),
  );
  ({ httpPort: port } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  scripted?.server.close();
  sink?.server.close();
  await stopAll(echo ? [echo] : []);
});

const get = (path: string, host = 's.example.com', method = 'GET') =>
  `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

describe('response framing relayed from the pod', () => {
  it('relays a chunked body unchanged, trailer included, and keeps the connection for the next request', async () => {
    const { text } = await exchange(port, get('/chunked') + get('/len'), (t) => t.endsWith('fives'));
    const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n/i);
    expect(first).toContain('transfer-encoding: chunked\r\n');
    expect(first).toContain('server: portico\r\n');
    expect(first!.slice(first!.indexOf('\r\n\r\n') + 4)).toBe(
      '5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
    );
    expect(second).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Length: 5\r\n/);
  });

  it('reads a body without length until the pod closes, then closes the client connection', async () => {
    const { text, closed } = await exchange(port, get('/close'));
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain('connection: close\r\n');
    expect(text.endsWith('\r\n\r\nuntil close')).toBe(true);
  });

  it('skips interim 1xx responses', async () => {
    const { text } = await exchange(port, get('/early'), (t) => t.endsWith('ok'));
    expect(responses(text)).toEqual(['HTTP/1.1 200']);
  });

  it('sends no body for HEAD even when the pod declares a length', async () => {
    const { text } = await exchange(port, get('/len', 's.example.com', 'HEAD') + get('/len'), (t) =>
      t.endsWith('fives'),
    );
    expect(responses(text)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(text.match(/fives/g)).toHaveLength(1);
  });

  it('frames the same response head by the request: GET, HEAD, GET on one pod connection', async () => {
    // The pod sends the same head to all three; a pod connection remembers its last parsed head.
    const { text } = await exchange(
      port,
      get('/len') + get('/len', 's.example.com', 'HEAD') + get('/len'),
      (t) => responses(t).length === 3 && t.endsWith('fives'),
      2_000,
    );
    expect(text.split(/(?=HTTP\/1\.1 )/).map((r) => r.slice(r.indexOf('\r\n\r\n') + 4))).toEqual([
      'fives',
      '',
      'fives',
    ]);
  });

  it('answers 502 when the pod breaks framing (Content-Length with Transfer-Encoding)', async () => {
    const { text } = await exchange(port, get('/bad'), (t) => t.includes('\r\n\r\n'));
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
  });

  it('retries a request whose reused keep-alive connection the pod had closed, on a fresh one', async () => {
    const first = await exchange(port, get('/stale'), (t) => t.endsWith('fresh'));
    expect(first.text).toMatch(/^HTTP\/1\.1 200/);
    const accepted = scripted.accepted;
    const second = await exchange(port, get('/stale'), (t) => t.endsWith('fresh'));
    expect(second.text).toMatch(/^HTTP\/1\.1 200/);
    expect(scripted.accepted).toBe(accepted + 1);
  });

  // wrk stopped under load: its connections closed with requests in flight, and an answer that
  // arrived in the same turn as the client's FIN found the client's socket ended. The pod
  // connection was then paused for back-pressure (the write failed) and went back to the pool
  // paused: the next request on it was never read, and got 504 after the headers timeout.
  it('puts a pod connection back in the pool reading when its answer found the client gone', async () => {
    for (let round = 0; round < 20; round++) {
      const client = connect(port, '127.0.0.1');
      client.on('error', () => undefined);
      client.write(get('/hold'));
      await eventually(async () => scripted.held.length > 0, 'the held request');
      const pod = scripted.held.shift()!;
      // The client's FIN, then the pod's answer: both reach the proxy before its next poll.
      client.destroy();
      pod.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld');
      await new Promise((r) => setTimeout(r, 20));
      const next = await exchange(port, get('/len'), (t) => t.endsWith('fives'), 2_000);
      expect(next.text, `round ${round}`).toMatch(/^HTTP\/1\.1 200/);
    }
  });

  it('closes the pod connection when the client goes away mid-response', async () => {
    const closed = scripted.closed;
    await exchange(port, get('/drip'), (t) => t.endsWith('first'));
    const t0 = Date.now();
    while (scripted.closed === closed && Date.now() - t0 < 3_000) await new Promise((r) => setTimeout(r, 20));
    expect(scripted.closed).toBeGreaterThan(closed);
  });
});

describe('client connections', () => {
  it('answers pipelined requests in order', async () => {
    const { text } = await exchange(
      port,
      get('/a', 'e.example.com') + get('/b', 'e.example.com') + get('/c', 'e.example.com'),
      (t) => t.includes('"url":"/c"'),
    );
    expect([...text.matchAll(/"url":"(\/\w)"/g)].map((m) => m[1])).toEqual(['/a', '/b', '/c']);
  });

  // Reads are lent from one shared buffer (shared-read-buffer.ts): bytes kept past a read must be
  // copies, or the next read (into the same place) overwrites them.
  it('serves a head split across reads, and a pipelined request split across reads', async () => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d) => (text += d.toString('latin1')));
    await new Promise((r) => sock.once('connect', r));
    const first = `GET /split-head?${'q'.repeat(60)} HTTP/1.1\r\nHost: e.example.com\r\nX-A: 1\r\n\r\n`;
    const second = get('/split-pipelined', 'e.example.com');
    const parts = [first.slice(0, 50), first.slice(50) + second.slice(0, 12), second.slice(12)];
    for (const part of parts) {
      sock.write(part);
      await new Promise((r) => setTimeout(r, 30));
    }
    await eventually(async () => text.includes('"url":"/split-pipelined"'), 'the second response');
    sock.destroy();
    expect([...text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1])).toEqual([
      `/split-head?${'q'.repeat(60)}`,
      '/split-pipelined',
    ]);
  });

  it('forwards a body that arrives with its head and over later reads intact', async () => {
    const body = Buffer.alloc(200_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
    const head = `POST /body HTTP/1.1\r\nHost: e.example.com\r\nContent-Length: ${body.length}\r\n\r\n`;
    const sock = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    await new Promise((r) => sock.once('connect', r));
    sock.write(Buffer.concat([Buffer.from(head), body.subarray(0, 100)]));
    for (let at = 100; at < body.length; at += 20_000) {
      await new Promise((r) => setTimeout(r, 5));
      sock.write(body.subarray(at, at + 20_000));
    }
    // The echo pod answers chunked: the body is its one chunk stream, decoded here by hand.
    const decoded = (): Buffer => {
      const all = Buffer.concat(got);
      const parts: Buffer[] = [];
      let at = all.indexOf('\r\n\r\n') + 4;
      for (;;) {
        const eol = all.indexOf('\r\n', at);
        if (eol < 0) return Buffer.alloc(0);
        const size = parseInt(all.toString('latin1', at, eol), 16);
        if (size === 0) return Buffer.concat(parts);
        if (eol + 2 + size + 2 > all.length) return Buffer.alloc(0);
        parts.push(all.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
    };
    await eventually(async () => decoded().length > 0, 'the echoed body');
    sock.destroy();
    expect(decoded().equals(body)).toBe(true);
  });

  it('forwards a body intact to a pod not reading yet while other connections are read', async () => {
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 131 + (i >> 12)) & 0xff;
    const sock = connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    sock.write(`POST /sink HTTP/1.1\r\nHost: sink.example.com\r\nContent-Length: ${body.length}\r\n\r\n`);
    sock.write(body);
    // While the proxy's writes to the pod wait, other connections' reads land in the same shared
    // read buffer: what waits must be a copy, not a view of it.
    const other = `POST /other HTTP/1.1\r\nHost: e.example.com\r\nContent-Length: 60000\r\n\r\n${'o'.repeat(60_000)}`;
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 30));
      await exchange(port, other, (t) => t.includes('"url":"/other"'));
    }
    await eventually(async () => /\r\n\r\n[0-9a-f]{64}$/.test(text), 'the pod’s answer');
    sock.destroy();
    expect(text.slice(-64)).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('records a request’s duration up to the pod’s answer', async () => {
    // The fast path reads the clock once per pod read: the duration ends at the answer's read.
    const sum = async (): Promise<number> => {
      const text = await metrics.registry.getSingleMetricAsString('portico_ingress_request_duration_seconds');
      return Number(
        /_sum\{ingress="default\/fast",service="[^"]*echo[^"]*"\} ([\d.e-]+)/.exec(text)?.[1] ?? 0,
      );
    };
    const before = await sum();
    const { text } = await exchange(port, get('/slow?ms=200', 'e.example.com'), (t) => t.includes('}'));
    expect(responses(text)).toEqual(['HTTP/1.1 200']);
    const took = (await sum()) - before;
    expect(took).toBeGreaterThanOrEqual(0.19);
    expect(took).toBeLessThan(2);
  });

  it('hands a connection to Node mid-way (a chunked upload after a plain GET) and serves both', async () => {
    const upload =
      'POST /body HTTP/1.1\r\nHost: e.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
    const { text } = await exchange(port, get('/first', 'e.example.com') + upload, (t) =>
      t.includes('abcde'),
    );
    expect(responses(text)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(echo.seen.at(-1)).toMatchObject({ method: 'POST', url: '/body' });
    expect(echo.seen.at(-1)!.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('streams a 4 MiB body both ways intact', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
    // The echo pod answers chunked (no length): undici decodes what the proxy relayed.
    const res = await request(`http://127.0.0.1:${port}/body`, {
      method: 'POST',
      headers: { host: 'e.example.com', 'content-length': String(body.length) },
      body,
    });
    const got = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(got.length).toBe(body.length);
    expect(sha(got)).toBe(sha(body));
  });

  it('closes a keep-alive connection left idle past the timeout', async () => {
    const t0 = Date.now();
    const { closed } = await exchange(port, get('/len'), () => false, 5_000);
    expect(closed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4_000);
  });

  it('answers 408 to a client that stops sending its declared body', async () => {
    const { text, closed } = await exchange(
      port,
      'POST /body HTTP/1.1\r\nHost: e.example.com\r\nContent-Length: 10\r\n\r\nabc',
      () => false,
      5_000,
    );
    expect(closed).toBe(true);
    expect(text).toMatch(/HTTP\/1\.1 408 /);
  });

  it('upgrades a connection that already served a request', async () => {
    const up = 'GET /ws HTTP/1.1\r\nHost: e.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout: ${text}`)), 5_000);
      sock.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('HTTP/1.1 101') && text.endsWith('\r\n\r\n') && !text.includes('echoed'))
          sock.write('echoed');
        if (text.endsWith('echoed')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    sock.write(get('/first', 'e.example.com') + up);
    try {
      await done;
    } finally {
      sock.destroy();
    }
    expect(responses(text)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 101']);
  });
});

describe('hostile input', () => {
  /** Mutations of valid requests: byte flips, truncation, duplication, CR/LF/NUL insertion. */
  function mutate(seed: number): Buffer {
    const rnd = generator(seed);
    const bases = [
      get('/len'),
      get('/chunked', 'e.example.com'),
      'POST /body HTTP/1.1\r\nHost: e.example.com\r\nContent-Length: 5\r\n\r\nhello',
      'POST /body HTTP/1.1\r\nHost: e.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    ];
    const b = Buffer.from(bases[rnd(bases.length)]!, 'latin1');
    const bytes = [...b];
    const edits = 1 + rnd(4);
    for (let i = 0; i < edits; i++) {
      const at = rnd(bytes.length);
      switch (rnd(5)) {
        case 0:
          bytes[at] = rnd(256);
          break;
        case 1:
          bytes.splice(at, 0, [0x0d, 0x0a, 0x00, 0x20, 0x3a][rnd(5)]!);
          break;
        case 2:
          bytes.splice(at, 1);
          break;
        case 3:
          bytes.splice(at, 0, ...bytes.slice(0, rnd(bytes.length)));
          break;
        default:
          bytes.length = at;
      }
    }
    return Buffer.from(bytes);
  }

  it('survives 300 mutated requests and keeps serving (nothing crashes, every answer is HTTP)', async () => {
    // 20 connections at a time; a head left incomplete by the mutation simply gets no answer.
    let answered = 0;
    for (let first = 1; first <= 300; first += 20) {
      const seeds = Array.from({ length: 20 }, (_, i) => first + i);
      const answers = await Promise.all(
        seeds.map((seed) => exchange(port, mutate(seed), (t) => t.includes('\r\n\r\n'), 400)),
      );
      answers.forEach(({ text }, i) => {
        if (!text) return;
        answered++;
        expect(text, `seed ${seeds[i]}`).toMatch(/^HTTP\/1\.1 \d\d\d /);
      });
    }
    expect(answered).toBeGreaterThan(100);
    const { text } = await exchange(port, get('/len'), (t) => t.endsWith('fives'));
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
  }, 60_000);

  it('answers 502 or relays the response for 200 mutated pod responses, never crashing', async () => {
    const statuses = new Map<string, number>();
    for (let first = 1; first <= 200; first += 20) {
      const seeds = Array.from({ length: 20 }, (_, i) => first + i);
      const answers = await Promise.all(
        seeds.map((seed) => exchange(port, get(`/mutant?seed=${seed}`), () => false, 1_000)),
      );
      answers.forEach(({ text }, i) => {
        // Cut off mid-body is allowed (the pod broke framing after the head went out).
        const status = /^HTTP\/1\.1 (\d\d\d) /.exec(text)?.[1] ?? (text === '' ? 'none' : 'garbage');
        expect(status, `seed ${seeds[i]}: ${JSON.stringify(text)}`).not.toBe('garbage');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      });
    }
    expect(statuses.get('502') ?? 0).toBeGreaterThan(10);
    expect((statuses.get('200') ?? 0) + (statuses.get('204') ?? 0)).toBeGreaterThan(10);
    const { text } = await exchange(port, get('/len'), (t) => t.endsWith('fives'));
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
  }, 60_000);
});
