import type { V1Service } from '@kubernetes/client-node';
import type { Allocator, FailureReason, ServiceRequest } from '@portico/allocator';
import { canonicalIP } from '@portico/net';
import { isOurs, poolAnnotation, serviceKey, type ServiceCondition } from '@portico/kube';
import { serviceRequest, statusIPs } from './service-request.js';

export interface ServiceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What to do with one Service after looking at it. */
export interface Decision {
  /** The IPs its status must show; undefined leaves the status untouched. */
  ips?: readonly string[];
  /** The pool the Service's addresses come from, when it holds some (metallb.io/ip-allocated-from-pool). */
  pool?: string;
  events: ServiceEvent[];
  /** No address could be found: retry when addresses are released or the config changes. */
  pending: boolean;
  /** An address went back to the pool: pending Services should retry. */
  released: boolean;
  /**
   * The portico.dev/AddressAllocated condition: False with the reason when the Service gets no
   * address, null (removed) when it has one or is not ours, undefined to leave it as it is.
   */
  condition?: ServiceCondition | null;
}

/**
 * Brings one Service's assignment in line with its spec (MetalLB's convergeBalancer, see
 * docs/annotations.md). The rule that matters most: an IP in the status is kept as long as the
 * Service may still own it. It is given up only when the user changed what the Service asks for
 * (other requested IPs, another pool, other families, a clashing port or sharing key), or when it
 * lies in no pool at all (the config changed while no controller was running).
 *
 * `mayAllocate` is false until every IP already in a status has been re-claimed at start-up, so a
 * new Service can never take an address that an existing one still holds.
 */
export function converge(
  allocator: Allocator,
  svc: V1Service | undefined,
  key: string,
  mayAllocate: boolean,
  namespaceLabels: Readonly<Record<string, string>> = {},
): Decision {
  const decision: Decision = { events: [], pending: false, released: false };
  const release = () => {
    if (allocator.assignment(key)) {
      allocator.release(key);
      decision.released = true;
    }
  };

  if (!svc || !isOurs(svc)) {
    release();
    decision.condition = null;
    // A Service that stopped being a LoadBalancer loses the address we gave it and the pool
    // annotation (the API server may have cleared the status itself); a Service of another
    // load-balancer class keeps whatever its own controller wrote.
    const annotated = svc?.metadata?.annotations?.[poolAnnotation] !== undefined;
    if (svc && svc.spec?.type !== 'LoadBalancer' && (statusIPs(svc).length > 0 || annotated)) {
      decision.ips = [];
    }
    return decision;
  }

  const current = statusIPs(svc).map((ip) => canonicalIP(ip) ?? ip);
  const parsed = serviceRequest(svc, namespaceLabels);
  if (!parsed.ok) {
    if (current.length > 0) {
      decision.events.push(
        warning('LoadBalancerFailed', `invalid requested loadbalancer IPs: ${parsed.error}`),
      );
    } else {
      decision.events.push(allocationFailed(svc, parsed.error));
      decision.condition = notAllocated('InvalidRequest', parsed.error);
      decision.pending = true;
    }
    return decision;
  }
  const request = parsed.request;

  if (current.length > 0) {
    const claim = differsFromRequest(request, current) ?? allocator.assign(request, current);
    if (claim.ok) {
      decision.pool = claim.pool;
      decision.condition = null;
      return decision;
    }
    decision.events.push(clearAssignment(svc, claim.error));
    release();
    decision.ips = [];
  }

  if (!mayAllocate) return decision;
  // Our own status write may not have reached the cache yet: allocate() keeps an assignment that
  // still fits, and then there is nothing new to announce.
  const before = allocator.assignment(key);
  const result = allocator.allocate(request);
  if (!result.ok) {
    decision.released ||= before !== undefined;
    decision.events.push(allocationFailed(svc, result.error));
    decision.condition = notAllocated('reason' in result ? result.reason : 'InvalidRequest', result.error);
    decision.pending = true;
    return decision;
  }
  decision.ips = result.ips;
  decision.pool = result.pool;
  decision.condition = null;
  if (before?.ips.join() !== result.ips.join()) {
    decision.events.push({
      type: 'Normal',
      reason: 'IPAllocated',
      message: `Assigned IP ${JSON.stringify(result.ips)}`,
    });
  }
  return decision;
}

/** A user who asks for other IPs than the Service has gets them, not the old ones. */
function differsFromRequest(
  request: ServiceRequest,
  current: string[],
): { ok: false; error: string } | undefined {
  if (request.requestedIPs.length === 0) return undefined;
  const wanted = request.requestedIPs.map((ip) => canonicalIP(ip) ?? ip).sort();
  if (wanted.join() === [...current].sort().join()) return undefined;
  return {
    ok: false,
    error: `requested IPs ${JSON.stringify(wanted)} differ from ${JSON.stringify(current)}`,
  };
}

/** What each reason means, before the allocator's own words. */
const explained: Record<FailureReason, string> = {
  NoMatchingPool: 'no address pool may serve this Service',
  PoolExhausted: 'every address pool this Service may use is full',
  RequestedIPNotInPool: 'the requested address is in no pool this Service may use',
  RequestedIPInUse: 'the requested address is held by another Service that does not share it',
  SharingRefused: 'the address can not be shared with the Services holding it',
  InvalidRequest: 'the Service asks for something that can not be given',
};

const notAllocated = (reason: FailureReason, error: string): ServiceCondition => ({
  status: 'False',
  reason,
  message: `${explained[reason]}: ${error}`,
});

const warning = (reason: string, message: string): ServiceEvent => ({ type: 'Warning', reason, message });

const allocationFailed = (svc: V1Service, error: string): ServiceEvent =>
  warning('AllocationFailed', `Failed to allocate IP for ${JSON.stringify(serviceKey(svc))}: ${error}`);

const clearAssignment = (svc: V1Service, error: string): ServiceEvent =>
  warning(
    'ClearAssignment',
    `current IP for ${JSON.stringify(serviceKey(svc))} not allowed by config, will attempt for new IP assignment: ${error}`,
  );
