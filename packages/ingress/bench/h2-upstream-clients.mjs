// The two HTTP/2 clients to pods the ingress once had, side by side (issue 16): undici's Pool with
// allowH2 + useH2c (what upstreams.ts used for h2c backends) and node:http2 sessions (what
// upstream-h2.ts uses, now for GRPC, GRPCS and h2c). One h2c server answering `ok` with a
// grpc-status trailer, N requests with C in flight, three alternating rounds; the process's CPU per
// request (client and server together, so the difference is the client's) and the rate.
// Usage: node packages/ingress/bench/h2-upstream-clients.mjs [N=20000] [C=50]
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const N = Number(process.argv[2] ?? 20000);
const C = Number(process.argv[3] ?? 50);
const server = http2.createServer();
server.on('stream', (s) => {
  s.respond({ ':status': 200 }, { waitForTrailers: true });
  s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
  s.end('ok');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const pool = new Pool(origin, { connections: 256, pipelining: 100, allowH2: true, useH2c: true });
const viaUndici = () =>
  new Promise((resolve, reject) => {
    pool.dispatch(
      { path: '/', method: 'GET', headers: ['te', 'trailers'] },
      {
        onRequestStart() {},
        onResponseStart() {},
        onResponseData() {},
        onResponseEnd: () => resolve(),
        onResponseError: (_c, e) => reject(e),
      },
    );
  });
const session = http2.connect(origin);
const viaNode = () =>
  new Promise((resolve, reject) => {
    const s = session.request({ ':path': '/', te: 'trailers' }, { endStream: true });
    s.on('data', () => undefined);
    s.on('end', resolve);
    s.on('error', reject);
  });

async function run(name, request) {
  for (let i = 0; i < 2000; i++) await request(); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next++ < N) await request();
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / N;
  console.log(`${name}: ${Math.round(N / s)} req/s, ${us.toFixed(1)} µs CPU/request`);
}

for (let round = 0; round < 3; round++) {
  await run('undici h2c (upstreams.ts before)', viaUndici);
  await run('node:http2 (upstream-h2.ts)', viaNode);
}
await pool.close();
session.close();
server.close();
