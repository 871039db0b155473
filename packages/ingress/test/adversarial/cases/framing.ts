/**
 * Request framing: Content-Length and Transfer-Encoding in every known smuggling variant. The body
 * of each request carries SMUGGLED (a request for the api pod): a proxy that frames the request
 * differently from the pod lets the public pod read it as a request of its own.
 */
import { get, req, SMUGGLED, type Case } from '../case.js';

const POST = ['POST /public/upload HTTP/1.1', 'Host: app.example'];

/** A request whose real body (by a strict reading) is `body`, with the given framing lines. */
const framed = (name: string, lines: string[], body: string, extra: Partial<Case> = {}): Case => ({
  name: `framing: ${name}`,
  send: req([...POST, ...lines], body) + get('/public/after'),
  ...extra,
});

const L = SMUGGLED.length;
const CHUNKED_SMUGGLE = `0\r\n\r\n${SMUGGLED}`;
const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`;
const CHUNKED_BODY = `${chunk('hello')}0\r\n\r\n`;

const OWS_TAB =
  'HTAB is optional whitespace around a field value (RFC 9110 §5.6.3): the framing is unambiguous and the pod gets it with a clean value; nginx 1.22 refuses the tab';

const contentLengths: [string, string[], string, string?][] = [
  ['Content-Length exact', [`Content-Length: ${L}`], SMUGGLED],
  ['Content-Length 0 then body', ['Content-Length: 0'], SMUGGLED],
  ['duplicate Content-Length, same value', [`Content-Length: ${L}`, `Content-Length: ${L}`], SMUGGLED],
  ['duplicate Content-Length, 0 then length', ['Content-Length: 0', `Content-Length: ${L}`], SMUGGLED],
  ['duplicate Content-Length, length then 0', [`Content-Length: ${L}`, 'Content-Length: 0'], SMUGGLED],
  ['Content-Length list, same values', [`Content-Length: ${L}, ${L}`], SMUGGLED],
  ['Content-Length list, 0 and length', [`Content-Length: 0, ${L}`], SMUGGLED],
  ['Content-Length with plus sign', [`Content-Length: +${L}`], SMUGGLED],
  ['Content-Length negative', ['Content-Length: -1'], SMUGGLED],
  ['Content-Length with leading zeros', [`Content-Length: 000${L}`], SMUGGLED],
  ['Content-Length with surrounding spaces', [`Content-Length:   ${L}   `], SMUGGLED],
  ['Content-Length with a tab', [`Content-Length:\t${L}`], SMUGGLED, OWS_TAB],
  ['Content-Length with an inner space', [`Content-Length: ${String(L)[0]} ${String(L).slice(1)}`], SMUGGLED],
  ['Content-Length hexadecimal', [`Content-Length: 0x${L.toString(16)}`], SMUGGLED],
  ['Content-Length decimal point', [`Content-Length: ${L}.0`], SMUGGLED],
  ['Content-Length exponent', ['Content-Length: 4.9e1'], SMUGGLED],
  ['Content-Length empty', ['Content-Length:'], SMUGGLED],
  ['Content-Length overflowing 64 bits', ['Content-Length: 18446744073709551617'], SMUGGLED],
  ['Content-Length 2^53 + 1', ['Content-Length: 9007199254740993'], SMUGGLED],
  ['Content-Length with trailing garbage', [`Content-Length: ${L}x`], SMUGGLED],
  ['space before the colon of Content-Length', [`Content-Length : ${L}`], SMUGGLED],
  ['tab before the colon of Content-Length', [`Content-Length\t: ${L}`], SMUGGLED],
  ['Content-Length with an underscore', [`Content_Length: ${L}`], SMUGGLED],
  ['Content-Length obs-folded', ['Content-Length:', ` ${L}`], SMUGGLED],
  ['Content-Length with a vertical tab', [`Content-Length:\x0b${L}`], SMUGGLED],
  ['Content-Length with a NUL', [`Content-Length: ${L}\0`], SMUGGLED],
];

const transferEncodings: [string, string[], string, string?][] = [
  ['chunked', ['Transfer-Encoding: chunked'], CHUNKED_BODY],
  ['chunked, upper case', ['Transfer-Encoding: CHUNKED'], CHUNKED_BODY],
  ['chunked then smuggled bytes', ['Transfer-Encoding: chunked'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding: chunked, identity', ['Transfer-Encoding: chunked, identity'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding: identity, chunked', ['Transfer-Encoding: identity, chunked'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding: identity', ['Transfer-Encoding: identity'], SMUGGLED],
  ['Transfer-Encoding: gzip, chunked', ['Transfer-Encoding: gzip, chunked'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding: chunked, chunked', ['Transfer-Encoding: chunked, chunked'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding: xchunked', ['Transfer-Encoding: xchunked'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding: chunkedx', ['Transfer-Encoding: chunkedx'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding: "chunked"', ['Transfer-Encoding: "chunked"'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding twice', ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], CHUNKED_SMUGGLE],
  [
    'Transfer-Encoding identity then chunked',
    ['Transfer-Encoding: identity', 'Transfer-Encoding: chunked'],
    CHUNKED_SMUGGLE,
  ],
  ['Transfer-Encoding obs-folded', ['Transfer-Encoding:', ' chunked'], CHUNKED_SMUGGLE],
  [
    'Transfer-Encoding folded behind another field',
    ['X-Pad: a', ' Transfer-Encoding: chunked'],
    CHUNKED_SMUGGLE,
  ],
  ['space before the colon of Transfer-Encoding', ['Transfer-Encoding : chunked'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding with a vertical tab', ['Transfer-Encoding:\x0bchunked'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding with a form feed', ['Transfer-Encoding: chunked\x0c'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding with a NUL', ['Transfer-Encoding: chunked\0'], CHUNKED_SMUGGLE],
  ['Transfer-Encoding with a tab', ['Transfer-Encoding:\tchunked'], CHUNKED_BODY, OWS_TAB],
  ['Transfer-Encoding with an underscore', ['Transfer_Encoding: chunked'], CHUNKED_SMUGGLE],
];

const both: [string, string[], string][] = [
  [
    'CL.TE: Content-Length then chunked',
    [`Content-Length: ${CHUNKED_SMUGGLE.length}`, 'Transfer-Encoding: chunked'],
    CHUNKED_SMUGGLE,
  ],
  [
    'TE.CL: chunked then Content-Length',
    ['Transfer-Encoding: chunked', 'Content-Length: 3'],
    `${chunk(SMUGGLED)}0\r\n\r\n`,
  ],
  ['Content-Length 0 with chunked', ['Content-Length: 0', 'Transfer-Encoding: chunked'], CHUNKED_SMUGGLE],
  ['Content-Length with xchunked', [`Content-Length: ${L}`, 'Transfer-Encoding: xchunked'], SMUGGLED],
  [
    'Content-Length with chunked, identity',
    ['Content-Length: 5', 'Transfer-Encoding: chunked, identity'],
    CHUNKED_SMUGGLE,
  ],
  [
    'Content-Length with folded Transfer-Encoding',
    [`Content-Length: ${L}`, 'Transfer-Encoding:', ' chunked'],
    SMUGGLED,
  ],
  [
    'Content-Length with Transfer-Encoding space-before-colon',
    ['Content-Length: 5', 'Transfer-Encoding : chunked'],
    CHUNKED_SMUGGLE,
  ],
];

/** Chunk bodies: sizes, extensions, line ends, trailers. */
const chunks: [string, string][] = [
  ['chunk size overflowing 64 bits', `10000000000000005\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk size of 17 f digits', `fffffffffffffffff\r\nhello\r\n0\r\n\r\n`],
  ['chunk size with many leading zeros', `000000000000000000005\r\nhello\r\n0\r\n\r\n`],
  ['negative chunk size', `-5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk size 0x-prefixed', `0x5\r\nhello\r\n0\r\n\r\n`],
  ['chunk size with a leading space', ` 5\r\nhello\r\n0\r\n\r\n`],
  ['chunk size with a trailing space', `5 \r\nhello\r\n0\r\n\r\n`],
  ['chunk extension', `5;name=value\r\nhello\r\n0\r\n\r\n`],
  ['chunk extension, quoted', `5;name="a;b"\r\nhello\r\n0\r\n\r\n`],
  ['chunk extension with spaces', `5 ; name = value\r\nhello\r\n0\r\n\r\n`],
  ['chunk extension with a bare LF', `5;a\nb\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk extension with a bare CR', `5;a\rb\r\nhello\r\n0\r\n\r\n`],
  ['chunk extension 20 KiB long', `5;${'x'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`],
  ['bare LF after the chunk size', `5\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['bare LF after the chunk data', `5\r\nhello\n0\r\n\r\n${SMUGGLED}`],
  ['bare LF ending the last chunk', `5\r\nhello\r\n0\n\n${SMUGGLED}`],
  ['chunk data longer than its size', `3\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['chunk data shorter than its size', `9\r\nhello\r\n0\r\n\r\n${SMUGGLED}`],
  ['no CRLF after the chunk data', `5\r\nhello0\r\n\r\n${SMUGGLED}`],
  ['trailer field', `5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n`],
  ['trailer Content-Length', `5\r\nhello\r\n0\r\nContent-Length: ${L}\r\n\r\n${SMUGGLED}`],
  ['trailer obs-fold', `5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n`],
  ['trailer with a bare LF', `5\r\nhello\r\n0\r\nX-T: a\n\r\n${SMUGGLED}`],
  ['missing last-chunk CRLF', `5\r\nhello\r\n0\r\n${SMUGGLED}`],
  ['chunk size with hex letters', `A\r\nhellohello\r\n0\r\n\r\n`],
];

const PLAIN: Case[] = [
  { name: 'framing: plain GET', send: get('/public/x') },
  ...contentLengths.map(([n, lines, body, why]) => framed(n, lines, body, why ? { why } : {})),
  ...transferEncodings.map(([n, lines, body, why]) => framed(n, lines, body, why ? { why } : {})),
  ...both.map(([n, lines, body]) => framed(n, lines, body)),
  ...chunks.map(([n, body]) => framed(n, ['Transfer-Encoding: chunked'], body)),
  framed('chunked in HTTP/1.0', ['Transfer-Encoding: chunked'], CHUNKED_SMUGGLE, {
    send: req(
      ['POST /public/upload HTTP/1.0', 'Host: app.example', 'Transfer-Encoding: chunked'],
      CHUNKED_SMUGGLE,
    ),
  }),
  framed('body on GET with Content-Length', [`Content-Length: ${L}`], SMUGGLED, {
    send: req(['GET /public/x HTTP/1.1', 'Host: app.example', `Content-Length: ${L}`], SMUGGLED),
  }),
  framed('chunked body on GET', [], '', {
    send: req(['GET /public/x HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'], CHUNKED_SMUGGLE),
  }),
  framed('Content-Length above the body limit', ['Content-Length: 2000000'], SMUGGLED),
  framed('chunked body above the body limit', ['Transfer-Encoding: chunked'], '', {
    send: [
      req([...POST, 'Transfer-Encoding: chunked'], ''),
      ...Array.from({ length: 20 }, () => chunk('x'.repeat(64 * 1024 - 10))),
      `0\r\n\r\n${SMUGGLED}`,
    ],
    options: { maxMs: 4_000 },
  }),
];

/** The same over TLS (ALPN http/1.1), for the variants that reach Node's parser through the handover. */
const OVER_TLS = [
  'duplicate Content-Length, 0 then length',
  'Content-Length list, 0 and length',
  'space before the colon of Content-Length',
  'chunked then smuggled bytes',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding obs-folded',
  'CL.TE: Content-Length then chunked',
  'TE.CL: chunked then Content-Length',
  'bare LF after the chunk data',
  'chunk size overflowing 64 bits',
];

export const FRAMING: Case[] = [
  ...PLAIN,
  ...PLAIN.filter((c) => OVER_TLS.includes(c.name.slice('framing: '.length))).map((c) => ({
    ...c,
    name: `${c.name} (TLS)`,
    tls: true,
  })),
];
