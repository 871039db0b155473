// Cost of one request ID: our batched random hex (request-id.ts) against crypto.randomUUID() and
// one randomBytes(16) per request. Run: node_modules/.bin/node packages/ingress/bench/request-id.mjs
import { randomBytes, randomUUID } from 'node:crypto';
import { newRequestId } from '../dist/request-id.js';

const N = 2_000_000;
function time(name, fn) {
  for (let i = 0; i < 100_000; i++) fn();
  const t0 = process.hrtime.bigint();
  let keep = 0;
  for (let i = 0; i < N; i++) keep += fn().length;
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${name.padEnd(28)} ${ns.toFixed(1)} ns/id (${keep > 0 ? 'ok' : ''})`);
}
for (let round = 0; round < 2; round++) {
  time('newRequestId (batched)', newRequestId);
  time('crypto.randomUUID()', randomUUID);
  time('randomBytes(16).hex', () => randomBytes(16).toString('hex'));
}
