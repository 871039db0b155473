/**
 * The adversarial suite (issue 11, item 3): every case of cases/*.ts is sent to Portico and to
 * nginx, each in front of its own recording pods, at the same time. A case fails when Portico
 * forwards something nginx did not (unless the case records why ours is safer), crashes, hands a
 * client bytes that are no response of its own, breaks a later fresh client, or misses the case's
 * own requirements.
 *
 * KNOWN_OPEN lists the cases that still fail, each asserted to fail: when one is fixed the test
 * says so and the name leaves the list. FINDINGS.md describes each.
 *
 * ADVERSARIAL_ONLY=regexp runs the cases whose names match only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CASES } from './cases/index.js';
import { startNginx, startPods, startPortico, type PodSet, type Proxy } from './harness.js';
import { compare, describeOutcome, runCase } from './runner.js';

/** Cases that still fail against the current proxy (see FINDINGS.md). */
export const KNOWN_OPEN: readonly string[] = [];

/**
 * Cases run in lanes: each lane is a Portico and an nginx with pods of their own, so cases of
 * different lanes cannot see each other's traffic. ADVERSARIAL_LANES sets how many (default 3).
 */
interface Lane {
  portico: Proxy;
  nginx: Proxy;
  pods: PodSet[];
}
const LANES = Number(process.env.ADVERSARIAL_LANES ?? 3);
const lanes: Lane[] = [];
const free: Lane[] = [];
const waiting: ((lane: Lane) => void)[] = [];

async function acquire(): Promise<Lane> {
  const lane = free.pop();
  if (lane) return lane;
  return new Promise((resolve) => waiting.push(resolve));
}

function release(lane: Lane): void {
  const next = waiting.shift();
  if (next) next(lane);
  else free.push(lane);
}

beforeAll(async () => {
  for (let i = 0; i < LANES; i++) {
    const [p, n] = await Promise.all([startPods(), startPods()]);
    const [portico, nginx] = await Promise.all([startPortico(p), startNginx(n)]);
    lanes.push({ portico, nginx, pods: [p, n] });
  }
  free.push(...lanes);
});

afterAll(async () => {
  for (const lane of lanes) {
    await Promise.all([lane.portico.stop(), lane.nginx.stop()]);
    for (const set of lane.pods) for (const pod of Object.values(set)) pod.close();
  }
});

const only = process.env.ADVERSARIAL_ONLY;
const selected = only ? ALL_CASES.filter((c) => new RegExp(only).test(c.name)) : ALL_CASES;

describe('adversarial cases, Portico against nginx', () => {
  it('has at least 150 cases, each named once', () => {
    expect(ALL_CASES.length).toBeGreaterThanOrEqual(150);
    expect(new Set(ALL_CASES.map((c) => c.name)).size).toBe(ALL_CASES.length);
    for (const name of KNOWN_OPEN) expect(ALL_CASES.map((c) => c.name)).toContain(name);
  });

  it.concurrent.each(selected.map((c) => [c.name, c] as const))(
    '%s',
    { timeout: 90_000 },
    async (_name, c) => {
      const lane = await acquire();
      let ours, ref;
      try {
        [ours, ref] = await Promise.all([runCase(lane.portico, c), runCase(lane.nginx, c)]);
      } finally {
        release(lane);
      }
      const problems = compare(c, ours, ref);
      const report = `${problems.map((p) => `- ${p}`).join('\n')}\n${describeOutcome(ours)}\n${describeOutcome(ref)}`;
      if (process.env.ADVERSARIAL_VERBOSE) console.log(`${c.name}\n${report}`);
      if (KNOWN_OPEN.includes(c.name))
        expect(
          problems,
          `${c.name} is in KNOWN_OPEN but passes now: remove it from the list\n${report}`,
        ).not.toEqual([]);
      else expect(problems, report).toEqual([]);
    },
  );
});
