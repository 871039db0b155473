/**
 * The pace of one response body under `limit-rate` (annotations/response-rate.ts), with nginx's
 * arithmetic: once `after` bytes are out, the body may be at most `rate × (seconds since the
 * response began + 1)` bytes ahead of them. The relay (node-exchange.ts) writes what the pace
 * leaves room for and holds the rest, with the pod not read meanwhile: nothing piles up.
 */
import type { ResponseRatePolicy } from './annotations/index.js';

export class ResponsePace {
  private sent = 0;

  constructor(
    private readonly policy: ResponseRatePolicy,
    /** When the response began (performance.now()). */
    private readonly started = performance.now(),
  ) {}

  /** Bytes that may be written now (0 or less: none). */
  room(now = performance.now()): number {
    const { bytesPerSecond, after } = this.policy;
    return Math.floor(bytesPerSecond * ((now - this.started) / 1000 + 1)) + after - this.sent;
  }

  wrote(bytes: number): void {
    this.sent += bytes;
  }

  /**
   * Milliseconds until there is room for `wanted` bytes, or a twentieth of a second's worth if
   * less (so a slow rate is not served a byte per timer).
   */
  waitFor(wanted: number, now = performance.now()): number {
    const rate = this.policy.bytesPerSecond;
    const target = Math.min(wanted, Math.max(1, Math.floor(rate / 20)));
    return Math.max(1, Math.ceil(((target - this.room(now)) * 1000) / rate));
  }
}
