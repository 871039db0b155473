// The whole plain-HTTP fast path in one process, sockets included: a Portico listener (TREE's
// dist/), a pod answering every request with nginx's head and a 2-byte body, and 8 keep-alive
// clients each sending wrk's request as soon as the last answer arrived. CPU time of the process
// (client and pod included, the same for every tree) per request. For what per-request-js.mjs does
// not see: socket reads, clock reads, a pod connection's own work. Run trees alternately.
// Usage: node packages/ingress/bench/fast-path-loop.mjs [TREE] [seconds per round, 3]
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneRouteState } from './one-route.mjs';

const tree = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const seconds = Number(process.argv[3] ?? 3);
const d = `${tree}/packages/ingress/dist`;
const { compile } = await import(`${d}/compile.js`);
const { IngressServer } = await import(`${d}/server.js`);

const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nA\n',
  'latin1',
);
const pod = createServer({ noDelay: true }, (socket) => {
  socket.on('data', (d) => {
    for (let i = d.indexOf('\r\n\r\n'); i >= 0; i = d.indexOf('\r\n\r\n', i + 4)) socket.write(RESPONSE);
  });
});
pod.listen(0, '127.0.0.1');
await once(pod, 'listening');
const podPort = pod.address().port;

const state = oneRouteState({
  host: 'bench.example.com',
  service: 'a',
  podAddress: '127.0.0.1',
  podPort,
});
const server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: null });
server.setTable(compile(state, { version: 1 }));
const { httpPort } = await server.listen();

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench.example.com\r\n\r\n', 'latin1');
let answered = 0;
for (let c = 0; c < 8; c++) {
  const socket = connect({ port: httpPort, host: '127.0.0.1', noDelay: true });
  // Each answer ends with the body `A\n`: one request out per answer in.
  socket.on('data', (d) => {
    for (let i = d.indexOf('A\n'); i >= 0; i = d.indexOf('A\n', i + 2)) {
      answered++;
      socket.write(REQUEST);
    }
  });
  socket.on('connect', () => socket.write(REQUEST));
}

const round = async () => {
  const cpu0 = process.cpuUsage();
  const n0 = answered;
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / (answered - n0);
};
await round(); // warm-up
const res = [];
for (let r = 0; r < 5; r++) res.push(await round());
const sorted = [...res].sort((a, b) => a - b);
console.log(
  `${tree}: CPU per request median ${sorted[2].toFixed(2)} µs (rounds ${res.map((x) => x.toFixed(2)).join(' / ')})`,
);
process.exit(0);
