/**
 * A Gateway's listeners, checked as the spec requires: the protocols we serve (HTTP, HTTPS with
 * TLS termination), the route kinds they allow (supportedKinds, InvalidRouteKinds), their
 * certificates (ResolvedRefs), conflicts between listeners on one port (a port has one
 * protocol; within it, hostnames must differ), and ports the ingress process serves itself
 * (PortUnavailable: its metrics port, the Ingress ports). A listener that is conflicted or has no
 * usable configuration is reported and not served; the others are.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { resolveCertificate, type CertificatePair } from './certificates.js';
import { condition } from './conditions.js';
import { selectorMatches } from './labels.js';
import type { ReferenceGrants } from './reference-grants.js';
import { GATEWAY_GROUP, type Condition, type Gateway, type Listener, type RouteGroupKind } from './types.js';

export const SUPPORTED_PROTOCOLS = ['HTTP', 'HTTPS', 'TLS'] as const;
const HTTP_ROUTE: RouteGroupKind = { group: GATEWAY_GROUP, kind: 'HTTPRoute' };
const GRPC_ROUTE: RouteGroupKind = { group: GATEWAY_GROUP, kind: 'GRPCRoute' };
const TLS_ROUTE: RouteGroupKind = { group: GATEWAY_GROUP, kind: 'TLSRoute' };

export interface CheckedListener {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  readonly gatewayNamespace: string;
  readonly spec: Listener;
  /** Lower case; undefined when the listener matches every host. */
  readonly hostname: string | undefined;
  readonly protocol: string;
  readonly port: number;
  readonly supportedKinds: readonly RouteGroupKind[];
  /** Whether routes may attach (Accepted and not Conflicted): attachment and status follow it. */
  readonly accepted: boolean;
  /** Whether the data plane serves it. */
  readonly programmed: boolean;
  readonly certificates: readonly CertificatePair[];
  /** Every condition but Programmed's dependence on nothing else: complete. */
  readonly conditions: readonly Condition[];
}

export interface ListenerContext {
  /** Ports the ingress process serves itself where the listeners would be, with what uses each. */
  readonly reservedPorts?: ReadonlyMap<number, string>;
  readonly secrets: ReadonlyMap<string, V1Secret>;
  readonly grants: ReferenceGrants;
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export function checkListeners(gateway: Gateway, context: ListenerContext): CheckedListener[] {
  const ns = gateway.metadata?.namespace ?? 'default';
  const id = `${ns}/${gateway.metadata?.name}`;
  const generation = gateway.metadata?.generation;
  const listeners = gateway.spec?.listeners ?? [];
  const conflicts = findConflicts(listeners);
  return listeners.map((l, i): CheckedListener => {
    const field = `spec.listeners[${i}]`;
    const protocolSupported = (SUPPORTED_PROTOCOLS as readonly string[]).includes(l.protocol);
    const kinds = supportedKinds(l, protocolSupported);
    const problems: { type: string; reason: string; message: string }[] = [];
    if (!protocolSupported)
      problems.push({
        type: 'Accepted',
        reason: 'UnsupportedProtocol',
        message: `${field}.protocol: ${JSON.stringify(l.protocol)} is not supported (supported: ${SUPPORTED_PROTOCOLS.join(', ')})`,
      });
    if (kinds.invalid.length)
      problems.push({
        type: 'ResolvedRefs',
        reason: 'InvalidRouteKinds',
        message: `${field}.allowedRoutes.kinds: ${kinds.invalid.map((k) => JSON.stringify(k)).join(', ')} cannot attach to a ${l.protocol} listener`,
      });
    const certificates: CertificatePair[] = [];
    // TLS listeners pass the connection through untouched (TLSRoute); terminating TLS for
    // TLSRoutes is not done.
    if (l.protocol === 'TLS' && l.tls?.mode !== 'Passthrough')
      problems.push({
        type: 'Accepted',
        reason: 'UnsupportedValue',
        message: `${field}.tls.mode: ${JSON.stringify(l.tls?.mode ?? 'Terminate')} is not supported on TLS listeners (only Passthrough)`,
      });
    if (l.protocol === 'HTTPS') {
      if ((l.tls?.mode ?? 'Terminate') !== 'Terminate')
        problems.push({
          type: 'Accepted',
          reason: 'UnsupportedValue',
          message: `${field}.tls.mode: ${JSON.stringify(l.tls?.mode)} is not supported on HTTPS (only Terminate)`,
        });
      const refs = l.tls?.certificateRefs ?? [];
      refs.forEach((ref, k) => {
        const r = resolveCertificate(
          ref,
          `${field}.tls.certificateRefs[${k}]`,
          ns,
          context.secrets,
          context.grants,
        );
        if (r.ok) certificates.push(r.pair);
        else problems.push({ type: 'ResolvedRefs', reason: r.reason, message: r.message });
      });
      if (refs.length === 0)
        problems.push({
          type: 'ResolvedRefs',
          reason: 'InvalidCertificateRef',
          message: `${field}.tls.certificateRefs: an HTTPS listener needs a certificate`,
        });
    }
    // A port the process serves itself: binding it would fail, or (SO_REUSEPORT, as the workers
    // bind) silently share its connections with the Ingress or metrics server.
    const reservedBy = context.reservedPorts?.get(l.port);
    if (reservedBy !== undefined)
      problems.unshift({
        type: 'Accepted',
        reason: 'PortUnavailable',
        message: `${field}.port: ${l.port} is used by the ingress itself (${reservedBy})`,
      });
    const conflict = conflicts.get(i);
    // A port whose listeners want different protocols (or TLS modes) serves none of them.
    if (conflict?.reason === 'ProtocolConflict')
      problems.unshift({ type: 'Accepted', reason: conflict.reason, message: conflict.message });
    const notAccepted = problems.find((p) => p.type === 'Accepted');
    const unresolved = problems.find((p) => p.type === 'ResolvedRefs');
    const accepted = !notAccepted && !conflict;
    const programmed = accepted && (l.protocol !== 'HTTPS' || certificates.length > 0);
    const allMessages = problems.map((p) => p.message).join('; ');
    const conditions = [
      condition(
        'Accepted',
        !notAccepted,
        notAccepted?.reason ?? 'Accepted',
        notAccepted?.message ?? 'the listener is valid',
        generation,
      ),
      condition(
        'Programmed',
        programmed,
        programmed ? 'Programmed' : 'Invalid',
        programmed ? 'the listener is served' : allMessages || (conflict?.message ?? 'not served'),
        generation,
      ),
      condition(
        'ResolvedRefs',
        !unresolved,
        unresolved?.reason ?? 'ResolvedRefs',
        unresolved
          ? problems
              .filter((p) => p.type === 'ResolvedRefs')
              .map((p) => p.message)
              .join('; ')
          : 'all references resolved',
        generation,
      ),
      condition(
        'Conflicted',
        !!conflict,
        conflict?.reason ?? 'NoConflicts',
        conflict?.message ?? 'no conflicts',
        generation,
      ),
    ];
    return {
      gateway: id,
      gatewayNamespace: ns,
      spec: l,
      hostname: l.hostname ? l.hostname.toLowerCase() : undefined,
      protocol: l.protocol,
      port: l.port,
      supportedKinds: kinds.valid,
      accepted,
      programmed,
      certificates,
      conditions,
    };
  });
}

/** Whether a route of `kind` in `routeNamespace` may attach to this listener. */
export function listenerAllows(
  listener: CheckedListener,
  kind: RouteGroupKind,
  routeNamespace: string,
  namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>,
): boolean {
  if (
    !listener.supportedKinds.some(
      (k) => (k.group ?? GATEWAY_GROUP) === (kind.group ?? GATEWAY_GROUP) && k.kind === kind.kind,
    )
  )
    return false;
  const from = listener.spec.allowedRoutes?.namespaces;
  switch (from?.from ?? 'Same') {
    case 'All':
      return true;
    case 'Same':
      return routeNamespace === listener.gatewayNamespace;
    case 'Selector':
      return !!from?.selector && selectorMatches(from.selector, namespaceLabels.get(routeNamespace));
    default:
      return false; // None
  }
}

function supportedKinds(
  l: Listener,
  protocolSupported: boolean,
): { valid: RouteGroupKind[]; invalid: string[] } {
  // GRPCRoute: HTTP listeners take h2c with prior knowledge, HTTPS ones h2 by ALPN (servers.ts).
  const routable = !protocolSupported ? [] : l.protocol === 'TLS' ? [TLS_ROUTE] : [HTTP_ROUTE, GRPC_ROUTE];
  const wanted = l.allowedRoutes?.kinds;
  if (!wanted || wanted.length === 0) return { valid: routable, invalid: [] };
  const valid: RouteGroupKind[] = [];
  const invalid: string[] = [];
  for (const k of wanted) {
    const group = k.group ?? GATEWAY_GROUP;
    if (routable.some((r) => r.group === group && r.kind === k.kind)) {
      if (!valid.some((v) => v.group === group && v.kind === k.kind)) valid.push({ group, kind: k.kind });
    } else invalid.push(group === GATEWAY_GROUP ? k.kind : `${k.kind}.${group}`);
  }
  return { valid, invalid };
}

/**
 * Listeners that share a port must share a protocol (ProtocolConflict); among those, each hostname
 * (or the absence of one) may appear once (HostnameConflict). Every listener involved is conflicted.
 */
function findConflicts(listeners: readonly Listener[]): Map<number, { reason: string; message: string }> {
  const out = new Map<number, { reason: string; message: string }>();
  const byPort = new Map<number, number[]>();
  listeners.forEach((l, i) => byPort.set(l.port, [...(byPort.get(l.port) ?? []), i]));
  for (const [port, indexes] of byPort) {
    // TLS Passthrough and TLS Terminate on one port conflict too (mixed termination).
    const protocols = new Set(
      indexes.map((i) => {
        const l = listeners[i]!;
        return l.protocol === 'TLS' ? `TLS ${l.tls?.mode ?? 'Terminate'}` : l.protocol;
      }),
    );
    if (protocols.size > 1) {
      for (const i of indexes)
        out.set(i, {
          reason: 'ProtocolConflict',
          message: `port ${port} is used with several protocols (${[...protocols].join(', ')})`,
        });
      continue;
    }
    const byHost = new Map<string, number[]>();
    for (const i of indexes) {
      const h = (listeners[i]!.hostname ?? '').toLowerCase();
      byHost.set(h, [...(byHost.get(h) ?? []), i]);
    }
    for (const [host, same] of byHost)
      if (same.length > 1)
        for (const i of same)
          out.set(i, {
            reason: 'HostnameConflict',
            message: `listeners ${same.map((k) => JSON.stringify(listeners[k]!.name)).join(', ')} share port ${port} and hostname ${JSON.stringify(host || '*')}`,
          });
  }
  return out;
}
