/**
 * Tells users about the problems the compiler found in their Ingresses: a log line and a counter
 * for each problem when it first appears, a gauge of the problems present now by reason, and, from
 * the leader only, one Warning Event on the Ingress per new problem. A problem present in every
 * compile is reported once, not once per compile; one that goes away and comes back is reported
 * again (the EventRecorder then bumps the count of the Event it already wrote).
 *
 * A replica that becomes leader is told which of our Events already exist in the API (written by
 * the previous leader, or by this process before a restart), so a problem that is still there is not
 * reported a second time.
 */
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import type { EventType } from '@portico/kube';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PROBLEM_REASONS, problemKey, type IngressProblem, type ProblemReason } from './problems.js';

/** Where Events go: @portico/kube's EventRecorder (aggregating, bounded, best effort). */
export interface EventSink {
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void>;
  /** Continue an Event found in the API (EventRecorder.remember), so a repeat bumps its count. */
  remember?(event: CoreV1Event): void;
}

export interface ProblemReporterOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly events: EventSink;
}

export class ProblemReporter {
  /** The problems of the latest compile, by key. */
  private current = new Map<string, IngressProblem>();
  /** Keys of current problems this replica has written an Event for (while leading). */
  private evented = new Set<string>();
  /**
   * Warning Events found in the API when this replica last became leader, by `namespace/name|reason|
   * message`, with the uid of the Ingress each is about. Kept only until the first compile seen
   * while leading has been matched against them.
   */
  private existing = new Map<string, (string | undefined)[]>();
  private compiled = false;
  private leading = false;
  private readonly gauge: Gauge<'reason'>;
  private readonly found: Counter<'reason'>;

  constructor(private readonly options: ProblemReporterOptions) {
    const registers = [options.registry];
    this.gauge = new Gauge({
      name: 'portico_ingress_config_problems',
      help: 'Problems in served Ingresses found by the latest compile, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.found = new Counter({
      name: 'portico_ingress_config_problems_total',
      help: 'Ingress problems found since start (each counted once when it appears), by reason',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of PROBLEM_REASONS) {
      this.gauge.set({ reason }, 0);
      this.found.inc({ reason }, 0);
    }
  }

  /** The problems of a new compile. */
  update(problems: readonly IngressProblem[]): void {
    const next = new Map<string, IngressProblem>();
    for (const p of problems) next.set(problemKey(p), p);
    const log = this.options.logger;
    for (const [key, p] of next) {
      if (this.current.has(key)) continue;
      this.found.inc({ reason: p.reason });
      log.warn(
        { ingress: `${p.namespace}/${p.name}`, reason: p.reason, field: p.field, problem: p.message },
        'ingress problem',
      );
    }
    for (const [key, p] of this.current)
      if (!next.has(key))
        log.info(
          { ingress: `${p.namespace}/${p.name}`, reason: p.reason, field: p.field },
          'ingress problem resolved',
        );
    this.current = next;
    this.compiled = true;
    // A problem that went away is forgotten, so it is reported again if it comes back.
    for (const key of this.evented) if (!next.has(key)) this.evented.delete(key);
    this.setGauge();
    if (this.leading) this.emitNew();
  }

  /**
   * Called on leadership changes: a new leader reports what nobody has reported yet. `existing` are
   * the Events on Ingresses that our component already wrote (listed from the API, any type).
   */
  setLeading(leading: boolean, existing: readonly CoreV1Event[] = []): void {
    this.leading = leading;
    this.existing.clear();
    if (!leading) return;
    for (const e of existing) {
      if (e.type !== 'Warning' || e.involvedObject.kind !== 'Ingress') continue;
      const key = sameProblem(
        e.involvedObject.namespace ?? '',
        e.involvedObject.name ?? '',
        e.reason,
        e.message,
      );
      const uids = this.existing.get(key) ?? [];
      uids.push(e.involvedObject.uid);
      this.existing.set(key, uids);
    }
    this.emitNew();
  }

  private emitNew(): void {
    for (const [key, p] of this.current) {
      if (this.evented.has(key)) continue;
      this.evented.add(key);
      // A problem whose Event already exists is one that is still there, not one that happened
      // again: like a problem seen by every compile, it leaves the Event (and its count) alone.
      // Kubernetes' count is how often the event occurred, and the occurrence was counted already.
      if (this.reportedBefore(p)) continue;
      void this.options.events.record(ingressRef(p), 'Warning', p.reason, p.message);
    }
    // Problems that are gone by now are reported (their Event bumped) if they come back.
    if (this.compiled) this.existing.clear();
  }

  /** Same Ingress (by uid when both sides know it, else by namespace/name), reason and message. */
  private reportedBefore(p: IngressProblem): boolean {
    const uids = this.existing.get(sameProblem(p.namespace, p.name, p.reason, p.message));
    return uids?.some((uid) => !uid || !p.uid || uid === p.uid) ?? false;
  }

  private setGauge(): void {
    const counts = new Map<ProblemReason, number>(PROBLEM_REASONS.map((r) => [r, 0]));
    for (const p of this.current.values()) counts.set(p.reason, (counts.get(p.reason) ?? 0) + 1);
    for (const [reason, n] of counts) this.gauge.set({ reason }, n);
  }
}

function sameProblem(namespace: string, name: string, reason?: string, message?: string): string {
  return `${namespace}/${name}|${reason}|${message}`;
}

/** What an Event on an Ingress refers to. */
export function ingressRef(ingress: { namespace: string; name: string; uid?: string }): KubernetesObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace: ingress.namespace, name: ingress.name, uid: ingress.uid },
  };
}
