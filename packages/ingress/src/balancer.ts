/**
 * Endpoint choice per request: strict round-robin (so N keep-alive requests reach all N pods,
 * reference §0.1.9) that skips endpoints passively ejected after consecutive connection failures.
 * If every endpoint is ejected we still try them: a stale ejection must not turn into a 503.
 */
import type { RoutedEndpoint } from './router.js';

export interface EjectionOptions {
  /** Consecutive failures that eject an endpoint. */
  readonly failures: number;
  /** How long an ejected endpoint is skipped, in ms. */
  readonly ejectMs: number;
}

interface Health {
  failures: number;
  ejectedUntil: number;
}

export class Balancer {
  private readonly cursors = new Map<string, number>();
  private readonly health = new Map<string, Health>();

  constructor(
    private readonly options: EjectionOptions = { failures: 3, ejectMs: 10_000 },
    private readonly now: () => number = Date.now,
  ) {}

  /** The next endpoint for a backend, skipping `avoid` (a retry) and ejected endpoints when possible. */
  pick(
    key: string,
    endpoints: readonly RoutedEndpoint[],
    avoid?: RoutedEndpoint,
  ): RoutedEndpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    const health = this.health;
    // One endpoint and nothing ejected (a Deployment of one, or the benchmark): no cursor to
    // move, no clock to read (Date.now() leaves JIT-compiled code).
    if (n === 1 && health.size === 0) return endpoints[0] === avoid ? undefined : endpoints[0];
    const start = this.cursors.get(key) ?? 0;
    let now: number | undefined;
    let fallback: RoutedEndpoint | undefined;
    for (let i = 0; i < n; i++) {
      const e = endpoints[(start + i) % n]!;
      if (e === avoid) continue;
      const h = health.size === 0 ? undefined : health.get(e.origin);
      if (h && h.ejectedUntil > (now ??= this.now())) {
        fallback ??= e;
        continue;
      }
      this.cursors.set(key, (start + i + 1) % n);
      return e;
    }
    this.cursors.set(key, (start + 1) % n);
    return fallback;
  }

  /** A connection-level failure talking to this origin. */
  failed(origin: string): void {
    const h = this.health.get(origin) ?? { failures: 0, ejectedUntil: 0 };
    h.failures++;
    if (h.failures >= this.options.failures) {
      h.ejectedUntil = this.now() + this.options.ejectMs;
      h.failures = 0;
    }
    this.health.set(origin, h);
  }

  succeeded(origin: string): void {
    if (this.health.size !== 0) this.health.delete(origin);
  }

  /** Forgets backends and origins that are gone, so long-running churn does not grow the maps. */
  prune(keys: ReadonlySet<string>, origins: ReadonlySet<string>): void {
    for (const k of this.cursors.keys()) if (!keys.has(k)) this.cursors.delete(k);
    for (const o of this.health.keys()) if (!origins.has(o)) this.health.delete(o);
  }

  isEjected(origin: string): boolean {
    return (this.health.get(origin)?.ejectedUntil ?? 0) > this.now();
  }
}
