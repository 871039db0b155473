/**
 * HTTP/2 requests without a body sent to HTTP/1.1 pods on the fast path's keep-alive pool
 * (http2/pooled-exchange.ts), with a real node:http2 client over TLS and recording pods on
 * loopback: the request the pod reads, every response framing (length, chunked with trailers,
 * until close, HEAD), the fields the client gets, back-pressure from a client that reads slowly,
 * a stream the client resets, and a pod that fails or says nothing.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { field, HOST, startHarness, waitFor, type Harness, type PodRequest } from './security-kit.js';
import type { Socket } from 'node:net';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ proxy: { upstreamHeadersTimeout: 1_500, upstreamBodyTimeout: 3_000 } });
});

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  h.pub.reset();
  h.pub.responder = undefined;
});

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

function connect(): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${h.httpsPort}`, { rejectUnauthorized: false });
  session.on('error', () => undefined);
  return session;
}

function get(session: http2.ClientHttp2Session, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request(
      { ':method': method, ':path': path, ':authority': HOST },
      { endStream: true },
    );
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (headers) => (head = headers));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks), trailers }),
    );
    req.on('error', reject);
  });
}

/** A responder that writes `raw` as the whole response. */
const raw =
  (text: string) =>
  (_req: PodRequest, sock: Socket): void => {
    sock.write(text);
  };

describe('the request the pod reads', () => {
  it('is HTTP/1.1 with the host and forwarding fields, and the pod connection is kept for the next', async () => {
    const session = connect();
    try {
      const first = await get(session, '/public/a?x=1');
      const second = await get(session, '/public/b');
      expect(first.status).toBe(200);
      expect(first.body.toString()).toBe('pub GET /public/a?x=1 0');
      expect(second.body.toString()).toBe('pub GET /public/b 0');
      const [a, b] = h.pub.requests;
      expect(a!.version).toBe('HTTP/1.1');
      expect(field(a!.fields, 'host')).toBe(HOST);
      expect(field(a!.fields, 'x-forwarded-proto')).toBe('https');
      expect(field(a!.fields, 'x-forwarded-for')).toBe('127.0.0.1');
      expect(field(a!.fields, 'x-request-id')).toMatch(/^[0-9a-f]{32}$/);
      // One keep-alive connection of the core's pool carried both.
      expect(b!.conn).toBe(a!.conn);
      expect(h.server.proxy.http2Pool.size).toBeGreaterThan(0);
    } finally {
      session.close();
    }
  });
});

describe('response framing', () => {
  it('chunked: the data without its framing, the trailer fields as HTTP/2 trailers', async () => {
    h.pub.responder = raw(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
        '5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: abc\r\n\r\n',
    );
    const session = connect();
    try {
      const a = await get(session, '/public/chunked');
      expect(a.status).toBe(200);
      expect(a.body.toString()).toBe('hello, world');
      expect(a.headers['transfer-encoding']).toBeUndefined();
      expect(a.headers['content-type']).toBe('text/plain');
      expect(a.trailers['x-checksum']).toBe('abc');
    } finally {
      session.close();
    }
  });

  it('read until the pod closes: the whole body', async () => {
    h.pub.responder = (_req, sock) => {
      sock.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil');
      setTimeout(() => sock.end(' close'), 50);
    };
    const session = connect();
    try {
      const a = await get(session, '/public/close');
      expect(a.status).toBe(200);
      expect(a.body.toString()).toBe('until close');
    } finally {
      session.close();
    }
  });

  it('HEAD: the fields (content-length too), no body', async () => {
    h.pub.responder = raw('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: "e"\r\n\r\n');
    const session = connect();
    try {
      const a = await get(session, '/public/head', 'HEAD');
      expect(a.status).toBe(200);
      expect(a.headers['content-length']).toBe('1234');
      expect(a.headers.etag).toBe('"e"');
      expect(a.body.length).toBe(0);
      expect(h.pub.requests[0]!.method).toBe('HEAD');
    } finally {
      session.close();
    }
  });

  it('fields: repeated ones kept, hop-by-hop and those Connection names dropped, server added', async () => {
    h.pub.responder = raw(
      'HTTP/1.1 404 Not Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: keep-alive, x-hop\r\n' +
        'X-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 4\r\n\r\nnope',
    );
    const session = connect();
    try {
      const a = await get(session, '/public/fields');
      expect(a.status).toBe(404);
      expect(a.body.toString()).toBe('nope');
      expect(a.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(a.headers['x-hop']).toBeUndefined();
      expect(a.headers['keep-alive']).toBeUndefined();
      expect(a.headers.server).toBe('portico');
    } finally {
      session.close();
    }
  });
});

describe('back-pressure and resets', () => {
  it('a client that does not read stops the pod being read, then gets every byte', async () => {
    const size = 4 * 1024 * 1024;
    let podSocket: Socket | undefined;
    h.pub.responder = (_req, sock) => {
      podSocket = sock;
      sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
      sock.write(Buffer.alloc(size, 0x61));
    };
    const session = connect();
    try {
      const req = session.request({ ':path': '/public/big', ':authority': HOST }, { endStream: true });
      req.pause();
      await waitFor(() => podSocket !== undefined);
      // The client reads nothing: the proxy stops reading the pod, whose bytes wait in its socket.
      await new Promise((r) => setTimeout(r, 400));
      expect(podSocket!.writableLength).toBeGreaterThan(0);
      let got = 0;
      req.on('data', (c: Buffer) => (got += c.length));
      const ended = new Promise((r) => req.on('end', r));
      req.resume();
      await ended;
      expect(got).toBe(size);
    } finally {
      session.close();
    }
  });

  it('a stream the client resets mid-response: the pod connection is closed, the next request served', async () => {
    let podSocket: Socket | undefined;
    h.pub.responder = (req, sock) => {
      if (!req.target.endsWith('/slow'))
        return void sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      podSocket = sock;
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst');
    };
    const session = connect();
    try {
      const req = session.request({ ':path': '/public/slow', ':authority': HOST }, { endStream: true });
      req.on('error', () => undefined);
      await new Promise((r) => req.once('data', r));
      req.close(http2.constants.NGHTTP2_CANCEL);
      expect(await waitFor(() => podSocket?.destroyed === true || podSocket?.readableEnded === true)).toBe(
        true,
      );
      const next = await get(session, '/public/after');
      expect(next.body.toString()).toBe('ok');
    } finally {
      session.close();
    }
  });
});

describe('pod failures', () => {
  it('a pod that closes without answering: 502 with a request ID', async () => {
    h.pub.responder = (_req, sock) => sock.destroy();
    const session = connect();
    try {
      const a = await get(session, '/public/gone');
      expect(a.status).toBe(502);
      expect(a.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      session.close();
    }
  });

  it('a pod that never answers: 504 after the headers timeout', async () => {
    const session = connect();
    try {
      const started = performance.now();
      const a = await get(session, '/public/hang');
      expect(a.status).toBe(504);
      expect(performance.now() - started).toBeGreaterThan(1_400);
    } finally {
      session.close();
    }
  });

  it('a response head the fast path refuses (both framings): 502', async () => {
    h.pub.responder = raw('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok');
    const session = connect();
    try {
      expect((await get(session, '/public/smuggle')).status).toBe(502);
    } finally {
      session.close();
    }
  });
});

describe('the stand-in socket Node runs the session on (http2/stand-in-socket.ts)', () => {
  it('a session the server destroys closes the client connection', async () => {
    const session = connect();
    try {
      expect((await get(session, '/public/one')).status).toBe(200);
      const closed = new Promise((r) => session.once('close', r));
      // Every session the server holds, as close() does after its grace period.
      for (const s of (h.server as unknown as { sessions: Set<http2.ServerHttp2Session> }).sessions)
        s.destroy();
      await closed;
      expect(session.destroyed).toBe(true);
    } finally {
      session.destroy();
    }
  });

  it('many streams of one connection at once: each its own answer', async () => {
    const session = connect();
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => get(session, `/public/m${i}`)));
      expect(answers.map((a) => a.body.toString())).toEqual(
        Array.from({ length: 50 }, (_, i) => `pub GET /public/m${i} 0`),
      );
    } finally {
      session.close();
    }
  });
});
