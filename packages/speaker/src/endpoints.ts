/**
 * Ready endpoints per node, from a Service's EndpointSlices. An endpoint counts when it is ready
 * (conditions.ready true, or absent, which the API defines as ready) and not terminating: a pod
 * that starts terminating must stop attracting new traffic at once, even while it still drains.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { Listed } from '@portico/kube';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Slices grouped by the Service they belong to (`namespace/name`). */
export function slicesByService(slices: Iterable<V1EndpointSlice>): Map<string, V1EndpointSlice[]> {
  const out = new Map<string, V1EndpointSlice[]>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!service) continue;
    const key = `${slice.metadata?.namespace ?? ''}/${service}`;
    const list = out.get(key);
    if (list) list.push(slice);
    else out.set(key, [slice]);
  }
  return out;
}

/**
 * Node name -> number of ready endpoints on it. Endpoints without a node (rare: external
 * endpoints added by hand) are counted under the empty name: they make the Service "served"
 * for Cluster policy but attract traffic to no node under Local policy.
 */
export function readyEndpointsByNode(slices: readonly V1EndpointSlice[]): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Set<string>();
  for (const slice of slices) {
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
      if (ep.addresses.length === 0) continue;
      // The same pod appears once per slice it is in (one slice per address family): count it once.
      const id = ep.targetRef?.uid ?? `${slice.addressType}|${ep.addresses[0]}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const node = ep.nodeName ?? ep.deprecatedTopology?.['kubernetes.io/hostname'] ?? '';
      out.set(node, (out.get(node) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * What the speaker reads of an EndpointSlice, for the informer's cache: which Service it belongs
 * to and, per endpoint, its readiness, node, pod and first address (what tells two slices' copies
 * of one pod apart).
 */
export function sliceAsRead(object: Listed): V1EndpointSlice {
  const slice = object as V1EndpointSlice;
  const { name, namespace, resourceVersion, labels } = slice.metadata ?? {};
  const service = labels?.[SERVICE_NAME_LABEL];
  return {
    metadata: {
      name,
      namespace,
      resourceVersion,
      ...(service !== undefined ? { labels: { [SERVICE_NAME_LABEL]: service } } : {}),
    },
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map((ep) => {
      const hostname = ep.deprecatedTopology?.['kubernetes.io/hostname'];
      return {
        addresses: ep.addresses.slice(0, 1),
        ...(ep.conditions
          ? { conditions: { ready: ep.conditions.ready, terminating: ep.conditions.terminating } }
          : {}),
        ...(ep.nodeName !== undefined ? { nodeName: ep.nodeName } : {}),
        ...(ep.targetRef?.uid !== undefined ? { targetRef: { uid: ep.targetRef.uid } } : {}),
        ...(hostname !== undefined ? { deprecatedTopology: { 'kubernetes.io/hostname': hostname } } : {}),
      };
    }),
  };
}
