// The fast path's own JavaScript for one proxied request, both ways, in one process and without
// sockets: parse the client's head, decide (route, annotations), build the pod's head, pick an
// endpoint, parse the pod's response head, add the route's fields, join head and body, count the
// metrics; what http1/client-connection.ts and exchange.ts call, in their order. For choosing
// between parser versions (docs/benchmarks.md, session 8); the claim is the throughput benchmark.
// Usage: node packages/ingress/bench/per-request-js.mjs [TREE] [ann|plain] [http|https] [browser]
//   TREE: a checkout with dist/ built (default: this one); ann: the benchmark's annotations;
//   browser: a browser's 13-field request instead of wrk's Host-only one.
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { oneRouteState } from './one-route.mjs';

const tree = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ann = process.argv[3] === 'ann';
const d = `${tree}/packages/ingress/dist`;
const { compile } = await import(`${d}/compile.js`);
const { IngressCore, defaultProxyOptions } = await import(`${d}/core.js`);
const { ProxyMetrics } = await import(`${d}/metrics.js`);
const { parseRequestHead } = await import(`${d}/http1/request-head.js`);
const { parseResponseHead, withFields } = await import(`${d}/http1/response-head.js`);
const { HeadView } = await import(`${d}/http1/head-view.js`);
const { joined } = await import(`${d}/http1/joined.js`);
const { upstreamHeaders, requestHead } = await import(`${d}/headers.js`);
const { requestIdLine } = await import(`${d}/request-id.js`);
const { fieldValue } = await import(`${d}/forwarded.js`);
const { mustAdmit, keepsAuthorization, withoutField } = await import(`${d}/admission.js`);
const { hasHstsField } = await import(`${d}/hsts.js`);
// Where the blank line is looked for as the tree does (http1/head-end.ts; before it, indexOf).
const CRLFCRLF = Buffer.from('\r\n\r\n');
const { headEnd } = await import(`${d}/http1/head-end.js`).catch(() => ({
  headEnd: (b) => b.indexOf(CRLFCRLF),
}));
const { Registry } = await import(`${tree}/node_modules/prom-client/index.js`);
const annotations = ann
  ? {
      'nginx.ingress.kubernetes.io/proxy-body-size': '8m',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '30',
      'nginx.ingress.kubernetes.io/enable-cors': 'true',
      'nginx.ingress.kubernetes.io/allowlist-source-range': '127.0.0.1/32,10.0.0.0/8',
    }
  : undefined;
const state = oneRouteState({
  host: 'bench.example.com',
  service: 'a',
  podAddress: '10.0.0.5',
  podPort: 18180,
  annotations,
});
const table = compile(state, { version: 1 });
const metrics = new ProxyMetrics(new Registry());
const proxy = new IngressCore({ ...defaultProxyOptions, metrics });
proxy.setTable(table);
const proto = process.argv[4] === 'https' ? 'https' : 'http';
const browser = process.argv[5] === 'browser';
const reqBuf = Buffer.from(
  browser
    ? 'GET /app/page?x=1 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nConnection: keep-alive\r\nCookie: session=abcdef0123456789; theme=dark\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\nSec-Fetch-User: ?1\r\nPriority: u=0, i\r\n\r\n'
    : 'GET / HTTP/1.1\r\nHost: bench.example.com\r\n\r\n',
  'latin1',
);
const resBuf = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nA\n',
  'latin1',
);
const view = new HeadView('127.0.0.1');
let sink = 0;
function one() {
  const end = headEnd(reqBuf);
  const head = parseRequestHead(reqBuf.toString('latin1', 0, end));
  const started = performance.now();
  view.head = head;
  const decision = proxy.decide(head.host, head.target, proto, head.contentLength, 'fast', view);
  view.head = undefined;
  if (decision.status !== 0) throw new Error('status ' + decision.status);
  if (mustAdmit(decision.target)) throw new Error('admit');
  const hsts = proto === 'https' ? proxy.hstsFor(head.host, 'https') : undefined;
  let fields = upstreamHeaders(
    head.fields,
    { connection: head.connection },
    { address: '127.0.0.1', proto, port: 18181, host: head.host },
    false,
    false,
    proxy.trusted,
  );
  if (!keepsAuthorization(decision.target)) fields = withoutField(fields, 'authorization');
  const tagged = requestIdLine(fields, fieldValue(head.fields, 'x-request-id'));
  const upstreamHead = requestHead(head.method, decision.path, tagged.fields, tagged.line);
  const ep = proxy.balancer.pick(decision.backend.key, decision.backend.endpoints);
  const out1 = joined(upstreamHead);
  // response
  const rend = headEnd(resBuf);
  const rh = parseResponseHead(resBuf.toString('latin1', 0, rend), head.method, 'portico');
  proxy.balancer.succeeded(ep.origin);
  performance.now();
  let text = decision.headers ? withFields(rh.forClient, decision.headers) : rh.forClient;
  if (hsts !== undefined && !hasHstsField(text)) text += `strict-transport-security: ${hsts}\r\n`;
  const out2 = joined(text + '\r\n', resBuf.subarray(rend + 4));
  performance.now();
  proxy.count(rh.status, decision.target, started);
  sink += out1.length + out2.length + tagged.id.length;
}
const N = 300_000;
for (let i = 0; i < 100_000; i++) one();
const res = [];
for (let r = 0; r < 7; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) one();
  res.push(Number(process.hrtime.bigint() - t0) / N);
}
res.sort((a, b) => a - b);
console.log(
  `${tree} ${ann ? 'ann' : 'plain'} ${proto}${browser ? ' browser' : ''}: median ${res[3].toFixed(0)} ns/request (min ${res[0].toFixed(0)})`,
  sink > 0 ? '' : '!',
);
