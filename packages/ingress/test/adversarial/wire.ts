/**
 * Reference readers of HTTP/1.x bytes for the adversarial suite: how a pod splits what it
 * received into requests (with every anomaly a stricter or looser server could read differently
 * noted), and how a client splits what it received into responses. Both are deliberately simple
 * and deterministic; they judge bytes, they are not the code under test.
 */

export interface ParsedRequest {
  method: string;
  target: string;
  version: string;
  /** Field lines as received (names as sent). */
  fields: [string, string][];
  body: Buffer;
  /** Everything a careful reader would flag: ambiguous framing, bad syntax, odd versions. */
  anomalies: string[];
  /** The exact bytes of this request. */
  raw: Buffer;
}

export type RequestParse =
  | { kind: 'request'; req: ParsedRequest; used: number; headEnd: number }
  /** A whole head was read; the body is still coming. */
  | { kind: 'incomplete'; headEnd: number; partial?: ParsedRequest }
  | { kind: 'garbage'; reason: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headEndOf(buf: Buffer, from = 0): { end: number; sep: number } | undefined {
  // A lenient pod ends a head at CRLFCRLF or at LFLF (bare-LF line ends), whichever comes first.
  const crlf = buf.indexOf('\r\n\r\n', from, 'latin1');
  const lf = buf.indexOf('\n\n', from, 'latin1');
  if (crlf < 0 && lf < 0) return undefined;
  if (lf >= 0 && (crlf < 0 || lf < crlf + 2)) return { end: lf, sep: 2 };
  return { end: crlf, sep: 4 };
}

/** One request from the start of `buf`, read the way a lenient but common server would. */
export function parseRequest(buf: Buffer): RequestParse | undefined {
  let start = 0;
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const h = headEndOf(buf, start);
  if (!h) return undefined;
  const headText = buf.toString('latin1', start, h.end);
  const anomalies = new Set<string>();
  if (start > 0) anomalies.add('leading-empty-line');
  if (/(^|[^\r])\n/.test(headText) || h.sep === 2) anomalies.add('bare-lf');
  if (/\r(?!\n)/.test(headText)) anomalies.add('bare-cr');
  if (headText.includes('\0')) anomalies.add('nul');
  const lines = headText.split(/\r?\n/);
  const m = /^([^ ]+) ([^ ]+) (HTTP\/\d\.\d)$/.exec(lines[0]!);
  if (!m) {
    if (/^[A-Z]+ \S+$/.test(lines[0]!)) anomalies.add('http09');
    return { kind: 'garbage', reason: `request line ${JSON.stringify(lines[0]!.slice(0, 80))}` };
  }
  const [, method, target, version] = m as unknown as [string, string, string, string];
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') anomalies.add(`version:${version}`);
  if (!TOKEN.test(method)) anomalies.add('method-syntax');
  if (!target.startsWith('/')) anomalies.add(target === '*' ? 'asterisk-form' : 'absolute-form');
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      anomalies.add('obs-fold');
      const last = fields.at(-1);
      if (last) last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      anomalies.add('field-without-colon');
      continue;
    }
    let name = line.slice(0, colon);
    if (!TOKEN.test(name)) {
      anomalies.add('field-name-syntax');
      name = name.trim();
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if ([...value].some((ch) => (ch < ' ' && ch !== '\t') || ch === '\x7f'))
      anomalies.add('field-value-control');
    fields.push([name, value]);
  }
  const all = (n: string) => fields.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  const hosts = all('host');
  if (hosts.length === 0) anomalies.add('no-host');
  if (hosts.length > 1) anomalies.add('many-hosts');
  const cls = all('content-length');
  const tes = all('transfer-encoding');
  if (cls.length > 1) anomalies.add('many-content-lengths');
  if (cls.some((v) => !/^\d+$/.test(v))) anomalies.add('content-length-syntax');
  if (tes.length > 0 && cls.length > 0) anomalies.add('content-length-and-transfer-encoding');
  if (tes.length > 1 || tes.some((v) => v.toLowerCase() !== 'chunked'))
    anomalies.add('transfer-encoding-not-chunked');
  if (tes.length > 0 && version === 'HTTP/1.0') anomalies.add('transfer-encoding-http10');
  const connection = all('connection').join(',').toLowerCase();
  for (const token of connection.split(',').map((t) => t.trim()))
    if (['content-length', 'transfer-encoding', 'host'].includes(token))
      anomalies.add(`connection-names-${token}`);
  // Both proxies always add X-Forwarded-For: a request without it was not written by the proxy
  // but read by the pod out of another request's bytes (smuggled).
  if (all('x-forwarded-for').length === 0) anomalies.add('not-from-proxy');
  const bodyStart = h.end + h.sep;
  const req: ParsedRequest = {
    method,
    target,
    version,
    fields,
    body: Buffer.alloc(0),
    anomalies: [...anomalies].sort(),
    raw: Buffer.alloc(0),
  };
  const chunked = tes.length > 0 && /(^|[\s,])chunked\s*$/i.test(tes.join(','));
  if (chunked) {
    const c = decodeChunked(buf, bodyStart);
    if (c === undefined) return { kind: 'incomplete', headEnd: bodyStart, partial: req };
    if (typeof c === 'string') return { kind: 'garbage', reason: c };
    req.body = c.body;
    req.raw = buf.subarray(0, c.end);
    return { kind: 'request', req, used: c.end, headEnd: bodyStart };
  }
  const length = cls.length > 0 ? parseInt(cls[0]!, 10) : 0;
  if (!Number.isFinite(length) || length < 0) return { kind: 'garbage', reason: `Content-Length ${cls[0]}` };
  if (buf.length < bodyStart + length) return { kind: 'incomplete', headEnd: bodyStart, partial: req };
  req.body = buf.subarray(bodyStart, bodyStart + length);
  req.raw = buf.subarray(0, bodyStart + length);
  return { kind: 'request', req, used: bodyStart + length, headEnd: bodyStart };
}

/**
 * A lenient chunked decoder (as most servers are: LF or CRLF line ends, extensions ignored).
 * undefined: incomplete; a string: malformed.
 */
export function decodeChunked(
  buf: Buffer,
  start: number,
): { body: Buffer; end: number } | string | undefined {
  const parts: Buffer[] = [];
  let i = start;
  for (;;) {
    const lf = buf.indexOf(0x0a, i);
    if (lf < 0) return undefined;
    const line = buf.toString('latin1', i, lf).replace(/\r$/, '');
    const m = /^([0-9a-fA-F]+)/.exec(line);
    if (!m) return `chunk size line ${JSON.stringify(line.slice(0, 40))}`;
    if (m[1]!.length > 15) return 'chunk size overflow';
    const size = parseInt(m[1]!, 16);
    i = lf + 1;
    if (size === 0) {
      // Trailer section up to an empty line.
      for (;;) {
        const e = buf.indexOf(0x0a, i);
        if (e < 0) return undefined;
        const t = buf.toString('latin1', i, e).replace(/\r$/, '');
        i = e + 1;
        if (t === '') return { body: Buffer.concat(parts), end: i };
      }
    }
    if (buf.length < i + size) return undefined;
    parts.push(buf.subarray(i, i + size));
    i += size;
    if (buf.length < i + 1) return undefined;
    if (buf[i] === 0x0d) {
      if (buf.length < i + 2) return undefined;
      if (buf[i + 1] !== 0x0a) return 'chunk data not followed by CRLF';
      i += 2;
    } else if (buf[i] === 0x0a) i += 1;
    else return 'chunk data not followed by a line end';
  }
}

export interface ParsedResponse {
  status: number;
  version: string;
  fields: [string, string][];
  body: Buffer;
}

export interface ResponseStream {
  responses: ParsedResponse[];
  /** Bytes that do not parse as a further response (or a response cut short). */
  rest: Buffer;
  error?: string;
}

/**
 * Splits what a client received into responses, RFC 9112 §6.3, knowing the methods it sent (HEAD
 * responses have no body). 1xx interim responses are kept as responses of their own.
 */
export function parseResponses(buf: Buffer, methods: string[], closed: boolean): ResponseStream {
  const responses: ParsedResponse[] = [];
  let i = 0;
  let m = 0;
  while (i < buf.length) {
    const end = buf.indexOf('\r\n\r\n', i, 'latin1');
    if (end < 0) return { responses, rest: buf.subarray(i), error: 'incomplete head' };
    const lines = buf.toString('latin1', i, end).split('\r\n');
    const sl = /^(HTTP\/\d\.\d) (\d{3})(?: .*)?$/.exec(lines[0]!);
    if (!sl)
      return {
        responses,
        rest: buf.subarray(i),
        error: `status line ${JSON.stringify(lines[0]!.slice(0, 60))}`,
      };
    const status = Number(sl[2]);
    const fields: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      if (c <= 0)
        return { responses, rest: buf.subarray(i), error: `field line ${JSON.stringify(line.slice(0, 60))}` };
      fields.push([line.slice(0, c), line.slice(c + 1).trim()]);
    }
    const get = (n: string) => fields.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
    let j = end + 4;
    const method = methods[m] ?? 'GET';
    let body: Buffer = Buffer.alloc(0);
    if (status === 101) {
      responses.push({ status, version: sl[1]!, fields, body: buf.subarray(j) });
      return { responses, rest: Buffer.alloc(0) };
    }
    if (status >= 100 && status < 200) {
      responses.push({ status, version: sl[1]!, fields, body });
      i = j;
      continue;
    }
    m++;
    const te = get('transfer-encoding');
    const cl = get('content-length');
    if (method === 'HEAD' || status === 204 || status === 304) {
      // no body
    } else if (te.length > 0) {
      if (cl.length > 0) return { responses, rest: buf.subarray(i), error: 'response with CL and TE' };
      const c = decodeChunked(buf, j);
      if (c === undefined) return { responses, rest: buf.subarray(i), error: 'incomplete chunked body' };
      if (typeof c === 'string') return { responses, rest: buf.subarray(i), error: c };
      body = c.body;
      j = c.end;
    } else if (cl.length > 0) {
      if (new Set(cl).size > 1 || !/^\d+$/.test(cl[0]!))
        return { responses, rest: buf.subarray(i), error: 'bad Content-Length' };
      const n = Number(cl[0]);
      if (buf.length < j + n) return { responses, rest: buf.subarray(i), error: 'incomplete body' };
      body = buf.subarray(j, j + n);
      j += n;
    } else {
      if (!closed)
        return { responses, rest: buf.subarray(i), error: 'close-delimited body, connection open' };
      body = buf.subarray(j);
      j = buf.length;
    }
    responses.push({ status, version: sl[1]!, fields, body });
    i = j;
  }
  return { responses, rest: Buffer.alloc(0) };
}

/**
 * The request methods in a byte string sent by a client, in order (for HEAD-aware response
 * parsing): the requests as the reference reader splits them, then request lines in what is left.
 */
export function methodsIn(sent: string): string[] {
  const methods: string[] = [];
  let buf = Buffer.from(sent, 'latin1');
  for (;;) {
    const p = parseRequest(buf);
    if (p?.kind !== 'request') break;
    methods.push(p.req.method);
    buf = buf.subarray(p.used);
  }
  const rest = buf.toString('latin1');
  return [...methods, ...[...rest.matchAll(/(?:^|\n)([A-Za-z]{3,8}) \S*/g)].map((m) => m[1]!)];
}

/**
 * A path as a normalising server would finally serve it (RFC 3986 §6.2.2): fragment and query
 * cut, unreserved escapes decoded, dot segments removed, repeated slashes merged. Two requests
 * whose paths normalise alike reach the same resource on a typical pod.
 */
export function normalizePath(target: string): string {
  let p = target;
  if (/^https?:\/\//i.test(p)) p = p.replace(/^https?:\/\/[^/?#]*/i, '') || '/';
  p = p.split('#')[0]!.split('?')[0]!;
  // Decoded once, as a server does before resolving dots (including %2f, which some servers do).
  try {
    p = decodeURIComponent(p);
  } catch {
    p = p.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  p = p.replace(/\\/g, '/').replace(/\/{2,}/g, '/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '..') out.pop();
    else if (seg !== '.') out.push(seg);
  }
  let r = out.join('/');
  if (!r.startsWith('/')) r = `/${r}`;
  if ((p.endsWith('/.') || p.endsWith('/..')) && !r.endsWith('/')) r += '/';
  return r.replace(/\/{2,}/g, '/');
}
