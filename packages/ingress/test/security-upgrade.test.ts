/**
 * Issue 11, upgrade without a 101: after an Upgrade request that the pod answered with a plain
 * 200, the proxy kept the connection as a raw tunnel to that pod, so every later request on it
 * reached the pod unrouted. A tunnel is now opened only on a real 101 from the pod, only for the
 * protocol the client asked for, and never for h2c (an h2c tunnel would carry HTTP/2 requests past
 * routing): after any other answer the connection is closed, and bytes the client sent after the
 * upgrade request never reach the pod.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  field,
  h2Get,
  H2Raw,
  HOST,
  PLANES,
  RawClient,
  sendUntilClose,
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
});

const WS =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
const H2C = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA';
const NEXT = `GET /api/next HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

/** No later request reached the pod unrouted: /api/next is nowhere in what the pub pod received. */
function noBypass(): void {
  expect(h.pub.bytes).not.toContain('/api/next');
  expect(h.pub.requests.map((r) => r.target)).not.toContain('/api/next');
}

describe.each(PLANES)('%s', (plane) => {
  it.each([
    ['websocket', WS],
    ['h2c', H2C],
  ])(
    'Upgrade: %s answered with 200: no tunnel; the next request is routed again or the connection closed',
    async (_n, upgrade) => {
      // Pipelined: the second request is already in flight when the first is answered.
      const c = new RawClient(h, plane);
      await c.write(`GET /public/plain HTTP/1.1\r\nHost: ${HOST}\r\n${upgrade}\r\n\r\n${NEXT}`);
      const { text } = await c.until((t) => statuses(t).length >= 2);
      c.destroy();
      const codes = statuses(text);
      expect(codes[0]).toBe(200);
      noBypass();
      // Either it was answered, by the pod its rule routes to, or the connection was closed unanswered.
      if (codes.length > 1) {
        expect(codes).toEqual([200, 200]);
        expect(text).toContain('api GET /api/next');
      }
    },
  );

  it('the same, with the next request sent after the 200 arrived', async () => {
    const c = new RawClient(h, plane);
    await c.write(`GET /public/plain HTTP/1.1\r\nHost: ${HOST}\r\n${WS}\r\n\r\n`);
    await c.responses(1);
    await c.write(NEXT);
    const { text } = await c.until(() => statuses(c.text).length >= 2, 1_000);
    c.destroy();
    noBypass();
    const codes = statuses(text);
    if (codes.length > 1) expect(text).toContain('api GET /api/next');
  });

  it('Upgrade: h2c is never forwarded as an upgrade, so a pod cannot switch to HTTP/2 behind routing', async () => {
    const c = new RawClient(h, plane);
    await c.write(`GET /public/ws HTTP/1.1\r\nHost: ${HOST}\r\n${H2C}\r\n\r\n${NEXT}`);
    const { text } = await c.until((t) => statuses(t).length >= 2);
    c.destroy();
    expect(statuses(text)[0]).toBe(200);
    const got = h.pub.requests.find((r) => r.target === '/public/ws')!;
    expect(field(got.fields, 'upgrade')).toBeUndefined();
    expect(field(got.fields, 'http2-settings')).toBeUndefined();
    noBypass();
  });

  it('a 101 for another protocol than the one asked: 502, connection closed, nothing tunnelled', async () => {
    const { text, closed } = await sendUntilClose(
      h,
      plane,
      `GET /public/ws-other HTTP/1.1\r\nHost: ${HOST}\r\n${WS}\r\n\r\n${NEXT}`,
    );
    expect(statuses(text)).toEqual([502]);
    expect(closed).toBe(true);
    noBypass();
  });

  it('a real 101 for the protocol asked opens the tunnel', async () => {
    const c = new RawClient(h, plane);
    await c.write(`GET /public/ws HTTP/1.1\r\nHost: ${HOST}\r\n${WS}\r\n\r\n`);
    await c.until((t) => t.includes('\r\n\r\n'));
    expect(c.text).toMatch(/^HTTP\/1\.1 101 /);
    expect(c.text.toLowerCase()).toContain('upgrade: websocket');
    await c.write('ping-through-tunnel');
    const { text } = await c.until((t) => t.endsWith('ping-through-tunnel'));
    c.destroy();
    expect(text.endsWith('ping-through-tunnel')).toBe(true);
  });
});

describe('HTTP/2', () => {
  it('an upgrade header in a request is refused (connection-specific), nothing reaches a pod', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.request([...h2Get('/public/ws'), ['upgrade', 'websocket']]);
      const status = await c.status(id);
      expect(status === 'reset' || status === 400).toBe(true);
    } finally {
      c.close();
    }
    expect(h.pub.requests).toHaveLength(0);
  });

  it('an extended CONNECT (RFC 8441) is refused, nothing reaches a pod', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.request([
        [':method', 'CONNECT'],
        [':protocol', 'websocket'],
        [':scheme', 'https'],
        [':authority', HOST],
        [':path', '/public/ws'],
      ]);
      const status = await c.status(id);
      expect(status === 'reset' || status === 'goaway' || (typeof status === 'number' && status >= 400)).toBe(
        true,
      );
    } finally {
      c.close();
    }
    expect(h.pub.requests).toHaveLength(0);
  });
});
