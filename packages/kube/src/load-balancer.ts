import type { V1Service } from '@kubernetes/client-node';

/** The load-balancer class Portico serves (`spec.loadBalancerClass`); Services without one are ours too. */
export const LOAD_BALANCER_CLASS = 'portico.dev/lb';

export function serviceKey(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
}

/**
 * Whether Portico serves this Service: type LoadBalancer with no class or ours. The controller and
 * every speaker must agree on this, so it is defined once, here.
 */
export function isOurs(svc: V1Service): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  return cls === undefined || cls === null || cls === '' || cls === LOAD_BALANCER_CLASS;
}
