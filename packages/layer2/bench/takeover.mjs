// Takeover time of the layer-2 announcer: from `announce(ip)` on the new node until the client
// kernel's neighbour entry for the IP points at the new node's MAC (seen with `ip monitor neigh`).
// Compared in the same run with the kernel-and-iputils way of moving an IP (what keepalived-style
// failover scripts do): `arping -U` for IPv4, `ip addr add` with ndisc_notify=1 for IPv6.
//
// Run as root from the repository root: `npm run bench -w @portico/layer2` (builds the library first).
// Options: RUNS=20 (takeovers per case).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as bed from './segment.mjs';

const RUNS = Number(process.env.RUNS ?? 20);
const now = () => performance.timeOrigin + performance.now();

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    runs: sorted.length,
    min: sorted[0],
    median: at(0.5),
    p90: at(0.9),
    max: sorted[sorted.length - 1],
  };
}

/** Waits for the client entry of `ip` to point at `mac` while `act()` runs; returns ms from the start time act reports. */
async function measure(ip, mac, act) {
  const watch = bed.watchClientNeighbour(ip, mac, 8000);
  await watch.started;
  await sleep(100); // let `ip monitor` subscribe
  const start = await act();
  const moved = await watch.done;
  if (moved === undefined) throw new Error(`client entry for ${ip} never moved to ${mac}`);
  return moved - start;
}

/** Makes sure the client has an entry for `ip` pointing at `mac` before a takeover away from it. */
async function primeClient(ip, mac) {
  if (bed.clientNeighbour(ip)?.lladdr === mac) return;
  bed.flushClientNeighbour(ip);
  bed.clientResolve(ip);
  const ok = await bed.waitFor(() => bed.clientNeighbour(ip)?.lladdr === mac, { timeoutMs: 3000 });
  if (!ok) throw new Error(`client could not resolve ${ip} to ${mac}`);
}

async function porticoCase(ip, options) {
  const nodes = await Promise.all(bed.NODES.map((ns) => bed.startAnnouncer(ns, options)));
  const macs = bed.NODES.map((ns) => bed.macOf(ns));
  const samples = [];
  try {
    nodes[0].send({ announce: ip });
    await nodes[0].waitEvent((e) => e.event === 'announced' && e.ip === ip);
    await primeClient(ip, macs[0]);
    for (let run = 0; run < RUNS; run++) {
      const [from, to] = run % 2 === 0 ? [0, 1] : [1, 0];
      await primeClient(ip, macs[from]);
      nodes[from].send({ withdraw: ip });
      await nodes[from].waitEvent((e) => e.event === 'withdrawn' && e.ip === ip && e.t > now() - 5000);
      samples.push(
        await measure(ip, macs[to], async () => {
          const sent = now();
          nodes[to].send({ announce: ip });
          const started = await nodes[to].waitEvent(
            (e) => e.event === 'announcing' && e.ip === ip && e.t >= sent,
          );
          return started.t;
        }),
      );
      nodes[from].events.length = 0;
      nodes[to].events.length = 0;
    }
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
  }
  return samples;
}

function run(args) {
  const child = spawn(args[0], args.slice(1), { stdio: 'ignore' });
  return once(child, 'exit');
}

/** IPv4 the iputils way: the new node sends one gratuitous ARP with `arping -U`. */
async function arpingCase(ip) {
  const macs = bed.NODES.map((ns) => bed.macOf(ns));
  for (const ns of bed.NODES)
    bed.sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1']);
  // Someone must answer the client's first resolution: give n1 the address for the priming only.
  bed.sh(['ip', '-n', bed.NODES[0], 'addr', 'add', `${ip}/32`, 'dev', bed.port(bed.NODES[0])]);
  await primeClient(ip, macs[0]);
  bed.sh(['ip', '-n', bed.NODES[0], 'addr', 'del', `${ip}/32`, 'dev', bed.port(bed.NODES[0])]);
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const to = i % 2 === 0 ? 1 : 0;
    const ns = bed.NODES[to];
    samples.push(
      await measure(ip, macs[to], async () => {
        const start = now();
        const exited = run(['ip', 'netns', 'exec', ns, 'arping', '-U', '-c1', '-w1', '-I', bed.port(ns), ip]);
        exited.catch(() => {});
        return start;
      }),
    );
    await sleep(1100); // arping waits one second for replies; let it finish
  }
  return samples;
}

/** IPv6 the kernel way: `ip addr add` with ndisc_notify=1 sends an unsolicited NA once DAD is over. */
async function kernelNaCase(ip) {
  const macs = bed.NODES.map((ns) => bed.macOf(ns));
  for (const ns of bed.NODES) {
    bed.sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${bed.port(ns)}.ndisc_notify=1`]);
  }
  const addr = (ns, verb) => bed.sh(['ip', '-n', ns, 'addr', verb, `${ip}/128`, 'dev', bed.port(ns)]);
  addr(bed.NODES[0], 'add');
  await sleep(2500); // DAD
  await primeClient(ip, macs[0]);
  let owner = 0;
  const samples = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const to = 1 - owner;
      addr(bed.NODES[owner], 'del');
      samples.push(
        await measure(ip, macs[to], async () => {
          const start = now();
          addr(bed.NODES[to], 'add');
          return start;
        }),
      );
      owner = to;
    }
  } finally {
    addr(bed.NODES[owner], 'del');
  }
  return samples;
}

async function main() {
  bed.requireTools(['ip', 'ping', 'arping']);
  bed.setup();
  const results = {};
  try {
    results['portico ARP, default probe (2 x 100 ms + 200 ms)'] = await porticoCase(bed.VIP4, {});
    results['portico ARP, --no-probe'] = await porticoCase(bed.VIP4, { probe: false });
    results['iputils arping -U (one gratuitous ARP)'] = await arpingCase('203.0.113.61');
    results['portico NDP, default probe (DAD, 2 x 100 ms + 200 ms)'] = await porticoCase(bed.VIP6, {});
    results['portico NDP, --no-probe'] = await porticoCase(bed.VIP6, { probe: false });
    results['kernel: ip addr add + ndisc_notify=1 (after DAD)'] = await kernelNaCase('2001:db8:1::61');
  } finally {
    bed.teardown();
  }
  console.log('| case | runs | min | median | p90 | max |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, samples] of Object.entries(results)) {
    const s = stats(samples);
    const ms = (v) => `${v.toFixed(0)} ms`;
    console.log(`| ${name} | ${s.runs} | ${ms(s.min)} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(s.max)} |`);
  }
}

await main();
