/** Prometheus metrics of BFD sessions, shared by every session that reports to the same registry. */
import { Counter, Gauge, Registry } from 'prom-client';

export interface BfdMetrics {
  sessionUp: Gauge<'local' | 'peer'>;
  packetsSent: Counter<'local' | 'peer'>;
  packetsReceived: Counter<'local' | 'peer'>;
  packetsDropped: Counter<'local' | 'peer' | 'reason'>;
  stateTransitions: Counter<'local' | 'peer' | 'from' | 'to'>;
}

const byRegistry = new WeakMap<Registry, BfdMetrics>();

/** The metrics on `registry`, created on first use (one set per registry, so no duplicate names). */
export function bfdMetrics(registry: Registry): BfdMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    const registers = [registry];
    metrics = {
      sessionUp: new Gauge({
        name: 'portico_bfd_session_up',
        help: 'Whether the BFD session is Up (1) or not (0)',
        labelNames: ['local', 'peer'],
        registers,
      }),
      packetsSent: new Counter({
        name: 'portico_bfd_control_packets_sent_total',
        help: 'BFD Control packets sent',
        labelNames: ['local', 'peer'],
        registers,
      }),
      packetsReceived: new Counter({
        name: 'portico_bfd_control_packets_received_total',
        help: 'BFD Control packets received and accepted by a session',
        labelNames: ['local', 'peer'],
        registers,
      }),
      packetsDropped: new Counter({
        name: 'portico_bfd_control_packets_dropped_total',
        help: 'BFD packets from a peer address discarded (bad TTL, malformed, authenticated, unknown discriminator)',
        labelNames: ['local', 'peer', 'reason'],
        registers,
      }),
      stateTransitions: new Counter({
        name: 'portico_bfd_state_transitions_total',
        help: 'BFD session state changes',
        labelNames: ['local', 'peer', 'from', 'to'],
        registers,
      }),
    };
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
