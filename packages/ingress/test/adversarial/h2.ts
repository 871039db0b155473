/**
 * HTTP/2 clients for the suite: node:http2 for well-formed requests, and a raw-frame client (TLS
 * with ALPN h2, hand-made frames, HPACK literals without Huffman coding) for what node:http2
 * refuses to send: forbidden or duplicated pseudo-headers, connection-specific fields, CR/LF in
 * names and values, floods of CONTINUATION or RST_STREAM frames.
 */
import http2 from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import type { ClientResult, Endpoint } from './client.js';

export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
const NAMES = [
  'DATA',
  'HEADERS',
  'PRIORITY',
  'RST_STREAM',
  'SETTINGS',
  'PUSH_PROMISE',
  'PING',
  'GOAWAY',
  'WINDOW_UPDATE',
  'CONTINUATION',
];
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer | string = Buffer.alloc(0),
): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, p]);
}

function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A header block of literal fields without indexing, names and values as raw bytes. */
export function hpack(fields: [string, string][]): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of fields) {
    bytes.push(0x00);
    for (const s of [name, value]) {
      const b = Buffer.from(s, 'latin1');
      bytes.push(...hpackInt(b.length, 7, 0), ...b);
    }
  }
  return Buffer.from(bytes);
}

export const request = (
  path: string,
  extra: [string, string][] = [],
  method = 'GET',
  authority = 'app.example',
): [string, string][] => [
  [':method', method],
  [':scheme', 'https'],
  [':authority', authority],
  [':path', path],
  ...extra,
];

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** The :status of a response header block when the server sent it in a form we can read. */
function statusOf(block: Buffer): string {
  const first = block[0] ?? 0;
  const indexed: Record<number, string> = {
    0x88: '200',
    0x89: '204',
    0x8a: '206',
    0x8b: '304',
    0x8c: '400',
    0x8d: '404',
    0x8e: '500',
  };
  if (indexed[first]) return indexed[first]!;
  if ((first & 0x0f) === 8 || (first & 0x3f) === 8) {
    const len = block[1] ?? 0;
    if ((len & 0x80) === 0) return block.toString('latin1', 2, 2 + len);
  }
  return '?';
}

/**
 * Sends `frames` (after the preface and an empty SETTINGS) on a raw HTTP/2 connection, answers the
 * server's SETTINGS and PINGs, and sums up what came back as text lines: `HEADERS 1 :status=200`,
 * `DATA 1 "..."`, `RST_STREAM 1 code=1`, `GOAWAY code=1`.
 */
export function rawH2(
  ep: Endpoint,
  frames: (Buffer | number)[],
  opts: { quietMs?: number; maxMs?: number } = {},
): Promise<ClientResult> {
  const quietMs = opts.quietMs ?? 400;
  const maxMs = opts.maxMs ?? 4_000;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = tlsConnect({
      host: '127.0.0.1',
      port: ep.port,
      servername: ep.servername ?? 'app.example',
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    let buf = Buffer.alloc(0);
    const lines: string[] = [];
    let closed = false;
    let reset = false;
    let sending = true;
    let last = Date.now();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(timer);
      sock.destroy();
      resolve({
        sent: '',
        received: Buffer.from(lines.join('\n'), 'latin1'),
        closed,
        reset,
        ms: Date.now() - t0,
      });
    };
    const timer = setInterval(() => {
      if (Date.now() - t0 > maxMs || (!sending && Date.now() - last > quietMs)) finish();
    }, 10);
    sock.on('data', (d: Buffer) => {
      last = Date.now();
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) sock.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
        else if (type === FRAME.PING && !(flags & FLAG.ACK))
          sock.write(frame(FRAME.PING, FLAG.ACK, 0, payload));
        else if (type === FRAME.HEADERS) lines.push(`HEADERS ${stream} :status=${statusOf(payload)}`);
        else if (type === FRAME.DATA)
          lines.push(`DATA ${stream} ${JSON.stringify(payload.toString('latin1'))}`);
        else if (type === FRAME.RST_STREAM)
          lines.push(`RST_STREAM ${stream} code=${payload.readUInt32BE(0)}`);
        else if (type === FRAME.GOAWAY) lines.push(`GOAWAY code=${payload.readUInt32BE(4)}`);
        else if (type !== FRAME.SETTINGS && type !== FRAME.WINDOW_UPDATE && type !== FRAME.PING)
          lines.push(`${NAMES[type] ?? type} ${stream}`);
      }
    });
    sock.on('error', () => (reset = true));
    sock.on('close', () => {
      closed = true;
      finish();
    });
    sock.once('secureConnect', async () => {
      if (sock.alpnProtocol !== 'h2') {
        lines.push(`ALPN ${String(sock.alpnProtocol)}`);
        return finish();
      }
      sock.write(Buffer.concat([Buffer.from(PREFACE, 'latin1'), frame(FRAME.SETTINGS, 0, 0)]));
      // Write in batches so a flood does not sit in one giant buffer.
      let batch: Buffer[] = [];
      for (const f of frames) {
        if (closed) break;
        if (typeof f === 'number') {
          if (batch.length) sock.write(Buffer.concat(batch));
          batch = [];
          await new Promise((r) => setTimeout(r, f));
          continue;
        }
        batch.push(f);
        if (batch.length >= 256) {
          sock.write(Buffer.concat(batch));
          batch = [];
          await new Promise((r) => setImmediate(r));
        }
      }
      if (batch.length && !closed) sock.write(Buffer.concat(batch));
      last = Date.now();
      sending = false;
    });
  });
}

/** One well-formed request with node:http2; the answer summed up like rawH2's. */
export function nodeH2(
  ep: Endpoint,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
  body?: string,
): Promise<ClientResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const lines: string[] = [];
    const session = http2.connect(`https://127.0.0.1:${ep.port}`, {
      servername: 'app.example',
      rejectUnauthorized: false,
    } as http2.SecureClientSessionOptions);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve({
        sent: '',
        received: Buffer.from(lines.join('\n'), 'latin1'),
        closed,
        reset: false,
        ms: Date.now() - t0,
      });
    };
    const timer = setTimeout(() => finish(false), 5_000);
    session.on('error', (e) => {
      lines.push(`session error ${e.message}`);
      finish(true);
    });
    const stream = session.request(
      { ':path': path, ':authority': 'app.example', ...headers },
      { endStream: body === undefined },
    );
    let data = '';
    stream.on('response', (h) => lines.push(`HEADERS 1 :status=${h[':status']}`));
    stream.on('data', (d: Buffer) => (data += d.toString('latin1')));
    stream.on('error', (e) => lines.push(`stream error ${e.message}`));
    stream.on('close', () => {
      if (data) lines.push(`DATA 1 ${JSON.stringify(data)}`);
      if (stream.rstCode) lines.push(`RST_STREAM 1 code=${stream.rstCode}`);
      finish(false);
    });
    if (body !== undefined) stream.end(body);
  });
}
