import { type KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';

/**
 * Creates the object, or replaces it when it exists: a small `kubectl apply` for tests and tools.
 * (The lab keeps its own fetch-based apply: it also writes the status subresource, which
 * KubernetesObjectApi has no call for, and retries on conflicts with the controllers.)
 */
export async function applyObject<T extends KubernetesObject>(kc: KubeConfig, obj: T): Promise<T> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  try {
    const current = await api.read({
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace },
    } as T & { metadata: { name: string } });
    const body = {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion },
    };
    return (await api.replace(body)) as T;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return (await api.create(obj)) as T;
  }
}
