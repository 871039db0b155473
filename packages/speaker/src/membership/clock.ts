/**
 * Time and timers, injectable so the membership protocol can be tested without waiting (unit
 * tests) and under an adversarial scheduler with drifting clocks (the model check).
 *
 * The clock must be monotonic: the protocol measures durations on one node's clock only (its own
 * heartbeats' send times, its own receive times) and never compares two nodes' readings.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` every `ms`; returns a function that stops it. */
  every(ms: number, fn: () => void): () => void;
  /** Calls `fn` once after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  after: (ms, fn) => {
    const timer = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};
