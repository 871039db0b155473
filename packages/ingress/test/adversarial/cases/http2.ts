/**
 * HTTP/2 (over TLS, ALPN h2): :path and pseudo-header abuse, fields HTTP/1 would read as framing
 * after the downgrade to the pod (CR/LF, Transfer-Encoding, Content-Length against DATA), and
 * CONTINUATION and RST_STREAM floods. Each case ends with a new HTTP/2 client that must be served.
 */
import { SMUGGLED, type Case, type Outcome, type RunContext } from '../case.js';
import type { ClientResult } from '../client.js';
import { FLAG, FRAME, frame, hpack, nodeH2, rawH2, request } from '../h2.js';
import { defaultScript, marker } from '../pods.js';

/** The HTTP/2 client after the case got its answer. */
const freshH2 = (o: Outcome): string[] => {
  const last = o.clients.at(-1)!.received.toString('latin1');
  return last.includes(marker('public', 'GET', '/public/h2-fresh'))
    ? []
    : [`a new HTTP/2 client afterwards got ${JSON.stringify(last.slice(0, 200))}`];
};

/** Until the pods have been quiet for 300 ms (what a flood set in motion has drained), at most `maxMs`. */
async function drained(ctx: RunContext, maxMs: number): Promise<void> {
  const t0 = Date.now();
  const pods = Object.values(ctx.proxy.pods);
  while (Date.now() - t0 < maxMs && Date.now() - Math.max(...pods.map((p) => p.lastActivity)) < 300)
    await new Promise((r) => setTimeout(r, 50));
}

const h2case = (
  name: string,
  frames: (ctx: RunContext) => (Buffer | number)[],
  extra: Partial<Case> & { opts?: { quietMs?: number; maxMs?: number }; drainMs?: number } = {},
): Case => ({
  name: `http2: ${name}`,
  run: async (ctx): Promise<ClientResult[]> => {
    const ep = ctx.endpoint(true);
    const r = await rawH2(ep, frames(ctx), extra.opts);
    if (extra.drainMs) await drained(ctx, extra.drainMs);
    return [r, await nodeH2(ep, '/public/h2-fresh')];
  },
  ...extra,
  check: (o, n) => {
    const own = extra.check?.(o, n);
    return [...freshH2(o), ...(typeof own === 'string' ? [own] : (own ?? []))];
  },
});

/** One stream: HEADERS (END_HEADERS, END_STREAM unless a body follows), then DATA. */
const one = (fields: [string, string][], body?: string) => () => {
  const hf = frame(
    FRAME.HEADERS,
    FLAG.END_HEADERS | (body === undefined ? FLAG.END_STREAM : 0),
    1,
    hpack(fields),
  );
  return body === undefined ? [hf] : [hf, frame(FRAME.DATA, FLAG.END_STREAM, 1, body)];
};

const paths: [string, string][] = [
  ['dot-dot', '/public/../api/x'],
  ['encoded dot-dot', '/public/%2e%2e/api/x'],
  ['encoded slash', '/public/..%2fapi/x'],
  ['double slash', '//api/x'],
  ['fragment', '/public/x#/../../api/x'],
  ['encoded letter', '/%70ublic/x'],
  ['no leading slash', 'public/x'],
  ['asterisk on GET', '*'],
  ['absolute URI', 'http://other.example/x'],
  ['empty', ''],
  ['with a space', '/public/x /../../api/x'],
  [
    'with CRLF and a smuggled request',
    `/public/x HTTP/1.1\r\nHost: app.example\r\n\r\n${SMUGGLED.trimEnd()}`,
  ],
  ['with a NUL', '/public/x\0/../../api/x'],
];

export const HTTP2: Case[] = [
  {
    name: 'http2: plain GET with node:http2',
    run: async (ctx) => [
      await nodeH2(ctx.endpoint(true), '/public/x'),
      await nodeH2(ctx.endpoint(true), '/public/h2-fresh'),
    ],
    check: freshH2,
  },
  h2case('plain GET, raw frames', one(request('/public/x'))),
  h2case('POST with a body', one(request('/public/x', [['content-length', '5']], 'POST'), 'hello')),
  ...paths.map(([n, p]) => h2case(`:path ${n}`, one(request(p)))),
  h2case('two :path', one([...request('/public/x'), [':path', '/api/x']])),
  h2case('two :method', one([[':method', 'GET'], ...request('/public/x', [], 'POST')])),
  h2case('no :path', one(request('/public/x').filter(([k]) => k !== ':path'))),
  h2case('no :method', one(request('/public/x').filter(([k]) => k !== ':method'))),
  h2case('no :scheme', one(request('/public/x').filter(([k]) => k !== ':scheme'))),
  h2case('unknown pseudo-header', one(request('/public/x', [[':foo', 'bar']]))),
  h2case(
    'pseudo-header after a field',
    one([
      [':method', 'GET'],
      [':scheme', 'https'],
      ['x-a', 'b'],
      [':authority', 'app.example'],
      [':path', '/public/x'],
    ]),
  ),
  h2case(':authority and a different host field', one(request('/api/x', [['host', 'other.example']]))),
  h2case(
    'host field only, no :authority',
    one(request('/api/x', [['host', 'app.example']]).filter(([k]) => k !== ':authority')),
  ),
  h2case(
    ':authority of an unknown host with host of a known one',
    one(request('/public/x', [['host', 'app.example']], 'GET', 'unknown.example')),
  ),
  h2case(
    ':method with a smuggled request',
    one(request('/public/x', [], `GET /api/smuggled HTTP/1.1\r\nHost: app.example\r\n\r\nGET`)),
  ),
  h2case(':method lower case', one(request('/public/x', [], 'get')), {
    why: 'a lower-case method is a valid token, a different method from GET (RFC 9110 §9.1), forwarded as the same token in HTTP/1; nginx refuses it',
  }),
  h2case('upper-case field name', one(request('/public/x', [['X-Upper', 'v']]))),
  h2case('field name with a space', one(request('/public/x', [['x a', 'v']]))),
  h2case('field name with a colon', one(request('/public/x', [['x:a', 'v']]))),
  h2case(
    'field value with CRLF and a smuggled field',
    one(request('/public/x', [['x-a', `v\r\nTransfer-Encoding: chunked`]], 'POST'), `0\r\n\r\n${SMUGGLED}`),
  ),
  h2case(
    'field value with CRLF and a smuggled request',
    one(request('/public/x', [['x-a', `v\r\n\r\n${SMUGGLED.trimEnd()}`]])),
  ),
  h2case('field value with a NUL', one(request('/public/x', [['x-a', 'v\0w']]))),
  h2case('connection field', one(request('/public/x', [['connection', 'close']]))),
  h2case('keep-alive field', one(request('/public/x', [['keep-alive', 'timeout=5']]))),
  h2case('upgrade field', one(request('/public/x', [['upgrade', 'websocket']]))),
  h2case('te: gzip', one(request('/public/x', [['te', 'gzip']]))),
  h2case('te: trailers', one(request('/public/x', [['te', 'trailers']]))),
  h2case(
    'transfer-encoding: chunked with a smuggled request in DATA',
    one(request('/public/x', [['transfer-encoding', 'chunked']], 'POST'), `0\r\n\r\n${SMUGGLED}`),
  ),
  h2case(
    'content-length 0 with a smuggled request in DATA',
    one(request('/public/x', [['content-length', '0']], 'POST'), SMUGGLED),
  ),
  h2case(
    'content-length shorter than DATA',
    one(request('/public/x', [['content-length', '5']], 'POST'), `hello${SMUGGLED}`),
  ),
  h2case(
    'content-length longer than DATA',
    one(request('/public/x', [['content-length', '100']], 'POST'), 'hello'),
  ),
  h2case(
    'two content-lengths',
    one(
      request(
        '/public/x',
        [
          ['content-length', '5'],
          ['content-length', '0'],
        ],
        'POST',
      ),
      'hello',
    ),
  ),
  h2case(
    'content-length with a sign',
    one(request('/public/x', [['content-length', '+5']], 'POST'), 'hello'),
  ),
  h2case(
    'cookie split in many fields',
    one(
      request('/public/x', [
        ['cookie', 'a=1'],
        ['cookie', 'b=2'],
      ]),
    ),
  ),
  h2case('HEADERS, CONTINUATION, CONTINUATION', () => {
    const block = hpack(request('/public/x', [['x-a', 'b']]));
    return [
      frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 10)),
      frame(FRAME.CONTINUATION, 0, 1, block.subarray(10, 20)),
      frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(20)),
    ];
  }),
  h2case(
    'CONTINUATION flood without END_HEADERS',
    () => {
      const pad = hpack([['x-flood', 'a'.repeat(40)]]);
      return [
        frame(FRAME.HEADERS, FLAG.END_STREAM, 1, hpack(request('/public/x'))),
        ...Array.from({ length: 20_000 }, () => frame(FRAME.CONTINUATION, 0, 1, pad)),
      ];
    },
    {
      opts: { maxMs: 6_000 },
      check: (o) =>
        o.requests.some((r) => r.target !== '/public/h2-fresh')
          ? 'a request reached a pod from an unfinished header block'
          : [],
    },
  ),
  h2case(
    'CONTINUATION frames of empty fragments',
    () => [
      frame(FRAME.HEADERS, FLAG.END_STREAM, 1, hpack(request('/public/x'))),
      ...Array.from({ length: 20_000 }, () => frame(FRAME.CONTINUATION, 0, 1)),
    ],
    { opts: { maxMs: 6_000 } },
  ),
  h2case(
    'rapid reset: 1000 streams opened and reset',
    () =>
      Array.from({ length: 1000 }, (_, i) => [
        frame(
          FRAME.HEADERS,
          FLAG.END_HEADERS | FLAG.END_STREAM,
          2 * i + 1,
          hpack(request(`/public/rst-${i}`)),
        ),
        frame(FRAME.RST_STREAM, 0, 2 * i + 1, Buffer.from([0, 0, 0, 8])),
      ]).flat(),
    {
      why: 'how many reset streams reach a pod before the reset is seen depends on timing; bounded below instead',
      opts: { maxMs: 6_000 },
      // Whatever the reset streams set in motion must not spill into the next cases.
      drainMs: 15_000,
      check: (o) => {
        const reached = o.requests.filter((r) => r.target.startsWith('/public/rst-')).length;
        return reached > 200 ? `${reached} of 1000 reset streams reached the pods` : [];
      },
    },
  ),
  h2case(
    'RST_STREAM flood on idle streams',
    () =>
      Array.from({ length: 5000 }, (_, i) =>
        frame(FRAME.RST_STREAM, 0, 2 * i + 1, Buffer.from([0, 0, 0, 8])),
      ),
    { opts: { maxMs: 6_000 } },
  ),
  h2case('PING flood', () => Array.from({ length: 10_000 }, () => frame(FRAME.PING, 0, 0, Buffer.alloc(8))), {
    opts: { maxMs: 6_000 },
  }),
  h2case('SETTINGS flood', () => Array.from({ length: 5_000 }, () => frame(FRAME.SETTINGS, 0, 0)), {
    opts: { maxMs: 6_000 },
  }),
  h2case('DATA on a closed stream', () => [
    ...one(request('/public/x'))(),
    200,
    frame(FRAME.DATA, 0, 1, SMUGGLED),
  ]),
  h2case(
    'CONNECT to another host (open proxy?)',
    one([
      [':method', 'CONNECT'],
      [':authority', '127.0.0.1:22'],
    ]),
  ),
  h2case(
    'CONNECT to a routed host',
    one([
      [':method', 'CONNECT'],
      [':authority', 'app.example:443'],
    ]),
  ),
  h2case(
    'extended CONNECT for websocket (RFC 8441)',
    one([...request('/public/ws', [], 'CONNECT'), [':protocol', 'websocket']]),
  ),
  h2case('100 KiB of header fields', () => {
    const block = hpack(
      request(
        '/public/x',
        Array.from({ length: 100 }, (_, i): [string, string] => [`x-big-${i}`, 'v'.repeat(1000)]),
      ),
    );
    const frames: Buffer[] = [];
    for (let at = 0; at < block.length; at += 16_000) {
      const last = at + 16_000 >= block.length;
      const piece = block.subarray(at, at + 16_000);
      frames.push(
        at === 0
          ? frame(FRAME.HEADERS, FLAG.END_STREAM | (last ? FLAG.END_HEADERS : 0), 1, piece)
          : frame(FRAME.CONTINUATION, last ? FLAG.END_HEADERS : 0, 1, piece),
      );
    }
    return frames;
  }),
  {
    name: 'http2: POST body above the limit, no content-length',
    run: async (ctx) => [
      await nodeH2(ctx.endpoint(true), '/public/big', { ':method': 'POST' }, 'x'.repeat(2 * 1024 * 1024)),
      await nodeH2(ctx.endpoint(true), '/public/h2-fresh'),
    ],
    check: (o) => [
      ...freshH2(o),
      ...(o.requests.some((r) => r.body.length > 1024 * 1024)
        ? ['a body above the limit reached the pod whole']
        : []),
    ],
  },
  h2case(
    '300 concurrent streams on one connection',
    () =>
      Array.from({ length: 300 }, (_, i) =>
        frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 2 * i + 1, hpack(request(`/public/c-${i}`))),
      ),
    {
      why: 'how many streams a server takes at once is its SETTINGS_MAX_CONCURRENT_STREAMS (nginx 128, Portico bounded by its pod pool, 256): per-client limits are issue 12; here no stream may be forwarded twice and a new client must still be served',
      opts: { maxMs: 6_000 },
      drainMs: 8_000,
      check: (o) => {
        const n = o.requests.filter((r) => r.target.startsWith('/public/c-')).length;
        return n > 300 ? `${n} requests reached the pods for 300 streams` : [];
      },
    },
  ),
  h2case(
    'a zero window that never opens, on a 32 MiB response',
    () => [
      // SETTINGS_INITIAL_WINDOW_SIZE 0: the server may send no DATA on any stream.
      frame(FRAME.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0, 0])),
      frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, hpack(request('/public/big'))),
    ],
    {
      pod: (r) =>
        r.target === '/public/big'
          ? {
              write: [
                `HTTP/1.1 200 OK\r\nContent-Length: ${32 * 1024 * 1024}\r\n\r\n`,
                ...Array.from({ length: 32 }, () => Buffer.alloc(1024 * 1024, 0x61)),
              ],
            }
          : defaultScript(r),
      opts: { quietMs: 4_500, maxMs: 4_500 },
      check: (o) => {
        // The pod connection of the stuck response is closed after the send timeout (2 s here).
        const conn = o.conns.find((k) => Buffer.concat(k.bytes).includes('/public/big'));
        if (!conn) return 'no pod connection carried /public/big';
        if (!conn.closed) return 'the pod connection of the stuck response is still open';
        const held = conn.closed - conn.opened;
        if (held > 4_000) return `the pod connection of the stuck response was held ${held} ms`;
        const got = o.clients[0]!.received.toString('latin1');
        return /RST_STREAM 1|GOAWAY/.test(got) ? [] : 'the stuck stream was never reset';
      },
    },
  ),
  h2case('HEADERS on stream 0', () => [
    frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 0, hpack(request('/public/x'))),
  ]),
  h2case('HTTP/1 request on an h2 connection after the preface', () => [Buffer.from(SMUGGLED, 'latin1')]),
];
