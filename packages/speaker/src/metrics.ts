import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The speaker's own Prometheus metrics (the bgp and layer2 libraries register theirs, the
 * configuration metrics come from ConfigStatus in @portico/kube).
 */
export function speakerMetrics(
  registry: Registry,
  /** The membership layer's per-IP work so far (FailureDetector.work), read at each scrape. */
  membershipWork?: () => { leaseIPs: number; claimEntries: number },
) {
  const registers = [registry];
  const counted = { leaseIPs: 0, claimEntries: 0 };
  return {
    membershipWork: new Counter({
      name: 'portico_speaker_membership_ips_processed_total',
      help: 'Layer-2 IPs the membership layer handled one by one, by step: lease (a lease started or ended, a refusal, a new claim) and claims (claim entries decoded from heartbeats; a list resent unchanged is not decoded). Grows with change, not with time: a steady rise is steady per-IP work',
      labelNames: ['step'],
      registers,
      collect() {
        const now = membershipWork?.();
        if (!now) return;
        this.inc({ step: 'lease' }, now.leaseIPs - counted.leaseIPs);
        this.inc({ step: 'claims' }, now.claimEntries - counted.claimEntries);
        Object.assign(counted, now);
      },
    }),
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
    takeovers: new Counter({
      name: 'portico_speaker_layer2_takeovers_total',
      help: 'Layer-2 IPs this node started answering for once a majority of the speakers granted them',
      registers,
    }),
    stepDowns: new Counter({
      name: 'portico_speaker_layer2_stepdowns_total',
      help: 'Layer-2 IPs this node stopped answering for, by reason: lease (the grants of a majority ran out: partition or quorum lost), released (the election moved it), stopped (shutdown)',
      labelNames: ['reason'],
      registers,
    }),
    quorumChanges: new Counter({
      name: 'portico_speaker_quorum_changes_total',
      help: 'Times this node lost or regained quorum (a majority of the speakers acknowledging its heartbeats)',
      labelNames: ['state'],
      registers,
    }),
    conflicts: new Counter({
      name: 'portico_speaker_layer2_conflicts_total',
      help: 'ARP/NDP answers from another station for an IP this node answers for (two answering nodes: alert on any increase)',
      labelNames: ['protocol'],
      registers,
    }),
    decided: new Counter({
      name: 'portico_speaker_service_decisions_total',
      help: 'Services decided again: one per Service a change touched (a configuration or Node change decides every Service again)',
      registers,
    }),
    membersAlive: new Gauge({
      name: 'portico_speaker_members_alive',
      help: 'Other speakers this node hears from',
      registers,
    }),
    quorum: new Gauge({
      name: 'portico_speaker_quorum_bool',
      help: "1 while a majority of the speakers acknowledge this node's heartbeats (it may be granted layer-2 IPs)",
      registers,
    }),
  };
}

export type SpeakerMetrics = ReturnType<typeof speakerMetrics>;
