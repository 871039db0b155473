/**
 * Whether a node may announce, from what the Kubernetes API says about it (the slow authority;
 * the speakers' own failure detector is the fast one, see membership/).
 */
import type { V1Node } from '@kubernetes/client-node';
import { type Listed, withoutBookkeeping } from '@portico/kube';

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export type Ineligibility = 'excluded' | 'not-ready' | 'network-unavailable';

/**
 * Why the node must not announce, or undefined when it may. A node without a Ready condition
 * (freshly registered, or a hand-made Node) is not held back: only an explicit False/Unknown is.
 */
export function nodeIneligibility(node: V1Node): Ineligibility | undefined {
  if (node.metadata?.labels?.[EXCLUDE_LABEL] !== undefined) return 'excluded';
  const conditions = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready && ready.status !== 'True') return 'not-ready';
  const network = conditions.find((c) => c.type === 'NetworkUnavailable');
  if (network?.status === 'True') return 'network-unavailable';
  return undefined;
}

export function nodeName(node: V1Node): string {
  return node.metadata?.name ?? '';
}

/**
 * What the speaker reads of a Node (its labels and annotations, addresses and the type and status
 * of its conditions), for the informer's cache: a Node's images, volumes and capacity can be
 * kilobytes, and every node's speaker holds every Node.
 */
export function nodeAsRead(object: Listed): V1Node {
  const node = withoutBookkeeping<V1Node>(object);
  return {
    metadata: node.metadata,
    status: {
      addresses: node.status?.addresses,
      conditions: node.status?.conditions?.map((c) => ({ type: c.type, status: c.status })),
    },
  };
}
