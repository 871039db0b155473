/**
 * The thin Kubernetes side: informers for the kinds a compile step reads, coalesced into one
 * state callback. Bursts of events (a rollout touching many EndpointSlices) are merged by a short
 * debounce so the table is compiled once per burst, not once per event. Ingress and the Gateway
 * API (gateway/sources.ts) each watch their own set of kinds this way.
 */
import {
  type ApiClient,
  createInformer,
  type Listed,
  runInformer,
  type ResourceKind,
  type RunningInformer,
  withoutBookkeeping,
} from '@portico/kube';
import type { ClusterState } from './compile.js';

export interface WatchedState<S> {
  /** Resolves when every informer has its first full list. */
  readonly synced: Promise<void>;
  current(): S;
  stop(): Promise<void>;
}

export interface WatchOptions<S> {
  /** Quiet time after the last event before `onChange` runs, ms. */
  readonly debounceMs: number;
  /**
   * `since`: when the first watch event of this burst arrived (performance.now()); undefined for
   * the first state after the initial lists.
   */
  readonly onChange: (state: S, since?: number) => void;
  readonly onError: (kind: ResourceKind, err: unknown) => void;
}

export type ClusterSource = WatchedState<ClusterState>;
export type SourceOptions = WatchOptions<ClusterState>;

/**
 * Watches one resource kind per field of S (each field is the list of that kind's objects) and
 * calls `onChange` with the whole state once synced, then after each burst of changes.
 */
export function watchKinds<S extends { [K in keyof S]: readonly unknown[] }>(
  api: ApiClient,
  kinds: { readonly [K in keyof S]: ResourceKind },
  options: WatchOptions<S>,
): WatchedState<S> {
  // Only read (status writers re-read an object before they write): no bookkeeping kept.
  const informers = (Object.entries(kinds) as [string, ResourceKind][]).map(
    ([key, kind]) => [key, kind, createInformer<Listed>(api, kind, { project: withoutBookkeeping })] as const,
  );
  const current = () =>
    Object.fromEntries(informers.map(([key, , informer]) => [key, informer.list()])) as unknown as S;

  let timer: NodeJS.Timeout | undefined;
  let isSynced = false;
  /** When the first event not yet passed on arrived: where a change's latency starts. */
  let firstEvent: number | undefined;
  const changed = () => {
    if (!isSynced) return;
    firstEvent ??= performance.now();
    clearTimeout(timer);
    timer = setTimeout(() => {
      const since = firstEvent;
      firstEvent = undefined;
      options.onChange(current(), since);
    }, options.debounceMs);
  };
  const running: RunningInformer[] = [];
  for (const [, kind, informer] of informers) {
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, changed);
    running.push(runInformer(informer, (err) => options.onError(kind, err)));
  }
  const synced = Promise.all(running.map((r) => r.synced)).then(() => {
    isSynced = true;
    options.onChange(current());
  });
  return {
    synced,
    current,
    stop: async () => {
      clearTimeout(timer);
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}

export function watchCluster(api: ApiClient, options: SourceOptions): ClusterSource {
  return watchKinds<ClusterState>(
    api,
    {
      ingresses: 'ingresses',
      classes: 'ingressclasses',
      services: 'services',
      endpointSlices: 'endpointslices',
      secrets: 'secrets',
    },
    options,
  );
}
