/**
 * A demo "pod": a tiny HTTP server on the pod's own IP and port inside a node namespace. Every
 * answer names the pod and the node that served it, which is what the lab's tests check.
 *
 *   node pod.js POD_NAME NODE_NAME IP PORT
 */
import { createServer } from 'node:http';

const [name, node, ip, port] = process.argv.slice(2);
if (!name || !node || !ip || !port) {
  console.error('usage: pod.js POD_NAME NODE_NAME IP PORT');
  process.exit(2);
}

const server = createServer((req, res) => {
  const body = `${JSON.stringify({ pod: name, node, host: req.headers.host ?? null, path: req.url })}\n`;
  res.writeHead(200, { 'content-type': 'application/json', 'x-pod': name, 'x-node': node });
  res.end(body);
});
server.keepAliveTimeout = 1_000;
server.listen(Number(port), ip, () => console.log(`pod ${name} on ${node} serving http://${ip}:${port}/`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
