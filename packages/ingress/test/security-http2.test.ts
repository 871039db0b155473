/**
 * HTTP/2 requests the adversarial suite (test/adversarial/FINDINGS.md) found forwarded where nginx
 * refuses them: a host field that contradicts :authority (we routed by host), a content-length
 * that the DATA frames contradict (the pod got a request the client never sent), and a rapid reset
 * of many streams (every reset request still reached the pod).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { h2Get, H2Raw, HOST, startHarness, waitFor, type Harness } from './security-kit.js';

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
