import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApiClient } from './client/api-client.js';
import { isNotFound } from './errors.js';

/** Kinds that live outside namespaces, among those tests and tools apply. */
const clusterScoped = new Set([
  'Namespace',
  'Node',
  'IngressClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'GatewayClass',
]);

/** The REST path of an object's collection: `/api/v1/namespaces/ns/services`, `/apis/group/v/...`. */
export function collectionPath(obj: KubernetesObject): string {
  const { apiVersion, kind } = obj;
  if (!apiVersion || !kind) throw new Error('applyObject: the object needs apiVersion and kind');
  const lower = kind.toLowerCase();
  // English plurals as the API names them: ingressclasses, policies, but gateways.
  const plural = lower.endsWith('s')
    ? `${lower}es`
    : /[^aeiou]y$/.test(lower)
      ? `${lower.slice(0, -1)}ies`
      : `${lower}s`;
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  if (clusterScoped.has(kind)) return `${prefix}/${plural}`;
  return `${prefix}/namespaces/${obj.metadata?.namespace ?? 'default'}/${plural}`;
}

/**
 * Creates the object, or replaces it when it exists: a small `kubectl apply` for tests and tools.
 * (The lab keeps its own fetch-based apply: it also writes the status subresource and retries on
 * conflicts with the controllers.)
 */
export async function applyObject<T extends KubernetesObject>(api: ApiClient, obj: T): Promise<T> {
  const collection = collectionPath(obj);
  const path = `${collection}/${obj.metadata?.name ?? ''}`;
  try {
    const current = await api.request<T>('GET', path);
    const body = {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion },
    };
    return await api.request<T>('PUT', path, { body });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return await api.request<T>('POST', collection, { body: obj });
  }
}
