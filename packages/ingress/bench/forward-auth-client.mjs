// CPU per forward-auth subrequest on the proxy's side: the client forward auth used before
// auth-keepalive* (an undici Agent, keep-alive 4 s, inline here) against auth-connections.ts with
// Portico's default pool (the same Agent) and with `auth-keepalive: 32` (nginx's upstream
// keep-alive: an undici Client per connection, kept or closed by auth-connections.ts). The same
// subrequest (ForwardAuth's 14 header fields, GET, body read to its end) to an auth server in a
// child process (its CPU is not counted), 16 at a time, rounds alternating.
// Run: npx tsc -b && node_modules/.bin/node packages/ingress/bench/forward-auth-client.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { Agent } from 'undici';
import { AuthConnections } from '../dist/auth-connections.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const CONCURRENCY = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const server = spawn(
  process.execPath,
  [
    '-e',
    `const s = require('node:http').createServer((q, r) => r.writeHead(200, { 'x-auth-user': 'alice' }).end('ok'));
     s.keepAliveTimeout = 30000;
     s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [line] = await once(server.stdout, 'data');
const port = Number(String(line).trim());
const url = new URL(`http://127.0.0.1:${port}/oauth2/auth?for=shop.example.com`);

const headers = [
  'accept',
  '*/*',
  'cookie',
  '_oauth2_proxy=c2Vzc2lvbg; theme=dark',
  'user-agent',
  'curl/8.5.0',
  'x-original-url',
  'https://shop.example.com/cart?id=1',
  'x-original-method',
  'GET',
  'x-sent-from',
  'nginx-ingress-controller',
  'x-real-ip',
  '192.0.2.7',
  'x-forwarded-for',
  '192.0.2.7',
  'x-auth-request-redirect',
  '/cart?id=1',
  'x-request-id',
  '0123456789abcdef0123456789abcdef',
];

const undiciAgent = new Agent({ connect: { timeout: 5_000 }, keepAliveTimeout: 4_000 });
const connections = new AuthConnections(5_000);
const keepalive = { connections: 32, requests: 1000, timeoutSeconds: 60, shareVars: false };

const clients = {
  'undici Agent (before)': async () => {
    const res = await undiciAgent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'GET',
      headers,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
      signal: globalThis.AbortSignal.timeout(10_000),
    });
    await res.body.dump();
    return res.statusCode;
  },
  'default pool (now)': async () =>
    (await connections.request(url, 'GET', headers, undefined, 10_000)).status,
  'auth-keepalive 32': async () => (await connections.request(url, 'GET', headers, keepalive, 10_000)).status,
};

async function run(send, n) {
  let next = 0;
  const worker = async () => {
    while (next++ < n) if ((await send()) !== 200) throw new Error('not 200');
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

for (const send of Object.values(clients)) await run(send, 2_000); // warm-up
console.log(
  `N=${N} subrequests per round, ${CONCURRENCY} at a time; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const results = Object.fromEntries(Object.keys(clients).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++)
  for (const [name, send] of Object.entries(clients)) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(send, N);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    results[name].push({ usPer: (cpu.user + cpu.system) / N, rps: (N * 1000) / ms });
  }
for (const [name, rounds] of Object.entries(results))
  console.log(
    `${name.padEnd(30)} CPU µs/subrequest ${rounds.map((r) => r.usPer.toFixed(1)).join(' / ')}   subrequests/s ${rounds.map((r) => Math.round(r.rps)).join(' / ')}`,
  );
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
await undiciAgent.close();
await connections.close();
server.kill();
