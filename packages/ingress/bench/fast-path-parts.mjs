// Micro-benchmarks behind issue 15's session 9 changes, one process, ns per call (median of 7 x 1e6):
// the blank line found by Buffer#indexOf or by head-end.ts's scan, joined.ts's copies, a
// performance.now() call, and a pod's response head parsed every time or remembered as
// upstream-connection.ts does. TREE's dist/ supplies headEnd, joined and parseResponseHead.
// Usage: node packages/ingress/bench/fast-path-parts.mjs [TREE]
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const tree = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const d = `${tree}/packages/ingress/dist`;
const { parseResponseHead } = await import(`${d}/http1/response-head.js`);
const { joined } = await import(`${d}/http1/joined.js`);
const { headEnd } = await import(`${d}/http1/head-end.js`).catch(() => ({ headEnd: undefined }));

let sink = 0;
function measure(name, f) {
  for (let i = 0; i < 300_000; i++) sink += f();
  const res = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 1_000_000; i++) sink += f();
    res.push(Number(process.hrtime.bigint() - t0) / 1_000_000);
  }
  res.sort((a, b) => a - b);
  console.log(`${name}: ${res[3].toFixed(1)} ns (min ${res[0].toFixed(1)})`);
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const response = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nA\n',
  'latin1',
);
const heads = {
  "wrk's request": Buffer.from('GET / HTTP/1.1\r\nHost: bench.example.com\r\n\r\n'),
  "the pod's response": response,
  'a 500-byte head': Buffer.from(`GET / HTTP/1.1\r\nHost: b\r\nUser-Agent: ${'m'.repeat(458)}\r\n\r\n`),
};
for (const [name, buf] of Object.entries(heads)) {
  measure(`blank line of ${name} (${buf.length} bytes), indexOf`, () => buf.indexOf(CRLFCRLF));
  if (headEnd) measure(`blank line of ${name} (${buf.length} bytes), headEnd`, () => headEnd(buf));
}

const end = response.indexOf(CRLFCRLF);
const text = response.toString('latin1', 0, end + 2);
const body = response.subarray(end + 4);
measure("joined(the pod's head, its 2-byte body)", () => joined(text, body).length);
measure('performance.now()', () => performance.now());

measure("the pod's head: latin1 text and parseResponseHead", () => {
  return parseResponseHead(response.toString('latin1', 0, end), 'GET', 'portico').length;
});
let last;
let lastText = '';
measure("the pod's head: latin1 text, remembered (upstream-connection.ts)", () => {
  const t = response.toString('latin1', 0, end);
  if (last === undefined || t !== lastText) {
    last = parseResponseHead(t, 'GET', 'portico');
    lastText = t;
  }
  return last.length;
});
if (sink === 0) console.log('!');
