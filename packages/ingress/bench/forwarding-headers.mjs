// The per-request cost of the forwarding headers (upstreamHeaders, both data planes): no trust
// list (the default), a list the peer is not in, a list the peer is in.
// Run after `npx tsc -b`: node_modules/.bin/node packages/ingress/bench/forwarding-headers.mjs
import { performance } from 'node:perf_hooks';
import { TrustedProxies, upstreamHeaders } from '@portico/ingress';

const raw = [
  'Host',
  'f.example.com',
  'User-Agent',
  'wrk',
  'Accept',
  '*/*',
  'X-Forwarded-For',
  '198.51.100.2',
];
const hop = { address: '127.0.0.1', proto: 'http', port: 80, host: 'f.example.com' };
const cases = {
  'no list': new TrustedProxies([]),
  'peer not trusted': new TrustedProxies(['10.0.0.0/8']),
  'peer trusted': new TrustedProxies(['127.0.0.0/8']),
};
for (let round = 0; round < 3; round++) {
  for (const [name, trusted] of Object.entries(cases)) {
    const run = () => upstreamHeaders(raw, {}, hop, false, false, trusted);
    for (let i = 0; i < 200_000; i++) run();
    const n = 2_000_000;
    const start = performance.now();
    for (let i = 0; i < n; i++) run();
    console.log(`round ${round} ${name}: ${(((performance.now() - start) * 1e6) / n).toFixed(0)} ns/request`);
  }
}
