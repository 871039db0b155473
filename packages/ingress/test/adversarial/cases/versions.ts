/** Versions: HTTP/0.9, 1.0, 2.0 on an HTTP/1 connection, 1.2, garbage; and odd request lines. */
import { finals, req, type Case, type Outcome } from '../case.js';
import { ok } from '../pods.js';

const line = (name: string, requestLine: string, extra: Partial<Case> = {}): Case => ({
  name: `versions: ${name}`,
  send: req([requestLine, 'Host: app.example']),
  ...extra,
});

/** Unsupported versions are answered (505 or 400), never passed on, never fatal. */
const refused = (o: Outcome): string[] => {
  const got = finals(o);
  if (o.crashed) return [];
  return got.length === 1 && (got[0] === 505 || got[0] === 400)
    ? []
    : [`expected one 505 or 400, got ${JSON.stringify(got)}`];
};

export const VERSIONS: Case[] = [
  { name: 'versions: HTTP/0.9 simple request', send: 'GET /public/x\r\n\r\n' },
  { name: 'versions: HTTP/0.9 to the api path', send: 'GET /api/x\r\n' },
  line('HTTP/1.0 with Host', 'GET /public/x HTTP/1.0'),
  { name: 'versions: HTTP/1.0 without Host', send: 'GET /public/x HTTP/1.0\r\n\r\n' },
  {
    name: 'versions: HTTP/1.0 keep-alive, two requests',
    send:
      req(['GET /public/a HTTP/1.0', 'Host: app.example', 'Connection: keep-alive']) +
      req(['GET /api/b HTTP/1.0', 'Host: app.example', 'Connection: keep-alive']),
  },
  line('HTTP/2.0 request line', 'GET /public/x HTTP/2.0', { check: refused }),
  line('HTTP/2.0 request line (TLS)', 'GET /public/x HTTP/2.0', { tls: true, check: refused }),
  line('HTTP/2.0 POST with a body', 'POST /public/x HTTP/2.0', {
    send: req(['POST /public/x HTTP/2.0', 'Host: app.example', 'Content-Length: 5'], 'hello'),
    check: refused,
  }),
  {
    name: 'versions: HTTP/2.0 three times, then a normal request',
    send: [
      req(['GET /public/x HTTP/2.0', 'Host: app.example']),
      req(['GET /public/x HTTP/2.0', 'Host: app.example']),
      req(['GET /public/x HTTP/2.0', 'Host: app.example']),
    ],
  },
  line('HTTP/1.2', 'GET /public/x HTTP/1.2'),
  line('HTTP/1.9', 'GET /public/x HTTP/1.9'),
  line('HTTP/3.0', 'GET /public/x HTTP/3.0', { check: refused }),
  line('HTTP/9.9', 'GET /public/x HTTP/9.9'),
  line('HTTP/1.10', 'GET /public/x HTTP/1.10'),
  line('HTTP/01.1', 'GET /public/x HTTP/01.1'),
  line('lower-case http/1.1', 'GET /public/x http/1.1'),
  line('HTTP/1', 'GET /public/x HTTP/1'),
  line('HTTP/ only', 'GET /public/x HTTP/'),
  line('garbage version', 'GET /public/x FOO/1.1'),
  line('trailing space after the version', 'GET /public/x HTTP/1.1 '),
  line('two spaces after the method', 'GET  /public/x HTTP/1.1'),
  line('tab as separator', 'GET\t/public/x\tHTTP/1.1'),
  line('lower-case method', 'get /public/x HTTP/1.1'),
  line('unknown method', 'FROB /public/x HTTP/1.1'),
  line('method with a slash', 'G/ET /public/x HTTP/1.1'),
  line('very long method', `${'A'.repeat(1000)} /public/x HTTP/1.1`),
  line('TRACE', 'TRACE /public/x HTTP/1.1', {
    why: 'TRACE is forwarded like any method (nginx refuses it with 405): the proxy adds nothing a pod could reflect that the client may not see (no credentials, only X-Forwarded-*), and the framing is the same as a GET',
  }),
  line('space in the target', 'GET /public/x /../../api/x HTTP/1.1'),
  {
    // A pod on llhttp (Node) reads everything after a CONNECT head as tunnel data: a pod connection
    // that carried a CONNECT must never carry another request.
    name: 'versions: CONNECT with an origin-form target, then other clients',
    pod: (r) =>
      r.method === 'CONNECT'
        ? { write: ['HTTP/1.1 200 Connection Established\r\nContent-Length: 0\r\n\r\n'], then: 'tunnel' }
        : ok(r),
    clients: [
      {
        steps: [
          req(['CONNECT /public/x HTTP/1.1', 'Host: app.example']),
          200,
          req(['GET /public/same HTTP/1.1', 'Host: app.example']),
        ],
      },
      { steps: [req(['GET /public/next HTTP/1.1', 'Host: app.example'])] },
    ],
  },
  { name: 'versions: HTTP/2 preface on the HTTP/1 port', send: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
  {
    name: 'versions: binary garbage',
    send: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]).toString('latin1'),
  },
  { name: 'versions: empty lines only', send: '\r\n\r\n\r\n\r\n' },
];
