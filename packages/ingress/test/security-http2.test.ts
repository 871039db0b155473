/**
 * HTTP/2 requests the adversarial suite (test/adversarial/FINDINGS.md) found forwarded where nginx
 * refuses them: a host field that contradicts :authority (we routed by host), a content-length
 * that the DATA frames contradict (the pod got a request the client never sent), a rapid reset
 * of many streams (every reset request still reached the pod), fields with invalid names or values
 * (Node dropped the field and forwarded the rest) and header lists over the limit (forwarded whole).
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { field, h2Get, H2Raw, HOST, sample, startHarness, waitFor, type Harness } from './security-kit.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  h.pub.reset();
  h.api.reset();
});

async function status(fields: [string, string][], body?: string): Promise<number | string> {
  const c = new H2Raw(h);
  try {
    return await c.status(await c.request(fields, body));
  } finally {
    c.close();
  }
}

describe(':authority and host', () => {
  it('a host field other than :authority: 400, nothing forwarded', async () => {
    expect(await status([...h2Get('/public/x'), ['host', 'other.test']])).toBe(400);
    const unknown: [string, string][] = [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', 'unknown.test'],
      [':path', '/public/x'],
      ['host', HOST],
    ];
    expect(await status(unknown)).toBe(400);
    expect(h.pub.requests).toHaveLength(0);
  });

  it('the same host in both is served, routed on :authority', async () => {
    expect(await status([...h2Get('/public/x'), ['host', HOST]])).toBe(200);
    expect(h.pub.requests.map((r) => r.target)).toEqual(['/public/x']);
  });
});

describe('content-length against DATA (RFC 9113 §8.1.1)', () => {
  const SMUGGLED = `GET /api/smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  it.each([
    ['0 with a smuggled request in DATA', '0', SMUGGLED],
    ['shorter than DATA', '5', `hello${SMUGGLED}`],
    ['longer than DATA', '100', 'hello'],
  ])('content-length %s: nothing reaches a pod', async (_n, length, data) => {
    const got = await status([...h2Get('/public/x', 'POST'), ['content-length', length]], data);
    expect(got === 'reset' || got === 'goaway' || got === 400).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.pub.requests).toHaveLength(0);
    expect(h.api.requests).toHaveLength(0);
  });

  it('a matching content-length is forwarded with its body', async () => {
    expect(await status([...h2Get('/public/x', 'POST'), ['content-length', '5']], 'hello')).toBe(200);
    expect(h.pub.requests.map((r) => r.body)).toEqual(['hello']);
  });
});

describe('rapid reset', () => {
  it('streams reset right after their HEADERS are not forwarded, and a new client is served at once', async () => {
    const c = new H2Raw(h);
    try {
      await c.burst(300);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      c.close();
    }
    // nghttp2 may still dispatch a few before it reads their RST_STREAM.
    expect(h.pub.requests.length).toBeLessThan(50);
    const t0 = Date.now();
    expect(await status(h2Get('/public/fresh'))).toBe(200);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await waitFor(() => h.pub.requests.some((r) => r.target === '/public/fresh'))).toBe(true);
  });
});

describe('fields Node would drop silently (RFC 9113 §8.2.1): the stream is reset, nothing forwarded', () => {
  it.each([
    ['a space in a name', ['x a', 'v']],
    ['a colon in a name', ['x:a', 'v']],
    ['a NUL in a value', ['x-a', 'v\0w']],
    [
      'CR LF and a smuggled request in a value',
      ['x-a', `v\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: ${HOST}`],
    ],
    ['a bare LF in a value', ['x-a', 'v\nx-b: w']],
  ] as [string, [string, string]][])(
    '%s: RST_STREAM PROTOCOL_ERROR, counted, the connection still serves',
    async (_n, bad) => {
      const before = await sample(h.metrics, 'portico_ingress_connection_errors_total', {
        plane: 'node',
        reason: 'malformed',
      });
      const c = new H2Raw(h);
      try {
        const id = await c.request([...h2Get('/public/x'), bad]);
        expect(await c.status(id)).toBe('reset');
        expect(c.resetCode(id)).toBe(1);
        // The same connection goes on: the guard's HPACK table is still in step with the client's.
        const next = await c.request(h2Get('/public/after'));
        expect(await c.status(next)).toBe(200);
      } finally {
        c.close();
      }
      expect(h.pub.requests.map((r) => r.target)).toEqual(['/public/after']);
      expect(h.api.requests).toHaveLength(0);
      const after = await sample(h.metrics, 'portico_ingress_connection_errors_total', {
        plane: 'node',
        reason: 'malformed',
      });
      expect(after - before).toBe(1);
    },
  );

  it('a malformed trailer block resets a stream whose request is under way', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.request([...h2Get('/public/x', 'POST')], 'part one', true);
      expect(await waitFor(() => h.pub.bytes.includes('part one'))).toBe(true);
      c.trailers(id, [['x-trailer', 'v\r\nx-smuggled: 1']]);
      expect(await c.status(id)).toBe('reset');
      expect(c.resetCode(id)).toBe(1);
    } finally {
      c.close();
    }
    // The pod never got a whole request: its connection was closed before the body ended.
    expect(
      await waitFor(() => h.pub.conns.every((conn) => conn.closed || !conn.bytes.includes('part one'))),
    ).toBe(true);
    expect(h.pub.requests.every((r) => r.body === '')).toBe(true);
  });
});

describe('header list size over HTTP/2, as over HTTP/1', () => {
  const big = (n: number, size: number): [string, string][] =>
    Array.from({ length: n }, (_, i): [string, string] => [`x-big-${i}`, 'v'.repeat(size)]);

  it('a header list over 16 KiB gets 431, nothing forwarded; one under it is served', async () => {
    const c = new H2Raw(h);
    try {
      const over = await c.continued([...h2Get('/public/over'), ...big(24, 1000)], 10_000);
      expect(await c.status(over)).toBe(431);
      const under = await c.continued([...h2Get('/public/under'), ...big(10, 1000)], 10_000);
      expect(await c.status(under)).toBe(200);
    } finally {
      c.close();
    }
    expect(h.pub.requests.map((r) => r.target)).toEqual(['/public/under']);
  });

  it('a header block of 100 KiB closes the connection with GOAWAY ENHANCE_YOUR_CALM before Node reads it whole', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.continued([...h2Get('/public/x'), ...big(100, 1000)], 16_000);
      expect(await c.status(id)).toBe('goaway');
      expect(c.goawayCode()).toBe(11);
    } finally {
      c.close();
    }
    expect(h.pub.requests).toHaveLength(0);
    expect(await status(h2Get('/public/fresh'))).toBe(200);
  });
});

describe('well-formed HTTP/2 through the request guard', () => {
  it('300 requests of a node:http2 client on one session (Huffman, dynamic table) are all served, with the client address', async () => {
    const session = http2.connect(`https://127.0.0.1:${h.httpsPort}`, {
      servername: HOST,
      rejectUnauthorized: false,
    });
    try {
      for (let i = 0; i < 300; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = session.request({
            ':path': `/public/n${i}`,
            ':authority': HOST,
            'x-request': `value ${i} ${'é'.repeat(i % 7)}.`,
            cookie: [`a=${i}`, `b=${'z'.repeat(i % 50)}`],
          });
          req.on('response', (hd) => resolve(Number(hd[':status'])));
          req.on('error', reject);
          req.resume();
          req.end();
        });
        expect(status).toBe(200);
      }
    } finally {
      session.close();
    }
    expect(h.pub.requests).toHaveLength(300);
    expect(new Set(h.pub.requests.map((r) => field(r.fields, 'x-forwarded-for')))).toEqual(
      new Set(['127.0.0.1']),
    );
    expect(new Set(h.pub.requests.map((r) => field(r.fields, 'x-forwarded-port')))).toEqual(
      new Set([String(h.httpsPort)]),
    );
  });
});
