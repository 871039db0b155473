/**
 * Upgrades: a tunnel is opened only on a real 101 for the protocol asked for; a 200 (or anything
 * else) to an Upgrade request leaves the connection an HTTP connection whose next request is routed.
 */
import { get, req, type Case, type PodRequest } from '../case.js';
import { marker, ok } from '../pods.js';

const WS = [
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
];
const H2C = [
  'Connection: Upgrade, HTTP2-Settings',
  'Upgrade: h2c',
  'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA',
];
const upgradeReq = (path: string, lines: string[]) =>
  req([`GET ${path} HTTP/1.1`, 'Host: app.example', ...lines]);

const switching = (proto: string) => (r: PodRequest) =>
  /upgrade/i.test(r.fields.find(([k]) => k.toLowerCase() === 'upgrade')?.[1] ?? '') ||
  r.fields.some(([k]) => k.toLowerCase() === 'upgrade')
    ? {
        write: [`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${proto}\r\nConnection: Upgrade\r\n\r\n`],
        then: 'tunnel' as const,
      }
    : ok(r);

/** The second request, sent on the same connection after the answer to the first. */
const after = (first: string, second = get('/api/after')): Case['send'] => [first, 300, second];

export const UPGRADES: Case[] = [
  {
    name: 'upgrades: websocket answered by 200, then a request for another route',
    send: after(upgradeReq('/public/ws', WS)),
  },
  {
    name: 'upgrades: websocket answered by 200, then a request for another host',
    send: after(upgradeReq('/public/ws', WS), get('/x', 'other.example')),
  },
  {
    name: 'upgrades: websocket answered by 200 (TLS), then a request for another route',
    tls: true,
    send: after(upgradeReq('/public/ws', WS)),
  },
  {
    name: 'upgrades: h2c answered by 200, then a request for another route',
    send: after(upgradeReq('/public/h2c', H2C)),
  },
  {
    name: 'upgrades: h2c answered by 200 (TLS), then a request for another route',
    tls: true,
    send: after(upgradeReq('/public/h2c', H2C)),
  },
  {
    name: 'upgrades: websocket answered by 404, then a request for another route',
    pod: (r) => (r.target === '/public/ws' ? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' : ok(r)),
    send: after(upgradeReq('/public/ws', WS)),
  },
  {
    name: 'upgrades: websocket answered by 426, then a request for another route',
    pod: (r) =>
      r.target === '/public/ws' ? 'HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n' : ok(r),
    send: after(upgradeReq('/public/ws', WS)),
  },
  {
    name: 'upgrades: websocket with the next request pipelined behind it, answered by 200',
    send: upgradeReq('/public/ws', WS) + get('/api/after'),
  },
  {
    name: 'upgrades: websocket answered by 101, data echoed',
    pod: switching('websocket'),
    send: [upgradeReq('/public/ws', WS), 200, 'hello through the tunnel'],
    options: { until: (t) => t.includes('hello through the tunnel') },
  },
  {
    name: 'upgrades: websocket answered by 101 for h2c (not what was asked)',
    pod: switching('h2c'),
    send: [upgradeReq('/public/ws', WS), 200, get('/api/after')],
  },
  {
    name: 'upgrades: unsolicited 101 to a plain GET',
    pod: (r) =>
      r.target === '/public/x'
        ? {
            write: ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
            then: 'tunnel',
          }
        : ok(r),
    send: [get('/public/x'), 200, get('/api/after')],
    why: 'Portico refuses a 101 the client did not ask for (502) and the connection stays HTTP, so the next request is routed and forwarded; nginx relays the 101 and tunnels',
    check: (o) =>
      o.parsed[0]?.responses.some((r) => r.body.toString('latin1') === marker('api', 'GET', '/api/after'))
        ? []
        : [
            `the request after the refused 101 did not get its pod's answer: ${JSON.stringify(o.clients[0]!.received.toString('latin1').slice(0, 400))}`,
          ],
  },
  {
    name: 'upgrades: Upgrade without Connection: upgrade',
    send: after(upgradeReq('/public/ws', ['Upgrade: websocket'])),
  },
  {
    name: 'upgrades: Connection: upgrade without Upgrade',
    send: after(upgradeReq('/public/ws', ['Connection: Upgrade'])),
  },
  {
    name: 'upgrades: websocket on a POST with a body',
    send: after(req(['POST /public/ws HTTP/1.1', 'Host: app.example', ...WS, 'Content-Length: 5'], 'hello')),
  },
  {
    name: 'upgrades: websocket over HTTP/1.0',
    send: after(req(['GET /public/ws HTTP/1.0', 'Host: app.example', ...WS])),
  },
  {
    name: 'upgrades: websocket to an unknown host',
    send: after(req(['GET /ws HTTP/1.1', 'Host: unknown.example', ...WS])),
  },
  {
    name: 'upgrades: websocket, 101 with bytes of a second response behind it',
    pod: (r) =>
      r.target === '/public/ws'
        ? {
            write: [
              'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
            ],
            then: 'tunnel',
          }
        : ok(r),
    send: [upgradeReq('/public/ws', WS), 300],
  },
];
