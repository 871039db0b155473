import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  NetworkingV1Api,
  Watch,
} from '@kubernetes/client-node';

/** The resources Portico watches, by the short names used across the apps. */
export type ResourceKind =
  | 'services'
  | 'configmaps'
  | 'endpointslices'
  | 'nodes'
  | 'secrets'
  | 'ingresses'
  | 'ingressclasses'
  | 'leases'
  | 'namespaces'
  | 'gatewayclasses'
  | 'gateways'
  | 'httproutes'
  | 'referencegrants';

export interface InformerOptions {
  /** Restrict to one namespace; all namespaces when absent (cluster-scoped kinds ignore it). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

type Lister = (kc: KubeConfig, o: InformerOptions) => Promise<KubernetesListObject<KubernetesObject>>;

interface ResourceInfo {
  path: (namespace?: string) => string;
  list: Lister;
}

const scoped = (prefix: string, plural: string) => (ns?: string) =>
  ns ? `${prefix}/namespaces/${ns}/${plural}` : `${prefix}/${plural}`;

const resources: Record<ResourceKind, ResourceInfo> = {
  services: {
    path: scoped('/api/v1', 'services'),
    list: (kc, o) => {
      const api = kc.makeApiClient(CoreV1Api);
      return o.namespace
        ? api.listNamespacedService({ namespace: o.namespace, ...selectors(o) })
        : api.listServiceForAllNamespaces(selectors(o));
    },
  },
  configmaps: {
    path: scoped('/api/v1', 'configmaps'),
    list: (kc, o) => {
      const api = kc.makeApiClient(CoreV1Api);
      return o.namespace
        ? api.listNamespacedConfigMap({ namespace: o.namespace, ...selectors(o) })
        : api.listConfigMapForAllNamespaces(selectors(o));
    },
  },
  secrets: {
    path: scoped('/api/v1', 'secrets'),
    list: (kc, o) => {
      const api = kc.makeApiClient(CoreV1Api);
      return o.namespace
        ? api.listNamespacedSecret({ namespace: o.namespace, ...selectors(o) })
        : api.listSecretForAllNamespaces(selectors(o));
    },
  },
  nodes: {
    path: () => '/api/v1/nodes',
    list: (kc, o) => kc.makeApiClient(CoreV1Api).listNode(selectors(o)),
  },
  endpointslices: {
    path: scoped('/apis/discovery.k8s.io/v1', 'endpointslices'),
    list: (kc, o) => {
      const api = kc.makeApiClient(DiscoveryV1Api);
      return o.namespace
        ? api.listNamespacedEndpointSlice({ namespace: o.namespace, ...selectors(o) })
        : api.listEndpointSliceForAllNamespaces(selectors(o));
    },
  },
  ingresses: {
    path: scoped('/apis/networking.k8s.io/v1', 'ingresses'),
    list: (kc, o) => {
      const api = kc.makeApiClient(NetworkingV1Api);
      return o.namespace
        ? api.listNamespacedIngress({ namespace: o.namespace, ...selectors(o) })
        : api.listIngressForAllNamespaces(selectors(o));
    },
  },
  ingressclasses: {
    path: () => '/apis/networking.k8s.io/v1/ingressclasses',
    list: (kc, o) => kc.makeApiClient(NetworkingV1Api).listIngressClass(selectors(o)),
  },
  leases: {
    path: scoped('/apis/coordination.k8s.io/v1', 'leases'),
    list: (kc, o) => {
      const api = kc.makeApiClient(CoordinationV1Api);
      return o.namespace
        ? api.listNamespacedLease({ namespace: o.namespace, ...selectors(o) })
        : api.listLeaseForAllNamespaces(selectors(o));
    },
  },
  namespaces: {
    path: () => '/api/v1/namespaces',
    list: (kc, o) => kc.makeApiClient(CoreV1Api).listNamespace(selectors(o)),
  },
  gatewayclasses: gatewayApi('v1', 'gatewayclasses', false),
  gateways: gatewayApi('v1', 'gateways', true),
  httproutes: gatewayApi('v1', 'httproutes', true),
  referencegrants: gatewayApi('v1beta1', 'referencegrants', true),
};

/** A Gateway API custom resource (gateway.networking.k8s.io), listed through the custom objects API. */
function gatewayApi(version: string, plural: string, namespaced: boolean): ResourceInfo {
  const group = 'gateway.networking.k8s.io';
  const prefix = `/apis/${group}/${version}`;
  return {
    path: namespaced ? scoped(prefix, plural) : () => `${prefix}/${plural}`,
    list: (kc, o) => {
      const api = kc.makeApiClient(CustomObjectsApi);
      const list =
        namespaced && o.namespace
          ? api.listNamespacedCustomObject({
              group,
              version,
              plural,
              namespace: o.namespace,
              ...selectors(o),
            })
          : api.listClusterCustomObject({ group, version, plural, ...selectors(o) });
      return list as Promise<KubernetesListObject<KubernetesObject>>;
    },
  };
}

function selectors(o: InformerOptions): { labelSelector?: string; fieldSelector?: string } {
  return {
    ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
    ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
  };
}

/**
 * A list-then-watch cache of one resource kind. client-node's ListWatch re-lists on 410 Gone and
 * reconnects with back-off, so callers only see add/update/delete. It is not started: call
 * `start()`, which resolves once the initial list is in the cache.
 */
export function createInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  kind: ResourceKind,
  options: InformerOptions = {},
): ListWatch<T> {
  const info = resources[kind];
  const list = () => info.list(kc, options) as Promise<KubernetesListObject<T>>;
  return new ListWatch<T>(
    info.path(options.namespace),
    new Watch(kc),
    list,
    false,
    options.labelSelector,
    options.fieldSelector,
  );
}

export interface RunningInformer {
  /** Resolves once the first complete list is in the cache. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts an informer and keeps it running. client-node's ListWatch gives up on any error other
 * than 410 Gone (API server down, connection refused), so it is restarted here with capped
 * exponential back-off; the cache keeps its last contents meanwhile and the watch resumes from the
 * last resourceVersion, so an API outage changes nothing that was already known.
 */
export function runInformer<T extends KubernetesObject>(
  informer: ListWatch<T>,
  onError: (err: unknown) => void,
  maxBackoffMs = 5_000,
): RunningInformer {
  let stopped = false;
  let failedAttempt = false;
  let backoffMs = 250;
  let timer: NodeJS.Timeout | undefined;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  informer.on('error', (err) => {
    failedAttempt = true;
    onError(err);
    if (stopped) return;
    timer = setTimeout(() => void attempt(), backoffMs);
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  });

  const attempt = async (): Promise<void> => {
    failedAttempt = false;
    await informer.start();
    if (!failedAttempt && !stopped) {
      backoffMs = 250;
      markSynced();
    }
  };
  void attempt();

  return {
    synced,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
}
