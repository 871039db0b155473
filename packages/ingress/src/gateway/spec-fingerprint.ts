/**
 * What a compile depends on, in one string: when it is unchanged, compiling again would give the
 * same listeners and statuses. Our own status writes on 10,000 HTTPRoutes come back through the
 * watch one by one; without this, each would recompile every route (hundreds of ms at that scale)
 * and the status pass would keep the primary busy for minutes.
 *
 * HTTPRoutes count by generation, which only a spec change bumps; every other kind counts by
 * resourceVersion (Gateways: their annotations choose the pool; Services: their status holds the
 * Gateway's address; the rest have no status of ours).
 */
import type { GatewayClusterState } from './compile.js';

interface Meta {
  readonly metadata?: {
    readonly uid?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly generation?: number;
    readonly deletionTimestamp?: string | Date;
  };
}

export function specFingerprint(state: GatewayClusterState): string {
  const parts: string[] = [];
  const add = (kind: string, list: readonly Meta[], byGeneration: boolean) => {
    parts.push(kind);
    for (const o of list) {
      const m = o.metadata;
      const version = byGeneration && m?.generation !== undefined ? `g${m.generation}` : m?.resourceVersion;
      parts.push(`${m?.namespace}/${m?.name}/${m?.uid}/${version}/${m?.deletionTimestamp ? 'd' : ''}`);
    }
  };
  add('GatewayClass', state.gatewayClasses, false);
  add('Gateway', state.gateways, false);
  add('HTTPRoute', state.httpRoutes, true);
  add('ReferenceGrant', state.referenceGrants, false);
  add('Namespace', state.namespaces, false);
  add('Service', state.services, false);
  add('EndpointSlice', state.endpointSlices, false);
  add('Secret', state.secrets, false);
  return parts.join('\n');
}
