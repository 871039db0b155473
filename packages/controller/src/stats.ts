import { Counter, Gauge, type Registry } from 'prom-client';

/** The controller's Prometheus metrics (names follow MetalLB's, under the portico_ prefix). */
export function controllerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    addressesTotal: new Gauge({
      name: 'portico_allocator_addresses_total',
      help: 'Number of usable addresses in a pool, per family',
      labelNames: ['pool', 'family'],
      registers,
    }),
    addressesInUse: new Gauge({
      name: 'portico_allocator_addresses_in_use_total',
      help: 'Number of addresses of a pool assigned to Services, per family',
      labelNames: ['pool', 'family'],
      registers,
    }),
    configLoaded: new Gauge({
      name: 'portico_config_loaded_bool',
      help: '1 once a valid configuration has been loaded',
      registers,
    }),
    configStale: new Gauge({
      name: 'portico_config_stale_bool',
      help: '1 when the newest configuration was refused and an older one stays in force',
      registers,
    }),
    configErrors: new Counter({
      name: 'portico_config_errors_total',
      help: 'Configurations refused, by reason (invalid, orphans-ips, missing)',
      labelNames: ['reason'],
      registers,
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
    leader: new Gauge({
      name: 'portico_controller_leader_bool',
      help: '1 while this replica is the leader',
      registers,
    }),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;
