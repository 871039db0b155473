import type { ApiClient } from './client/api-client.js';
import { Reflector, type Listed, type ReflectorEvent } from './client/reflector.js';

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
  | 'grpcroutes'
  | 'tlsroutes'
  | 'referencegrants';

export interface InformerOptions<T> {
  /** Restrict to one namespace; all namespaces when absent (cluster-scoped kinds ignore it). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Keeps what the caller reads of each object; by default all but its managed fields
   * (withoutManagedFields; withoutBookkeeping for caches that are only read).
   */
  project?: (object: Listed) => T;
}

const scoped = (prefix: string, plural: string) => (ns?: string) =>
  ns ? `${prefix}/namespaces/${ns}/${plural}` : `${prefix}/${plural}`;

/** The Gateway API's group (custom resources, installed from upstream's CRDs). */
const GATEWAY_API = '/apis/gateway.networking.k8s.io';

const paths: Record<ResourceKind, (namespace?: string) => string> = {
  services: scoped('/api/v1', 'services'),
  configmaps: scoped('/api/v1', 'configmaps'),
  secrets: scoped('/api/v1', 'secrets'),
  nodes: () => '/api/v1/nodes',
  endpointslices: scoped('/apis/discovery.k8s.io/v1', 'endpointslices'),
  ingresses: scoped('/apis/networking.k8s.io/v1', 'ingresses'),
  ingressclasses: () => '/apis/networking.k8s.io/v1/ingressclasses',
  leases: scoped('/apis/coordination.k8s.io/v1', 'leases'),
  namespaces: () => '/api/v1/namespaces',
  gatewayclasses: () => `${GATEWAY_API}/v1/gatewayclasses`,
  gateways: scoped(`${GATEWAY_API}/v1`, 'gateways'),
  httproutes: scoped(`${GATEWAY_API}/v1`, 'httproutes'),
  grpcroutes: scoped(`${GATEWAY_API}/v1`, 'grpcroutes'),
  tlsroutes: scoped(`${GATEWAY_API}/v1`, 'tlsroutes'),
  referencegrants: scoped(`${GATEWAY_API}/v1beta1`, 'referencegrants'),
};

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Meta = Listed['metadata'] & { managedFields?: unknown; annotations?: Record<string, string> };

/**
 * The object as listed, without `metadata.managedFields` (often most of its size, never read by
 * Portico). Safe for a cache whose objects are written back whole (an update without
 * managedFields keeps the server's).
 */
export function withoutManagedFields<T>(object: Listed): T {
  const meta = object.metadata as Meta | undefined;
  if (!meta?.managedFields) return object as T;
  const { managedFields: _managed, ...rest } = meta;
  return { ...object, metadata: rest } as T;
}

/**
 * Also without kubectl's last-applied-configuration annotation (a second copy of the object): for
 * caches that are only read, never written back whole (an update would drop the annotation).
 */
export function withoutBookkeeping<T>(object: Listed): T {
  const lean = withoutManagedFields<Listed>(object);
  const annotations = (lean.metadata as Meta | undefined)?.annotations;
  if (annotations?.[LAST_APPLIED] === undefined) return lean as T;
  const { [LAST_APPLIED]: _applied, ...others } = annotations;
  const { annotations: _all, ...meta } = lean.metadata as Meta;
  return {
    ...lean,
    metadata: Object.keys(others).length > 0 ? { ...meta, annotations: others } : meta,
  } as T;
}

type Verb = 'add' | 'update' | 'delete';
type Handler<T> = (object: T) => void;

/**
 * A list-then-watch cache of one resource kind on the shared ApiClient (see client/reflector.ts:
 * pages, bookmarks, a relist after 410 Gone that reports only differences). Handlers registered
 * with `on` see each add, update and delete once. It is not started: pass it to `runInformer`.
 */
export class Informer<T extends Listed> {
  private readonly handlers: Record<Verb, Handler<T>[]> = { add: [], update: [], delete: [] };
  private reflector: Reflector<T> | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly path: string,
    private readonly options: InformerOptions<T>,
  ) {}

  on(verb: Verb, handler: Handler<T>): void {
    this.handlers[verb].push(handler);
  }

  /** The cached object, or undefined (also before the informer runs). */
  get(name: string, namespace?: string): T | undefined {
    return this.reflector?.get(namespace, name);
  }

  /** The cached objects, of one namespace when given. */
  list(namespace?: string): T[] {
    const all = this.reflector?.list() ?? [];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  /** The resourceVersion a resumed watch would start from. */
  latestResourceVersion(): string {
    return this.reflector?.latestResourceVersion ?? '';
  }

  /** Starts listing and watching (once); see runInformer. */
  run(onError: (err: unknown) => void, maxBackoffMs: number): Reflector<T> {
    if (this.reflector) throw new Error(`informer ${this.path} is already running`);
    this.reflector = new Reflector<T>(this.api, {
      path: this.path,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      project: this.options.project ?? withoutManagedFields,
      maxBackoffMs,
      onError,
      onEvent: (event: ReflectorEvent<T>) => {
        for (const handler of this.handlers[event.type]) handler(event.object);
      },
    });
    this.reflector.start();
    return this.reflector;
  }
}

export function createInformer<T extends Listed>(
  api: ApiClient,
  kind: ResourceKind,
  options: InformerOptions<T> = {},
): Informer<T> {
  return new Informer<T>(api, paths[kind](options.namespace), options);
}

export interface RunningInformer {
  /** Resolves once the first complete list is in the cache. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts an informer and keeps it running: failures (API server down, connection refused) are
 * reported to `onError` and retried with capped exponential back-off; the cache keeps its last
 * contents meanwhile and the watch resumes from the last resourceVersion, so an API outage
 * changes nothing that was already known.
 */
export function runInformer<T extends Listed>(
  informer: Informer<T>,
  onError: (err: unknown) => void,
  maxBackoffMs = 5_000,
): RunningInformer {
  const reflector = informer.run(onError, maxBackoffMs);
  return {
    synced: reflector.synced,
    stop: async () => reflector.stop(),
  };
}
