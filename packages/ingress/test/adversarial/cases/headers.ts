/**
 * Header syntax: obs-fold, bare CR/LF, NUL, whitespace before the colon, Host in every odd shape,
 * absolute-form targets, and Connection tokens naming the fields the proxy itself depends on.
 */
import { finals, get, req, SMUGGLED, type Case, type Outcome } from '../case.js';

const L = SMUGGLED.length;
const one = (name: string, head: string[], body = '', extra: Partial<Case> = {}): Case => ({
  name: `headers: ${name}`,
  send: req(head, body),
  ...extra,
});

/** The pod saw exactly one X-Forwarded-For, the client's address as the proxy saw it. */
const xffIsOurs = (o: Outcome): string[] =>
  o.requests.flatMap((r) => {
    const xff = r.fields.filter(([k]) => k.toLowerCase() === 'x-forwarded-for').map(([, v]) => v);
    return xff.length === 1 && xff[0] === '127.0.0.1'
      ? []
      : [`pod saw X-Forwarded-For ${JSON.stringify(xff)}`];
  });

const syntax: [string, string[], string?][] = [
  ['obs-fold in an ordinary field', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-A: a', ' b']],
  ['obs-fold with a tab', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-A: a', '\tb']],
  ['obs-fold of Host', ['GET /public/x HTTP/1.1', 'Host:', ' app.example']],
  ['obs-fold continuing Host', ['GET /api/x HTTP/1.1', 'Host: other.example', ' app.example']],
  ['first field line folded', ['GET /public/x HTTP/1.1', ' Host: app.example']],
  [
    'bare CR inside a value',
    ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-A: a\rTransfer-Encoding: chunked'],
  ],
  ['bare CR ending a line', ['GET /public/x HTTP/1.1', 'Host: app.example\r', 'X-A: b']],
  ['bare LF ending one field line', ['GET /public/x HTTP/1.1', 'Host: app.example\nX-A: a']],
  [
    'bare LF smuggling a field',
    ['POST /public/x HTTP/1.1', 'Host: app.example', `X-A: a\nContent-Length: ${L}`],
    SMUGGLED,
  ],
  ['NUL in a value', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-A: a\0b']],
  ['NUL in a name', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X\0A: b']],
  ['NUL in the target', ['GET /public/x\0/../../api/x HTTP/1.1', 'Host: app.example']],
  ['DEL in a value', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-A: a\x7fb']],
  ['space before the colon', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-A : b']],
  ['space before the colon of Host', ['GET /api/x HTTP/1.1', 'Host : app.example', 'Host: other.example']],
  ['space inside a name', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X A: b']],
  ['empty name', ['GET /public/x HTTP/1.1', 'Host: app.example', ': b']],
  ['line without a colon', ['GET /public/x HTTP/1.1', 'Host: app.example', 'garbage']],
  ['non-token name', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X(A): b']],
  ['obs-text in a value', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-A: caf\xe9']],
  ['UTF-8 in a name', ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-\xc3\xa9: b']],
  [
    '1000 fields',
    ['GET /public/x HTTP/1.1', 'Host: app.example', ...Array.from({ length: 1000 }, (_, i) => `X-${i}: v`)],
  ],
  [
    'Transfer-Encoding as the 2001st field (past Node maxHeadersCount)',
    [
      'POST /public/x HTTP/1.1',
      'Host: app.example',
      ...Array.from({ length: 1999 }, () => 'a: b'),
      'Transfer-Encoding: chunked',
    ],
    `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
  ],
  [
    'Content-Length as the 2001st field behind Expect (past Node maxHeadersCount)',
    [
      'POST /public/x HTTP/1.1',
      'Host: app.example',
      'Expect: 100-continue',
      ...Array.from({ length: 1998 }, () => 'a: b'),
      `Content-Length: ${L}`,
    ],
    SMUGGLED,
  ],
  ['head over 16 KiB', ['GET /public/x HTTP/1.1', 'Host: app.example', `X-Big: ${'a'.repeat(20_000)}`]],
  [
    'head over 64 KiB',
    [
      'GET /public/x HTTP/1.1',
      'Host: app.example',
      ...Array.from({ length: 10 }, (_, i) => `X-${i}: ${'a'.repeat(7_000)}`),
    ],
  ],
  ['leading empty line', ['\r\nGET /public/x HTTP/1.1', 'Host: app.example']],
  ['leading bare LF', ['\nGET /public/x HTTP/1.1', 'Host: app.example']],
  ['whole head with bare LF', ['GET /public/x HTTP/1.1\nHost: app.example\n']],
];

const hosts: [string, string[]][] = [
  ['missing Host', ['GET /public/x HTTP/1.1', 'X-A: b']],
  ['empty Host', ['GET /public/x HTTP/1.1', 'Host:']],
  ['two identical Hosts', ['GET /public/x HTTP/1.1', 'Host: app.example', 'Host: app.example']],
  ['two different Hosts', ['GET /api/x HTTP/1.1', 'Host: other.example', 'Host: app.example']],
  ['Host list', ['GET /api/x HTTP/1.1', 'Host: other.example, app.example']],
  ['Host with a port', ['GET /public/x HTTP/1.1', 'Host: app.example:80']],
  ['Host with an odd port', ['GET /public/x HTTP/1.1', 'Host: app.example:8080']],
  ['Host with two ports', ['GET /public/x HTTP/1.1', 'Host: app.example:80:80']],
  ['Host with userinfo', ['GET /api/x HTTP/1.1', 'Host: other.example@app.example']],
  ['Host with a path', ['GET /public/x HTTP/1.1', 'Host: app.example/api']],
  ['Host with a trailing dot', ['GET /public/x HTTP/1.1', 'Host: app.example.']],
  ['Host in upper case', ['GET /public/x HTTP/1.1', 'Host: APP.EXAMPLE']],
  ['Host with a space', ['GET /api/x HTTP/1.1', 'Host: other.example app.example']],
  ['Host with a fragment', ['GET /public/x HTTP/1.1', 'Host: app.example#other.example']],
  ['Host with a NUL', ['GET /api/x HTTP/1.1', 'Host: other.example\0app.example']],
  ['Host IPv6 literal', ['GET /public/x HTTP/1.1', 'Host: [::1]']],
  [
    'Host with an underscore field twin',
    ['GET /public/x HTTP/1.1', 'Host: app.example', 'Ho_st: other.example'],
  ],
  [
    'X-Forwarded-Host from the client',
    ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-Forwarded-Host: other.example'],
  ],
];

const absolute: [string, string[]][] = [
  ['absolute-form', ['GET http://app.example/public/x HTTP/1.1', 'Host: app.example']],
  ['absolute-form naming another host', ['GET http://other.example/x HTTP/1.1', 'Host: app.example']],
  ['absolute-form without Host', ['GET http://other.example/x HTTP/1.1']],
  ['absolute-form with https', ['GET https://app.example/api/x HTTP/1.1', 'Host: other.example']],
  [
    'absolute-form with userinfo',
    ['GET http://other.example@app.example/api/x HTTP/1.1', 'Host: app.example'],
  ],
  ['absolute-form with a port', ['GET http://app.example:80/public/x HTTP/1.1', 'Host: app.example']],
  ['absolute-form with an odd scheme', ['GET ftp://app.example/public/x HTTP/1.1', 'Host: app.example']],
  ['absolute-form without a path', ['GET http://other.example HTTP/1.1', 'Host: app.example']],
  ['absolute-form with a query only', ['GET http://other.example?x=1 HTTP/1.1', 'Host: app.example']],
  ['authority-form on GET', ['GET app.example:80 HTTP/1.1', 'Host: app.example']],
  ['CONNECT', ['CONNECT app.example:443 HTTP/1.1', 'Host: app.example:443']],
  ['asterisk-form OPTIONS', ['OPTIONS * HTTP/1.1', 'Host: app.example']],
  ['asterisk-form GET', ['GET * HTTP/1.1', 'Host: app.example']],
];

/** Connection tokens naming fields the proxy needs: the body goes on, with its length, always. */
const connections: [string, string[]][] = [
  ['Connection: Content-Length', ['Connection: Content-Length']],
  ['Connection: close, Content-Length', ['Connection: close, Content-Length']],
  ['Connection: keep-alive, content-length', ['Connection: keep-alive, content-length']],
  ['second Connection naming Content-Length', ['Connection: keep-alive', 'Connection: Content-Length']],
  [
    'Keep-Alive with Connection: Content-Length',
    ['Keep-Alive: timeout=5', 'Connection: Keep-Alive, Content-Length'],
  ],
  ['Connection: CONTENT-LENGTH', ['Connection: CONTENT-LENGTH']],
  ['Connection naming Content-Length with spaces', ['Connection:  ,  Content-Length  ,']],
  ['Connection: Host', ['Connection: Host']],
  ['Connection: Transfer-Encoding', ['Connection: Transfer-Encoding']],
  ['Connection: X-Forwarded-For', ['Connection: X-Forwarded-For']],
];

const viaConnection = ([n, lines]: [string, string[]], tls: boolean): Case => ({
  name: `headers: ${n}${tls ? ' (TLS)' : ''}`,
  tls,
  send:
    req(['POST /public/upload HTTP/1.1', 'Host: app.example', `Content-Length: ${L}`, ...lines], SMUGGLED) +
    get('/public/after'),
  check: (o) => {
    const upload = o.requests.find((r) => r.target === '/public/upload');
    if (upload && upload.body.toString('latin1') !== SMUGGLED)
      return 'the body did not reach the pod as the body';
    return xffIsOurs(o);
  },
});

export const HEADERS: Case[] = [
  ...syntax.map(([n, head, body]) => one(n, head, body)),
  ...hosts.map(([n, head]) => one(n, head)),
  ...absolute.map(([n, head]) => one(n, head)),
  ...connections.map((c) => viaConnection(c, false)),
  ...connections.slice(0, 4).map((c) => viaConnection(c, true)),
  one(
    'chunked upload with Connection: Transfer-Encoding',
    [
      'POST /public/upload HTTP/1.1',
      'Host: app.example',
      'Transfer-Encoding: chunked',
      'Connection: Transfer-Encoding',
    ],
    `0\r\n\r\n${SMUGGLED}`,
  ),
  one(
    'X-Forwarded-For from the client is replaced',
    ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-Forwarded-For: 10.0.0.1'],
    '',
    {
      check: xffIsOurs,
    },
  ),
  one(
    'two X-Forwarded-For from the client',
    ['GET /public/x HTTP/1.1', 'Host: app.example', 'X-Forwarded-For: 10.0.0.1', 'X-Forwarded-For: 10.0.0.2'],
    '',
    {
      check: xffIsOurs,
    },
  ),
  one(
    'Expect: 100-continue',
    ['POST /public/x HTTP/1.1', 'Host: app.example', 'Expect: 100-continue', 'Content-Length: 5'],
    'hello',
  ),
  one(
    'unknown Expect',
    ['POST /public/x HTTP/1.1', 'Host: app.example', 'Expect: teapot', 'Content-Length: 5'],
    'hello',
  ),
  one(
    'Proxy-Connection and TE fields',
    ['GET /public/x HTTP/1.1', 'Host: app.example', 'Proxy-Connection: keep-alive', 'TE: trailers'],
    '',
    {
      check: (o) =>
        o.requests.some((r) => r.fields.some(([k]) => /^(proxy-connection|te)$/i.test(k)))
          ? 'a hop-by-hop field reached the pod'
          : [],
    },
  ),
  one(
    '404 host with a body smuggled behind it',
    ['POST /x HTTP/1.1', 'Host: unknown.example', `Content-Length: ${L}`],
    SMUGGLED,
    {
      check: (o) => (finals(o).length > 1 ? 'the body of a refused request was read as a request' : []),
    },
  ),
];
