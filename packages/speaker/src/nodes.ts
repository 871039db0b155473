/**
 * Whether a node may announce, from what the Kubernetes API says about it (the slow authority;
 * the speakers' own failure detector is the fast one, see membership/).
 */
import type { V1Node } from '@kubernetes/client-node';

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
