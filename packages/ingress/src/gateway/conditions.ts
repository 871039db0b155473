/**
 * Status conditions as the Gateway API spells them. The compile step is pure (no clock), so
 * lastTransitionTime is left to the status writer, which keeps the old time when a condition's
 * status did not change.
 */
import type { Condition } from './types.js';

export function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  observedGeneration: number | undefined,
): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
}

/** The new conditions, each carrying the old lastTransitionTime when its status is unchanged. */
export function withTransitionTimes(
  next: readonly Condition[],
  previous: readonly Condition[] | undefined,
  now: string,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const time = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { ...c, lastTransitionTime: time };
  });
}
