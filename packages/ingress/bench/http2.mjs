// HTTP/2 through the proxy, in one process: a node:http2 client, the proxy (IngressServer, HTTP/2
// over TLS through the request guard) and a pod answering `ok`. Prints the latency of sequential
// requests and the rate at 50 concurrent streams on one session, with the process's CPU per request.
// Usage: npx tsc -b && node packages/ingress/bench/http2.mjs [requests]
// To compare with another commit, check it out, build, and run the same script.
import http2 from 'node:http2';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { compile, IngressServer } from '@portico/ingress';
import { oneRouteState } from './one-route.mjs';

const N = Number(process.argv[2] ?? 4000);
const pod = createServer((s) => {
  s.on('error', () => undefined);
  let buf = '';
  s.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
      buf = buf.slice(i + 4);
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  });
});
await new Promise((r) => pod.listen(0, '127.0.0.1', r));
const state = oneRouteState({
  host: 'app.example',
  service: 'pod',
  podAddress: '127.0.0.1',
  podPort: pod.address().port,
});
const server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
server.setTable(compile(state, { version: 1 }));
const ports = await server.listen();
const session = http2.connect(`https://127.0.0.1:${ports.httpsPort}`, {
  servername: 'app.example',
  rejectUnauthorized: false,
});
const one = () =>
  new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/x', ':authority': 'app.example' });
    req.on('error', reject);
    req.resume();
    req.on('close', resolve);
    req.end();
  });
for (let i = 0; i < 50; i++) await one();
const cpu0 = process.cpuUsage();
let t0 = performance.now();
for (let i = 0; i < 300; i++) await one();
const sequential = (performance.now() - t0) / 300;
t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 50 }, async () => {
    while (next++ < N) await one();
  }),
);
const rate = (N / (performance.now() - t0)) * 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  `sequential ${sequential.toFixed(2)} ms/request; 50 concurrent streams: ${rate.toFixed(0)} requests/s; ` +
    `${((cpu.user + cpu.system) / (N + 300)).toFixed(0)} us CPU/request (client, proxy and pod together)`,
);
session.close();
await server.close();
pod.close();
