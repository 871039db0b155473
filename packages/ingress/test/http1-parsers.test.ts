import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkedScanner } from '../src/http1/chunked.js';
import { hasToken, MAX_FIELDS, parseRequestHead } from '../src/http1/request-head.js';
import { parseResponseHead, withFields } from '../src/http1/response-head.js';

const req = (lines: string[]) => parseRequestHead(lines.join('\r\n'));

describe('request heads the fast path takes', () => {
  it('parses method, target, Host, Content-Length and Connection, values without OWS', () => {
    const h = req([
      'POST /a/b?c=d HTTP/1.1',
      'Host:  a.example.com ',
      'Content-Length: 12',
      'Connection: keep-alive, Close',
      'X-Obs: caf\xe9',
    ]);
    expect(h).toEqual({
      method: 'POST',
      target: '/a/b?c=d',
      fields: [
        'Host',
        'a.example.com',
        'Content-Length',
        '12',
        'Connection',
        'keep-alive, Close',
        'X-Obs',
        'caf\xe9',
      ],
      host: 'a.example.com',
      contentLength: 12,
      connection: 'keep-alive, Close',
      close: true,
    });
  });

  it('keeps a no-break space in a value (only SP and HTAB are whitespace)', () => {
    expect(req(['GET / HTTP/1.1', 'Host: a', 'X: \xa0v\xa0'])?.fields[3]).toBe('\xa0v\xa0');
  });

  it(`takes ${MAX_FIELDS} field lines and leaves one more to Node's server (431, nginx's max_headers)`, () => {
    const fields = (n: number) => Array.from({ length: n - 1 }, (_, i) => `X-${i}: v`);
    expect(req(['GET / HTTP/1.1', 'Host: a', ...fields(MAX_FIELDS)])?.fields).toHaveLength(2 * MAX_FIELDS);
    expect(req(['GET / HTTP/1.1', 'Host: a', ...fields(MAX_FIELDS + 1)])).toBeUndefined();
  });

  const bail: [string, string[]][] = [
    ['HTTP/1.0', ['GET / HTTP/1.0', 'Host: a']],
    ['absolute-form', ['GET http://a/ HTTP/1.1', 'Host: a']],
    ['asterisk-form', ['OPTIONS * HTTP/1.1', 'Host: a']],
    ['lower-case method', ['get / HTTP/1.1', 'Host: a']],
    ['no Host', ['GET / HTTP/1.1', 'X: y']],
    ['two Hosts', ['GET / HTTP/1.1', 'Host: a', 'Host: b']],
    ['Transfer-Encoding', ['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked']],
    ['two Content-Lengths', ['POST / HTTP/1.1', 'Host: a', 'Content-Length: 1', 'Content-Length: 1']],
    ['signed Content-Length', ['POST / HTTP/1.1', 'Host: a', 'Content-Length: +1']],
    ['Content-Length list', ['POST / HTTP/1.1', 'Host: a', 'Content-Length: 1, 1']],
    ['Upgrade', ['GET / HTTP/1.1', 'Host: a', 'Upgrade: websocket', 'Connection: upgrade']],
    ['Expect', ['PUT / HTTP/1.1', 'Host: a', 'Expect: 100-continue', 'Content-Length: 1']],
    ['space before colon', ['GET / HTTP/1.1', 'Host: a', 'Transfer-Encoding : chunked']],
    ['obs-fold', ['GET / HTTP/1.1', 'Host: a', 'X: a', ' b']],
    ['bare LF in a value', ['GET / HTTP/1.1', 'Host: a', 'X: a\nTransfer-Encoding: chunked']],
    ['NUL in a value', ['GET / HTTP/1.1', 'Host: a', 'X: a\0']],
    ['space in the target', ['GET /a b HTTP/1.1', 'Host: a']],
    ['non-token name', ['GET / HTTP/1.1', 'Host: a', 'X(y): 1']],
  ];
  it.each(bail)('hands over: %s', (_name, lines) => {
    expect(req(lines)).toBeUndefined();
  });

  it('never throws on arbitrary latin1 input', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) }),
        (s) => {
          const h = parseRequestHead(s);
          if (h) expect(h.fields.length % 2).toBe(0);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('round-trips any valid field list', () => {
    const token = fc
      .stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/)
      .filter(
        (n) =>
          !['host', 'content-length', 'transfer-encoding', 'upgrade', 'expect', 'connection'].includes(
            n.toLowerCase(),
          ),
      );
    const value = fc.stringMatching(/^[!-~\x80-\xff]([ !-~\x80-\xff]{0,30}[!-~\x80-\xff])?$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(token, value), { maxLength: 20 }), (fields) => {
        const h = req(['GET /x HTTP/1.1', 'Host: h', ...fields.map(([n, v]) => `${n}: ${v}`)]);
        expect(h?.fields).toEqual(['Host', 'h', ...fields.flat()]);
      }),
    );
  });
});

describe('request field names, in any case', () => {
  /** `lower` with each letter upper-cased or not, as `pick` says. */
  const cased = (lower: string, pick: boolean[]) =>
    [...lower].map((c, i) => (pick[i % pick.length] ? c.toUpperCase() : c)).join('');
  const pick = fc.array(fc.boolean(), { minLength: 1, maxLength: 20 });

  it('knows Host, Content-Length and Connection however they are written', () => {
    fc.assert(
      fc.property(pick, (p) => {
        const h = req([
          'POST / HTTP/1.1',
          `${cased('host', p)}: h`,
          `${cased('content-length', p)}: 7`,
          `${cased('connection', p)}: close`,
        ]);
        expect(h).toMatchObject({ host: 'h', contentLength: 7, connection: 'close', close: true });
      }),
    );
  });

  it('hands over Transfer-Encoding, Upgrade and Expect however they are written', () => {
    fc.assert(
      fc.property(pick, fc.constantFrom('transfer-encoding', 'upgrade', 'expect'), (p, name) => {
        expect(req(['POST / HTTP/1.1', 'Host: h', `${cased(name, p)}: x`])).toBeUndefined();
      }),
    );
  });

  it('takes names one character off (or one longer) for ordinary fields', () => {
    const h = req(['GET / HTTP/1.1', 'Host: h', 'Hos: 1', 'Hostx: 2', 'Content-Lengtx: x', 'Expecz: y']);
    expect(h).toMatchObject({ host: 'h', contentLength: -1 });
    expect(h?.fields).toEqual(['Host', 'h', 'Hos', '1', 'Hostx', '2', 'Content-Lengtx', 'x', 'Expecz', 'y']);
  });
});

describe('hasToken (Connection: close)', () => {
  const naive = (list: string, token: string) =>
    list.split(',').some((t) => t.trim().toLowerCase() === token);
  it('agrees with split, trim and toLowerCase on lists of any text', () => {
    const piece = fc.constantFrom('close', 'CLOSE', 'Close', 'clos', 'closed', 'keep-alive', ',', ' ', '\t');
    const odd = fc.constantFrom('\xa0', '\v', '\u2000', '\ufeff', '\u212a', '\u0130', 'x', '');
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, odd), { maxLength: 12 }), (parts) => {
        const list = parts.join('');
        expect(hasToken(list, 'close')).toBe(naive(list, 'close'));
        expect(hasToken(list, 'keep-alive')).toBe(naive(list, 'keep-alive'));
      }),
      { numRuns: 10_000 },
    );
    expect(hasToken('', 'close')).toBe(false);
    expect(hasToken('keep-alive, \xa0Close\t', 'close')).toBe(true);
  });
});

describe('response heads', () => {
  const res = (lines: string[], method = 'GET') => parseResponseHead(lines.join('\r\n'), method, 'portico');

  it('drops hop-by-hop fields and those Connection names, adds Server, keeps Content-Length', () => {
    const h = res([
      'HTTP/1.1 200 OK',
      'Content-Length: 5',
      'Connection: keep-alive, X-Hop',
      'X-Hop: secret',
      'Keep-Alive: timeout=5',
      'X-Kept: yes',
    ]);
    expect(h).toEqual({
      status: 200,
      framing: 'length',
      length: 5,
      reusable: true,
      forClient: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kept: yes\r\nserver: portico\r\n',
    });
  });

  it('takes the usual head (plain keep-alive, fields of every length) apart the same way', () => {
    const h = res([
      'HTTP/1.1 200 OK',
      'Server: nginx',
      'Date: Mon, 07 Dec 2026 09:00:00 GMT',
      'Content-Type: text/plain',
      'CONTENT-LENGTH: 2',
      'Connection: keep-alive',
      'TE: trailers',
      'Trailer: x-t',
      'Proxy-Connection: keep-alive',
      'x-content-length: 9',
    ]);
    expect(h).toEqual({
      status: 200,
      framing: 'length',
      length: 2,
      reusable: true,
      forClient:
        'HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 07 Dec 2026 09:00:00 GMT\r\n' +
        'Content-Type: text/plain\r\nCONTENT-LENGTH: 2\r\nx-content-length: 9\r\n',
    });
    expect(res(['HTTP/1.1 200 OK', 'Content-Length: 2', 'Connection: Close'])).toMatchObject({
      reusable: false,
    });
  });

  it("keeps the pod's own Server and relays chunked bodies as chunked", () => {
    const h = res(['HTTP/1.1 200 OK', 'Server: pod', 'Transfer-Encoding: chunked']);
    expect(h).toMatchObject({ framing: 'chunked', reusable: true });
    expect((h as { forClient: string }).forClient).toBe(
      'HTTP/1.1 200 OK\r\nServer: pod\r\ntransfer-encoding: chunked\r\n',
    );
  });

  it('applies RFC 9112 §6.3 framing', () => {
    expect(res(['HTTP/1.1 200 OK', 'Content-Length: 5'], 'HEAD')).toMatchObject({ framing: 'none' });
    expect(res(['HTTP/1.1 204 No Content'])).toMatchObject({ framing: 'none', reusable: true });
    expect(res(['HTTP/1.1 304 Not Modified', 'Content-Length: 9'])).toMatchObject({ framing: 'none' });
    expect(res(['HTTP/1.1 103 Early Hints', 'Link: </a>'])).toMatchObject({ status: 103, framing: 'none' });
    expect(res(['HTTP/1.1 200 OK'])).toMatchObject({ framing: 'close', reusable: false });
    expect(res(['HTTP/1.0 200 OK', 'Content-Length: 1'])).toMatchObject({
      framing: 'length',
      reusable: false,
    });
    expect(res(['HTTP/1.1 200 OK', 'Content-Length: 1', 'Connection: close'])).toMatchObject({
      reusable: false,
    });
    expect(res(['HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 3'])).toMatchObject({ length: 3 });
    expect(res(['HTTP/1.1 200'])).toMatchObject({ status: 200 });
  });

  it('keeps every end-to-end line in order and drops every hop-by-hop one (against a naive filter)', () => {
    const hop = ['Connection', 'KEEP-ALIVE', 'te', 'Trailer', 'Upgrade', 'Proxy-Connection'];
    const name = fc.oneof(
      fc.constantFrom(...hop),
      fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/),
      fc.constantFrom('Date', 'Content-Type', 'Server', 'Vary'),
    );
    const value = fc.stringMatching(/^[a-z0-9=]{1,10}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), fc.boolean(), (fields, http10) => {
        const lines = fields.map(([n, v]) => `${n}: ${v}`);
        const h = res([`HTTP/1.${http10 ? 0 : 1} 200 OK`, 'Content-Length: 0', ...lines]);
        if (typeof h === 'string') throw new Error(h);
        const kept = fields.filter(([n]) => !hop.map((x) => x.toLowerCase()).includes(n.toLowerCase()));
        const server = fields.some(([n]) => n === 'Server') ? '' : 'server: portico\r\n';
        const connectionNames = fields
          .filter(([n]) => n === 'Connection')
          .map(([, v]) => v.toLowerCase())
          .filter((v) => v !== 'keep-alive' && v !== 'close');
        const expected = kept
          .filter(([n]) => !connectionNames.includes(n.toLowerCase()))
          .map(([n, v]) => `${n}: ${v}\r\n`)
          .join('');
        expect(h.forClient).toBe(`HTTP/1.1 200 OK\r\nContent-Length: 0\r\n${expected}${server}`);
      }),
      { numRuns: 3_000 },
    );
  });

  it('reads Content-Length as the digits String#trim leaves, 1 to 15 of them', () => {
    const value = fc.stringMatching(/^[ \t\xa00-9+a-]{0,20}$/);
    fc.assert(
      fc.property(value, (v) => {
        const h = res(['HTTP/1.1 200 OK', `Content-Length:${v}`]);
        const trimmed = v.trim();
        if (/^\d{1,15}$/.test(trimmed))
          expect(h).toMatchObject({ framing: 'length', length: Number(trimmed) });
        else expect(h).toBe('invalid Content-Length');
      }),
      { numRuns: 5_000 },
    );
    expect(res(['HTTP/1.1 200 OK', 'Content-Length: 999999999999999'])).toMatchObject({
      length: 999_999_999_999_999,
    });
    expect(res(['HTTP/1.1 200 OK', 'Content-Length: 1000000000000000'])).toBe('invalid Content-Length');
    expect(res(['HTTP/1.1 200 OK', 'Content-Length: 007', 'Content-Length: 7'])).toMatchObject({ length: 7 });
    expect(res(['HTTP/1.1 200 OK', 'Content-Length:'])).toBe('invalid Content-Length');
  });

  it('reads every status code of three digits', () => {
    for (let status = 100; status <= 999; status++)
      expect(res([`HTTP/1.1 ${status} X`, 'Content-Length: 0'])).toMatchObject({ status });
  });

  it('tells a plain keep-alive from any other Connection value', () => {
    const plain = (v: string) => res(['HTTP/1.1 200 OK', 'Content-Length: 0', `Connection:${v}`, 'X-A: 1']);
    for (const v of [' keep-alive', 'keep-alive', ' \t\xa0keep-alive\xa0 ', ' Keep-Alive'])
      expect(plain(v)).toMatchObject({
        reusable: true,
        forClient: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: 1\r\nserver: portico\r\n',
      });
    expect(plain(' keep-alive, x-a')).toMatchObject({
      forClient: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nserver: portico\r\n',
    });
    expect(plain(' keep-alivex')).toMatchObject({ reusable: true });
    expect(
      res(['HTTP/1.1 200 OK', 'Content-Length: 0', 'Connection: keep-alive', 'Connection: close']),
    ).toMatchObject({ reusable: false });
  });

  it('drops the hop-by-hop fields however they are written, and only those', () => {
    const upper = (n: string) => n.toUpperCase();
    const mixed = (n: string) => [...n].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    const hop = [
      'connection',
      'keep-alive',
      'proxy-connection',
      'te',
      'trailer',
      'upgrade',
      'http2-settings',
    ];
    for (const write of [upper, mixed]) {
      const lines = hop.map((n) => `${write(n)}: x`);
      const h = res(['HTTP/1.1 200 OK', 'Content-Length: 0', ...lines, 'Te2: kept', 'Upgradf: kept']);
      expect(h).toMatchObject({
        forClient:
          'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTe2: kept\r\nUpgradf: kept\r\nserver: portico\r\n',
      });
      expect(
        res(['HTTP/1.1 200 OK', `${write('transfer-encoding')}: chunked`, `${write('server')}: p`]),
      ).toMatchObject({
        framing: 'chunked',
        forClient: `HTTP/1.1 200 OK\r\n${write('server')}: p\r\ntransfer-encoding: chunked\r\n`,
      });
    }
  });

  it.each([
    ['two different lengths', ['HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 4']],
    ['length and chunked', ['HTTP/1.1 200 OK', 'Content-Length: 3', 'Transfer-Encoding: chunked']],
    ['coding not ending in chunked', ['HTTP/1.1 200 OK', 'Transfer-Encoding: gzip']],
    ['bad status line', ['HTTP/1.1 2000 OK']],
    ['bare LF', ['HTTP/1.1 200 OK\nContent-Length: 0']],
    ['HTTP/2 status line', ['HTTP/2 200']],
  ])('refuses %s', (_n, lines) => {
    expect(typeof res(lines)).toBe('string');
  });
});

describe("a route's response fields (withFields)", () => {
  const cors = Object.freeze(['access-control-allow-origin', '*', 'access-control-max-age', '60']);
  it("replaces the pod's fields of the same names, whatever their case", () => {
    const head = 'HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://pod.example\r\nx-kept: 1\r\n';
    expect(withFields(head, cors)).toBe(
      'HTTP/1.1 200 OK\r\nx-kept: 1\r\naccess-control-allow-origin: *\r\naccess-control-max-age: 60\r\n',
    );
  });
  it('appends them to a head without them, the same lines every time for a constant list', () => {
    const head = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n';
    const want = `${head}access-control-allow-origin: *\r\naccess-control-max-age: 60\r\n`;
    expect(withFields(head, cors)).toBe(want);
    expect(withFields(head, cors)).toBe(want);
    expect(withFields(head, ['access-control-allow-origin', 'https://a.example'])).toBe(
      `${head}access-control-allow-origin: https://a.example\r\n`,
    );
  });
  it('does not take a value that merely contains a name for the field', () => {
    const head = 'HTTP/1.1 200 OK\r\nx-note: access-control-allow-origin: no\r\n';
    expect(withFields(head, cors)).toBe(
      `${head}access-control-allow-origin: *\r\naccess-control-max-age: 60\r\n`,
    );
  });
});

describe('chunked body end', () => {
  const encode = (chunks: Buffer[], trailer = '') =>
    Buffer.concat([
      ...chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)};ext=1\r\n`), c, Buffer.from('\r\n')]),
      Buffer.from(`0\r\n${trailer}\r\n`),
    ]);

  it('finds the end wherever the stream is split, and not a byte earlier', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (chunks, withTrailer, cuts) => {
          const body = encode(
            chunks.map((c) => Buffer.from(c)),
            withTrailer ? 'X-T: 1\r\n' : '',
          );
          const tail = Buffer.from('GET / HTTP/1.1\r\n');
          const all = Buffer.concat([body, tail]);
          const points = [...new Set(cuts.map((c) => c % all.length))].sort((a, b) => a - b);
          const scanner = new ChunkedScanner();
          let at = 0;
          let found = -1;
          for (const end of [...points, all.length]) {
            const piece = all.subarray(at, end);
            const r = scanner.scan(piece);
            if (r >= 0) {
              found = at + r;
              break;
            }
            at = end;
          }
          expect(found).toBe(body.length);
          expect(scanner.done).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['no size', ';x\r\n'],
    ['bare LF after the size', '5\nhello\r\n0\r\n\r\n'],
    ['data longer than its size', '2\r\nabc\r\n'],
    ['size overflow', 'fffffffffffff\r\n'],
    ['junk in the size', '5x\r\n'],
  ])('throws on %s', (_n, text) => {
    expect(() => new ChunkedScanner().scan(Buffer.from(text))).toThrow();
  });
});
