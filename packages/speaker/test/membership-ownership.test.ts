/**
 * Layer-2 ownership end to end on the simulated cluster (membership-sim.ts: the real detector,
 * decision and ownership code, production timing, clocks drifting by 1 % and timers up to 20 ms
 * late): the three failures of issue 17, one-way and non-transitive partitions, restarts and
 * planned stops. Each test checks, after every simulated event, that at most one node answers.
 */
import { describe, expect, it } from 'vitest';
import { rankNodes } from '../src/election.js';
import { SimRun, speakerProcess } from './membership-sim.js';

const IP = '198.51.100.1';
const NAMES = ['n1', 'n2', 'n3'];

function started(names = NAMES, seed = 7, ips = [IP]) {
  const run = new SimRun(names, ips, speakerProcess(), { seed, drift: 0.01, lateness: 20 });
  for (const n of names) run.start(n);
  run.run(2000);
  return run;
}

function owner(run: SimRun, ip = IP): string {
  const owners = run.owners(ip);
  expect(owners).toHaveLength(1);
  return owners[0]!;
}

/** When each node started and stopped answering since `from`. */
function changes(run: SimRun, from: number, ip = IP) {
  return run.history
    .get(ip)!
    .filter((h) => h.time >= from)
    .map((h) => ({ ms: Math.round(h.time - from), owner: h.owner }));
}

const cutBothWays = (run: SimRun, node: string, on = true) => {
  for (const m of run.names) if (m !== node) run.world.setLinks(node, m, !on);
};

describe('layer-2 ownership: the failures of issue 17', () => {
  it('an elected owner answers, alone, within a suspicion period of start', () => {
    const run = started();
    expect(owner(run)).toBe(rankNodes(IP, NAMES)[0]);
    expect(run.violations).toEqual([]);
  });

  it('1. owner cut off: it stops answering strictly before the new owner starts, within a second', () => {
    const run = started();
    const first = owner(run);
    const t0 = run.world.time;
    cutBothWays(run, first);
    run.run(2000);
    const second = owner(run);
    expect(second).not.toBe(first);
    const timeline = changes(run, t0);
    // [old owner stops] then [new owner starts], with a gap, and nothing else.
    expect(timeline.map((c) => c.owner)).toEqual([undefined, second]);
    expect(timeline[0]!.ms).toBeLessThan(timeline[1]!.ms);
    expect(timeline[1]!.ms).toBeLessThan(1000);
    expect(run.violations).toEqual([]);
  });

  it("2. a non-owner cut off never claims the live owner's IP, whichever peer it hears last", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const run = started(NAMES, seed);
      const first = owner(run);
      const other = NAMES.find((n) => n !== first)!;
      // The cut-off node still hears one peer for a while (one-by-one expiry was the bug).
      run.world.setLink(first, other, false);
      run.world.setLink(other, first, false);
      run.run(150);
      for (const m of NAMES) if (m !== other) run.world.setLinks(other, m, false);
      run.run(3000);
      expect(owner(run)).toBe(first);
      expect(run.violations).toEqual([]);
    }
  });

  it('3. healing: the returning node takes nothing, and the IP stays with the live owner', () => {
    const run = started();
    const first = owner(run);
    cutBothWays(run, first);
    run.run(2000);
    const second = owner(run);
    const t0 = run.world.time;
    cutBothWays(run, first, false);
    run.run(3000);
    expect(changes(run, t0)).toEqual([]);
    expect(owner(run)).toBe(second);
    expect(run.violations).toEqual([]);
  });

  it('3b. healing after a partition with no majority anywhere: the IP comes back to its owner', () => {
    const run = started(['n1', 'n2', 'n3', 'n4']);
    const first = owner(run);
    const rest = run.names.filter((n) => n !== first);
    run.partition([
      [first, rest[0]!],
      [rest[1]!, rest[2]!],
    ]);
    run.run(2000);
    expect(run.owners(IP)).toEqual([]); // 2 of 4 is no majority
    run.partition([run.names]);
    run.run(2000);
    expect(owner(run)).toBe(first);
    expect(run.violations).toEqual([]);
  });

  it('3c. two of three cut a few hundred ms apart (the owner first): the IP still comes back to its owner', () => {
    // The end-to-end failure of the partition benchmark (1 run in 20 at load ~3.7): the owner o
    // and the third node c are cut by two nftables commands, o first. While only o is cut, b and
    // c are a majority; b (best-ranked) releases o after the suspicion time and claims its IP,
    // but c is cut before it grants the claim. Before the fix b kept that never-granted claim
    // through the partition; after the heal c, which had not heard o again yet, granted it, and
    // the IP moved from its owner o to b. Now a claim never granted is given up when its node
    // loses quorum, and made again only once the node is settled (it then knows o's lapsed claim).
    // Healed together, or the third node 100 or 300 ms before the owner (the e2e scenario's
    // order; within the 500 ms a node that regains quorum waits before claiming anything new:
    // with 200 ms, a 300 ms skew moved the IP in 8 of 10 seeds).
    const [b, o, c] = rankNodes(IP, NAMES) as [string, string, string];
    for (const [seed, gap, skew] of [
      [2, 200, 0],
      [1, 300, 0],
      [3, 250, 0],
      [4, 350, 0],
      [5, 400, 0],
      [6, 450, 0],
      [1, 300, 100],
      [7, 200, 100],
      [8, 400, 100],
      [1, 300, 300],
      [2, 200, 300],
      [9, 400, 300],
    ] as const) {
      const run = new SimRun(NAMES, [IP], speakerProcess(), { seed, drift: 0.01, lateness: 20 });
      run.start(o);
      run.start(c);
      run.run(2000);
      run.start(b); // the better-ranked node comes later: o keeps the IP (sticky)
      run.run(2000);
      expect(owner(run)).toBe(o);
      const t0 = run.world.time;
      cutBothWays(run, o);
      run.run(gap);
      cutBothWays(run, c);
      run.run(1500);
      expect(run.owners(IP)).toEqual([]);
      run.world.setLinks(c, b, true); // o stays cut from both until its own heal
      run.run(skew);
      cutBothWays(run, o, false);
      run.run(3000);
      // Silent from the cut (nobody was granted the IP in the gap), then o again: never b.
      expect(
        changes(run, t0).map((x) => x.owner),
        `seed ${seed}, gap ${gap} ms, skew ${skew} ms`,
      ).toEqual([undefined, o]);
      expect(run.violations).toEqual([]);
    }
  });
});

describe('layer-2 ownership: harder partitions', () => {
  it('one-way: an owner that can send but no longer receive steps down, and another takes over', () => {
    const run = started();
    const first = owner(run);
    const t0 = run.world.time;
    for (const m of NAMES) if (m !== first) run.world.setLink(m, first, false);
    run.run(2000);
    const second = owner(run);
    expect(second).not.toBe(first);
    const timeline = changes(run, t0);
    expect(timeline.map((c) => c.owner)).toEqual([undefined, second]);
    // Slower than a clean cut: the others first notice that it no longer hears them.
    expect(timeline[1]!.ms).toBeLessThan(1200);
    expect(run.violations).toEqual([]);
  });

  it('one-way: an owner that can receive but no longer send is failed over like a dead one', () => {
    const run = started();
    const first = owner(run);
    const t0 = run.world.time;
    for (const m of NAMES) if (m !== first) run.world.setLink(first, m, false);
    run.run(2000);
    expect(owner(run)).not.toBe(first);
    expect(changes(run, t0)[1]!.ms).toBeLessThan(1000);
    expect(run.violations).toEqual([]);
  });

  it('non-transitive: owner and a third node lose each other but both hear the middle one: nothing moves', () => {
    const run = started();
    const first = owner(run);
    const [a, b] = NAMES.filter((n) => n !== first);
    run.world.setLink(first, a!, false);
    run.world.setLink(a!, first, false);
    run.run(3000);
    // The middle node b still vouches for the owner: a cannot get a majority for the IP.
    expect(owner(run)).toBe(first);
    expect(b).toBeDefined();
    expect(run.violations).toEqual([]);
  });

  it('flapping heartbeats of the owner (cut 300 ms, restored 300 ms, ten times): never two owners', () => {
    for (const seed of [11, 12, 13]) {
      const run = started(NAMES, seed);
      const first = owner(run);
      for (let i = 0; i < 10; i++) {
        cutBothWays(run, first);
        run.run(300);
        cutBothWays(run, first, false);
        run.run(300);
      }
      run.run(2000);
      expect(run.owners(IP)).toHaveLength(1);
      expect(run.violations).toEqual([]);
    }
  });

  it('two nodes of five cut off together (the owner among them): the three take over', () => {
    const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const run = started(names);
    const first = owner(run);
    const other = names.find((n) => n !== first)!;
    run.partition([[first, other], names.filter((n) => n !== first && n !== other)]);
    run.run(2000);
    expect([first, other]).not.toContain(owner(run));
    expect(run.violations).toEqual([]);
  });
});

describe('layer-2 ownership: processes', () => {
  it('owner killed: another answers within a second; the restarted node does not take it back', () => {
    const run = started();
    const first = owner(run);
    const t0 = run.world.time;
    run.crash(first);
    run.run(1000);
    const second = owner(run);
    expect(changes(run, t0).at(-1)!.ms).toBeLessThan(1000);
    run.start(first);
    run.run(3000);
    expect(owner(run)).toBe(second);
    expect(run.violations).toEqual([]);
  });

  it('a planned stop hands over at once', () => {
    const run = started();
    const first = owner(run);
    const t0 = run.world.time;
    run.leave(first);
    run.run(200);
    expect(owner(run)).not.toBe(first);
    expect(changes(run, t0).at(-1)!.ms).toBeLessThan(50);
    expect(run.violations).toEqual([]);
  });

  it('a stalled owner (a 2 s pause) answers nothing on waking: its lease ran out, and another took over', () => {
    const run = started();
    const first = owner(run);
    run.world.stall(first, 2000);
    run.strict = false; // a stalled process cannot run its step-down timer; the gate holds
    run.run(2000);
    // Its announcer still holds the IP for an instant, but the gate lets nothing out.
    expect(run.owners(IP)).not.toContain(first);
    run.run(1000);
    expect(owner(run)).not.toBe(first);
    expect(run.violations).toEqual([]);
  });

  it('a starved owner that wakes before anyone was granted its IP keeps it (the lapsed claim, issue 17)', () => {
    // The end-to-end failure seen once in 100 runs at load 11-15: the owner o stalls past the
    // suspicion time; the better-ranked b declares it dead and claims its IP, but the third
    // voter c (itself slow: a stall that makes it hold its releases) has not released o yet and
    // refuses b. o wakes, is heard again, and both o and b claim the IP without grants. Before
    // the lapsed state both were "pending" and the better-ranked b took the IP from the live
    // owner; now o's claim is lapsed (it answered, its grants ran out), which beats a claim
    // never granted, so b gives way and o answers again.
    const [b, o, c] = rankNodes(IP, NAMES) as [string, string, string];
    for (const [seed, ownerStall, voterAfter, voterStall] of [
      [3, 700, 300, 300],
      [4, 650, 350, 300],
      [5, 600, 100, 300],
      [6, 800, 200, 400],
    ] as const) {
      const run = new SimRun(NAMES, [IP], speakerProcess(), { seed, drift: 0.01, lateness: 20 });
      run.strict = false; // a stalled process cannot run its step-down timer; the gate holds
      run.start(o);
      run.start(c);
      run.run(2000);
      run.start(b); // the better-ranked node comes later: o keeps the IP (sticky)
      run.run(2000);
      expect(owner(run)).toBe(o);
      const t0 = run.world.time;
      run.world.stall(o, ownerStall);
      run.run(voterAfter);
      run.world.stall(c, voterStall);
      run.run(3000);
      expect(owner(run), `seed ${seed}`).toBe(o);
      // Silent while o slept, then o again: never b.
      expect(changes(run, t0).map((x) => x.owner)).toEqual([undefined, o]);
      expect(run.violations).toEqual([]);
    }
  });

  it('an owner starved past the suspicion time of every voter is failed over (the lapsed claim gives way to a held one)', () => {
    const [b, o, c] = rankNodes(IP, NAMES) as [string, string, string];
    const run = new SimRun(NAMES, [IP], speakerProcess(), { seed: 8, drift: 0.01, lateness: 20 });
    run.strict = false;
    run.start(o);
    run.start(c);
    run.run(2000);
    run.start(b);
    run.run(2000);
    expect(owner(run)).toBe(o);
    run.world.stall(o, 1200);
    run.run(1100);
    const next = owner(run); // both voters released o: another answers while it sleeps
    expect(next).not.toBe(o);
    run.run(3000);
    expect(owner(run)).toBe(next); // o wakes lapsed, sees a held claim and gives way
    expect(run.violations).toEqual([]);
  });

  it('many IPs spread over the nodes move together and stay single-owned', () => {
    const ips = Array.from({ length: 12 }, (_, i) => `198.51.100.${i + 1}`);
    const run = started(['n1', 'n2', 'n3', 'n4', 'n5'], 21, ips);
    const owners = new Set(ips.map((ip) => owner(run, ip)));
    expect(owners.size).toBeGreaterThan(1);
    const victim = owner(run, ips[0]);
    cutBothWays(run, victim);
    run.run(2000);
    for (const ip of ips) expect(owner(run, ip)).not.toBe(victim);
    expect(run.violations).toEqual([]);
  });
});
