/**
 * Pipelining and connection reuse: requests queued on one connection, requests after a refusal,
 * and the early answer that must not let a later client's request into an unfinished body.
 */
import { finals, get, req, SMUGGLED, type Case, type Outcome } from '../case.js';
import { marker } from '../pods.js';

const L = SMUGGLED.length;

/** Every client got exactly its own answers, in order. */
const ownAnswers =
  (...expected: string[][]) =>
  (o: Outcome): string[] =>
    expected.flatMap((want, i) => {
      const got = (o.parsed[i]?.responses ?? [])
        .filter((r) => r.status >= 200)
        .map((r) => r.body.toString('latin1'));
      return JSON.stringify(got) === JSON.stringify(want)
        ? []
        : [`client ${i} got ${JSON.stringify(got)}, wanted ${JSON.stringify(want)}`];
    });

export const PIPELINING: Case[] = [
  {
    name: 'pipelining: three routes in one packet',
    send: get('/public/a') + get('/api/b') + get('/x', 'other.example'),
    check: ownAnswers([
      marker('public', 'GET', '/public/a'),
      marker('api', 'GET', '/api/b'),
      marker('other', 'GET', '/x'),
    ]),
  },
  {
    name: 'pipelining: GET, POST with a body, GET',
    send:
      get('/public/a') +
      req(['POST /api/b HTTP/1.1', 'Host: app.example', 'Content-Length: 5'], 'hello') +
      get('/public/c'),
  },
  {
    name: 'pipelining: second head split across packets',
    send: [get('/public/a') + 'GET /api/b HT', 50, 'TP/1.1\r\nHo', 50, 'st: app.example\r\n\r\n'],
  },
  {
    name: 'pipelining: HEAD then GET',
    send: req(['HEAD /public/a HTTP/1.1', 'Host: app.example']) + get('/public/b'),
  },
  {
    name: 'pipelining: 50 requests in one write',
    send: Array.from({ length: 50 }, (_, i) => get(`/${i % 2 ? 'api' : 'public'}/${i}`)).join(''),
    options: { maxMs: 5_000 },
  },
  {
    name: 'pipelining: 500 requests in one write (past the head buffer)',
    send: Array.from({ length: 500 }, (_, i) => get(`/public/${i}`)).join(''),
    options: { maxMs: 8_000, quietMs: 2_000 },
    check: (o) => (finals(o).length === 500 ? [] : [`${finals(o).length} of 500 answered`]),
  },
  {
    name: 'pipelining: request after Connection: close',
    send: req(['GET /public/a HTTP/1.1', 'Host: app.example', 'Connection: close']) + get('/api/after'),
  },
  {
    name: 'pipelining: request after a 404 with a body',
    send:
      req(['POST /nowhere HTTP/1.1', 'Host: app.example', `Content-Length: ${L}`], SMUGGLED) +
      get('/public/after'),
  },
  {
    name: 'pipelining: request after a 413',
    send: req(['POST /public/big HTTP/1.1', 'Host: app.example', 'Content-Length: 2000000'], SMUGGLED),
  },
  {
    name: 'pipelining: request after a 400',
    send: 'GET /public/a HTTP/1.1\r\nHost: app.example\r\nBad Field\r\n\r\n' + get('/api/after'),
  },
  {
    name: 'pipelining: request after a 308/404 for an unknown host with a chunked body',
    send:
      req(
        ['POST /x HTTP/1.1', 'Host: unknown.example', 'Transfer-Encoding: chunked'],
        `${L.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
      ) + get('/public/after'),
  },
  {
    name: 'pipelining: body shorter than Content-Length swallows the next request',
    send:
      req(['POST /public/a HTTP/1.1', 'Host: app.example', 'Content-Length: 60'], 'abc') + get('/api/after'),
  },
  {
    name: 'pipelining: two clients interleaved',
    clients: [
      { steps: [get('/public/a1'), 100, get('/public/a2')] },
      { steps: [get('/api/b1'), 100, get('/api/b2')], concurrent: true },
    ],
    check: ownAnswers(
      [marker('public', 'GET', '/public/a1'), marker('public', 'GET', '/public/a2')],
      [marker('api', 'GET', '/api/b1'), marker('api', 'GET', '/api/b2')],
    ),
  },
  {
    name: 'pipelining: early answer to a POST, body still coming, another client meanwhile',
    answerOnHead: true,
    clients: [
      {
        steps: [
          req(['POST /public/upload HTTP/1.1', 'Host: app.example', 'Content-Length: 100'], 'x'.repeat(10)),
          600,
          'y'.repeat(90),
        ],
        options: { maxMs: 2_000, quietMs: 800 },
      },
      {
        steps: [req(['GET /public/victim HTTP/1.1', 'Host: app.example', 'Cookie: session=victim'])],
        startAfterMs: 200,
      },
    ],
    check: (o) => {
      const victim = o.requests.filter((r) => r.target === '/public/victim');
      const problems: string[] = [];
      if (victim.length !== 1)
        problems.push(`the pod read the victim's request ${victim.length} times as a request`);
      if (o.requests.some((r) => r.body.toString('latin1').includes('victim')))
        problems.push("the victim's request ended up in another request's body");
      if (
        !o.parsed[1]?.responses.some(
          (r) => r.body.toString('latin1') === marker('public', 'GET', '/public/victim'),
        )
      )
        problems.push('the victim did not get its answer');
      return problems;
    },
  },
  {
    name: 'pipelining: early answer to a chunked POST, another client meanwhile',
    answerOnHead: true,
    clients: [
      {
        steps: [
          req(
            ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'],
            '5\r\nhello\r\n',
          ),
          600,
          '0\r\n\r\n',
        ],
        options: { maxMs: 2_000, quietMs: 800 },
      },
      {
        steps: [req(['GET /public/victim HTTP/1.1', 'Host: app.example', 'Cookie: session=victim'])],
        startAfterMs: 200,
      },
    ],
    check: (o) =>
      o.requests.some((r) => r.body.toString('latin1').includes('victim'))
        ? ["the victim's request ended up in another request's body"]
        : [],
  },
  {
    name: 'pipelining: early answer with Connection: close, then the rest of the body',
    answerOnHead: true,
    pod: (r) =>
      `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok${r.method === '' ? '' : ''}`,
    send: [
      req(['POST /public/upload HTTP/1.1', 'Host: app.example', `Content-Length: ${L + 10}`], '0123456789'),
      300,
      SMUGGLED,
    ],
    check: (o) => (finals(o).length > 1 ? 'more than one answer for one request' : []),
  },
];
