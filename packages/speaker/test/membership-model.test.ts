/**
 * The model check of layer-2 ownership (issue 17): a property-based simulation in which
 * fast-check plays the adversary. It drives 3 to 5 speakers, each running the real membership
 * and election code (membership-sim.ts), through a schedule of partitions (symmetric, one-way,
 * non-transitive), flapping links, loss, delay and reordering, crashes, restarts, planned stops
 * and stalled processes (GC pauses), with every node's clock drifting by up to 1 % and every
 * timer firing up to 50 ms late.
 *
 * Safety, checked after every single event: at most one node answers for an IP at any instant,
 * i.e. would send an ARP/NDP answer (the announcer's lease gate included), and, in schedules
 * without stalls, at most one node has handed the IP to its announcer at all (the timer-based
 * step-down alone, which needs timers late by less than the 100 ms margin).
 * Liveness, checked at the end: once the network settles (a majority of nodes up and fully
 * connected, the others cut off or down), every IP is answered by one node of that majority
 * within LIVENESS_MS, and stays there.
 *
 * MODEL_RUNS=2000 npx vitest run packages/speaker/test/membership-model.test.ts   (more runs)
 * MODEL_SEED=... replays a failure fast-check reported; MODEL_SEED=random explores new schedules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ProcessFactory, SimRun, speakerProcess } from './membership-sim.js';

/** From a settled network to an owner for every IP (see docs/speaker.md for the budget). */
export const LIVENESS_MS = 2500;
const RUNS = Number(process.env.MODEL_RUNS ?? 100);
const NAMES = ['n1', 'n2', 'n3', 'n4', 'n5'];
const IPS = ['198.51.100.1', '2001:db8:1::2', '198.51.100.3'];

type Action =
  | { kind: 'partition'; groups: number[] }
  | { kind: 'cut'; links: Array<[number, number]> }
  | { kind: 'flap'; node: number; times: number; periodMs: number }
  | { kind: 'heal' }
  | { kind: 'loss'; p: number }
  | { kind: 'delay'; maxMs: number }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'leave'; node: number }
  | { kind: 'stall'; node: number; ms: number };

export interface Scenario {
  nodes: number;
  ips: number;
  seed: number;
  drift: number;
  latenessMs: number;
  steps: Array<{ waitMs: number; action: Action }>;
  /** How the network settles at the end: everyone back, or a minority left cut off. */
  settle: { minority: number[] };
}

const node = fc.nat(4);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('partition' as const),
    groups: fc.array(fc.nat(2), { minLength: 5, maxLength: 5 }),
  }),
  fc.record({
    kind: fc.constant('cut' as const),
    links: fc.array(fc.tuple(node, node), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('flap' as const),
    node,
    times: fc.integer({ min: 1, max: 6 }),
    periodMs: fc.integer({ min: 20, max: 900 }),
  }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('loss' as const), p: fc.double({ min: 0, max: 0.6, noNaN: true }) }),
  fc.record({ kind: fc.constant('delay' as const), maxMs: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ kind: fc.constant('crash' as const), node }),
  fc.record({ kind: fc.constant('restart' as const), node }),
  fc.record({ kind: fc.constant('leave' as const), node }),
  fc.record({ kind: fc.constant('stall' as const), node, ms: fc.integer({ min: 10, max: 3000 }) }),
);

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  nodes: fc.integer({ min: 3, max: 5 }),
  ips: fc.integer({ min: 1, max: 3 }),
  seed: fc.integer(),
  drift: fc.double({ min: 0, max: 0.01, noNaN: true }),
  latenessMs: fc.integer({ min: 0, max: 50 }),
  steps: fc.array(fc.record({ waitMs: fc.integer({ min: 0, max: 2000 }), action }), {
    minLength: 1,
    maxLength: 14,
  }),
  settle: fc.record({ minority: fc.array(node, { maxLength: 2 }) }),
});

export interface Outcome {
  violations: SimRun['violations'];
  /** IPs without a single owner in the majority LIVENESS_MS after the network settled. */
  unowned: string[];
  /** IPs whose owner changed after that point although nothing failed any more. */
  moved: string[];
  run: SimRun;
}

/** Plays a scenario against a speaker implementation. */
export function play(s: Scenario, factory: ProcessFactory): Outcome {
  const names = NAMES.slice(0, s.nodes);
  const ips = IPS.slice(0, s.ips);
  const run = new SimRun(names, ips, factory, { seed: s.seed, drift: s.drift, lateness: s.latenessMs });
  // A stalled process cannot run its step-down timer: only the gate holds then.
  run.strict = !s.steps.some((x) => x.action.kind === 'stall');
  const at = (i: number) => names[i % names.length]!;
  for (const n of names) run.start(n);
  run.run(1500);
  for (const { waitMs, action: a } of s.steps) {
    switch (a.kind) {
      case 'partition': {
        const groups = [0, 1, 2]
          .map((g) => names.filter((_, i) => a.groups[i] === g))
          .filter((g) => g.length);
        run.partition(groups);
        break;
      }
      case 'cut':
        for (const [x, y] of a.links) if (at(x) !== at(y)) run.world.setLink(at(x), at(y), false);
        break;
      case 'flap': {
        // Cut a node's heartbeats both ways, restore, again (the last state is restored).
        const n = at(a.node);
        for (let i = 0; i < a.times; i++) {
          for (const m of names) if (m !== n) run.world.setLinks(n, m, false);
          run.run(a.periodMs);
          for (const m of names) if (m !== n) run.world.setLinks(n, m, true);
          run.run(a.periodMs);
        }
        break;
      }
      case 'heal':
        run.world.healAll();
        break;
      case 'loss':
        run.world.loss = a.p;
        break;
      case 'delay':
        run.world.delay = [0.05, a.maxMs];
        break;
      case 'crash':
        run.crash(at(a.node));
        break;
      case 'restart':
        if (!run.processes.has(at(a.node))) run.start(at(a.node));
        break;
      case 'leave':
        if (run.processes.has(at(a.node))) run.leave(at(a.node));
        break;
      case 'stall':
        run.world.stall(at(a.node), a.ms);
        break;
    }
    run.run(waitMs);
  }
  // The network settles: a majority up, running and fully connected, with no loss and a LAN's
  // delay; the minority (at most two of five, one of three or four) cut off, or back too.
  const minority = [...new Set(s.settle.minority.map(at))].slice(0, Math.floor((s.nodes - 1) / 2));
  const majority = names.filter((n) => !minority.includes(n));
  run.world.loss = 0;
  run.world.delay = [0.05, 2];
  run.world.endStalls();
  run.partition(minority.length ? [majority, ...minority.map((m) => [m])] : [names]);
  for (const n of majority) if (!run.processes.has(n)) run.start(n);
  const settledAt = run.world.time;
  run.run(LIVENESS_MS);
  const owners = new Map(ips.map((ip) => [ip, run.owners(ip)]));
  run.run(2000);
  const unowned = ips.filter((ip) => {
    const o = owners.get(ip)!;
    return o.length !== 1 || !majority.includes(o[0]!);
  });
  const moved = ips.filter(
    (ip) =>
      !unowned.includes(ip) &&
      run.history.get(ip)!.some((h) => h.time > settledAt + LIVENESS_MS && h.owner !== owners.get(ip)![0]),
  );
  return { violations: run.violations, unowned, moved, run };
}

describe('model check: layer-2 ownership under partitions, loss, delay and drift', () => {
  it(`never two nodes answering for one IP; an owner within ${LIVENESS_MS} ms once a majority is connected (${RUNS} schedules)`, () => {
    // A fixed seed by default, so a CI run is reproducible; MODEL_SEED=random explores new schedules
    // (how the known liveness gap below was found), MODEL_SEED=n replays one.
    const seed =
      process.env.MODEL_SEED === 'random' ? undefined : Number(process.env.MODEL_SEED ?? 20_261_206);
    fc.assert(
      fc.property(scenario, (s) => {
        const out = play(s, speakerProcess());
        expect(out.violations, 'two nodes answered for one IP').toEqual([]);
        expect(out.unowned, 'IPs without an owner in the majority').toEqual([]);
        expect(out.moved, 'IPs that moved after the network settled').toEqual([]);
      }),
      { numRuns: RUNS, ...(seed !== undefined ? { seed } : {}), endOnFailure: false },
    );
  }, 600_000);

  it('the owner cut off as another voter wakes from a 2.3 s stall: a new owner within the budget (issue 17)', () => {
    // Found by a random run in CI (MODEL_SEED=random): n1 stalls 2257 ms, the owner n2 is cut off
    // at the settle. The model then ended n1's stall for new datagrams but left the timers that
    // came due during it waiting for the stall's original end: n1 acknowledged heartbeats yet
    // never ran its sweep, kept n2 alive in its grant table and refused n3 until ~2.5 s later
    // (a new owner ~2.75 s after the settle in the original run). A real process runs all of its
    // work or none (the simulator now wakes a node with its queued timers first), so the gap was
    // the model's, not the protocol's. Both orders are kept here: the owner cut as the voter
    // wakes, and the owner cut while the voter still sleeps (it wakes 2.2 s later, holds its
    // releases for hearMs, then grants n3).
    const voterWakes: Scenario = {
      nodes: 3,
      ips: 1,
      seed: 0,
      drift: 0,
      latenessMs: 0,
      steps: [
        { waitMs: 43, action: { kind: 'stall', node: 0, ms: 10 } },
        { waitMs: 57, action: { kind: 'stall', node: 0, ms: 2257 } },
      ],
      settle: { minority: [4] },
    };
    const voterSleeps: Scenario = {
      ...voterWakes,
      steps: [...voterWakes.steps, { waitMs: 2300, action: { kind: 'partition', groups: [0, 1, 0, 0, 0] } }],
    };
    for (const s of [voterWakes, voterSleeps]) {
      const out = play(s, speakerProcess());
      expect(out.violations).toEqual([]);
      expect(out.unowned).toEqual([]);
      expect(out.moved).toEqual([]);
      // The owner before the cut (n2) is in the minority: the IP moved to the majority.
      expect(out.run.owners('198.51.100.1')).toEqual(['n3']);
    }
  });

  it('can fail: with the step-down deadline as long as the take-over deadline, it finds two owners', () => {
    // The same code with the safety margin removed (leaseMs = suspicionMs, a node ends its lease
    // as late as the voters move its IPs): the model must catch it, or it proves nothing.
    const unsafe: ProcessFactory = (ctx) => {
      const make = speakerProcess({ suspicionMs: 500, leaseMs: 499.9 });
      return make({ ...ctx, world: ctx.world });
    };
    // The adversary's favourite moves here: cutting nodes off, one-way and both ways, repeatedly.
    const cuts = scenario.map((s) => ({
      ...s,
      latenessMs: 50,
      steps: s.steps.filter((x) => ['partition', 'cut', 'flap', 'heal'].includes(x.action.kind)),
    }));
    const found = fc.check(
      fc.property(cuts, (s) => play(s, unsafe).violations.length === 0),
      { numRuns: 1000, seed: 17, endOnFailure: true },
    );
    expect(found.failed).toBe(true);
    console.log(`the unsafe variant failed after ${found.numRuns} schedules`);
  }, 600_000);
});
