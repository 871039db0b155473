// What the fast path now does per request for an annotation-free route beyond routing and relaying:
// the admission test, the Authorization test, and the request ID (look for the client's, cut a new
// one, add its line to the head). Run: node_modules/.bin/node packages/ingress/bench/request-extras.mjs
import { fieldValue, keepsAuthorization, mustAdmit, requestHead, requestIdLine } from '../dist/index.js';

const target = { ingress: 'default/shop', backend: 'default/web:80' };
const head = ['Host', 'a.example.com', 'User-Agent', 'wrk', 'Accept', '*/*', 'Accept-Encoding', 'gzip'];
const forwarded = ['x-forwarded-for', '10.0.0.1', 'x-real-ip', '10.0.0.1', 'x-forwarded-proto', 'http'];
const N = 2_000_000;
function time(name, fn) {
  for (let i = 0; i < 200_000; i++) fn();
  const t0 = process.hrtime.bigint();
  let keep = 0;
  for (let i = 0; i < N; i++) keep += fn();
  console.log(`${name.padEnd(44)} ${(Number(process.hrtime.bigint() - t0) / N).toFixed(1)} ns (${keep > 0})`);
}
for (let round = 0; round < 2; round++) {
  time(
    'mustAdmit + keepsAuthorization',
    () => (mustAdmit(target) ? 0 : 1) + (keepsAuthorization(target) ? 1 : 0),
  );
  time('head for the pod with a new request ID', () => {
    const fields = [...head, ...forwarded];
    const tagged = requestIdLine(fields, fieldValue(head, 'x-request-id'));
    return requestHead('GET', '/', tagged.fields, tagged.line).length;
  });
  time(
    'head for the pod without (for reference)',
    () => requestHead('GET', '/', [...head, ...forwarded]).length,
  );
}
