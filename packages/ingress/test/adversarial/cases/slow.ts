/**
 * Slow clients: heads and bodies that trickle in, held past the proxies' timeouts (1 s for a head,
 * 2 s for a whole request in this suite). What must hold: the client is cut off, no pod connection
 * stays open with an unfinished request, and nothing of the unfinished request is reused.
 */
import { get, req, type Case, type Outcome } from '../case.js';

const LIMIT_MS = 2_000;

/** No pod connection held an unfinished request past the whole-request limit (plus slack). */
const podReleased = (o: Outcome): string[] =>
  o.conns.flatMap((k) => {
    if (!k.incomplete) return [];
    const held = (k.closed || Date.now()) - k.opened;
    return k.closed && held < LIMIT_MS + 1_500
      ? []
      : [
          `pod ${k.pod} connection with an unfinished request held ${held} ms${k.closed ? '' : ' and still open'}`,
        ];
  });

const trickle = (text: string, every: number, n: number): (string | number)[] =>
  Array.from({ length: n }, (_, i) => [text[i % text.length]!, every]).flat();

/** A body that stops coming, then the client leaves after `leaveMs` (a process must survive it). */
const leaves = (name: string, head: string[], leaveMs: number): Case => ({
  name: `slow: ${name}, client leaves after ${leaveMs} ms`,
  send: [req(head, 'x'.repeat(10)), leaveMs],
  options: { maxMs: leaveMs, quietMs: leaveMs },
  check: podReleased,
});

export const SLOW: Case[] = [
  {
    // The pod has answered; the body's deadline still runs out later, with the exchange over.
    name: 'slow: early answer to a chunked upload that then stalls past the deadline',
    answerOnHead: true,
    send: [
      req(
        ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'],
        '5\r\nhello\r\n',
      ),
      3_000,
    ],
    options: { maxMs: 3_000, quietMs: 3_000 },
    check: podReleased,
  },
  {
    name: 'slow: early answer to a chunked upload that then stalls past the deadline (TLS)',
    tls: true,
    answerOnHead: true,
    send: [
      req(
        ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'],
        '5\r\nhello\r\n',
      ),
      3_000,
    ],
    options: { maxMs: 3_000, quietMs: 3_000 },
    check: podReleased,
  },
  leaves(
    'HTTP/1.0 body stalls',
    ['POST /public/upload HTTP/1.0', 'Host: app.example', 'Content-Length: 100'],
    500,
  ),
  leaves(
    'HTTP/1.0 body stalls',
    ['POST /public/upload HTTP/1.0', 'Host: app.example', 'Content-Length: 100'],
    2_500,
  ),
  leaves(
    'Expect: 100-continue body stalls',
    ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Expect: 100-continue', 'Content-Length: 100'],
    500,
  ),
  leaves(
    'Expect: 100-continue body stalls',
    ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Expect: 100-continue', 'Content-Length: 100'],
    2_500,
  ),
  leaves(
    'chunked body stalls',
    ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'],
    500,
  ),
  leaves(
    'chunked body stalls',
    ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'],
    2_500,
  ),
  leaves(
    'Content-Length body stalls',
    ['POST /public/upload HTTP/1.1', 'Host: app.example', 'Content-Length: 100'],
    500,
  ),
  {
    name: 'slow: head one byte every 200 ms',
    send: trickle(get('/public/slow-head'), 200, 20),
    options: { maxMs: 5_000 },
    check: (o) => (o.clients[0]!.closed ? [] : ['the proxy did not close a head that never finished']),
  },
  {
    name: 'slow: body stops half-way (Content-Length)',
    send: [
      req(['POST /public/upload HTTP/1.1', 'Host: app.example', 'Content-Length: 100'], 'x'.repeat(50)),
      3_500,
    ],
    options: { maxMs: 5_000, quietMs: 4_000 },
    check: podReleased,
  },
  {
    name: 'slow: chunked upload that never ends, one chunk every 300 ms',
    send: [
      req(['POST /public/upload HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'], ''),
      ...Array.from({ length: 14 }, () => ['1\r\nx\r\n', 300]).flat(),
    ],
    options: { maxMs: 5_000, quietMs: 4_000 },
    check: (o) => [...podReleased(o), ...(o.clients[0]!.closed ? [] : ['the client was not cut off'])],
  },
  {
    name: 'slow: chunked upload that never ends (TLS)',
    tls: true,
    send: [
      req(['POST /public/upload HTTP/1.1', 'Host: app.example', 'Transfer-Encoding: chunked'], ''),
      ...Array.from({ length: 14 }, () => ['1\r\nx\r\n', 300]).flat(),
    ],
    options: { maxMs: 5_000, quietMs: 4_000 },
    check: (o) => [...podReleased(o), ...(o.clients[0]!.closed ? [] : ['the client was not cut off'])],
  },
  {
    name: 'slow: Content-Length body one byte every 300 ms',
    send: [
      req(['POST /public/upload HTTP/1.1', 'Host: app.example', 'Content-Length: 20'], ''),
      ...Array.from({ length: 14 }, () => ['x', 300]).flat(),
    ],
    options: { maxMs: 5_000, quietMs: 4_000 },
    check: (o) => [...podReleased(o), ...(o.clients[0]!.closed ? [] : ['the client was not cut off'])],
  },
  {
    name: 'slow: 40 silent connections and one good client',
    clients: [
      ...Array.from({ length: 40 }, (_, i) => ({
        steps: [i % 2 ? 'GET /public/' : '', 1_800] as (string | number)[],
        concurrent: true,
        options: { maxMs: 2_500, quietMs: 2_500 },
      })),
      { steps: [get('/public/good')], startAfterMs: 300 },
    ],
    check: (o) => {
      const good = o.parsed.at(-1)?.responses.filter((r) => r.status === 200).length ?? 0;
      return good === 1 ? [] : ['the good client was not served while silent connections were open'];
    },
  },
];
