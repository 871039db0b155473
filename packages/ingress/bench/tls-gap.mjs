// How much more Portico costs than the Node floor over TLS than over plain HTTP, without wrk and
// without a cluster: four child processes, each one server in one process (Portico's
// IngressServer, or the floor's relay of floor-relay.mjs, each plain and TLS), take turns under the
// same load of TLS_GAP_CLIENTS (8) keep-alive clients in this process; a pod here answers each
// request with nginx's head and a 2-byte body. Each child reports its own CPU time per request, so
// the clients' and the pod's work is not counted. Rounds alternate the four; the medians and the
// two gaps are printed.
// Usage: node packages/ingress/bench/tls-gap.mjs [rounds, 6] [seconds per round, 3]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect as connectPlain } from 'node:net';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { floorRelay } from './floor-relay.mjs';
import { oneRouteState } from './one-route.mjs';

const HOST = 'bench.example.com';
const CLIENTS = Number(process.env.TLS_GAP_CLIENTS ?? 8);
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nA\n',
  'latin1',
);
const REQUEST = Buffer.from(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 'latin1');

if (process.argv[2] === 'serve') await serve(process.argv[3], Number(process.argv[4]));
else await drive(Number(process.argv[2] ?? 6), Number(process.argv[3] ?? 3));

/** A child: one server of `kind`, its port sent to the parent, CPU per request on request. */
async function serve(kind, podPort) {
  const [who, proto] = kind.split('-');
  const tls = proto === 'https';
  let port;
  if (who === 'portico') {
    const { compile } = await import('../dist/compile.js');
    const { IngressServer } = await import('../dist/server.js');
    const state = oneRouteState({ host: HOST, service: 'a', podAddress: '127.0.0.1', podPort });
    const server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: tls ? 0 : null });
    server.setTable(compile(state, { version: 1 }));
    const ports = await server.listen();
    port = tls ? ports.httpsPort : ports.httpPort;
  } else {
    const { selfSignedPair } = await import('../dist/certs.js');
    const relay = floorRelay('127.0.0.1', podPort);
    const server = tls ? createTlsServer(selfSignedPair(HOST), relay) : createServer(relay);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = server.address().port;
  }
  // The parent gone (ended or crashed): so is this child.
  process.once('disconnect', () => process.exit(0));
  let since;
  process.on('message', (m) => {
    if (m === 'start') since = process.cpuUsage();
    else {
      const cpu = process.cpuUsage(since);
      process.send({ cpu: cpu.user + cpu.system });
    }
  });
  process.send({ port });
}

async function drive(rounds, seconds) {
  const pod = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.on('data', (d) => {
      for (let i = d.indexOf('\r\n\r\n'); i >= 0; i = d.indexOf('\r\n\r\n', i + 4)) socket.write(RESPONSE);
    });
  });
  pod.listen(0, '127.0.0.1');
  await once(pod, 'listening');
  const kinds = ['portico-http', 'floor-http', 'portico-https', 'floor-https'];
  const children = {};
  for (const kind of kinds) {
    const child = fork(fileURLToPath(import.meta.url), ['serve', kind, String(pod.address().port)]);
    const [{ port }] = await once(child, 'message');
    children[kind] = { child, port, results: [] };
  }
  const load = async (kind) => {
    const { child, port } = children[kind];
    let answered = 0;
    let stopped = false;
    const sockets = [];
    for (let c = 0; c < CLIENTS; c++) {
      const socket = kind.endsWith('https')
        ? connectTls({
            port,
            host: '127.0.0.1',
            servername: HOST,
            rejectUnauthorized: false,
            ALPNProtocols: ['http/1.1'],
          })
        : connectPlain({ port, host: '127.0.0.1' });
      socket.setNoDelay(true);
      socket.on('error', () => socket.destroy());
      socket.on('data', (d) => {
        for (let i = d.indexOf('A\n'); i >= 0; i = d.indexOf('A\n', i + 2)) {
          answered++;
          if (!stopped) socket.write(REQUEST);
        }
      });
      socket.once(kind.endsWith('https') ? 'secureConnect' : 'connect', () => socket.write(REQUEST));
      sockets.push(socket);
    }
    await sleep(500); // connected and warm
    child.send('start');
    const n0 = answered;
    await sleep(seconds * 1000);
    child.send('stop');
    const n = answered - n0;
    const [{ cpu }] = await once(child, 'message');
    stopped = true;
    for (const s of sockets) s.destroy();
    return cpu / n;
  };
  for (const kind of kinds) await load(kind); // warm-up
  for (let r = 0; r < rounds; r++)
    for (const kind of r % 2 ? [...kinds].reverse() : kinds) children[kind].results.push(await load(kind));
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const m = {};
  for (const kind of kinds) {
    m[kind] = median(children[kind].results);
    console.log(
      `${kind}: ${m[kind].toFixed(2)} µs (${children[kind].results.map((x) => x.toFixed(2)).join(' / ')})`,
    );
  }
  console.log(
    `Portico above the floor: plain ${(m['portico-http'] - m['floor-http']).toFixed(2)} µs, TLS ${(m['portico-https'] - m['floor-https']).toFixed(2)} µs`,
  );
  for (const { child } of Object.values(children)) child.kill();
  pod.close();
  process.exit(0);
}
