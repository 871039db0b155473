import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConfigObjectRef } from './config-source.js';
import type { ConfigurationStateWriter } from './configuration-state.js';
import type { EventRecorder } from './events.js';

export type ConfigRefusal = 'invalid' | 'orphans-ips';

/**
 * Reports what became of the configuration a component reads (ConfigSource: the ConfigMap or the
 * metallb.io resources), the same way in every component: the loaded/stale gauges and error
 * counter, a log line, and a Warning Event on the ConfigMap, or on each resource an error names,
 * when a configuration is refused (the previous one stays in force).
 */
export class ConfigStatus {
  private readonly loadedGauge: Gauge;
  private readonly staleGauge: Gauge;
  private readonly errors: Counter<'reason'>;

  constructor(
    registry: Registry,
    private readonly recorder: EventRecorder,
    private readonly log: Logger,
    /** Where the state is also written as an object (the controller's ConfigurationState). */
    private readonly state?: ConfigurationStateWriter,
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
    this.state?.valid();
    this.log.info({ event: 'configLoaded', pools }, 'configuration loaded');
  }

  /**
   * The configuration does not parse or decode; ERRORS are the decoder's. Each resource an error
   * names gets an Event with its own errors; a ConfigMap gets them all.
   */
  invalid(objects: readonly ConfigObjectRef[], errors: readonly string[]): void {
    this.refused('invalid', `configuration refused: ${errors.join('; ')}`);
    for (const object of objects) {
      const own =
        object.kind === 'ConfigMap'
          ? errors
          : errors.filter((e) => e.startsWith(`${object.kind} ${JSON.stringify(object.metadata.name)}`));
      this.event(
        object,
        'InvalidConfig',
        `configuration refused: ${(own.length > 0 ? own : errors).join('; ')}`,
      );
    }
  }

  /** The new configuration would take addresses from the Services holding them; WHY says which. */
  wouldOrphan(objects: readonly ConfigObjectRef[], why: string): void {
    const message = `configuration refused: ${why}`;
    this.refused('orphans-ips', message);
    for (const object of objects.slice(0, 1)) this.event(object, 'ConfigRejected', message);
  }

  private refused(reason: ConfigRefusal, message: string): void {
    this.log.error(
      { event: 'configStale', reason, message },
      'configuration refused; the previous one stays in force',
    );
    this.staleGauge.set(1);
    this.errors.inc({ reason });
    this.state?.invalid(`${message}; the previous configuration stays in force`);
  }

  private event(object: ConfigObjectRef, reason: string, message: string): void {
    void this.recorder.record(object, 'Warning', reason, message);
  }

  /**
   * Neither the ConfigMap nor any metallb.io resource exists: a configuration in force stays;
   * without one there is nothing to do yet.
   */
  missing(inForce: boolean, namespace: string, name: string): void {
    if (!inForce) {
      this.log.warn(
        { event: 'configMissing' },
        `waiting for ConfigMap ${namespace}/${name} or metallb.io resources in ${namespace}`,
      );
      return;
    }
    this.log.error({ event: 'configMissing' }, 'configuration deleted; the last good one stays in force');
    this.staleGauge.set(1);
    this.errors.inc({ reason: 'missing' });
  }
}
