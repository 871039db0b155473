/**
 * Allocator throughput with 60,000 addresses in use, in an IPv4 /8 and an IPv6 /64 pool:
 * Portico's allocator against a plain linear-scan allocator (./linear.ts), same workload, same run.
 *
 * Workload ("churn"): 60,000 services hold the lowest 60,000 addresses; then, repeatedly, a
 * pseudo-randomly chosen service is released and a new service is allocated (which must take the
 * hole it left, the lowest free address). Both allocators see the same sequence and must choose
 * the same addresses; the linear one runs a shorter prefix of the sequence because it is slow.
 *
 * Run: npm run bench -w @portico/allocator   (builds, then: node bench/throughput.ts)
 */
import { performance } from 'node:perf_hooks';
import type { AddressPool } from '@portico/config';
import { formatAddress, parseIP, type IPFamily } from '@portico/net';
import { Allocator, type ServiceRequest } from '@portico/allocator';
import { LinearAllocator } from './linear.ts';

const IN_USE = 60_000;
const PORTICO_OPS = 50_000;
const LINEAR_MAX_OPS = 5_000;
const LINEAR_MAX_MS = 1_500;

function poolOf(name: string, text: string): AddressPool {
  const [address, length] = text.split('/');
  const ip = parseIP(address!)!;
  return {
    name,
    protocol: 'layer2',
    addresses: [{ text, cidrs: [{ family: ip.family, base: ip.value, prefixLength: Number(length), text }] }],
    autoAssign: true,
    avoidBuggyIPs: false,
    bgpAdvertisements: [],
  };
}

function request(key: string, family: IPFamily): ServiceRequest {
  return {
    key,
    families: [family],
    ipFamilyPolicy: 'SingleStack',
    requestedIPs: [],
    ports: [{ protocol: 'TCP', port: 80 }],
  };
}

/** Deterministic PRNG (mulberry32) so both allocators see the same sequence. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The churn sequence: which live service to release at step i (index into the live list). */
function churnVictims(count: number): number[] {
  const random = prng(42);
  return Array.from({ length: count }, () => Math.floor(random() * IN_USE));
}

interface Run {
  ops: number;
  ms: number;
  chosen: string[];
}

function runPortico(pool: AddressPool, family: IPFamily, victims: number[]): Run & { fillMs: number } {
  const alloc = new Allocator([pool]);
  const live: string[] = [];
  const fillStart = performance.now();
  for (let i = 0; i < IN_USE; i++) {
    const key = `ns/s${i}`;
    if (!alloc.allocate(request(key, family)).ok) throw new Error('prefill failed');
    live.push(key);
  }
  const fillMs = performance.now() - fillStart;
  const chosen: string[] = [];
  const start = performance.now();
  victims.forEach((victim, i) => {
    alloc.release(live[victim]!);
    const key = `ns/n${i}`;
    const r = alloc.allocate(request(key, family));
    if (!r.ok) throw new Error(r.error);
    live[victim] = key;
    chosen.push(r.ips[0]!);
  });
  return { ops: victims.length, ms: performance.now() - start, chosen, fillMs };
}

function runLinear(pool: AddressPool, family: IPFamily, victims: number[]): Run {
  const alloc = new LinearAllocator([pool]);
  const base = pool.addresses[0]!.cidrs[0]!.base;
  const live: string[] = [];
  // The same starting state, claimed directly (a linear prefill would take minutes).
  for (let i = 0; i < IN_USE; i++) {
    alloc.claim(`ns/s${i}`, family, base + BigInt(i));
    live.push(`ns/s${i}`);
  }
  const chosen: string[] = [];
  const start = performance.now();
  let ops = 0;
  for (const victim of victims) {
    if (ops >= LINEAR_MAX_OPS || performance.now() - start > LINEAR_MAX_MS) break;
    alloc.release(live[victim]!);
    const key = `ns/n${ops}`;
    const value = alloc.allocate(key, family);
    if (value === undefined) throw new Error('linear allocator exhausted');
    live[victim] = key;
    chosen.push(formatAddress({ family, value }));
    ops++;
  }
  return { ops, ms: performance.now() - start, chosen };
}

const rate = (run: Run): number => (run.ops / run.ms) * 1000;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const cases: Array<[string, AddressPool, IPFamily]> = [
  ['IPv4 /16 (10.0.0.0/16), for scale', poolOf('v4small', '10.0.0.0/16'), 'IPv4'],
  ['IPv4 /8 (10.0.0.0/8)', poolOf('v4', '10.0.0.0/8'), 'IPv4'],
  ['IPv6 /64 (2001:db8::/64)', poolOf('v6', '2001:db8::/64'), 'IPv6'],
];

const ROUNDS = 3;
const victims = churnVictims(PORTICO_OPS);
// Warm-up so the first measured case does not pay for JIT compilation.
runPortico(poolOf('warm', '198.18.0.0/15'), 'IPv4', victims.slice(0, 20_000));

console.log(
  `node ${process.version}, ${IN_USE.toLocaleString('en-US')} addresses in use, churn = release one + allocate one, best of ${ROUNDS} rounds\n`,
);
console.log('| pool | allocator | allocations | time (ms) | allocations/s | ratio |');
console.log('|---|---|---:|---:|---:|---:|');
const best = <T extends Run>(runs: T[]): T => runs.reduce((a, b) => (rate(b) > rate(a) ? b : a));
for (const [name, pool, family] of cases) {
  const porticoRuns: Array<Run & { fillMs: number }> = [];
  const linearRuns: Run[] = [];
  // Alternate the two so both see the same background load on a shared machine.
  for (let round = 0; round < ROUNDS; round++) {
    porticoRuns.push(runPortico(pool, family, victims));
    linearRuns.push(runLinear(pool, family, victims));
  }
  const portico = best(porticoRuns);
  const linear = best(linearRuns);
  for (const run of linearRuns) {
    for (let i = 0; i < run.ops; i++) {
      if (run.chosen[i] !== portico.chosen[i]) {
        throw new Error(`allocators disagree at step ${i}: ${portico.chosen[i]} vs ${run.chosen[i]}`);
      }
    }
  }
  const ratio = rate(portico) / rate(linear);
  console.log(
    `| ${name} | portico | ${fmt(portico.ops)} | ${fmt(portico.ms)} | ${fmt(rate(portico))} | ${ratio.toFixed(0)}× |`,
  );
  console.log(
    `| ${name} | linear scan | ${fmt(linear.ops)} | ${fmt(linear.ms)} | ${fmt(rate(linear))} | 1× |`,
  );
  console.error(`${name}: portico prefill of ${IN_USE} allocations took ${fmt(portico.fillMs)} ms`);
}
