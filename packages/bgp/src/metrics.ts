/** Prometheus metrics of the speaker, registered on the registry the caller passes in (or a private one). */
import { Counter, Gauge, Registry } from 'prom-client';

export class BgpStats {
  readonly registry: Registry;
  readonly sessionUp: Gauge<'peer'>;
  readonly sessionState: Gauge<'peer'>;
  readonly prefixesAdvertised: Gauge<'peer'>;
  readonly updatesSent: Counter<'peer'>;
  readonly updatesReceived: Counter<'peer'>;
  readonly flaps: Counter<'peer'>;
  readonly notificationsSent: Counter<'peer' | 'code' | 'subcode'>;
  readonly notificationsReceived: Counter<'peer' | 'code' | 'subcode'>;

  constructor(registry?: Registry) {
    this.registry = registry ?? new Registry();
    const registers = [this.registry];
    this.sessionUp = new Gauge({
      name: 'portico_bgp_session_up',
      help: '1 when the BGP session with the peer is Established',
      labelNames: ['peer'],
      registers,
    });
    this.sessionState = new Gauge({
      name: 'portico_bgp_session_state',
      help: 'RFC 4271 state of the session: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established',
      labelNames: ['peer'],
      registers,
    });
    this.prefixesAdvertised = new Gauge({
      name: 'portico_bgp_prefixes_advertised',
      help: 'Prefixes currently advertised to the peer',
      labelNames: ['peer'],
      registers,
    });
    this.updatesSent = new Counter({
      name: 'portico_bgp_updates_sent_total',
      help: 'UPDATE messages sent to the peer',
      labelNames: ['peer'],
      registers,
    });
    this.updatesReceived = new Counter({
      name: 'portico_bgp_updates_received_total',
      help: 'UPDATE messages received from the peer (validated and dropped)',
      labelNames: ['peer'],
      registers,
    });
    this.flaps = new Counter({
      name: 'portico_bgp_session_flaps_total',
      help: 'Times an Established session with the peer went down',
      labelNames: ['peer'],
      registers,
    });
    this.notificationsSent = new Counter({
      name: 'portico_bgp_notifications_sent_total',
      help: 'NOTIFICATION messages sent, by error code and subcode',
      labelNames: ['peer', 'code', 'subcode'],
      registers,
    });
    this.notificationsReceived = new Counter({
      name: 'portico_bgp_notifications_received_total',
      help: 'NOTIFICATION messages received, by error code and subcode',
      labelNames: ['peer', 'code', 'subcode'],
      registers,
    });
  }
}
