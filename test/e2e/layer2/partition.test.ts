/**
 * Layer-2 ownership under partitions, end to end (issue 17), in the partition lab
 * (partition-lab.mjs: three real `portico speaker` processes in network namespaces p17-n1..3 on
 * one bridge, the development API server, and a prober in the client namespace that records every
 * ARP/NDP answer for the Service's IPv4 and IPv6 address with its MAC).
 *
 * Scenarios: the owner's heartbeats cut (it steps down, another answers, nothing moves when they
 * come back), a non-owner's cut (nothing moves), two nodes cut (no majority: silence, then the
 * same owner after the heal), the same with the second cut 300 ms after the owner's (the
 * best-ranked node's claim made meanwhile must not win after the heal), the owner's heartbeats flapping, the owner's link down, the owner
 * starved (its speaker stopped past the suspicion time while the third node is stopped too: it
 * keeps its IP), the owner's speaker killed (another answers, the restarted one takes nothing back). The judge is the wire:
 * no request answered by two MACs, no answers interleaving within 20 ms. P17_RUNS repeats them
 * (default 2); the benchmark (bench/partition.mjs) runs the same scenarios 20 times each and
 * prints percentiles. Needs root, iproute2, nftables, kubectl and a build (done here).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PartitionLab, SCENARIOS } from './partition-lab.mjs';

const RUNS = Number(process.env.P17_RUNS ?? 2);
/** The failover budget is 1 s (issue 17); this machine is shared, so the test allows 1.5 s. */
const FAILOVER_LIMIT_MS = 1500;
const lab = new PartitionLab();
const results: Record<string, number[]> = {};

beforeAll(() => lab.start(), 120_000);

afterAll(async () => {
  await lab.stop({ keep: Boolean(process.env.P17_KEEP) });
  const stats = Object.entries(results).map(([k, xs]) => {
    const v = [...xs].sort((a, b) => a - b);
    const at = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))]!.toFixed(0);
    return `${k}: n=${v.length} median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`;
  });
  if (stats.length) console.log(`layer-2 partition timings\n  ${stats.join('\n  ')}`);
}, 30_000);

describe('layer-2 ownership on the wire when heartbeats are cut (issue 17)', () => {
  // A failed scenario must not leave its cut, downed link or killed speaker behind.
  afterEach(() => lab.healAll());

  for (let run = 1; run <= RUNS; run++) {
    for (const scenario of SCENARIOS) {
      it(`run ${run}: ${scenario.name}: never two nodes answering; ${scenario.timed}`, async () => {
        const out = await scenario.run(lab);
        expect(out.twoAnswering, 'two nodes answered').toEqual([]);
        expect(out.failures).toEqual([]);
        for (const [fam, ms] of Object.entries(out.timings)) {
          (results[`${scenario.name}, IPv${fam}: ${scenario.timed}`] ??= []).push(ms);
          if (scenario.failover) expect(ms, `IPv${fam} failover`).toBeLessThan(FAILOVER_LIMIT_MS);
        }
        if (scenario.failover || scenario.name.startsWith('two nodes cut'))
          expect(Object.keys(out.timings).sort()).toEqual(['4', '6']);
        lab.trim();
      }, 30_000);
    }
  }
});
