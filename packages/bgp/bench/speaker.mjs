// Benchmark speaker process: runs inside the speaker namespace, announces COUNT generated routes
// of one family to one peer, and reports events as JSON lines. Command on stdin: stop.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout } from 'node:timers';
import { Speaker } from '../dist/index.js';

const config = JSON.parse(process.argv[2]);
const emit = (e) =>
  process.stdout.write(JSON.stringify({ t: performance.now() + performance.timeOrigin, ...e }) + '\n');

export function route(family, i) {
  if (family === 'ipv4') return `198.18.${(i >> 8) & 0xff}.${i & 0xff}/32`;
  return `2001:db8:${(0x1000 + (i >> 16)).toString(16)}::${(i & 0xffff).toString(16)}/128`;
}

const speaker = new Speaker({ localAsn: config.localAsn, routerId: config.routerId });
speaker.on('established', (peer) => emit({ event: 'established', peer }));
speaker.on('sent', (peer, c) => emit({ event: 'sent', peer, ...c }));
speaker.on('end-of-rib', (peer, afi) => emit({ event: 'end-of-rib', peer, afi }));
speaker.addPeer(config.peer);
const base = { nextHop: config.nextHop, communities: ['65001:100'] };
const routes = Array.from({ length: config.count }, (_, i) => ({ prefix: route(config.family, i), ...base }));
speaker.setRoutes(routes);
await speaker.start();

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'stop') void speaker.stop().then(() => setTimeout(() => process.exit(0), 50));
});
