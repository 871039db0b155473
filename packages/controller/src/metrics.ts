import type { PoolStat } from '@portico/allocator';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The controller's Prometheus metrics (names follow MetalLB's, under the portico_ prefix); the
 * configuration metrics come from ConfigStatus in @portico/kube.
 */
export function controllerMetrics(registry: Registry, poolStats: () => readonly PoolStat[]) {
  const registers = [registry];
  // Pool figures are read from the allocator when scraped, not after every allocation; reset
  // first so a pool that left the configuration leaves the metrics too.
  const perPool = (gauge: Gauge<'pool' | 'family'>, value: (s: PoolStat) => number) => {
    gauge.reset();
    for (const s of poolStats()) gauge.set({ pool: s.pool, family: s.family }, value(s));
  };
  return {
    addressesTotal: new Gauge({
      name: 'portico_allocator_addresses_total',
      help: 'Number of usable addresses in a pool, per family',
      labelNames: ['pool', 'family'],
      registers,
      collect() {
        perPool(this, (s) => Number(s.total));
      },
    }),
    addressesInUse: new Gauge({
      name: 'portico_allocator_addresses_in_use_total',
      help: 'Number of addresses of a pool assigned to Services, per family',
      labelNames: ['pool', 'family'],
      registers,
      collect() {
        perPool(this, (s) => s.inUse);
      },
    }),
    allocationErrors: new Counter({
      name: 'portico_allocation_errors_total',
      help: 'Services for which no address could be allocated',
      registers,
    }),
    statusUpdates: new Counter({
      name: 'portico_k8s_status_updates_total',
      help: 'Service status writes, by result',
      labelNames: ['result'],
      registers,
    }),
    poolStatusUpdates: new Counter({
      name: 'portico_pool_status_updates_total',
      help: 'IPAddressPool status writes (assigned and available counts), by result',
      labelNames: ['result'],
      registers,
    }),
    leader: new Gauge({
      name: 'portico_controller_leader_bool',
      help: '1 while this replica is the leader',
      registers,
    }),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;
