import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventRecorder } from './events.js';

export type ConfigRefusal = 'invalid' | 'orphans-ips';

/**
 * Reports what became of the configuration a component reads from its ConfigMap, the same way in
 * every component: the loaded/stale gauges and error counter, a log line, and a Warning Event on
 * the ConfigMap when a configuration is refused (the previous one stays in force).
 */
export class ConfigStatus {
  private readonly loadedGauge: Gauge;
  private readonly staleGauge: Gauge;
  private readonly errors: Counter<'reason'>;

  constructor(
    registry: Registry,
    private readonly recorder: EventRecorder,
    private readonly log: Logger,
  ) {
    const registers = [registry];
    this.loadedGauge = new Gauge({
      name: 'portico_config_loaded_bool',
      help: '1 once a valid configuration has been loaded',
      registers,
    });
    this.staleGauge = new Gauge({
      name: 'portico_config_stale_bool',
      help: '1 when the newest configuration was refused and an older one stays in force',
      registers,
    });
    this.errors = new Counter({
      name: 'portico_config_errors_total',
      help: 'Configurations refused, by reason (invalid, orphans-ips, missing)',
      labelNames: ['reason'],
      registers,
    });
  }

  loaded(pools: readonly string[]): void {
    this.loadedGauge.set(1);
    this.staleGauge.set(0);
    this.log.info({ event: 'configLoaded', pools }, 'configuration loaded');
  }

  /** The ConfigMap's text does not parse; ERRORS are the parser's. */
  invalid(cm: V1ConfigMap, errors: readonly string[]): void {
    this.refused(cm, 'invalid', 'InvalidConfig', `configuration refused: ${errors.join('; ')}`);
  }

  /** The new configuration would take addresses from the Services holding them; WHY says which. */
  wouldOrphan(cm: V1ConfigMap, why: string): void {
    this.refused(cm, 'orphans-ips', 'ConfigRejected', `configuration refused: ${why}`);
  }

  private refused(cm: V1ConfigMap, reason: ConfigRefusal, eventReason: string, message: string): void {
    this.log.error(
      { event: 'configStale', reason, message },
      'configuration refused; the previous one stays in force',
    );
    this.staleGauge.set(1);
    this.errors.inc({ reason });
    void this.recorder.record(
      { ...cm, apiVersion: 'v1', kind: 'ConfigMap' },
      'Warning',
      eventReason,
      message,
    );
  }

  /** The ConfigMap is gone: a configuration in force stays; without one there is nothing to do yet. */
  missing(inForce: boolean, namespace: string, name: string): void {
    if (!inForce) {
      this.log.warn({ event: 'configMissing' }, `waiting for ConfigMap ${namespace}/${name}`);
      return;
    }
    this.log.error({ event: 'configMissing' }, 'configuration deleted; the last good one stays in force');
    this.staleGauge.set(1);
    this.errors.inc({ reason: 'missing' });
  }
}
