/**
 * What the speaker reads from a Service: is it ours, which IPs did the controller give it, which
 * traffic policy does it use. The controller writes status.loadBalancer.ingress; we only read it.
 */
import type { V1Service } from '@kubernetes/client-node';
import { canonicalIP } from '@portico/net';
import type { Listed } from '@portico/kube';

/** Canonical forms, cached: status IPs are re-read on every decision (bounded). */
const canonical = new Map<string, string | undefined>();
const CANONICAL_CACHE_LIMIT = 100_000;

function canonicalCached(text: string): string | undefined {
  if (canonical.has(text)) return canonical.get(text);
  if (canonical.size >= CANONICAL_CACHE_LIMIT) canonical.clear();
  const ip = canonicalIP(text);
  canonical.set(text, ip);
  return ip;
}

/** The Service's external IPs from its status, canonical, in status order, without duplicates. */
export function ingressIPs(svc: V1Service): string[] {
  const out: string[] = [];
  for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
    const ip = ingress.ip === undefined ? undefined : canonicalCached(ingress.ip);
    if (ip && !out.includes(ip)) out.push(ip);
  }
  return out;
}

/** ETP Local: only nodes with a local endpoint may attract traffic (the client IP is kept). */
export function isLocalPolicy(svc: V1Service): boolean {
  return svc.spec?.externalTrafficPolicy === 'Local';
}

/** The annotations that let a Service share its IP (MetalLB's, current and deprecated, and ours). */
export const SHARED_IP_ANNOTATIONS = [
  'portico.dev/allow-shared-ip',
  'metallb.io/allow-shared-ip',
  'metallb.universe.tf/allow-shared-ip',
] as const;

/** The Service asks to share its IP (MetalLB: present, whatever the value). */
export function allowsSharedIP(svc: V1Service): boolean {
  const annotations = svc.metadata?.annotations;
  return annotations !== undefined && SHARED_IP_ANNOTATIONS.some((a) => annotations[a] !== undefined);
}

/**
 * What the speaker reads of a Service, for the informer's cache (every speaker holds every
 * Service): its identity (for keys and Events), its labels (advertisements' serviceSelectors), its
 * sharing annotation, whether it is ours, its traffic policy and its addresses.
 */
export function serviceAsRead(object: Listed): V1Service {
  const svc = object as V1Service;
  const { name, namespace, uid, resourceVersion, labels, annotations } = svc.metadata ?? {};
  const spec = svc.spec ?? {};
  const sharing = SHARED_IP_ANNOTATIONS.filter((a) => annotations?.[a] !== undefined);
  return {
    metadata: {
      name,
      namespace,
      uid,
      resourceVersion,
      ...(labels !== undefined ? { labels } : {}),
      ...(sharing.length > 0
        ? { annotations: Object.fromEntries(sharing.map((a) => [a, annotations![a]!])) }
        : {}),
    },
    spec: {
      type: spec.type,
      ...(spec.loadBalancerClass !== undefined ? { loadBalancerClass: spec.loadBalancerClass } : {}),
      ...(spec.externalTrafficPolicy !== undefined
        ? { externalTrafficPolicy: spec.externalTrafficPolicy }
        : {}),
    },
    status: {
      loadBalancer: { ingress: (svc.status?.loadBalancer?.ingress ?? []).map((i) => ({ ip: i.ip })) },
    },
  };
}
