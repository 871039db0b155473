/**
 * Issue 11, the one-line crash: a request line with an HTTP version other than 1.0 or 1.1 (llhttp
 * takes `HTTP/2.0` and `HTTP/0.9` as parsed requests) reached proxy.handle, which took it for an
 * HTTP/2 stream and threw (`Cannot read properties of undefined (reading 'endAfterHeaders')`),
 * killing the worker. Every such version gets 505 and a closed connection, on every plane, and the
 * proxy goes on serving.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HOST,
  PLANES,
  RawClient,
  sample,
  send,
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
});

const VERSIONS = ['HTTP/2.0', 'HTTP/1.2', 'HTTP/3.0', 'HTTP/0.9', 'HTTP/9.9'];

describe.each(PLANES)('%s', (plane) => {
  it.each(VERSIONS)('%s: 505, connection closed, nothing reaches the pod', async (version) => {
    const { text, closed } = await sendUntilClose(
      h,
      plane,
      `GET /public/v ${version}\r\nHost: ${HOST}\r\n\r\n`,
    );
    expect(statuses(text)).toEqual([505]);
    expect(closed).toBe(true);
    expect(h.pub.requests.map((r) => r.target)).not.toContain('/public/v');
    // The proxy still serves.
    const after = await send(h, plane, `GET /public/after HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    expect(statuses(after.text)).toEqual([200]);
  });

  it('HTTP/2.0 with a body, and as an Upgrade request: 505 too', async () => {
    for (const req of [
      `POST /public/v HTTP/2.0\r\nHost: ${HOST}\r\nContent-Length: 3\r\n\r\nabc`,
      `GET /public/v HTTP/2.0\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    ]) {
      const { text } = await send(h, plane, req);
      expect(statuses(text)).toEqual([505]);
    }
    expect(h.pub.requests.map((r) => r.target)).not.toContain('/public/v');
  });
});

it('the HTTP/2 connection preface on the plain port is refused, not taken for a request', async () => {
  const { text, closed } = await sendUntilClose(h, 'fast-http', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  expect(statuses(text)).toEqual([505]);
  expect(closed).toBe(true);
});

it('counts the refusals in portico_ingress_connection_errors_total', async () => {
  const before = await sample(h.metrics, 'portico_ingress_connection_errors_total', { reason: 'version' });
  const c = new RawClient(h, 'fast-http');
  await c.write(`GET /public/v HTTP/2.0\r\nHost: ${HOST}\r\n\r\n`);
  await c.responses(1);
  c.destroy();
  expect(await sample(h.metrics, 'portico_ingress_connection_errors_total', { reason: 'version' })).toBe(
    before + 1,
  );
});
