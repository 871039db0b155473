/**
 * Per-Service announcement status, as MetalLB shows it: one ServiceL2Status per Service on the
 * node that answers for it (with the interfaces, when an L2Advertisement lists them), one
 * ServiceBGPStatus per Service on each node that advertises it (with the BGPPeers it goes to).
 * This file says what a node's objects should hold; status-writer.ts keeps them so.
 */
import type { Decision } from './decide.js';

/** MetalLB's kinds (metallb.io/v1beta1) and the labels that find a node's and a Service's objects. */
export const STATUS_GROUP_VERSION = 'metallb.io/v1beta1';
export const STATUS_NODE_LABEL = 'metallb.io/node';
export const STATUS_SERVICE_NAME_LABEL = 'metallb.io/service-name';
export const STATUS_SERVICE_NAMESPACE_LABEL = 'metallb.io/service-namespace';

export type StatusKind = 'ServiceL2Status' | 'ServiceBGPStatus';

export interface StatusKindInfo {
  kind: StatusKind;
  plural: string;
  /** MetalLB's generateName prefix. */
  prefix: string;
}

export const STATUS_KINDS: Readonly<Record<StatusKind, StatusKindInfo>> = {
  ServiceL2Status: { kind: 'ServiceL2Status', plural: 'servicel2statuses', prefix: 'l2-' },
  ServiceBGPStatus: { kind: 'ServiceBGPStatus', plural: 'servicebgpstatuses', prefix: 'bgp-' },
};

/**
 * What this node's objects should say, per Service key (`namespace/name`): for layer 2 the
 * interfaces (empty: every interface, which MetalLB leaves out), for BGP the peers.
 */
export interface DesiredStatuses {
  ServiceL2Status: Map<string, readonly string[]>;
  ServiceBGPStatus: Map<string, readonly string[]>;
}

/**
 * From a decision: layer 2 only for the Services this node really answers for (`answered`: a
 * majority granted the IP, not merely elected), BGP for the Services it advertises to some peer.
 */
export function desiredStatuses(decision: Decision, answered: ReadonlySet<string>): DesiredStatuses {
  const l2 = new Map<string, readonly string[]>();
  const bgp = new Map<string, readonly string[]>();
  for (const [key, d] of decision.services) {
    if (answered.has(key) && d.protocols.includes('layer2')) l2.set(key, d.layer2Interfaces ?? []);
    if (d.protocols.includes('bgp') && d.bgpPeers && d.bgpPeers.length > 0) bgp.set(key, d.bgpPeers);
  }
  return { ServiceL2Status: l2, ServiceBGPStatus: bgp };
}

/** The `status` of an object, in MetalLB's field names. */
export function statusBody(
  kind: StatusKind,
  node: string,
  serviceKey: string,
  values: readonly string[],
): Record<string, unknown> {
  const [serviceNamespace = '', serviceName = ''] = serviceKey.split('/');
  const status: Record<string, unknown> = { node, serviceName, serviceNamespace };
  if (kind === 'ServiceL2Status') {
    if (values.length > 0) status.interfaces = values.map((name) => ({ name }));
  } else if (values.length > 0) status.peers = [...values];
  return status;
}
