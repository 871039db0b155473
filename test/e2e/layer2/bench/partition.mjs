// The layer-2 partition benchmark (issue 17): the scenarios of the end-to-end test
// (../partition-lab.mjs: three real speakers, heartbeats cut with nftables, links downed, speakers
// killed, a prober on the wire) run RUNS times each, interleaved, on one lab. It prints one table
// (stdout; progress on stderr) and writes nothing else: for every scenario and address family
// (IPv4 ARP, IPv6 NDP), how many runs saw two nodes answer, how many failed an expectation
// (stickiness, silence without a majority), and the timing percentiles (p50, p95, p99, max).
// The failover scenarios (owner cut, link down, killed) must stay within 1 s at p99.
//
//   npm run bench:partition -w @portico/speaker            (RUNS=20 by default)
//   RUNS=2 npm run bench:partition -w @portico/speaker     (a quick check)
//   node test/e2e/layer2/bench/partition.mjs 20            (the same, from the repository root)
//   SCENARIOS="owner cut,owner starved" ...                 (only those scenarios)
//   KEEP=1 P17_LOG_LEVEL=debug ...                          (keep the speakers' logs, with decisions)
//
// Needs root, iproute2, nftables and kubectl; uses the namespaces p17-* of the end-to-end test, so
// the two cannot run at the same time.
import process from 'node:process';
import { PartitionLab, FAMILIES, SCENARIOS as ALL } from '../partition-lab.mjs';

const RUNS = Number(process.argv[2] ?? process.env.RUNS ?? 20);
const BUDGET_MS = 1000;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`RUNS must be a positive integer, got "${RUNS}"`);
/** SCENARIOS="owner cut,owner killed" runs only those (default: all). */
const only = process.env.SCENARIOS?.split(',').map((s) => s.trim());
const SCENARIOS = only ? ALL.filter((s) => only.includes(s.name)) : ALL;
if (SCENARIOS.length === 0 || (only && SCENARIOS.length !== only.length))
  throw new Error(
    `SCENARIOS="${process.env.SCENARIOS}": known scenarios are ${ALL.map((s) => s.name).join(', ')}`,
  );

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted, p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
const ms = (v) => (v === undefined ? '–' : `${Math.round(v)} ms`);
const progress = (text) => process.stderr.write(`${text}\n`);

const tally = new Map(
  SCENARIOS.map((s) => [
    s.name,
    { runs: 0, twoAnswering: 0, failed: 0, errors: 0, notes: [], timings: { 4: [], 6: [] } },
  ]),
);

const lab = new PartitionLab();
const started = Date.now();
try {
  progress(`setting up the partition lab (${RUNS} runs of ${SCENARIOS.length} scenarios)`);
  await lab.start();
  for (let run = 1; run <= RUNS; run++) {
    for (const scenario of SCENARIOS) {
      const t = tally.get(scenario.name);
      t.runs++;
      try {
        const out = await scenario.run(lab);
        if (out.twoAnswering.length > 0) {
          t.twoAnswering++;
          t.notes.push(`run ${run}: ${out.twoAnswering[0]}`);
        }
        if (out.failures.length > 0) {
          t.failed++;
          t.notes.push(`run ${run}: ${out.failures[0]}`);
        }
        for (const [fam, v] of Object.entries(out.timings)) t.timings[fam].push(v);
        progress(
          `run ${run} ${scenario.name}: ${FAMILIES.map((f) => `IPv${f} ${ms(out.timings[f])}`).join(', ')}` +
            `${out.twoAnswering.length ? ', TWO ANSWERING' : ''}${out.failures.length ? `, ${out.failures[0]}` : ''}`,
        );
      } catch (err) {
        t.errors++;
        t.notes.push(`run ${run}: ${err.message}`);
        progress(`run ${run} ${scenario.name}: error: ${err.message}`);
      } finally {
        lab.healAll();
        lab.trim();
      }
    }
  }
} finally {
  // KEEP=1 keeps the lab's directory (speaker, API server and prober logs) for a failed run.
  await lab.stop({ keep: Boolean(process.env.KEEP) });
  if (process.env.KEEP) progress(`logs kept in ${lab.dir}`);
}

const rows = [];
const verdicts = [];
for (const scenario of SCENARIOS) {
  const t = tally.get(scenario.name);
  for (const fam of FAMILIES) {
    const v = [...t.timings[fam]].sort((a, b) => a - b);
    const p99 = v.length ? percentile(v, 0.99) : undefined;
    rows.push([
      scenario.name,
      fam === '4' ? 'IPv4 ARP' : 'IPv6 NDP',
      String(t.runs),
      String(t.twoAnswering),
      String(t.failed + t.errors),
      scenario.timed,
      ...(v.length ? [percentile(v, 0.5), percentile(v, 0.95), p99, v.at(-1)].map(ms) : ['–', '–', '–', '–']),
    ]);
    if (scenario.failover) {
      // A run without a new owner within 5 s (an error) counts against the budget too.
      const held = p99 !== undefined && p99 <= BUDGET_MS && v.length === t.runs;
      verdicts.push(
        `${scenario.name}, IPv${fam}: p99 ${ms(p99)}, ${held ? 'within' : 'NOT within'} ${BUDGET_MS} ms` +
          ` (${v.length} of ${t.runs} runs timed)`,
      );
    }
  }
}
const header = ['scenario', 'family', 'runs', 'two answering', 'failed', 'timed', 'p50', 'p95', 'p99', 'max'];
const line = (cells) => `| ${cells.join(' | ')} |`;
const twoAnswering = [...tally.values()].reduce((n, t) => n + t.twoAnswering, 0);
const allRuns = [...tally.values()].reduce((n, t) => n + t.runs, 0);
const out = [
  `layer-2 partition benchmark: ${RUNS} runs per scenario, ${new Date().toISOString()}, ` +
    `${((Date.now() - started) / 1000).toFixed(0)} s, Node ${process.version}`,
  '',
  line(header),
  line(header.map((h, i) => (i >= 2 && h !== 'timed' ? '---:' : '---'))),
  ...rows.map(line),
  '',
  `never two nodes answering: ${twoAnswering === 0 ? 'held' : 'VIOLATED'} (${twoAnswering} of ${allRuns} scenario runs saw two)`,
  ...verdicts,
  ...[...tally].flatMap(([name, t]) => t.notes.map((n) => `note: ${name}: ${n}`)),
];
process.stdout.write(`${out.join('\n')}\n`);
process.exitCode = twoAnswering === 0 ? 0 : 1;
