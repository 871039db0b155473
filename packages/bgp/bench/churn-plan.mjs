// The churn workload shared by both drivers (our speaker, the GoBGP injector), so both get exactly
// the same changes at the same times. A base table of `base` IPv4 /32s in 198.18.0.0/15 (RFC 2544,
// used only inside the bench's own namespaces) rotates: every tick adds the next `perTick` new
// prefixes and withdraws the `perTick` oldest, so the table size stays at `base`.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now();

export const prefixOf = (i) => `198.18.${(i >> 8) & 0xff}.${i & 0xff}/32`;

/**
 * Writes one JSON line on stdout (the parent reads the child's events this way).
 * @param {Record<string, unknown>} event
 */
export const emit = (event) => process.stdout.write(JSON.stringify({ t: wallNow(), ...event }) + '\n');

/**
 * The set the router must hold after `ticks` ticks: prefixes [perTick*ticks, base+perTick*ticks).
 */
export function intendedSet({ base, perTick }, ticks) {
  const first = perTick * ticks;
  return Array.from({ length: base }, (_, i) => prefixOf(first + i));
}

/**
 * Runs the churn on a fixed schedule: tick k is due at t0 + k * tickMs. A late wake-up runs every
 * due tick at once, so the number of changes stays right and lateness shows up in `maxLateMs`
 * and in the achieved rate instead of silently lowering the rate.
 *
 * Every `markEvery` ticks one change is marked (alternately the first add and the first
 * withdrawal of that tick) and reported to the parent, which times how long the router takes to
 * show it.
 *
 * @param {{ base: number, perTick: number, tickMs: number, ticks: number, markEvery: number }} plan
 * @param {(adds: string[], withdrawals: string[]) => void} apply hands one tick to the speaker
 */
export async function runChurn(plan, apply) {
  const t0 = performance.now();
  let maxLateMs = 0;
  let marks = 0;
  for (let k = 0; k < plan.ticks; k++) {
    const due = t0 + k * plan.tickMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxLateMs = Math.max(maxLateMs, performance.now() - due);
    const adds = [];
    const withdrawals = [];
    for (let j = 0; j < plan.perTick; j++) {
      adds.push(prefixOf(plan.base + k * plan.perTick + j));
      withdrawals.push(prefixOf(k * plan.perTick + j));
    }
    if (k % plan.markEvery === 0) {
      const kind = marks++ % 2 === 0 ? 'add' : 'withdraw';
      emit({ event: 'mark', kind, prefix: kind === 'add' ? adds[0] : withdrawals[0] });
    }
    apply(adds, withdrawals);
  }
  const endedAt = wallNow();
  const elapsedMs = performance.now() - t0;
  // The schedule spans ticks * tickMs; the last tick is due at (ticks - 1) * tickMs.
  const changes = plan.ticks * plan.perTick * 2;
  return {
    ticks: plan.ticks,
    changes,
    elapsedMs,
    endedAt,
    maxLateMs,
    achievedPerSecond: changes / ((elapsedMs + plan.tickMs) / 1000),
  };
}
