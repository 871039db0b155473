/**
 * What a pod sends back is held to the grammar a strict client parser (llhttp) holds it to before
 * any of it is relayed: conflicting framing fields even on a bodiless response, trailer lines that
 * are no field lines, chunk-size lines outside the strict syntax (test/adversarial/FINDINGS.md,
 * "Response framing"). Such a response is a 502, or cuts the client off, and never reaches the
 * client as sent; the pod connection is not reused.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HOST,
  PLANES,
  sendUntilClose,
  startHarness,
  statuses,
  waitFor,
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
  h.pub.responder = undefined;
});

/** [case, request method, the pod's answer, what must never reach the client] */
const BAD: [string, string, string, RegExp][] = [
  [
    'HEAD answered with Content-Length and Transfer-Encoding',
    'HEAD',
    'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n',
    /transfer-encoding/i,
  ],
  [
    '204 with Transfer-Encoding: gzip',
    'GET',
    'HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n',
    /gzip/i,
  ],
  [
    'an obs-folded trailer line',
    'GET',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n',
    /\r\n b\r\n/,
  ],
  [
    'a trailer line without a colon',
    'GET',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T a\r\n\r\n',
    /X-T a/,
  ],
  [
    'a chunk extension without a name',
    'GET',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\nd\r\n0\r\n\r\n',
    /1;\r\n/,
  ],
  [
    'whitespace after the chunk size',
    'GET',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n',
    /5 \r\n/,
  ],
];

describe.each(PLANES)('%s', (plane) => {
  it.each(BAD)('%s: not relayed as sent', async (_n, method, answer, never) => {
    h.pub.responder = (req, sock, pod) => {
      if (req.target === '/public/bad') sock.write(answer);
      else sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${pod.name.length}\r\n\r\n${pod.name}`);
    };
    const { text } = await sendUntilClose(
      h,
      plane,
      `${method} /public/bad HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      1_500,
    );
    // A 502 of our own, the client cut off before the malformed part went out, or (Node's path,
    // which re-frames what undici parsed) a well-formed response without it.
    expect(text).not.toMatch(never);
    if (plane.startsWith('fast')) expect(statuses(text).filter((s) => s !== 502)).toEqual([]);
    const bad = h.pub.requests.find((r) => r.target === '/public/bad')!;
    expect(await waitFor(() => h.pub.connOf(bad).closed)).toBe(true);
  });

  it('strict extensions and field-line trailers are relayed unchanged', async () => {
    const body = '5;a=b;c="d e"\r\nhello\r\n0\r\nX-T: t\r\n\r\n';
    h.pub.responder = (_req, sock) =>
      sock.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    const { text } = await sendUntilClose(
      h,
      plane,
      `GET /public/ok HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    );
    expect(statuses(text)).toEqual([200]);
    // The fast path relays the chunks as they came; Node's path re-chunks them.
    if (plane.startsWith('fast')) expect(text.endsWith(body)).toBe(true);
    else expect(text).toContain('hello');
  });
});
