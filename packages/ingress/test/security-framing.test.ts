/**
 * Framing and header syntax the adversarial suite (test/adversarial/FINDINGS.md) found Portico
 * forwarding where nginx refuses: a transfer coding other than chunked (it was dropped and the pod
 * given coded bytes as plain), Transfer-Encoding in HTTP/1.0 (faulty framing, RFC 9112 §6.1), and
 * a Host that is no authority. None reaches a pod now; the connection is closed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  H2Raw,
  HOST,
  PLANES,
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
  h.api.reset();
});

const SMUGGLED = `GET /api/smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

const forwarded = (): string[] =>
  [...h.pub.requests, ...h.api.requests].map((r) => r.target).filter((t) => t !== '/public/handover');

describe.each(PLANES)('%s', (plane) => {
  it.each([
    ['gzip, chunked', 'Transfer-Encoding: gzip, chunked', 501],
    ['identity, chunked', 'Transfer-Encoding: identity, chunked', 501],
    ['two fields, identity then chunked', 'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked', 501],
    ['chunked, not last', 'Transfer-Encoding: chunked, gzip', 400],
  ])('Transfer-Encoding %s: refused, nothing forwarded', async (_n, te, status) => {
    const { text, closed } = await sendUntilClose(
      h,
      plane,
      `POST /public/upload HTTP/1.1\r\nHost: ${HOST}\r\n${te}\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    );
    expect(statuses(text)).toEqual([status]);
    expect(closed).toBe(true);
    expect(forwarded()).toEqual([]);
  });

  it('chunked in HTTP/1.0: 400, nothing forwarded', async () => {
    const { text } = await sendUntilClose(
      h,
      plane,
      `POST /public/upload HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    );
    expect(statuses(text)).toEqual([400]);
    expect(forwarded()).toEqual([]);
  });

  it.each(['s.test:80:80', 's.test x', 'user@s.test', 's.test:8o'])(
    'Host %s: 400, nothing forwarded',
    async (host) => {
      const { text } = await send(h, plane, `GET /public/x HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect(statuses(text)).toEqual([400]);
      expect(forwarded()).toEqual([]);
    },
  );

  it('Host with a port and in upper case still routes', async () => {
    const { text } = await send(h, plane, `GET /public/x HTTP/1.1\r\nHost: S.TEST:8080\r\n\r\n`);
    expect(statuses(text)).toEqual([200]);
  });

  it('CONNECT: 405, closed, nothing forwarded', async () => {
    const { text, closed } = await sendUntilClose(
      h,
      plane,
      `CONNECT /public/x HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /public/same HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    );
    expect(statuses(text)).toEqual([405]);
    expect(closed).toBe(true);
    expect(forwarded()).toEqual([]);
  });
});

describe('HTTP/2', () => {
  it('CONNECT: refused, nothing forwarded', async () => {
    const c = new H2Raw(h);
    try {
      const id = await c.request([
        [':method', 'CONNECT'],
        [':authority', HOST],
      ]);
      const status = await c.status(id);
      expect(status === 405 || status === 'reset' || status === 'goaway').toBe(true);
    } finally {
      c.close();
    }
    expect(forwarded()).toEqual([]);
  });
});
