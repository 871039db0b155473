/**
 * Slow clients: heads and bodies that trickle in, held past the proxies' timeouts (1 s for a head,
 * 2 s for a whole request in this suite). What must hold: the client is cut off, no pod connection
 * stays open with an unfinished request, and nothing of the unfinished request is reused.
 */
import { get, req, type Case, type Outcome, type RunContext } from '../case.js';
import { openSocket, type ClientResult } from '../client.js';
import { defaultScript } from '../pods.js';

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

/** 32 MiB the pod writes as fast as its socket takes them. */
const BIG = 32 * 1024 * 1024;
const bigPod = (r: { target: string; method: string }) =>
  r.target === '/public/big'
    ? {
        write: [
          `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${BIG}\r\n\r\n`,
          ...Array.from({ length: 32 }, () => Buffer.alloc(1024 * 1024, 0x61)),
        ],
      }
    : defaultScript(r as never);

/**
 * A keep-alive client that asks for 32 MiB, pipelines a second request, and never reads: after
 * 4 s it reads what is left for a moment and goes. Both proxies time such a client out (nginx's
 * send_timeout 1 s, proxy_buffering off as ingress-nginx; Portico's upstreamBodyTimeout, 2 s here).
 */
const neverReads =
  (tls: boolean) =>
  async (ctx: RunContext): Promise<ClientResult[]> => {
    const t0 = Date.now();
    const sock = openSocket(ctx.endpoint(tls));
    const chunks: Buffer[] = [];
    let closed = false;
    let reset = false;
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => (reset = true));
    sock.on('close', () => (closed = true));
    const sent = `${get('/public/big')}${get('/public/after')}`;
    await new Promise((r) => sock.once(tls ? 'secureConnect' : 'connect', r));
    sock.write(sent);
    sock.pause();
    await new Promise((r) => setTimeout(r, 4_000));
    sock.resume();
    await new Promise((r) => setTimeout(r, 1_000));
    sock.destroy();
    // Only the head of what arrived: the body is 32 MiB of 'a'.
    const received = Buffer.concat(chunks);
    const text = received.subarray(0, 300).toString('latin1');
    const summary = `${text.slice(0, text.indexOf('\r\n\r\n') + 4)}[${received.length} bytes in all]${received.includes('/public/after') ? ' /public/after' : ''}`;
    return [{ sent, received: Buffer.from(summary, 'latin1'), closed, reset, ms: Date.now() - t0 }];
  };

/** The pod connection of /public/big closed within the send timeout (and slack), nothing left open. */
const bigReleased = (o: Outcome): string[] => {
  const problems: string[] = [];
  const conn = o.conns.find((k) => k.pod === 'public' && Buffer.concat(k.bytes).includes('/public/big'));
  if (!conn) return ['no pod connection carried /public/big'];
  if (!conn.closed) problems.push('the pod connection of the unread response is still open');
  else if (conn.closed - conn.opened > 4_000)
    problems.push(`the pod connection of the unread response was held ${conn.closed - conn.opened} ms`);
  const client = o.clients[0]!;
  if (!client.closed) problems.push('the client that read nothing was not cut off');
  if (client.received.toString('latin1').includes('/public/after'))
    problems.push('the pipelined request was answered after a response that never finished');
  return problems;
};

export const SLOW: Case[] = [
  {
    name: 'slow: a keep-alive client that never reads a 32 MiB response, a request pipelined behind it',
    pod: bigPod,
    run: neverReads(false),
    check: bigReleased,
  },
  {
    name: 'slow: a keep-alive client that never reads a 32 MiB response, a request pipelined behind it (TLS)',
    pod: bigPod,
    run: neverReads(true),
    check: bigReleased,
  },
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
