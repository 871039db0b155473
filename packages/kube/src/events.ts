import { hostname } from 'node:os';
import { type CoreV1Event, CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  component: string;
  /** Where the error of a failed event write goes; events are best effort and never throw. */
  onError?: (err: unknown) => void;
  /** Repeats of the same event within this window bump `count` instead of creating a new object. */
  aggregateWindowMs?: number;
}

interface Recorded {
  event: CoreV1Event;
  at: number;
}

const maxInflight = 8;
const maxQueued = 1000;

/**
 * Records core/v1 Events on objects. A repeated event (same object, type, reason and message)
 * updates the count of the existing Event instead of creating another one, so a flapping condition
 * cannot flood the API server. Events are best effort, as in client-go: when more than `maxQueued`
 * wait to be written, new ones are dropped (and counted) rather than letting memory grow.
 */
export class EventRecorder {
  private readonly api: CoreV1Api;
  private readonly recent = new Map<string, Recorded>();
  private readonly host = hostname();
  private readonly windowMs: number;
  private readonly queue: Array<() => Promise<void>> = [];
  private inflight = 0;
  private dropped = 0;

  constructor(
    kc: KubeConfig,
    private readonly options: EventRecorderOptions,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.windowMs = options.aggregateWindowMs ?? 10 * 60_000;
  }

  /** Events dropped because the API server could not keep up. */
  get droppedEvents(): number {
    return this.dropped;
  }

  /** Queues the event; resolves when it has been written, has failed, or was dropped. */
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    if (this.queue.length >= maxQueued) {
      this.dropped++;
      return Promise.resolve();
    }
    // Keep only what the Event refers to, not the whole object, while it waits.
    const { name, namespace, uid, resourceVersion } = obj.metadata ?? {};
    const target = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name, namespace, uid, resourceVersion },
    };
    return new Promise((resolve) => {
      this.queue.push(() =>
        this.write(target, type, reason, message)
          .catch((err: unknown) => this.options.onError?.(err))
          .finally(resolve),
      );
      this.pump();
    });
  }

  private pump(): void {
    while (this.inflight < maxInflight && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.inflight++;
      void job().finally(() => {
        this.inflight--;
        this.pump();
      });
    }
  }

  private async write(
    obj: KubernetesObject,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const key = eventKey(meta.uid, namespace, meta.name, type, reason, message);
    const now = new Date();
    const previous = this.recent.get(key);
    if (previous && now.getTime() - previous.at < this.windowMs && previous.event.metadata?.name) {
      const body: CoreV1Event = {
        ...previous.event,
        count: (previous.event.count ?? 1) + 1,
        lastTimestamp: now,
      };
      try {
        const updated = await this.api.replaceNamespacedEvent({
          namespace,
          name: previous.event.metadata.name,
          body,
        });
        this.recent.set(key, { event: updated, at: now.getTime() });
        return;
      } catch {
        // The old Event expired or changed: fall through and create a fresh one.
      }
    }
    const body: CoreV1Event = {
      metadata: {
        name: `${meta.name ?? 'object'}.${now.getTime().toString(16)}${randomSuffix()}`,
        namespace,
      },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.options.component, host: this.host },
      reportingComponent: this.options.component,
      reportingInstance: this.host,
    };
    const created = await this.api.createNamespacedEvent({ namespace, body });
    this.recent.set(key, { event: created, at: now.getTime() });
    this.forgetOld(now.getTime());
  }

  /**
   * Continues an Event this component wrote in another process (a previous leader, or this one
   * before a restart), as found in the API: a repeat within the window of its lastTimestamp bumps
   * its count instead of creating a duplicate. Events of other components, and ones already too old
   * to be bumped, are ignored.
   */
  remember(event: CoreV1Event): void {
    if (event.source?.component !== this.options.component || !event.metadata?.name) return;
    const at = new Date(event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? 0).getTime();
    if (!(Date.now() - at < this.windowMs)) return;
    const ref = event.involvedObject;
    const namespace = ref.namespace ?? 'default';
    const key = eventKey(
      ref.uid,
      namespace,
      ref.name,
      event.type ?? '',
      event.reason ?? '',
      event.message ?? '',
    );
    // What this process wrote itself is at least as fresh as what it lists.
    const known = this.recent.get(key);
    if (known && known.at >= at) return;
    // Items of a list carry no apiVersion/kind; the update that bumps the count sends them.
    this.recent.set(key, { event: { ...event, apiVersion: 'v1', kind: 'Event' }, at });
    this.forgetOld(Date.now());
  }

  private forgetOld(now: number): void {
    if (this.recent.size < 4096) return;
    for (const [key, r] of this.recent) if (now - r.at >= this.windowMs) this.recent.delete(key);
  }
}

/** Same object (by uid, else namespace/name), type, reason and message: the same Event. */
function eventKey(
  uid: string | undefined,
  namespace: string,
  name: string | undefined,
  type: string,
  reason: string,
  message: string,
): string {
  return `${uid ?? `${namespace}/${name}`}|${type}|${reason}|${message}`;
}

function randomSuffix(): string {
  return Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0');
}
