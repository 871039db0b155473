// The floor of any HTTP/1.1 proxy written for Node: the least a Node process can do to relay a
// keep-alive request and its response, measured beside nginx and Portico in run.mjs (BENCH_FLOOR=1),
// with floor-relay.mjs's relay. No routing, no limits, no logs:
// everything Portico does on top of this is what Portico can still make cheaper; what this costs
// against nginx is what Node costs.
// Usage: node node-floor.mjs WORKERS BACKEND_HOST BACKEND_PORT HTTP_PORT HTTPS_PORT CERT_FILE KEY_FILE
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { floorRelay } from './floor-relay.mjs';

const [workers, backendHost, backendPort, httpPort, httpsPort, certFile, keyFile] = process.argv.slice(2);

if (cluster.isPrimary) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const relay = floorRelay(backendHost, Number(backendPort));
  net.createServer(relay).listen(Number(httpPort), '127.0.0.1');
  tls
    .createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, relay)
    .listen(Number(httpsPort), '127.0.0.1');
}
