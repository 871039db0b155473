/**
 * Whether a new configuration may replace the one in force. As in the controller (fail-static,
 * MetalLB v0.12): a configuration that would leave an IP some Service holds outside every pool
 * is refused, so the speaker never withdraws addresses because of a typo in a pool.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Config } from '@portico/config';
import { PoolIndex } from './pools.js';
import { isOurs, serviceKey } from '@portico/kube';
import { ingressIPs } from './service.js';

/** `namespace/name ip` of every held IP the old config covers and the new one does not. */
export function orphanedIPs(
  previous: Config | undefined,
  next: Config,
  services: Iterable<V1Service>,
): string[] {
  if (!previous) return [];
  const before = PoolIndex.of(previous);
  const after = PoolIndex.of(next);
  const out: string[] = [];
  for (const svc of services) {
    if (!isOurs(svc)) continue;
    for (const ip of ingressIPs(svc))
      if (before.poolOf(ip) && !after.poolOf(ip)) out.push(`${serviceKey(svc)} ${ip}`);
  }
  return out;
}
