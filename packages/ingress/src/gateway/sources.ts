/**
 * The thin Kubernetes side of the Gateway API: informers for every kind the compile step reads,
 * coalesced into one GatewayClusterState callback after a short debounce (like ../sources.ts).
 * The CRDs may be missing: their informers then retry (and report) until they are installed.
 */
import type { KubernetesObject, V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import {
  type ApiClient,
  createInformer,
  type Informer,
  runInformer,
  type ResourceKind,
  type RunningInformer,
  withoutBookkeeping,
} from '@portico/kube';
import type { GatewayClusterState } from './compile.js';
import type { Gateway, GatewayClass, HTTPRoute, NamespaceObject, ReferenceGrant } from './types.js';

export interface GatewaySource {
  /** Resolves when every informer has its first full list. */
  readonly synced: Promise<void>;
  current(): GatewayClusterState;
  stop(): Promise<void>;
}

export interface GatewaySourceOptions {
  readonly debounceMs: number;
  readonly onChange: (state: GatewayClusterState) => void;
  readonly onError: (kind: ResourceKind, err: unknown) => void;
}

const KINDS = {
  gatewayClasses: 'gatewayclasses',
  gateways: 'gateways',
  httpRoutes: 'httproutes',
  referenceGrants: 'referencegrants',
  namespaces: 'namespaces',
  services: 'services',
  endpointSlices: 'endpointslices',
  secrets: 'secrets',
} as const satisfies Record<keyof GatewayClusterState, ResourceKind>;

export function watchGateways(api: ApiClient, options: GatewaySourceOptions): GatewaySource {
  // Only read (statuses are written from a fresh GET), so the caches keep no bookkeeping.
  const informers = Object.fromEntries(
    Object.entries(KINDS).map(([key, kind]) => [
      key,
      createInformer<KubernetesObject>(api, kind, { project: withoutBookkeeping }),
    ]),
  ) as Record<keyof GatewayClusterState, Informer<KubernetesObject>>;
  const list = <T>(key: keyof GatewayClusterState): T[] => informers[key].list() as T[];
  const current = (): GatewayClusterState => ({
    gatewayClasses: list<GatewayClass>('gatewayClasses'),
    gateways: list<Gateway>('gateways'),
    httpRoutes: list<HTTPRoute>('httpRoutes'),
    referenceGrants: list<ReferenceGrant>('referenceGrants'),
    namespaces: list<NamespaceObject>('namespaces'),
    services: list<V1Service>('services'),
    endpointSlices: list<V1EndpointSlice>('endpointSlices'),
    secrets: list<V1Secret>('secrets'),
  });

  let timer: NodeJS.Timeout | undefined;
  let isSynced = false;
  const changed = () => {
    if (!isSynced) return;
    clearTimeout(timer);
    timer = setTimeout(() => options.onChange(current()), options.debounceMs);
  };
  const running: RunningInformer[] = [];
  for (const [key, informer] of Object.entries(informers) as [
    keyof GatewayClusterState,
    Informer<KubernetesObject>,
  ][]) {
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, changed);
    running.push(runInformer(informer, (err) => options.onError(KINDS[key], err)));
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
