/**
 * Issue 11, smuggling through hop-by-hop `Connection` tokens: a Connection header can never remove
 * a framing field (Content-Length, Transfer-Encoding) or Host, in either direction, on any data
 * plane. Such tokens are ignored, as nginx 1.22 ignores them (it forwards every field the client
 * sent); other listed fields are still removed (RFC 9110 §7.6.1).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  field,
  h2Get,
  H2Raw,
  HOST,
  PLANES,
  send,
  startHarness,
  statuses,
  type Harness,
} from './security-kit.js';

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
  h.pub.responder = undefined;
});

const SMUGGLED = `GET /api/secret HTTP/1.1\r\nHost: ${HOST}\r\nX-Smuggled: 1\r\n\r\n`;

/** Connection header variants that name a framing field (each a list of field lines). */
const lengthVariants: [string, string[]][] = [
  ['Connection: Content-Length', ['Connection: Content-Length']],
  ['Connection: close, Content-Length', ['Connection: close, Content-Length']],
  ['Connection: keep-alive, content-length', ['Connection: keep-alive, content-length']],
  ['a second Connection header naming it', ['Connection: keep-alive', 'Connection: Content-Length']],
  ['Keep-Alive variant', ['Keep-Alive: timeout=5', 'Connection: Keep-Alive, Content-Length']],
  ['odd spacing and case', ['Connection: ,  CONTENT-LENGTH ,']],
];

describe.each(PLANES)('%s', (plane) => {
  it.each(lengthVariants)('%s: the body stays the body of the routed request', async (_name, lines) => {
    const req =
      `POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\n${lines.join('\r\n')}\r\n` +
      `Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;
    const { text } = await send(h, plane, req);
    expect(statuses(text)).toEqual([200]);
    const got = h.pub.requests.filter((r) => r.target === '/public/upload');
    expect(got).toHaveLength(1);
    expect(field(got[0]!.fields, 'content-length')).toBe(String(SMUGGLED.length));
    expect(got[0]!.body).toBe(SMUGGLED);
    expect(h.pub.requests.map((r) => r.target)).not.toContain('/api/secret');
    expect(h.api.requests).toHaveLength(0);
  });

  it('Connection: Transfer-Encoding keeps a chunked body chunked', async () => {
    const chunk = SMUGGLED.length.toString(16);
    const req =
      `POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Transfer-Encoding\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n${chunk}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    const { text } = await send(h, plane, req);
    expect(statuses(text)).toEqual([200]);
    const got = h.pub.requests.filter((r) => r.target === '/public/upload');
    expect(got).toHaveLength(1);
    expect(got[0]!.body).toBe(SMUGGLED);
    expect(h.pub.requests.map((r) => r.target)).not.toContain('/api/secret');
  });

  it('Connection: Host keeps the Host the request was routed on', async () => {
    const { text } = await send(
      h,
      plane,
      `GET /public/h HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Host, X-Drop\r\nX-Drop: 1\r\nX-Keep: 1\r\n\r\n`,
    );
    expect(statuses(text)).toEqual([200]);
    const got = h.pub.requests.find((r) => r.target === '/public/h')!;
    expect(field(got.fields, 'host')).toBe(HOST);
    // Other listed fields are still hop-by-hop.
    expect(field(got.fields, 'x-drop')).toBeUndefined();
    expect(field(got.fields, 'x-keep')).toBe('1');
  });

  it("a pod's Connection: Content-Length cannot strip its response framing", async () => {
    h.pub.responder = (_req, sock) =>
      sock.write(
        'HTTP/1.1 200 OK\r\nConnection: Content-Length, Transfer-Encoding\r\nContent-Length: 4\r\n\r\nbody',
      );
    const { text } = await send(
      h,
      plane,
      `GET /public/a HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /public/b HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      2,
    );
    expect(statuses(text)).toEqual([200, 200]);
    expect(text.toLowerCase().match(/content-length: 4\r\n/g)).toHaveLength(2);
  });
});

describe('HTTP/2', () => {
  it('a connection-specific field is refused (RFC 9113 §8.2.2), nothing reaches a pod', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.request(
        [
          ...h2Get('/public/upload', 'POST'),
          ['connection', 'content-length'],
          ['content-length', String(SMUGGLED.length)],
        ],
        SMUGGLED,
      );
      const status = await c.status(id);
      expect(status === 'reset' || status === 400).toBe(true);
      // The connection still serves requests.
      const ok = await c.request(h2Get('/public/after'));
      expect(await c.status(ok)).toBe(200);
    } finally {
      c.close();
    }
    expect(h.pub.requests.map((r) => r.target)).toEqual(['/public/after']);
    expect(h.api.requests).toHaveLength(0);
  });

  it('a request body is forwarded with its length, whatever the client sent', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.request(
        [...h2Get('/public/upload', 'POST'), ['content-length', String(SMUGGLED.length)]],
        SMUGGLED,
      );
      expect(await c.status(id)).toBe(200);
    } finally {
      c.close();
    }
    const got = h.pub.requests.filter((r) => r.target === '/public/upload');
    expect(got).toHaveLength(1);
    expect(got[0]!.body).toBe(SMUGGLED);
    expect(h.api.requests).toHaveLength(0);
  });
});
