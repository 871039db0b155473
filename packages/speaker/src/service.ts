/**
 * What the speaker reads from a Service: is it ours, which IPs did the controller give it, which
 * traffic policy does it use. The controller writes status.loadBalancer.ingress; we only read it.
 */
import type { V1Service } from '@kubernetes/client-node';
import { canonicalIP } from '@portico/config';
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

/**
 * What the speaker reads of a Service, for the informer's cache (every speaker holds every
 * Service): its identity (for keys and Events), whether it is ours, its traffic policy and its
 * addresses.
 */
export function serviceAsRead(object: Listed): V1Service {
  const svc = object as V1Service;
  const { name, namespace, uid, resourceVersion } = svc.metadata ?? {};
  const spec = svc.spec ?? {};
  return {
    metadata: { name, namespace, uid, resourceVersion },
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
