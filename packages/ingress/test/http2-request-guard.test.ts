/**
 * The HTTP/2 request guard (src/http2/): its Huffman and HPACK decoding against RFC 7541's examples
 * and against nghttp2 (a node:http2 client's header blocks, as Node's own server decodes them), and
 * its verdicts on hand-made frames: malformed fields, header lists over the limit, header blocks
 * too large to follow, and frame sequences RFC 9113 forbids.
 */
import http2 from 'node:http2';
import { connect, createServer, type AddressInfo } from 'node:net';
import { duplexPair } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { huffmanCode, huffmanDecode } from '../src/http2/huffman.js';
import { HpackDecoder, HpackError } from '../src/http2/hpack.js';
import { H2_ERROR, Http2RequestGuard } from '../src/http2/request-guard.js';
import { FLAG, FRAME, frame, hpack, request } from './adversarial/h2.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const LIMITS = { maxHeaderListSize: 16 * 1024, maxBlockBytes: 64 * 1024 };

describe('Huffman decoding (RFC 7541 Appendix B)', () => {
  it('decodes the examples of RFC 7541 Appendix C.4 and C.6', () => {
    const cases: [string, string][] = [
      ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
      ['a8eb 1064 9cbf', 'no-cache'],
      ['25a8 49e9 5ba9 7d7f', 'custom-key'],
      ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
      ['6402', '302'],
      ['aec3 771a 4b', 'private'],
      ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
    ];
    for (const [bytes, text] of cases) {
      const b = hex(bytes);
      expect(huffmanDecode(b, 0, b.length)).toBe(text);
    }
  });

  it('has the codes the RFC lists for a few symbols, EOS included', () => {
    expect(huffmanCode(0x30)).toEqual([0x0, 5]); // '0'
    expect(huffmanCode(0x61)).toEqual([0x3, 5]); // 'a'
    expect(huffmanCode(0x00)).toEqual([0x1ff8, 13]);
    expect(huffmanCode(0xff)).toEqual([0x3ffffee, 26]);
    expect(huffmanCode(256)).toEqual([0x3fffffff, 30]);
  });

  it('refuses padding that is not all ones or longer than 7 bits, and EOS inside a string', () => {
    // '0' is 00000: padded with zeros instead of ones.
    expect(huffmanDecode(Buffer.from([0x00]), 0, 1)).toBeUndefined();
    // 'a' (00011) + 111 is valid; a whole byte of ones after it is padding of 11 bits.
    expect(huffmanDecode(Buffer.from([0x1f]), 0, 1)).toBe('a');
    expect(huffmanDecode(Buffer.from([0x1f, 0xff]), 0, 2)).toBeUndefined();
    // EOS (30 ones) followed by two ones of padding.
    expect(huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4)).toBeUndefined();
  });
});

describe('HPACK decoding', () => {
  it('follows RFC 7541 Appendix C.3: three requests sharing a dynamic table', () => {
    const d = new HpackDecoder();
    const blocks = [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ];
    const got = blocks.map((b) => {
      const fields: string[] = [];
      d.decode(hex(b), (n, v) => fields.push(`${n}: ${v}`));
      return fields;
    });
    expect(got).toEqual([
      [':method: GET', ':scheme: http', ':path: /', ':authority: www.example.com'],
      [':method: GET', ':scheme: http', ':path: /', ':authority: www.example.com', 'cache-control: no-cache'],
      [
        ':method: GET',
        ':scheme: https',
        ':path: /index.html',
        ':authority: www.example.com',
        'custom-key: custom-value',
      ],
    ]);
  });

  it('refuses what RFC 7541 calls decoding errors', () => {
    const bad = [
      'be', // index 62: the dynamic table is empty
      '80', // index 0
      '3fe2 1f', // table size update to 4097, above our 4096
      '82 20', // table size update after a field
      '00 05 61', // string longer than the block
      '00 81 00 00', // Huffman string padded with zeros
    ];
    for (const b of bad)
      expect(() => new HpackDecoder().decode(hex(b), () => undefined), b).toThrow(HpackError);
  });

  it('decodes every header block of a node:http2 client exactly as nghttp2 does (Huffman, dynamic table, eviction)', async () => {
    const server = http2.createServer();
    const seen: string[][] = [];
    server.on('stream', (stream, _headers, _flags, raw: string[]) => {
      seen.push(raw);
      stream.respond({ ':status': 200 });
      stream.end();
    });
    const tcp = createServer((s) => server.emit('connection', s));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    // The client's bytes pass through here on their way to the server.
    const sent: Buffer[] = [];
    const [clientSide, tap] = duplexPair();
    const upstream = connect(port, '127.0.0.1');
    tap.on('data', (d: Buffer) => {
      sent.push(d);
      upstream.write(d);
    });
    upstream.pipe(tap);
    const client = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => clientSide });
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const text = (len: number): string => {
      let s = '';
      for (let i = 0; i < len; i++) {
        const c = rand(3) === 0 ? 0x80 + rand(128) : 0x20 + rand(95);
        s += String.fromCharCode(c);
      }
      return s.trim() || 'x';
    };
    for (let i = 0; i < 300; i++) {
      const headers: http2.OutgoingHttpHeaders = { ':path': `/r/${i}/${text(rand(30))}`.replace(/ /g, '_') };
      for (let k = rand(8); k > 0; k--) headers[`x-f${rand(12)}`] = text(rand(rand(10) === 0 ? 900 : 40));
      if (rand(4) === 0) headers.cookie = [text(10), text(20)];
      await new Promise<void>((resolve, reject) => {
        const req = client.request(headers, { endStream: true });
        req.on('response', () => undefined);
        req.on('error', reject);
        req.resume();
        req.on('close', () => resolve());
      });
    }
    client.close();
    tcp.close();
    server.close();
    // Our own reading of the same bytes: frames, then header blocks through one decoder.
    const bytes = Buffer.concat(sent).subarray(PREFACE.length);
    const decoder = new HpackDecoder();
    const ours: string[][] = [];
    let block: Buffer[] = [];
    for (let at = 0; at < bytes.length;) {
      const len = bytes.readUIntBE(at, 3);
      const type = bytes[at + 3]!;
      const flags = bytes[at + 4]!;
      let payload = bytes.subarray(at + 9, at + 9 + len);
      at += 9 + len;
      if (type !== FRAME.HEADERS && type !== FRAME.CONTINUATION) continue;
      if (type === FRAME.HEADERS) {
        const pad = flags & 0x8 ? payload[0]! : 0;
        payload = payload.subarray((flags & 0x8 ? 1 : 0) + (flags & 0x20 ? 5 : 0), payload.length - pad);
      }
      block.push(payload);
      if (!(flags & FLAG.END_HEADERS)) continue;
      const fields: string[] = [];
      decoder.decode(Buffer.concat(block), (n, v) => fields.push(n, v));
      ours.push(fields);
      block = [];
    }
    expect(seen).toHaveLength(300);
    expect(ours).toEqual(seen);
  });
});

/** Runs `bytes` (after the preface) through a new guard, whole or one byte at a time. */
function guard(bytes: Buffer[], byteByByte = false): Http2RequestGuard {
  const g = new Http2RequestGuard(LIMITS);
  const all = Buffer.concat([PREFACE, ...bytes]);
  if (byteByByte) {
    for (let i = 0; i < all.length; i++) if (!g.push(all.subarray(i, i + 1))) break;
  } else g.push(all);
  return g;
}

const headers = (
  stream: number,
  fields: [string, string][],
  flags = FLAG.END_HEADERS | FLAG.END_STREAM,
): Buffer => frame(FRAME.HEADERS, flags, stream, hpack(fields));

describe('request guard verdicts', () => {
  it('lets a well-formed request through, whole or byte by byte', () => {
    for (const one of [false, true]) {
      const g = guard([frame(FRAME.SETTINGS, 0, 0), headers(1, request('/public/x', [['x-a', 'b c']]))], one);
      expect(g.fatal).toBeUndefined();
      expect(g.take(1)).toBeUndefined();
    }
  });

  it.each([
    ['a space in the name', 'x a', 'v'],
    ['a colon in the name', 'x:a', 'v'],
    ['an upper-case name', 'X-A', 'v'],
    ['an empty name', '', 'v'],
    ['a NUL in the name', 'x\0a', 'v'],
    ['a non-ASCII name', 'x\u00e9', 'v'],
    ['a NUL in the value', 'x-a', 'v\0w'],
    ['CR LF in the value', 'x-a', 'v\r\nTransfer-Encoding: chunked'],
    ['a bare LF in the value', 'x-a', 'v\nw'],
    ['a leading space in the value', 'x-a', ' v'],
    ['a trailing tab in the value', 'x-a', 'v\t'],
    ['CR LF in :path', ':path', '/public/x HTTP/1.1\r\nHost: a'],
  ])('refuses a field with %s as malformed, whole or byte by byte', (_n, name, value) => {
    for (const one of [false, true]) {
      const fields = request('/public/x').filter(([k]) => k !== name);
      const g = guard([headers(1, [...fields, [name, value]])], one);
      expect(g.fatal).toBeUndefined();
      expect(g.take(1)).toBe('malformed');
      expect(g.take(1)).toBeUndefined();
    }
  });

  it('reads HEADERS with padding and priority, and header blocks split over CONTINUATION frames', () => {
    const block = hpack(request('/public/x', [['x-a', 'v\0w']]));
    const padded = Buffer.concat([Buffer.from([4]), Buffer.alloc(5), block.subarray(0, 10), Buffer.alloc(4)]);
    const g = guard([
      frame(FRAME.HEADERS, FLAG.END_STREAM | 0x8 | 0x20, 1, padded),
      frame(FRAME.CONTINUATION, 0, 1, block.subarray(10, 20)),
      frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(20)),
    ]);
    expect(g.fatal).toBeUndefined();
    expect(g.take(1)).toBe('malformed');
  });

  it('follows the dynamic table: a malformed field indexed in one block and referenced in a later one', () => {
    // Literal with incremental indexing, new name: x-a: v<NUL> becomes dynamic entry 62.
    const indexed = Buffer.concat([
      Buffer.from([0x40, 3]),
      Buffer.from('x-a'),
      Buffer.from([2]),
      Buffer.from('v\0'),
    ]);
    const g = guard([
      frame(
        FRAME.HEADERS,
        FLAG.END_HEADERS | FLAG.END_STREAM,
        1,
        Buffer.concat([hpack(request('/public/a')), indexed]),
      ),
      frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, hpack(request('/public/b'))),
      frame(
        FRAME.HEADERS,
        FLAG.END_HEADERS | FLAG.END_STREAM,
        5,
        Buffer.concat([hpack(request('/public/c')), Buffer.from([0x80 | 62])]),
      ),
    ]);
    expect([g.take(1), g.take(3), g.take(5)]).toEqual(['malformed', undefined, 'malformed']);
  });

  it('refuses a header list over the limit (names, values and 32 octets a field) as too large', () => {
    const fields = request(
      '/public/x',
      Array.from({ length: 20 }, (_, i): [string, string] => [`x-big-${i}`, 'v'.repeat(800)]),
    );
    const block = hpack(fields);
    const g = guard([
      frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 10_000)),
      frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(10_000)),
    ]);
    expect(g.fatal).toBeUndefined();
    expect(g.take(1)).toBe('too_large');
    // Just under the limit is fine.
    const small = request('/public/x', [['x-big', 'v'.repeat(16 * 1024 - 400)]]);
    expect(guard([headers(1, small)]).take(1)).toBeUndefined();
  });

  it('gives up on the connection (ENHANCE_YOUR_CALM) for a header block over maxBlockBytes, without buffering it', () => {
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
          ? frame(FRAME.HEADERS, FLAG.END_STREAM, 1, piece)
          : frame(FRAME.CONTINUATION, last ? FLAG.END_HEADERS : 0, 1, piece),
      );
    }
    const g = new Http2RequestGuard(LIMITS);
    const results = [PREFACE, ...frames].map((f) => g.push(f));
    expect(results.indexOf(false)).toBe(5); // the frame that takes the block past 64 KiB
    expect(g.fatal).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
    expect(g.push(headers(3, request('/public/y')))).toBe(false);
  });

  it.each([
    [
      'a DATA frame inside a header block',
      [frame(FRAME.HEADERS, FLAG.END_STREAM, 1, hpack(request('/x'))), frame(FRAME.DATA, 0, 1, 'x')],
      H2_ERROR.PROTOCOL_ERROR,
    ],
    [
      'a CONTINUATION of another stream',
      [
        frame(FRAME.HEADERS, FLAG.END_STREAM, 1, hpack(request('/x'))),
        frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 3, Buffer.alloc(0)),
      ],
      H2_ERROR.PROTOCOL_ERROR,
    ],
    [
      'a CONTINUATION without HEADERS',
      [frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, hpack(request('/x')))],
      H2_ERROR.PROTOCOL_ERROR,
    ],
    [
      'PUSH_PROMISE from a client',
      [frame(5, FLAG.END_HEADERS, 1, Buffer.concat([Buffer.alloc(4), hpack(request('/x'))]))],
      H2_ERROR.PROTOCOL_ERROR,
    ],
    ['HEADERS on stream 0', [headers(0, request('/x'))], H2_ERROR.PROTOCOL_ERROR],
    [
      'padding longer than the frame',
      [frame(FRAME.HEADERS, FLAG.END_HEADERS | 0x8, 1, Buffer.from([200, 0x82]))],
      H2_ERROR.PROTOCOL_ERROR,
    ],
    [
      'a HEADERS frame above the maximum frame size',
      [frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.alloc(16_385))],
      H2_ERROR.FRAME_SIZE_ERROR,
    ],
    [
      'an HPACK index beyond the table',
      [frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.from([0xff, 0x10]))],
      H2_ERROR.COMPRESSION_ERROR,
    ],
  ])('closes the connection on %s', (_n, frames, code) => {
    expect(guard(frames).fatal).toBe(code);
  });

  it('closes the connection on a wrong preface', () => {
    const g = new Http2RequestGuard(LIMITS);
    expect(g.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe(false);
    expect(g.fatal).toBe(H2_ERROR.PROTOCOL_ERROR);
  });

  it('skips the payload of other frames, a large DATA frame split anywhere included', () => {
    const g = guard(
      [
        headers(1, request('/public/x', [['content-length', '20000']], 'POST'), FLAG.END_HEADERS),
        frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.alloc(20_000, 0x01)),
        headers(3, request('/public/y', [['x-a', 'v\0']])),
      ],
      true,
    );
    expect(g.fatal).toBeUndefined();
    expect([g.take(1), g.take(3)]).toEqual([undefined, 'malformed']);
  });

  it('forgets refusals of streams below the one taken, and closes the connection past 128 untaken refusals', () => {
    const bad = (id: number): Buffer => headers(id, request('/x', [['x a', 'v']]));
    const g = guard([bad(1), bad(3), bad(5)]);
    expect(g.take(5)).toBe('malformed');
    expect([g.take(1), g.take(3)]).toEqual([undefined, undefined]);
    const flood = guard(Array.from({ length: 129 }, (_, i) => bad(2 * i + 1)));
    expect(flood.fatal).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
  });

  it('tells the server about a stream refused after it was handed over (a malformed trailer block)', () => {
    const g = new Http2RequestGuard(LIMITS);
    const told: number[] = [];
    g.onRefused = (id) => (told.push(id), id === 1);
    g.push(
      Buffer.concat([
        PREFACE,
        headers(1, request('/public/x', [], 'POST'), FLAG.END_HEADERS),
        frame(FRAME.DATA, 0, 1, 'body'),
        headers(1, [['x-trailer', 'v\r\nx: y']]),
        headers(3, [...request('/public/y'), ['x a', 'v']]),
      ]),
    );
    expect(told).toEqual([1, 3]);
    // Stream 1 was dealt with by the server; stream 3 waits for take().
    expect([g.take(1), g.take(3)]).toEqual([undefined, 'malformed']);
  });
});
