/**
 * Ingress status (reference §1.8): every Ingress we serve gets the addresses of our own
 * LoadBalancer Service (--publish-service) in status.loadBalancer.ingress; an Ingress we stop serving
 * that still shows exactly those addresses gets them removed. Writes go through the status
 * subresource, only when the value differs, from one writer (the leader's cluster primary).
 */
import type { V1Ingress, V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import type { ApiClient } from '@portico/kube';

/** The addresses to publish: the publish Service's own status.loadBalancer.ingress (ip/hostname only). */
export function publishAddresses(services: readonly V1Service[], publish: string): V1LoadBalancerIngress[] {
  const [ns, name] = publish.split('/');
  const svc = services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name);
  const out: V1LoadBalancerIngress[] = [];
  for (const i of svc?.status?.loadBalancer?.ingress ?? []) {
    if (i.ip) out.push({ ip: i.ip });
    else if (i.hostname) out.push({ hostname: i.hostname });
  }
  return out;
}

export interface StatusChange {
  readonly namespace: string;
  readonly name: string;
  /** For Events about the change. */
  readonly uid?: string;
  readonly ingress: V1LoadBalancerIngress[];
}

/** Pure: which Ingresses need a status write to converge. */
export function statusChanges(
  ingresses: readonly V1Ingress[],
  served: ReadonlySet<string>,
  addresses: readonly V1LoadBalancerIngress[],
): StatusChange[] {
  const changes: StatusChange[] = [];
  for (const ing of ingresses) {
    const namespace = ing.metadata?.namespace ?? 'default';
    const name = ing.metadata?.name ?? '';
    const uid = ing.metadata?.uid;
    const current = (ing.status?.loadBalancer?.ingress ?? []).map((i) => ({
      ip: i.ip,
      hostname: i.hostname,
    }));
    if (served.has(`${namespace}/${name}`)) {
      if (addresses.length > 0 && !same(current, addresses))
        changes.push({ namespace, name, uid, ingress: [...addresses] });
    } else if (addresses.length > 0 && current.length > 0 && same(current, addresses)) {
      changes.push({ namespace, name, uid, ingress: [] });
    }
  }
  return changes;
}

function same(a: readonly V1LoadBalancerIngress[], b: readonly V1LoadBalancerIngress[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => (x.ip ?? '') === (b[i]?.ip ?? '') && (x.hostname ?? '') === (b[i]?.hostname ?? ''))
  );
}

export class IngressStatusWriter {
  constructor(private readonly api: ApiClient) {}

  /**
   * Applies one change: re-reads the Ingress and replaces its status, carrying its resourceVersion,
   * so a concurrent change yields a 409 (left for the next sync) instead of a lost update.
   * Returns false, writing nothing, when the re-read Ingress already has that status: the change
   * came from a cache the watch had not yet brought up to date (often with our own last write).
   */
  async apply(change: StatusChange): Promise<boolean> {
    const path = `/apis/networking.k8s.io/v1/namespaces/${change.namespace}/ingresses/${change.name}`;
    const current = await this.api.request<V1Ingress>('GET', path);
    const now = (current.status?.loadBalancer?.ingress ?? []).map((i) => ({
      ip: i.ip,
      hostname: i.hostname,
    }));
    if (same(now, change.ingress)) return false;
    const body: V1Ingress = {
      ...current,
      status: { loadBalancer: change.ingress.length ? { ingress: change.ingress } : {} },
    };
    await this.api.request('PUT', `${path}/status`, { body });
    return true;
  }
}
