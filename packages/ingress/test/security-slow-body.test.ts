/**
 * Issue 11, slow uploads: a request body is held to a whole-request deadline (requestTimeout) and
 * a minimum rate (bodyTimeout, then minBodyRate bytes a second: the body may take bodyTimeout plus
 * one second per minBodyRate bytes received) on both data planes, Content-Length and chunked, over
 * HTTP/1.1 and HTTP/2. A client that falls behind gets 408 and its connection (or stream) is closed,
 * and the pod connection carrying its unfinished request is closed too, never kept or reused.
 * Handed-over connections are held to the header timeout as well.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  h2Get,
  H2Raw,
  HOST,
  PLANES,
  RawClient,
  sample,
  send,
  startHarness,
  statuses,
  waitFor,
  type Harness,
  type Plane,
} from './security-kit.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    headersTimeout: 1_000,
    requestTimeout: 2_500,
    bodyTimeout: 500,
    minBodyRate: 1_000,
    keepAliveTimeout: 1_000,
  });
});

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  h.pub.reset();
});

/** Writes `piece` every `everyMs` until the proxy answers or closes; returns the answer and how long it took. */
async function drip(
  plane: Plane,
  head: string,
  piece: () => string,
  everyMs: number,
  limitMs = 6_000,
): Promise<{ text: string; closed: boolean; ms: number }> {
  const c = new RawClient(h, plane);
  await c.write(head);
  const t0 = Date.now();
  const timer = setInterval(() => void c.write(piece()), everyMs);
  try {
    const { text, closed } = await c.until((t) => t.includes('\r\n\r\n') && statuses(t).length > 0, limitMs);
    // The answer comes with the close.
    await c.until(() => false, 500);
    return { text, closed: c.closed || closed, ms: Date.now() - t0 };
  } finally {
    clearInterval(timer);
    c.destroy();
  }
}

/** The pod connection that carried the unfinished upload is closed. */
async function podConnectionClosed(): Promise<void> {
  const up = h.pub.requests.filter((r) => r.target === '/public/upload').map((r) => h.pub.connOf(r));
  expect(up.length).toBeGreaterThan(0);
  expect(await waitFor(() => up.every((c) => c.closed))).toBe(true);
}

describe.each(PLANES)('%s', (plane) => {
  it('a Content-Length body trickling below the minimum rate: 408 long before the request timeout', async () => {
    const r = await drip(
      plane,
      `POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100000\r\n\r\nfirst`,
      () => 'x'.repeat(10),
      100,
    );
    expect(statuses(r.text)).toEqual([408]);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(2_300);
    await podConnectionClosed();
  });

  it('a chunked upload that never ends, one small chunk every 100 ms: 408', async () => {
    const r = await drip(
      plane,
      `POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n`,
      () => 'a\r\n0123456789\r\n',
      100,
    );
    expect(statuses(r.text)).toEqual([408]);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(2_300);
    await podConnectionClosed();
  });

  it('a chunked upload fast enough for the rate still meets the whole-request deadline', async () => {
    const r = await drip(
      plane,
      `POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      () => `3e8\r\n${'y'.repeat(1000)}\r\n`,
      100,
    );
    expect(statuses(r.text)).toEqual([408]);
    expect(r.ms).toBeGreaterThan(1_500);
    expect(r.ms).toBeLessThan(4_000);
    await podConnectionClosed();
  });

  it('a body sent at once is served', async () => {
    const body = 'z'.repeat(50_000);
    const { text } = await send(
      h,
      plane,
      `POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(statuses(text)).toEqual([200]);
    expect(text).toContain('pub POST /public/upload 50000');
  });
});

describe.each(PLANES)('%s, early answer', (plane) => {
  // Node's own request timeout is what used to add a 408 after the pod's answer: no rate check here.
  let h2: Harness;
  beforeAll(async () => {
    h2 = await startHarness({
      headersTimeout: 1_000,
      requestTimeout: 1_500,
      bodyTimeout: 10_000,
      minBodyRate: 0,
    });
  });
  afterAll(async () => {
    await h2?.close();
  });

  it('a pod that answers a chunked upload early, then the upload stalls: one response, then close', async () => {
    const c = new RawClient(h2, plane);
    await c.write(
      `POST /public/early HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    );
    const { text, closed } = await c.until(() => false, 4_000);
    c.destroy();
    expect(statuses(text)).toEqual([200]);
    expect(text).not.toContain('408');
    expect(closed).toBe(true);
  });
});

describe('Node path after a hand-over', () => {
  it.each(['node-http', 'node-https'] as const)(
    '%s: an idle keep-alive connection is closed',
    async (plane) => {
      const c = new RawClient(h, plane);
      await c.write(`GET /public/idle HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      const t0 = Date.now();
      const { closed } = await c.until(() => false, 8_000);
      c.destroy();
      expect(closed).toBe(true);
      // keepAliveTimeout (1 s) plus Node's keepAliveTimeoutBuffer (1 s), with room for a loaded
      // machine (a clean-clone run at load 8 took just over 3 s); never held open indefinitely.
      expect(Date.now() - t0).toBeLessThan(5_000);
    },
  );

  it.each(['node-http', 'node-https'] as const)(
    '%s: a head sent byte by byte gets 408 within the header timeout',
    async (plane) => {
      const c = new RawClient(h, plane);
      await c.write('GET /public/slow HTTP/1.1\r\n');
      const t0 = Date.now();
      const timer = setInterval(() => void c.write('X'), 100);
      try {
        const { text } = await c.until(() => false, 5_000);
        expect(statuses(text)).toEqual([408]);
        expect(Date.now() - t0).toBeLessThan(3_000);
      } finally {
        clearInterval(timer);
        c.destroy();
      }
    },
  );
});

describe('HTTP/2', () => {
  it('a stream whose DATA trickles below the minimum rate gets 408 and its pod connection is closed', async () => {
    const c = new H2Raw(h);
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const id = await c.request(
        [...h2Get('/public/upload', 'POST'), ['content-length', '100000']],
        'first',
        true,
      );
      timer = setInterval(() => c.data(id, 'x'.repeat(10)), 100);
      const status = await c.status(id, 6_000);
      expect(status === 408 || status === 'reset').toBe(true);
      expect(Date.now() - t0).toBeLessThan(2_500);
    } finally {
      clearInterval(timer);
      c.close();
    }
    await podConnectionClosed();
  });

  it('counts slow bodies in portico_ingress_connection_errors_total', async () => {
    expect(
      await sample(h.metrics, 'portico_ingress_connection_errors_total', {
        plane: 'fast',
        reason: 'slow_body',
      }),
    ).toBeGreaterThan(0);
    expect(
      await sample(h.metrics, 'portico_ingress_connection_errors_total', {
        plane: 'node',
        reason: 'slow_body',
      }),
    ).toBeGreaterThan(0);
  });
});
