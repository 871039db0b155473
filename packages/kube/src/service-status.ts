import type { V1Condition, V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import type { ApiClient } from './client/api-client.js';
import { isConflict, isNotFound } from './errors.js';

/** MetalLB's annotation naming the pool a Service's addresses come from (written, never read). */
export const poolAnnotation = 'metallb.io/ip-allocated-from-pool';

/**
 * The Service condition that says why a Service has no address (status False, with the reason
 * and message); Portico removes it once the Service has one.
 */
export const addressAllocatedCondition = 'portico.dev/AddressAllocated';

/** A condition as Portico sets it; lastTransitionTime is filled in when status or reason change. */
export interface ServiceCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * Writes `status.loadBalancer.ingress` of a Service through the status subresource, and with it
 * the annotation `metallb.io/ip-allocated-from-pool` as MetalLB writes it: the pool while the
 * Service has addresses, none when it has none (a Service's status write keeps metadata changes).
 * The write is an update (the verb the manifests grant; never patch) that carries the
 * resourceVersion of the copy it was computed from, so the API server refuses it (409) when
 * someone changed the Service since; since the metadata is written too, the copy must be whole
 * apart from its managed fields (an informer's default projection). The first attempt uses the
 * caller's (cached) copy, which saves a read in the common case; on a 409 it re-reads and
 * retries. A write never clobbers a newer object.
 *
 * It also sets or removes the `portico.dev/AddressAllocated` condition in `status.conditions`
 * (`condition`: undefined leaves it, null removes it), leaving every other condition alone.
 */
export class ServiceStatusWriter {
  constructor(private readonly api: ApiClient) {}

  /** Returns the updated Service, or undefined when it no longer exists. */
  async setIngress(
    cached: V1Service,
    ingress: V1LoadBalancerIngress[],
    {
      pool,
      condition,
      attempts = 5,
    }: { pool?: string; condition?: ServiceCondition | null; attempts?: number } = {},
  ): Promise<V1Service | undefined> {
    const wantedPool = ingress.length > 0 ? pool : undefined;
    const namespace = cached.metadata?.namespace ?? 'default';
    const name = cached.metadata?.name ?? '';
    const path = `/api/v1/namespaces/${namespace}/services/${name}`;
    let current: V1Service | undefined = cached;
    for (let attempt = 1; ; attempt++) {
      if (!current) {
        try {
          current = await this.api.request<V1Service>('GET', path);
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      }
      const annotations = { ...current.metadata?.annotations };
      const conditions = withCondition(current.status?.conditions, condition);
      if (
        sameIngress(current.status?.loadBalancer?.ingress ?? [], ingress) &&
        annotations[poolAnnotation] === wantedPool &&
        conditions === current.status?.conditions
      ) {
        return current;
      }
      if (wantedPool === undefined) delete annotations[poolAnnotation];
      else annotations[poolAnnotation] = wantedPool;
      const body: V1Service = {
        ...current,
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { ...current.metadata, annotations },
        status: {
          ...current.status,
          loadBalancer: ingress.length > 0 ? { ingress } : {},
          ...(conditions && conditions.length > 0 ? { conditions } : { conditions: undefined }),
        },
      };
      try {
        return await this.api.request<V1Service>('PUT', `${path}/status`, { body });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (!isConflict(err) || attempt >= attempts) throw err;
        current = undefined;
      }
    }
  }
}

function sameIngress(a: readonly V1LoadBalancerIngress[], b: readonly V1LoadBalancerIngress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.ip === b[i]?.ip && x.hostname === b[i]?.hostname);
}

/** The whole conditions list with ours set or removed; the same array when nothing changes. */
export function withCondition(
  conditions: V1Condition[] | undefined,
  wanted: ServiceCondition | null | undefined,
): V1Condition[] | undefined {
  if (wanted === undefined) return conditions;
  const list = conditions ?? [];
  const index = list.findIndex((c) => c.type === addressAllocatedCondition);
  const current = index < 0 ? undefined : list[index];
  if (wanted === null) return current ? list.filter((_, i) => i !== index) : conditions;
  if (
    current?.status === wanted.status &&
    current.reason === wanted.reason &&
    current.message === wanted.message
  )
    return conditions;
  const next: V1Condition = {
    type: addressAllocatedCondition,
    status: wanted.status,
    reason: wanted.reason,
    // The API server refuses longer messages (32768 bytes).
    message: wanted.message.slice(0, 4096),
    lastTransitionTime:
      current?.status === wanted.status && current.lastTransitionTime
        ? current.lastTransitionTime
        : (new Date().toISOString().replace(/\.\d+Z$/, 'Z') as unknown as Date),
  };
  return index < 0 ? [...list, next] : list.map((c, i) => (i === index ? next : c));
}
