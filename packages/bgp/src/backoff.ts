/**
 * Reconnect back-off. RFC 4271 §8 leaves the ConnectRetry policy to the implementation and §10
 * asks for jitter (a factor between 0.75 and 1) so that peers do not synchronise. The delay doubles
 * after every failed attempt up to a ceiling. Failures are only forgotten once a session has stayed
 * Established for `stableMs`: a peer that accepts our OPEN and then sends a NOTIFICATION (wrong AS,
 * policy) is a failing peer too and must not be hammered.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** How long a session must stay Established before the failure count resets. */
  stableMs: number;
  random?: () => number;
}

export class Backoff {
  private failures = 0;
  private establishedAt: number | undefined;
  constructor(private readonly options: BackoffOptions) {}

  /** Delay before the next attempt; counts one more failure. */
  next(now = Date.now()): number {
    if (this.establishedAt !== undefined && now - this.establishedAt >= this.options.stableMs)
      this.failures = 0;
    this.establishedAt = undefined;
    const base = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const jitter = 0.75 + 0.25 * (this.options.random ?? Math.random)();
    return Math.round(base * jitter);
  }

  established(now = Date.now()): void {
    this.establishedAt = now;
  }

  get failureCount(): number {
    return this.failures;
  }
}
