/** What the allocator needs to know about a Service; the controller maps Kubernetes objects to this. */
import type { IPFamily } from '@portico/net';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** One `spec.ports[]` entry. TCP/53 and UDP/53 are different ports. */
export interface ServicePort {
  readonly protocol: Protocol;
  readonly port: number;
}

export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServiceRequest {
  /** `namespace/name`. */
  readonly key: string;
  /** The Service's families in order (`spec.ipFamilies`, or derived from `spec.clusterIPs`). */
  readonly families: readonly IPFamily[];
  readonly ipFamilyPolicy: IPFamilyPolicy;
  /** From the loadBalancerIPs annotation or `spec.loadBalancerIP`, already split and trimmed. */
  readonly requestedIPs: readonly string[];
  /** The address-pool annotation; absent or empty means "any auto-assign pool". */
  readonly pool?: string;
  /** The allow-shared-ip annotation; empty or absent means "never share". */
  readonly sharingKey?: string;
  /** `spec.selector` as sorted `k=v,k2=v2`, only when externalTrafficPolicy is Local; else empty. */
  readonly backendKey?: string;
  readonly ports: readonly ServicePort[];
  /** The Service's labels, for IPAddressPool serviceAllocation.serviceSelectors (none: {}). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Its namespace's labels, for serviceAllocation.namespaceSelectors (none: {}). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
}

/**
 * Why a Service got no address, for the condition and Event that say so:
 * - NoMatchingPool: no pool it may use (none auto-assign and allowed to it, or an unknown pool named);
 * - PoolExhausted: pools it may use exist but have no free address of its families;
 * - RequestedIPNotInPool: a requested address lies in no pool (or not in the named one);
 * - RequestedIPInUse: a requested address is held by another Service that does not share;
 * - SharingRefused: an address could be shared, but the sharing key, backends or ports clash;
 * - InvalidRequest: the request itself is wrong (families, addresses).
 */
export type FailureReason =
  | 'NoMatchingPool'
  | 'PoolExhausted'
  | 'RequestedIPNotInPool'
  | 'RequestedIPInUse'
  | 'SharingRefused'
  | 'InvalidRequest';

export interface Failure {
  readonly ok: false;
  readonly error: string;
  readonly reason: FailureReason;
}

export interface Assignment {
  /** Canonical addresses, ordered by the Service's family order. */
  readonly ips: readonly string[];
  readonly pool: string;
}

export type Result = ({ readonly ok: true } & Assignment) | Failure;

export type Check = { readonly ok: true } | Failure;

/** Go's `%q` for a string, which is what MetalLB's messages use. Close enough for keys and addresses. */
export function quote(text: string): string {
  return JSON.stringify(text);
}

/** Go's `%q` for a string slice: `["a" "b"]`. */
export function quoteList(texts: readonly string[]): string {
  return `[${texts.map(quote).join(' ')}]`;
}

/** MetalLB's name for a family set in messages: `ipv4`, `ipv6` or `dual`. */
export function familyName(families: readonly IPFamily[]): string {
  if (families.length > 1) return 'dual';
  return families[0] === 'IPv6' ? 'ipv6' : 'ipv4';
}
