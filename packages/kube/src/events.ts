import { hostname } from 'node:os';
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ApiClient } from './client/api-client.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  component: string;
  /** Where the error of a failed event write goes; events are best effort and never throw. */
  onError?: (err: unknown) => void;
  /** Repeats of the same event within this window bump `count` instead of creating a new object. */
  aggregateWindowMs?: number;
  /** Where the recorder's counters (portico_events_*) are registered, labelled by component. */
  registry?: Registry;
}

/** What the recorder has done so far, and what it holds now. */
export interface EventRecorderStats {
  /** Calls to record(). */
  recorded: number;
  /** Records folded into an identical event that was still waiting to be written. */
  merged: number;
  /** Events written: Events created, plus counts bumped on existing ones. */
  written: number;
  /** Writes the API server refused or that did not reach it (reported to onError). */
  failed: number;
  /** Records refused because `maxPendingEvents` distinct events were already waiting. */
  dropped: number;
  /** Distinct events waiting to be written now (at most `maxPendingEvents`). */
  pending: number;
  /** Events remembered for aggregation now (at most `maxCachedEvents`). */
  cached: number;
}

/** One distinct event waiting to be written; identical records merge into it. */
interface Pending {
  readonly namespace: string;
  readonly about: About;
  /** Records merged into this write: the count it adds. */
  repeats: number;
  readonly firstAt: number;
  lastAt: number;
  readonly done: Array<() => void>;
}

interface Target {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/** What an Event is about; shared by reference between a waiting event and its cache entry. */
interface About {
  readonly target: Target;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
}

/**
 * What aggregating a repeat needs: which Event, its count, its resourceVersion, and enough to
 * write it whole again. The bump is an update (PUT) rather than a patch because update is the
 * verb the manifests' RBAC grants on events.
 */
interface Cached {
  readonly name: string;
  readonly about: About;
  readonly firstAt: number;
  count: number;
  resourceVersion?: string;
  at: number;
}

/**
 * Distinct events that may wait to be written. A burst of 10,000 Services records one IPAllocated
 * Event each at once; twice that leaves room for the other reasons. A waiting event is a few
 * hundred bytes (the reference, reason and message), so the queue stays within a few MiB.
 */
export const maxPendingEvents = 20_000;
/** Events remembered for aggregation, least recently used forgotten first (client-go keeps 4,096). */
export const maxCachedEvents = 4096;
/** Writes in flight at once: the queue drains as fast as the API server answers, no faster. */
const maxInflight = 8;

/**
 * Records core/v1 Events on objects, aggregating as Kubernetes does: a repeated event (same
 * object, type, reason and message) bumps the count and lastTimestamp of the existing Event
 * instead of creating another, so a flapping condition cannot flood the API server.
 *
 * Writes go through a coalescing queue: identical events waiting to be written merge into one
 * write (their count adds up) instead of being dropped, and distinct ones wait their turn, so a
 * burst is written in full at the rate the API server takes it. Only more than `maxPendingEvents`
 * distinct events waiting at once are dropped (and counted). The recorder keeps no Event objects
 * from the API (with their managed fields): per remembered event its name, count, resourceVersion
 * and first time, and the reference, reason and message it already held while the event waited;
 * at most `maxCachedEvents` of them.
 */
export class EventRecorder {
  private readonly host = hostname();
  private readonly windowMs: number;
  /** Keyed by eventKey, in the order they were first recorded (a Map keeps insertion order). */
  private readonly pending = new Map<string, Pending>();
  /** Keys being written now: a repeat recorded meanwhile waits for that write, then bumps it. */
  private readonly writing = new Set<string>();
  /** Keyed by eventKey, least recently used first. */
  private readonly recent = new Map<string, Cached>();
  private readonly counts = { recorded: 0, merged: 0, written: 0, failed: 0, dropped: 0 };
  private pumpScheduled = false;
  private readonly metrics?: {
    recorded: Counter<'component'>;
    merged: Counter<'component'>;
    written: Counter<'component'>;
    failed: Counter<'component'>;
    dropped: Counter<'component'>;
  };

  constructor(
    private readonly api: ApiClient,
    private readonly options: EventRecorderOptions,
  ) {
    this.windowMs = options.aggregateWindowMs ?? 10 * 60_000;
    if (options.registry)
      this.metrics = registerMetrics(options.registry, options.component, () => this.pending.size);
  }

  /** Events dropped because more than `maxPendingEvents` waited to be written. */
  get droppedEvents(): number {
    return this.counts.dropped;
  }

  get stats(): EventRecorderStats {
    return { ...this.counts, pending: this.pending.size, cached: this.recent.size };
  }

  /** Queues the event; resolves when it has been written, has failed, or was dropped. */
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    this.count('recorded');
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const key = eventKey(meta.uid, namespace, meta.name, type, reason, message);
    const now = Date.now();
    const waiting = this.pending.get(key);
    if (waiting) {
      waiting.repeats++;
      waiting.lastAt = now;
      this.count('merged');
      return new Promise((resolve) => waiting.done.push(resolve));
    }
    if (this.pending.size >= maxPendingEvents) {
      this.count('dropped');
      return Promise.resolve();
    }
    // Keep only what the Event refers to, not the whole object, while it waits.
    const { name, uid, resourceVersion } = meta;
    const target = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name,
      namespace: meta.namespace,
      uid,
      resourceVersion,
    };
    return new Promise((resolve) => {
      this.pending.set(key, {
        namespace,
        about: { target, type, reason, message },
        repeats: 1,
        firstAt: now,
        lastAt: now,
        done: [resolve],
      });
      // Start writing after the current task, so identical events recorded together merge.
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        queueMicrotask(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    if (this.writing.size >= maxInflight) return;
    for (const [key, event] of this.pending) {
      // At most maxInflight keys are being written, so this skips at most that many entries.
      if (this.writing.has(key)) continue;
      this.pending.delete(key);
      this.writing.add(key);
      void this.write(key, event)
        .then(
          () => this.count('written'),
          (err: unknown) => {
            this.count('failed');
            this.options.onError?.(err);
          },
        )
        .finally(() => {
          this.writing.delete(key);
          for (const resolve of event.done) resolve();
          this.pump();
        });
      if (this.writing.size >= maxInflight) return;
    }
  }

  private async write(key: string, event: Pending): Promise<void> {
    const { namespace } = event;
    const previous = this.recent.get(key);
    if (previous && event.lastAt - previous.at < this.windowMs) {
      const count = previous.count + event.repeats;
      try {
        const updated = await this.api.request<CoreV1Event>(
          'PUT',
          `/api/v1/namespaces/${namespace}/events/${previous.name}`,
          {
            body: this.body(namespace, previous.name, previous.about, count, previous.firstAt, event.lastAt, {
              resourceVersion: previous.resourceVersion,
            }),
          },
        );
        this.remember1(key, {
          ...previous,
          count,
          resourceVersion: updated.metadata?.resourceVersion,
          at: event.lastAt,
        });
        return;
      } catch {
        // The old Event expired, was deleted or changed meanwhile: create a fresh one instead.
        this.recent.delete(key);
      }
    }
    const name = `${event.about.target.name ?? 'object'}.${event.firstAt.toString(16)}${randomSuffix()}`;
    const created = await this.api.request<CoreV1Event>('POST', `/api/v1/namespaces/${namespace}/events`, {
      body: this.body(namespace, name, event.about, event.repeats, event.firstAt, event.lastAt),
    });
    this.remember1(key, {
      name,
      about: event.about,
      firstAt: event.firstAt,
      count: event.repeats,
      resourceVersion: created.metadata?.resourceVersion,
      at: event.lastAt,
    });
  }

  private body(
    namespace: string,
    name: string,
    about: About,
    count: number,
    firstAt: number,
    lastAt: number,
    meta: { resourceVersion?: string } = {},
  ): CoreV1Event {
    const t = about.target;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace, ...meta },
      involvedObject: {
        apiVersion: t.apiVersion,
        kind: t.kind,
        name: t.name,
        namespace: t.namespace,
        uid: t.uid,
        resourceVersion: t.resourceVersion,
      },
      type: about.type,
      reason: about.reason,
      message: about.message,
      count,
      firstTimestamp: new Date(firstAt),
      lastTimestamp: new Date(lastAt),
      source: { component: this.options.component, host: this.host },
      reportingComponent: this.options.component,
      reportingInstance: this.host,
    };
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
    this.remember1(key, {
      name: event.metadata.name,
      about: {
        target: {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          name: ref.name,
          namespace: ref.namespace,
          uid: ref.uid,
          resourceVersion: ref.resourceVersion,
        },
        type: event.type ?? '',
        reason: event.reason ?? '',
        message: event.message ?? '',
      },
      firstAt: new Date(event.firstTimestamp ?? at).getTime(),
      count: event.count ?? 1,
      resourceVersion: event.metadata.resourceVersion,
      at,
    });
  }

  /** Caches one entry as the most recently used, forgetting the least recently used beyond the bound. */
  private remember1(key: string, entry: Cached): void {
    this.recent.delete(key);
    this.recent.set(key, entry);
    while (this.recent.size > maxCachedEvents) this.recent.delete(this.recent.keys().next().value!);
  }

  private count(what: keyof EventRecorder['counts']): void {
    this.counts[what]++;
    this.metrics?.[what].inc({ component: this.options.component });
  }
}

/** The counters, shared by every recorder on one registry (a second one finds them registered). */
function registerMetrics(registry: Registry, component: string, pending: () => number) {
  const counter = (what: string, help: string) => {
    const metric =
      (registry.getSingleMetric(`portico_events_${what}_total`) as Counter<'component'> | undefined) ??
      new Counter({
        name: `portico_events_${what}_total`,
        help,
        labelNames: ['component'],
        registers: [registry],
      });
    // Shown as 0 from the start: "no Event dropped" is then a reading, not a missing series.
    metric.inc({ component }, 0);
    return metric;
  };
  if (!registry.getSingleMetric('portico_events_pending')) {
    new Gauge({
      name: 'portico_events_pending',
      help: 'Distinct Events waiting to be written',
      registers: [registry],
      collect() {
        this.set(pending());
      },
    });
  }
  return {
    recorded: counter('recorded', 'Events recorded (calls, before merging)'),
    merged: counter('merged', 'Events merged into an identical one still waiting to be written'),
    written: counter('written', 'Events created or count-bumped on the API server'),
    failed: counter('failed', 'Event writes that failed'),
    dropped: counter('dropped', 'Events dropped because too many distinct ones were waiting'),
  };
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
