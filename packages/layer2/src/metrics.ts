/** Prometheus metrics of the layer-2 announcer (the names follow MetalLB's metallb_layer2_*). */
import { Counter, Registry } from 'prom-client';

export interface Layer2Metrics {
  requestsReceived: Counter<'ip' | 'interface'>;
  responsesSent: Counter<'ip' | 'interface'>;
  gratuitousSent: Counter<'ip' | 'interface'>;
  conflicts: Counter<'ip' | 'interface'>;
}

/** Reuses the counters when several announcers share one registry (a registry refuses duplicates). */
function counter(registry: Registry, name: string, help: string): Counter<'ip' | 'interface'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'ip' | 'interface'>;
  return new Counter({ name, help, labelNames: ['ip', 'interface'], registers: [registry] });
}

export function createMetrics(registry: Registry): Layer2Metrics {
  return {
    requestsReceived: counter(
      registry,
      'portico_layer2_requests_received_total',
      'ARP requests and Neighbor Solicitations received for an announced IP',
    ),
    responsesSent: counter(
      registry,
      'portico_layer2_responses_sent_total',
      'ARP replies and solicited Neighbor Advertisements sent for an announced IP',
    ),
    gratuitousSent: counter(
      registry,
      'portico_layer2_gratuitous_sent_total',
      'Gratuitous ARP packets and unsolicited Neighbor Advertisements sent',
    ),
    conflicts: counter(
      registry,
      'portico_layer2_conflicts_total',
      'Another link-layer address claimed an IP we announce or probe for',
    ),
  };
}
