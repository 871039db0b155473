/**
 * Early and malformed pod responses: two responses for one request, CL with TE, 1xx, bodies where
 * none may be (204, 304, HEAD), responses without framing, broken status lines and fields. The
 * client must get at most one well-framed response per request, and no later client may get what
 * was meant for someone else.
 */
import { finals, get, req, type Case, type Outcome, type PodRequest } from '../case.js';
import { marker, ok, type PodReply } from '../pods.js';
import { nodeH2 } from '../h2.js';

/** The pod answers requests for `/public/r` with `reply`, everything else normally. */
const respond = (
  name: string,
  reply: PodReply | ((r: PodRequest) => PodReply),
  extra: Partial<Case> = {},
): Case => ({
  name: `responses: ${name}`,
  pod: (r) => (r.target.startsWith('/public/r') ? (typeof reply === 'function' ? reply(r) : reply) : ok(r)),
  // A second client afterwards on its own connection: it must get its own answer.
  clients: [{ steps: [get('/public/r')] }, { steps: [get('/public/next')] }],
  check: (o: Outcome) =>
    (o.parsed[1]?.responses ?? []).some(
      (r) => r.body.toString('latin1') === marker('public', 'GET', '/public/next'),
    )
      ? []
      : [`the next client got ${JSON.stringify(o.clients[1]?.received.toString('latin1').slice(0, 200))}`],
  ...extra,
});

const SECOND = 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npoisoned!';

/** The same pod behaviour for an HTTP/2 client (Node's path: undici relays the pod's answer). */
const RACE =
  'an unsolicited response on an idle keep-alive pod connection races the next request sent on it: nginx hands it to the next client too';

const h2respond = (name: string, reply: PodReply, extra: Partial<Case> = {}): Case => ({
  name: `responses: ${name} (HTTP/2 client)`,
  pod: (r) => (r.target.startsWith('/public/r') ? reply : ok(r)),
  run: async (ctx) => {
    const first = await nodeH2(ctx.endpoint(true), '/public/r');
    return [first, await nodeH2(ctx.endpoint(true), '/public/next')];
  },
  check: (o) => {
    const problems: string[] = [];
    const first = o.clients[0]!.received.toString('latin1');
    const next = o.clients[1]!.received.toString('latin1');
    if (!next.includes(marker('public', 'GET', '/public/next')))
      problems.push(`the next HTTP/2 client got ${JSON.stringify(next)}`);
    if (/poisoned|leak/.test(first)) problems.push(`the HTTP/2 client got ${JSON.stringify(first)}`);
    return problems;
  },
  ...extra,
});

export const RESPONSES: Case[] = [
  respond('two responses in one write', `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst${SECOND}`),
  respond(
    'second response 100 ms later',
    { write: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst', 100, SECOND] },
    {
      // An unsolicited response on an idle keep-alive connection races the next request sent on
      // it; no proxy can tell the two apart if the request went first. Required: no worse than nginx.
      referenceMayFail: RACE,
      check: (o, n) => {
        const own = (x: Outcome) =>
          (x.parsed[1]?.responses ?? []).some(
            (r) => r.body.toString('latin1') === marker('public', 'GET', '/public/next'),
          );
        return own(o) || !own(n)
          ? []
          : [
              `the next client got ${JSON.stringify(o.clients[1]?.received.toString('latin1').slice(0, 200))}`,
            ];
      },
    },
  ),
  respond(
    'Content-Length and Transfer-Encoding',
    `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SECOND}`,
  ),
  respond(
    'Transfer-Encoding then Content-Length',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\n${SECOND}`,
  ),
  respond(
    'two different Content-Lengths',
    `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nfirst`,
  ),
  respond(
    'two equal Content-Lengths',
    `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nfirst`,
  ),
  respond('Content-Length list', `HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nfirst`),
  respond('Content-Length with a sign', `HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nfirst`),
  respond('Content-Length space before colon', `HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nfirst${SECOND}`),
  respond(
    'Transfer-Encoding: gzip (not chunked)',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nfirst`,
    { answerOnHead: false },
  ),
  respond(
    'Transfer-Encoding: chunked, identity',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nfirst\r\n0\r\n\r\n`,
  ),
  respond(
    'Transfer-Encoding: xchunked',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n`,
  ),
  respond(
    'chunked with a bad chunk size',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nfirst\r\n0\r\n\r\n`,
  ),
  respond(
    'chunked with a bare LF',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nfirst\r\n0\r\n\r\n`,
  ),
  respond(
    'chunked with an overflowing size',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nfirst\r\n0\r\n\r\n`,
  ),
  respond(
    'chunked with extension and trailer',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nfirst\r\n0\r\nX-T: 1\r\n\r\n`,
  ),
  respond(
    'chunked, more bytes after the last chunk',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n${SECOND}`,
  ),
  respond(
    '100 Continue then 200',
    `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst`,
  ),
  respond(
    '103 Early Hints then 200',
    `HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst`,
  ),
  respond(
    '200 interim responses',
    `${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(200)}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst`,
  ),
  respond(
    '1xx with a body',
    `HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst`,
  ),
  respond('only a 100, then nothing', { write: ['HTTP/1.1 100 Continue\r\n\r\n'], then: 'close' }),
  respond('204 with a body', `HTTP/1.1 204 No Content\r\nContent-Length: ${SECOND.length}\r\n\r\n${SECOND}`),
  respond('204 with chunked', `HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`),
  respond(
    '304 with a body',
    `HTTP/1.1 304 Not Modified\r\nContent-Length: ${SECOND.length}\r\n\r\n${SECOND}`,
  ),
  respond(
    'HEAD answered with a body',
    (r) =>
      `HTTP/1.1 200 OK\r\nContent-Length: ${SECOND.length}\r\n\r\n${r.method === 'HEAD' ? SECOND : SECOND}`,
    {
      clients: [
        { steps: [req(['HEAD /public/r HTTP/1.1', 'Host: app.example'])] },
        { steps: [get('/public/next')] },
      ],
    },
  ),
  respond(
    'no framing, connection kept open',
    { write: ['HTTP/1.1 200 OK\r\n\r\nuntil close'], then: undefined },
    { options: { maxMs: 5_000 } },
  ),
  respond('no framing, connection closed', { write: ['HTTP/1.1 200 OK\r\n\r\nuntil close'], then: 'close' }),
  respond('HTTP/1.0 response without length', {
    write: ['HTTP/1.0 200 OK\r\n\r\nhttp10 body'],
    then: 'close',
  }),
  respond(
    'Connection: close but kept open',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfirst',
  ),
  respond('truncated body, then close', {
    write: ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst'],
    then: 'close',
  }),
  respond('closed without an answer', { write: [], then: 'close' }),
  respond('reset without an answer', { write: [], then: 'destroy' }),
  respond(
    'obs-fold in a response field',
    `HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nfirst`,
  ),
  respond('bare LF in the response head', `HTTP/1.1 200 OK\nContent-Length: 5\n\nfirst`),
  respond('NUL in a response field', `HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 5\r\n\r\nfirst`),
  respond('status 2000', `HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nfirst`),
  respond('status 20', `HTTP/1.1 20 OK\r\nContent-Length: 5\r\n\r\nfirst`),
  respond('HTTP/2 status line', `HTTP/2 200\r\nContent-Length: 5\r\n\r\nfirst`),
  respond(
    'response head over 64 KiB',
    `HTTP/1.1 200 OK\r\n${'X-Big: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(2000)}Content-Length: 5\r\n\r\nfirst`,
  ),
  respond(
    'Set-Cookie twice, hop-by-hop named by Connection',
    `HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: X-Secret\r\nX-Secret: leak\r\nContent-Length: 5\r\n\r\nfirst`,
    {
      check: (o) =>
        o.clients[0]!.received.toString('latin1').includes('leak')
          ? 'a field named by Connection reached the client'
          : [],
    },
  ),
  respond(
    'answer before the request body, then close',
    {
      write: ['HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'],
      then: 'close',
    },
    {
      answerOnHead: true,
      clients: [
        {
          steps: [
            req(['POST /public/r HTTP/1.1', 'Host: app.example', 'Content-Length: 20000'], 'x'.repeat(1000)),
            200,
            'y'.repeat(19000),
          ],
        },
        { steps: [get('/public/next')] },
      ],
    },
  ),
  respond(
    'chunked answer to an HTTP/1.0 client',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n`,
    {
      clients: [
        { steps: [req(['GET /public/r HTTP/1.0', 'Host: app.example'])] },
        { steps: [get('/public/next')] },
      ],
      // An HTTP/1.0 client cannot read chunked: it must get the body as it is, ended by close.
      check: (o) => {
        const text = o.clients[0]!.received.toString('latin1');
        return /transfer-encoding/i.test(text) || !text.endsWith('\r\n\r\nfirst')
          ? [`the HTTP/1.0 client got ${JSON.stringify(text)}`]
          : [];
      },
    },
  ),
  respond(
    'Content-Length answer to an HTTP/1.0 keep-alive client',
    `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst`,
    {
      clients: [
        {
          steps: [
            req(['GET /public/r HTTP/1.0', 'Host: app.example', 'Connection: keep-alive']) +
              req(['GET /public/r2 HTTP/1.0', 'Host: app.example']),
          ],
        },
        { steps: [get('/public/next')] },
      ],
    },
  ),
  respond(
    '417 to Expect: 100-continue',
    'HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    {
      answerOnHead: true,
      clients: [
        {
          steps: [
            req([
              'POST /public/r HTTP/1.1',
              'Host: app.example',
              'Expect: 100-continue',
              `Content-Length: ${SECOND.length}`,
            ]),
            200,
            SECOND,
          ],
        },
        { steps: [get('/public/next')] },
      ],
    },
  ),
  h2respond('two responses in one write', `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst${SECOND}`),
  h2respond(
    'Content-Length and Transfer-Encoding',
    `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SECOND}`,
  ),
  h2respond(
    '204 with a body',
    `HTTP/1.1 204 No Content\r\nContent-Length: ${SECOND.length}\r\n\r\n${SECOND}`,
  ),
  h2respond(
    '1xx with a body',
    `HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst`,
  ),
  h2respond('no framing, connection closed', {
    write: ['HTTP/1.1 200 OK\r\n\r\nuntil close'],
    then: 'close',
  }),
  h2respond(
    'chunked with a bad chunk size',
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nfirst\r\n0\r\n\r\n`,
  ),
  h2respond(
    'hop-by-hop field named by Connection',
    'HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: leak\r\nContent-Length: 5\r\n\r\nfirst',
  ),
  h2respond(
    'second response 100 ms later',
    { write: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst', 100, SECOND] },
    {
      referenceMayFail: RACE,
      // No worse than nginx: the next client may get the stray answer only if nginx's did too.
      check: (o, n) => {
        const next = (x: Outcome) =>
          x.clients[1]!.received.toString('latin1').includes(marker('public', 'GET', '/public/next'));
        return next(o) || !next(n)
          ? []
          : [`the next HTTP/2 client got ${JSON.stringify(o.clients[1]!.received.toString('latin1'))}`];
      },
    },
  ),
  h2respond('unsolicited 101', {
    write: ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
    then: 'tunnel',
  }),
  {
    name: 'responses: second response queued for the next client on a reused connection',
    pod: (r) =>
      r.target === '/public/first'
        ? { write: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst', 30, SECOND] }
        : ok(r),
    clients: [
      { steps: [get('/public/first')] },
      { steps: [get('/public/second')] },
      { steps: [get('/public/third')] },
    ],
    check: (o) =>
      [1, 2].flatMap((i) => {
        const want = marker('public', 'GET', i === 1 ? '/public/second' : '/public/third');
        const got = (o.parsed[i]?.responses ?? []).map((r) => r.body.toString('latin1'));
        return got.length === 1 && got[0] === want ? [] : [`client ${i} got ${JSON.stringify(got)}`];
      }),
  },
  {
    name: 'responses: finals count one per request with two responses each',
    pod: (r) => `${ok(r)}${SECOND}`,
    send: get('/public/a') + get('/public/b'),
    check: (o) => (finals(o).length > 2 ? `got ${finals(o).length} responses for 2 requests` : []),
  },
];
