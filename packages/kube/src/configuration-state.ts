/**
 * The configuration's state as an object users can `kubectl get`: MetalLB 0.15's
 * ConfigurationState (metallb.io/v1beta1, status only), one per component, in the namespace the
 * configuration is read from. The controller's is named `controller` and labelled
 * `metallb.io/component-type: controller`, as MetalLB names it. Its status says `result` Valid or
 * Invalid, `errorSummary` (every reason of a refusal), and one condition `configReconcilerValid`
 * (reason `Reconciled` or `ConfigurationError`) whose `observedGeneration`-like field is the
 * configuration input it judged: `lastTransitionTime` of that judgement.
 *
 * Written only when the result or the summary changes, one write at a time (the newest state
 * wins). Without the CRD (404) it logs once and tries again at the next change.
 */
import type { Logger } from 'pino';
import type { ApiClient } from './client/api-client.js';
import { isNotFound } from './errors.js';
import { serialPasses } from './serial-passes.js';

export interface ConfigurationStateOptions {
  api: ApiClient;
  namespace: string;
  /** `controller`, or `speaker-NODE` for a speaker. */
  name: string;
  /** Labels MetalLB puts on it (`metallb.io/component-type`, and `metallb.io/node-name` for a speaker). */
  labels: Record<string, string>;
  logger: Logger;
}

interface State {
  result: 'Valid' | 'Invalid';
  errorSummary: string;
}

const group = '/apis/metallb.io/v1beta1';

export class ConfigurationStateWriter {
  private wanted: State | undefined;
  private written: string | undefined;
  private missingLogged = false;
  private readonly pass = serialPasses(() => this.write());

  constructor(private readonly options: ConfigurationStateOptions) {}

  valid(): void {
    this.set({ result: 'Valid', errorSummary: '' });
  }

  /** A configuration was refused; SUMMARY holds every reason. */
  invalid(summary: string): void {
    this.set({ result: 'Invalid', errorSummary: summary });
  }

  /** Resolves once the newest state is written (or could not be). */
  async flush(): Promise<void> {
    await this.pass();
  }

  private set(state: State): void {
    this.wanted = state;
    void this.pass();
  }

  private async write(): Promise<void> {
    const state = this.wanted;
    if (!state || JSON.stringify(state) === this.written) return;
    const { api, namespace, name, labels } = this.options;
    const collection = `${group}/namespaces/${namespace}/configurationstates`;
    try {
      let current: { metadata?: { resourceVersion?: string } };
      try {
        current = await api.request('GET', `${collection}/${name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        current = await api.request('POST', collection, {
          body: {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'ConfigurationState',
            metadata: { name, namespace, labels },
          },
        });
      }
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await api.request('PUT', `${collection}/${name}/status`, {
        body: {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'ConfigurationState',
          metadata: { name, namespace, labels, resourceVersion: current.metadata?.resourceVersion },
          status: {
            result: state.result,
            ...(state.errorSummary ? { errorSummary: state.errorSummary.slice(0, 32768) } : {}),
            conditions: [
              {
                type: 'configReconcilerValid',
                status: state.result === 'Valid' ? 'True' : 'False',
                reason: state.result === 'Valid' ? 'Reconciled' : 'ConfigurationError',
                message: state.errorSummary.slice(0, 32768),
                lastTransitionTime: now,
              },
            ],
          },
        },
      });
      this.written = JSON.stringify(state);
      this.missingLogged = false;
    } catch (err) {
      if (isNotFound(err)) {
        if (!this.missingLogged)
          this.options.logger.info(
            { event: 'crdMissing', kind: 'configurationstates.metallb.io' },
            'ConfigurationState is not served (CRD not installed): the configuration state is in Events and metrics only',
          );
        this.missingLogged = true;
        return;
      }
      this.options.logger.warn({ err: String(err) }, 'ConfigurationState write failed');
    }
  }
}
