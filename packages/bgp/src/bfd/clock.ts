/** Time source of a BFD session, injectable so the state machine can be tested without waiting. */
export interface BfdTimer {
  cancel(): void;
}

export interface BfdClock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds. */
  setTimer(callback: () => void, ms: number): BfdTimer;
  /** Uniform in [0, 1): the transmit jitter (RFC 5880 section 6.8.7). */
  random(): number;
}

export const systemClock: BfdClock = {
  now: () => performance.now(),
  setTimer(callback, ms) {
    const handle = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  random: Math.random,
};
