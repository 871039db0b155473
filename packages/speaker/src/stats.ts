import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The speaker's own Prometheus metrics (the bgp and layer2 libraries register theirs, the
 * configuration metrics come from ConfigStatus in @portico/kube).
 */
export function speakerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    announced: new Gauge({
      name: 'portico_speaker_announced',
      help: 'Addresses (layer2) or prefixes (bgp) this node announces',
      labelNames: ['protocol'],
      registers,
    }),
    failovers: new Counter({
      name: 'portico_speaker_failovers_total',
      help: 'Layer-2 IPs this node took over from a speaker that died',
      registers,
    }),
    membersAlive: new Gauge({
      name: 'portico_speaker_members_alive',
      help: 'Other speakers this node hears from',
      registers,
    }),
    quorum: new Gauge({
      name: 'portico_speaker_quorum_bool',
      help: '1 while this node hears from a majority of the speakers (it may answer for layer-2 IPs)',
      registers,
    }),
  };
}

export type SpeakerMetrics = ReturnType<typeof speakerMetrics>;
