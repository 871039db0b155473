/**
 * The thin Kubernetes side: informers for the five kinds the compiler reads, coalesced into one
 * ClusterState callback. Bursts of events (a rollout touching many EndpointSlices) are merged by a
 * short debounce so the table is compiled once per burst, not once per event.
 */
import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import {
  type ApiClient,
  createInformer,
  type Informer,
  type Listed,
  runInformer,
  type ResourceKind,
  type RunningInformer,
  withoutBookkeeping,
} from '@portico/kube';
import type { ClusterState } from './compile.js';

export interface ClusterSource {
  /** Resolves when every informer has its first full list. */
  readonly synced: Promise<void>;
  current(): ClusterState;
  stop(): Promise<void>;
}

export interface SourceOptions {
  /** Quiet time after the last event before `onChange` runs, ms. */
  readonly debounceMs: number;
  readonly onChange: (state: ClusterState) => void;
  readonly onError: (kind: ResourceKind, err: unknown) => void;
}

export function watchCluster(api: ApiClient, options: SourceOptions): ClusterSource {
  // Only read (the status writer re-reads an Ingress before it writes): no bookkeeping kept.
  const make = <T extends Listed>(kind: ResourceKind) =>
    createInformer<T>(api, kind, { project: withoutBookkeeping });
  const informers = {
    ingresses: make<V1Ingress>('ingresses'),
    classes: make<V1IngressClass>('ingressclasses'),
    services: make<V1Service>('services'),
    endpointSlices: make<V1EndpointSlice>('endpointslices'),
    secrets: make<V1Secret>('secrets'),
  };
  const kinds: Record<keyof typeof informers, ResourceKind> = {
    ingresses: 'ingresses',
    classes: 'ingressclasses',
    services: 'services',
    endpointSlices: 'endpointslices',
    secrets: 'secrets',
  };
  const current = (): ClusterState => ({
    ingresses: informers.ingresses.list(),
    classes: informers.classes.list(),
    services: informers.services.list(),
    endpointSlices: informers.endpointSlices.list(),
    secrets: informers.secrets.list(),
  });

  let timer: NodeJS.Timeout | undefined;
  let isSynced = false;
  const changed = () => {
    if (!isSynced) return;
    clearTimeout(timer);
    timer = setTimeout(() => options.onChange(current()), options.debounceMs);
  };
  const running: RunningInformer[] = [];
  for (const [key, informer] of Object.entries(informers) as [keyof typeof informers, Informer<Listed>][]) {
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, changed);
    running.push(runInformer(informer, (err) => options.onError(kinds[key], err)));
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
