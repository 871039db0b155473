/**
 * Which pools an automatic allocation tries for a Service, in order, as MetalLB's allocator does
 * with IPAddressPool `serviceAllocation`:
 *
 * 1. the auto-assign pools reserved to the Service (serviceAllocation matches it), by priority:
 *    lowest positive value first, pools with priority 0 (none) after them;
 * 2. then, only if none of those has a free address, the auto-assign pools without
 *    serviceAllocation.
 *
 * A pool with serviceAllocation is never used for a Service it does not match. MetalLB leaves
 * the order of equal priorities (and of the second group) to Go's map iteration; here it is the
 * config order (for custom resources: pool name order), so the result is deterministic.
 *
 * A Service matches a serviceAllocation when its namespace is listed in `namespaces` or its
 * namespace's labels match one of `namespaceSelectors` (if either is given), and its labels match
 * one of `serviceSelectors` (if any is given); one with neither matches every Service. (MetalLB
 * resolves namespaceSelectors to names when the configuration loads; a selector that matches no
 * namespace then lifts the namespace restriction when serviceSelectors are also given. Here the
 * restriction holds.)
 */
import type { AddressPool, Config, ServiceAllocation } from './model.js';
import { nodeSelectorsMatch } from './selector.js';

export interface ServiceIdentity {
  readonly namespace: string;
  /** The labels of the Service's namespace. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** The Service's own labels. */
  readonly labels: Readonly<Record<string, string>>;
}

export function serviceAllocationMatches(allocation: ServiceAllocation, service: ServiceIdentity): boolean {
  const byNamespace = allocation.namespaces.length > 0 || allocation.namespaceSelectors.length > 0;
  if (
    byNamespace &&
    !allocation.namespaces.includes(service.namespace) &&
    !allocation.namespaceSelectors.some((s) => nodeSelectorsMatch([s], service.namespaceLabels))
  ) {
    return false;
  }
  return (
    allocation.serviceSelectors.length === 0 ||
    nodeSelectorsMatch(allocation.serviceSelectors, service.labels)
  );
}

/** The pools to try, as two groups: the second is used only when the first has no room. */
export function poolsForService(
  config: Pick<Config, 'pools'>,
  service: ServiceIdentity,
): { reserved: AddressPool[]; shared: AddressPool[] } {
  const reserved = config.pools
    .filter(
      (p) => p.autoAssign && p.serviceAllocation && serviceAllocationMatches(p.serviceAllocation, service),
    )
    .map((pool, index) => ({ pool, index, priority: pool.serviceAllocation?.priority ?? 0 }))
    .sort((a, b) => rank(a.priority) - rank(b.priority) || a.index - b.index)
    .map((e) => e.pool);
  const shared = config.pools.filter((p) => p.autoAssign && p.serviceAllocation === undefined);
  return { reserved, shared };
}

/** Priority 0 means none: after every pool with a priority. */
function rank(priority: number): number {
  return priority === 0 ? Number.MAX_SAFE_INTEGER : priority;
}
