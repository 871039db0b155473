// The floor of any HTTP/1.1 proxy written for Node: the least a Node process can do to relay a
// keep-alive request and its response, measured beside nginx and Portico in run.mjs (BENCH_FLOOR=1).
// Each client connection gets its own keep-alive connection to the backend; a request is relayed as
// read (no parsing, no header rewriting: wrk sends bodiless GETs, one per read), the response as read
// with only its Content-Length looked up to know where it ends. No routing, no limits, no logs:
// everything Portico does on top of this is what Portico can still make cheaper; what this costs
// against nginx is what Node costs.
// Usage: node node-floor.mjs WORKERS BACKEND_HOST BACKEND_PORT HTTP_PORT HTTPS_PORT CERT_FILE KEY_FILE
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [workers, backendHost, backendPort, httpPort, httpsPort, certFile, keyFile] = process.argv.slice(2);

if (cluster.isPrimary) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const relay = (client) => {
    client.setNoDelay(true);
    const pod = net.connect({ host: backendHost, port: Number(backendPort), noDelay: true });
    // Bytes of the current response still to come (head and body), once its head was seen.
    let remaining = 0;
    pod.on('data', (chunk) => {
      if (remaining === 0) {
        const headEnd = chunk.indexOf('\r\n\r\n');
        const length = /content-length: *(\d+)/i.exec(chunk.latin1Slice(0, headEnd));
        remaining = headEnd + 4 + Number(length?.[1] ?? 0);
      }
      remaining -= chunk.length;
      if (remaining < 0) remaining = 0;
      client.write(chunk);
    });
    client.on('data', (chunk) => pod.write(chunk));
    const close = () => {
      client.destroy();
      pod.destroy();
    };
    for (const s of [client, pod]) {
      s.on('error', close);
      s.on('close', close);
    }
  };
  net.createServer(relay).listen(Number(httpPort), '127.0.0.1');
  tls
    .createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, relay)
    .listen(Number(httpsPort), '127.0.0.1');
}
