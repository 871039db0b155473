/**
 * Issue 11, request capture after an early answer: a pod that answers a POST before reading its
 * body leaves its connection with an unfinished request; returning it to the pool would write the
 * next client's request (cookies included) into that body. A pod connection whose request or
 * response is unfinished is never reused: it is closed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  h2Get,
  H2Raw,
  HOST,
  PLANES,
  RawClient,
  send,
  startHarness,
  statuses,
  waitFor,
  type Harness,
  type Plane,
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
});

const SECOND = `GET /public/second HTTP/1.1\r\nHost: ${HOST}\r\nCookie: session=victim\r\n\r\n`;

/** The victim's request after the early answer: it must be a request of its own, on a clean connection. */
async function victimIsServed(plane: Plane): Promise<void> {
  const { text } = await send(h, plane, SECOND);
  expect(statuses(text)).toEqual([200]);
  expect(text).toContain('pub GET /public/second');
  const second = h.pub.requests.filter((r) => r.target === '/public/second');
  expect(second).toHaveLength(1);
  for (const r of h.pub.requests) expect(r.body).not.toContain('session=victim');
}

/** The pod connection that carried /early was closed by the proxy. */
async function earlyConnectionClosed(): Promise<void> {
  const early = h.pub.requests.find((r) => r.target === '/public/early')!;
  expect(await waitFor(() => h.pub.connOf(early).closed)).toBe(true);
}

const BODIES: [string, string, string][] = [
  ['Content-Length body', 'Content-Length: 100', '0123456789'],
  ['chunked body', 'Transfer-Encoding: chunked', 'a\r\n0123456789\r\n'],
];

describe.each(PLANES)('%s', (plane) => {
  it.each(BODIES)(
    '%s cut short by an early answer: the pod connection is closed, not reused',
    async (_n, framing, part) => {
      const attacker = new RawClient(h, plane);
      await attacker.write(`POST /public/early HTTP/1.1\r\nHost: ${HOST}\r\n${framing}\r\n\r\n${part}`);
      const { text } = await attacker.responses(1);
      expect(statuses(text)).toEqual([200]);
      // The rest of the body may never come: whatever the client does, the pod connection is gone.
      await earlyConnectionClosed();
      await victimIsServed(plane);
      attacker.destroy();
    },
  );

  it('the whole body sent after the early answer is not taken for a request either', async () => {
    const attacker = new RawClient(h, plane);
    const smuggled = `GET /api/x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    await attacker.write(
      `POST /public/early HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${smuggled.length}\r\n\r\n`,
    );
    // (undici, on the Node path, sends the head with the first body bytes: no early answer there.)
    await attacker.responses(1, 500);
    await attacker.write(smuggled);
    await attacker.until(() => false, 300);
    attacker.destroy();
    await victimIsServed(plane);
    expect(h.api.requests).toHaveLength(0);
  });
});

describe('HTTP/2', () => {
  // Above 64 KiB: smaller HTTP/2 bodies are read whole before they are forwarded at all.
  it('a stream answered before its body ended closes its pod connection', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.request(
        [...h2Get('/public/early', 'POST'), ['content-length', '100000']],
        '0123456789',
        true,
      );
      expect(await c.status(id)).toBe(200);
      await earlyConnectionClosed();
      const next = await c.request([...h2Get('/public/next'), ['cookie', 'session=victim']]);
      expect(await c.status(next)).toBe(200);
    } finally {
      c.close();
    }
    expect(h.pub.requests.filter((r) => r.target === '/public/next')).toHaveLength(1);
    await victimIsServed('fast-http');
  });
});
