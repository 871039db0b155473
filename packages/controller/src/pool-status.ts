/**
 * IPAddressPool status (MetalLB 0.15's `assignedIPv4`, `assignedIPv6`, `availableIPv4`,
 * `availableIPv6`), kept current by the controller through the status subresource.
 *
 * Writes are coalesced: `request()` only marks the counts dirty and arms one timer; a pass then
 * compares every pool's counts with the status the cache holds and writes the pools whose counts
 * changed (passes never overlap, see serialPasses). So 10,000 Services allocated in a burst cost
 * one write per pool per `delayMs`, not one per Service. A write that fails (409 after a
 * concurrent change, or the API is away) asks for another pass.
 */
import type { PoolStat } from '@portico/allocator';
import { type ApiClient, type CachedResource, serialPasses } from '@portico/kube';
import type { Logger } from 'pino';

export interface PoolCounts {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
}

export interface PoolStatusOptions {
  api: ApiClient;
  logger: Logger;
  /** The IPAddressPool objects as cached (name, resourceVersion, status). */
  pools: () => readonly CachedResource[];
  /** The allocator's counts; pools not in it (not loaded yet) are left alone. */
  stats: () => readonly PoolStat[];
  /** Coalescing window (default 500 ms). */
  delayMs?: number;
  onWrite?: (result: 'ok' | 'error') => void;
}

/** The counts of each pool from the allocator's statistics (a count beyond 2^53 - 1 is capped). */
export function poolCounts(stats: readonly PoolStat[]): Map<string, PoolCounts> {
  const out = new Map<string, PoolCounts>();
  for (const stat of stats) {
    const counts = out.get(stat.pool) ?? {
      assignedIPv4: 0,
      assignedIPv6: 0,
      availableIPv4: 0,
      availableIPv6: 0,
    };
    const available = stat.total - BigInt(stat.inUse);
    const capped = available > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(available);
    if (stat.family === 'IPv4') {
      counts.assignedIPv4 = stat.inUse;
      counts.availableIPv4 = capped;
    } else {
      counts.assignedIPv6 = stat.inUse;
      counts.availableIPv6 = capped;
    }
    out.set(stat.pool, counts);
  }
  return out;
}

export class PoolStatusWriter {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly pass = serialPasses(() => this.write());

  constructor(private readonly options: PoolStatusOptions) {}

  /** The counts may have changed: write them within delayMs. */
  request(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pass();
    }, this.options.delayMs ?? 500);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async write(): Promise<void> {
    const counts = poolCounts(this.options.stats());
    let failed = false;
    for (const pool of this.options.pools()) {
      const name = pool.metadata.name ?? '';
      const wanted = counts.get(name);
      if (!wanted || this.stopped || sameCounts(pool.status, wanted)) continue;
      const path = `/apis/metallb.io/v1beta1/namespaces/${pool.metadata.namespace}/ipaddresspools/${name}/status`;
      try {
        await this.options.api.request('PUT', path, {
          body: {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'IPAddressPool',
            metadata: {
              name,
              namespace: pool.metadata.namespace,
              resourceVersion: pool.metadata.resourceVersion,
            },
            spec: pool.spec,
            status: wanted,
          },
        });
        this.options.onWrite?.('ok');
      } catch (err) {
        failed = true;
        this.options.onWrite?.('error');
        this.options.logger.warn(
          { err: String(err), pool: name },
          'IPAddressPool status write failed; will retry',
        );
      }
    }
    // The cache catches up with a concurrent change first; then the counts are compared again.
    if (failed && !this.stopped) setTimeout(() => this.request(), 1_000).unref();
  }
}

function sameCounts(status: Record<string, unknown> | undefined, wanted: PoolCounts): boolean {
  return (Object.keys(wanted) as (keyof PoolCounts)[]).every((k) => status?.[k] === wanted[k]);
}
