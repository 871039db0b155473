/** Proxy metrics on a per-instance prom-client Registry (aggregated across workers by the primary). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ProxyMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'status' | 'ingress' | 'service'>;
  readonly duration: Histogram<'ingress' | 'service'>;
  readonly upstreamErrors: Counter<'service' | 'reason'>;
  readonly tableVersion: Gauge;
  readonly swaps: Counter;

  constructor(registry = new Registry()) {
    this.registry = registry;
    this.requests = new Counter({
      name: 'portico_ingress_requests_total',
      help: 'Requests handled, by response status, Ingress (namespace/name) and backend (namespace/service:port)',
      labelNames: ['status', 'ingress', 'service'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'portico_ingress_request_duration_seconds',
      help: 'Time from request start to response end',
      labelNames: ['ingress', 'service'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.upstreamErrors = new Counter({
      name: 'portico_ingress_upstream_errors_total',
      help: 'Failed upstream exchanges by backend and reason (connect, reset, timeout)',
      labelNames: ['service', 'reason'],
      registers: [registry],
    });
    this.tableVersion = new Gauge({
      name: 'portico_ingress_table_version',
      help: 'Version of the routing table this process serves',
      registers: [registry],
      aggregator: 'min',
    });
    this.swaps = new Counter({
      name: 'portico_ingress_table_swaps_total',
      help: 'Routing tables swapped in',
      registers: [registry],
    });
  }
}
