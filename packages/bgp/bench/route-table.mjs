// In-process route-table benchmark (no network namespaces, no routers): 10,000 IPv4 /32 and
// 10,000 IPv6 /128 routes, as text the way the speaker hands them over, are compiled (prefix text
// to NLRI form, communities to values) and synced to an empty Adj-RIB-Out (export, UPDATE packing,
// NLRI encoding). Prints the best of RUNS (default 20) for each step.
// Run: npx tsc -b packages/bgp && node packages/bgp/bench/route-table.mjs [path/to/packages/bgp]
// (the optional path compares another checkout's build, e.g. main's, in the same way).
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
const bgp = await import(pathToFileURL(`${root}/dist/index.js`).href);
const COUNT = 10_000;
const RUNS = Number(process.env.RUNS ?? 20);

const routes = [];
for (let i = 0; i < COUNT; i++) {
  const v4 = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
  routes.push({ prefix: v4, communities: ['65001:100'] });
  routes.push({
    prefix: `2001:db8::${i.toString(16)}/128`,
    communities: ['65001:100'],
    largeCommunities: ['65001:1:2'],
  });
}
const ctx = {
  localAsn: 65001,
  peerAsn: 65000,
  localAddress: '192.0.2.2',
  families: [1, 2],
  ipv4OverIpv6NextHop: false,
};
const send = { maxLength: 4096, fourOctetAs: true };

let compileMs = Infinity;
let syncMs = Infinity;
let updateBytes = 0;
for (let run = 0; run < RUNS; run++) {
  let start = performance.now();
  const compiled = routes.map(bgp.compileRoute);
  compileMs = Math.min(compileMs, performance.now() - start);
  const rib = new bgp.AdjRibOut();
  start = performance.now();
  const diff = rib.sync(compiled, ctx, send);
  syncMs = Math.min(syncMs, performance.now() - start);
  updateBytes = diff.messages.reduce((n, m) => n + m.length, 0);
}
console.log(
  JSON.stringify({
    root,
    routes: routes.length,
    compileMs: +compileMs.toFixed(1),
    syncMs: +syncMs.toFixed(1),
    updateBytes,
  }),
);
