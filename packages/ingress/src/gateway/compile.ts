/**
 * The Gateway API compile step, pure like the Ingress one: GatewayClasses, Gateways, HTTPRoutes,
 * GRPCRoutes, TLSRoutes, ReferenceGrants, Namespaces, Services/EndpointSlices and Secrets in; out
 * come the listeners to serve with their routes in precedence order (GRPCRoutes as path matches,
 * grpc-rules.ts; TLSRoutes by hostname alone), the backends they use and how to speak to them
 * (HTTP/1.1 or h2c), and the status every object of ours must carry. Routes of all kinds are
 * attached oldest first; an invalid route or listener is reported in its status and left out,
 * never breaking the others. The work is done per route by GatewayCompiler (compiler.ts) and
 * attach.ts; this file holds the model.
 */
import type { V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import type { BackendEntry, Endpoint, UpstreamProtocol } from '../table.js';
import type { CertificatePair } from './certificates.js';
import { GatewayCompiler } from './compiler.js';
import type { RouteEntry } from './precedence.js';
import type {
  Condition,
  Gateway,
  GatewayClass,
  GatewayStatus,
  GRPCRoute,
  HTTPRoute,
  TLSRoute,
  NamespaceObject,
  ReferenceGrant,
  RouteParentStatus,
} from './types.js';

export interface GatewayClusterState {
  readonly gatewayClasses: readonly GatewayClass[];
  readonly gateways: readonly Gateway[];
  readonly httpRoutes: readonly HTTPRoute[];
  /** Absent: none (the CRD may not be installed). */
  readonly grpcRoutes?: readonly GRPCRoute[];
  /** Absent: none. */
  readonly tlsRoutes?: readonly TLSRoute[];
  readonly referenceGrants: readonly ReferenceGrant[];
  readonly namespaces: readonly NamespaceObject[];
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly secrets: readonly V1Secret[];
}

export interface GatewayCompileOptions {
  readonly controllerName?: string;
  /** The addresses our Gateways are served on (status.addresses); none: Programmed=False. */
  readonly addresses?: readonly string[];
  /**
   * Ports the ingress process itself serves where the Gateways are served (its metrics and health
   * port, the Ingress ports), each with what uses it: a listener on one is Accepted=False with
   * reason PortUnavailable and not served.
   */
  readonly reservedPorts?: ReadonlyMap<number, string>;
}

export interface ServedListener {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  readonly name: string;
  readonly port: number;
  /** TLS: passthrough by SNI (TLSRoute entries, path '/'). */
  readonly protocol: 'HTTP' | 'HTTPS' | 'TLS';
  readonly hostname: string | undefined;
  readonly certificates: readonly CertificatePair[];
  /**
   * Per hostname (the most specific first, then none), that hostname's entries in comparePrecedence
   * order: for any request the first entry that matches is the one comparePrecedence ranks first.
   */
  readonly routes: readonly RouteEntry[];
}

export interface ObjectStatus<S> {
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly status: S;
}

export interface GatewayCompiled {
  readonly listeners: readonly ServedListener[];
  readonly backends: ReadonlyMap<string, readonly Endpoint[]>;
  /** The backends spoken to over another protocol than HTTP/1.1 (h2c). */
  readonly backendProtocols: ReadonlyMap<string, UpstreamProtocol>;
  readonly gatewayClasses: readonly ObjectStatus<{ conditions: readonly Condition[] }>[];
  readonly gateways: readonly ObjectStatus<GatewayStatus>[];
  /** Only our parents' entries: the writer keeps other controllers' entries as they are. */
  readonly httpRoutes: readonly ObjectStatus<{ parents: readonly RouteParentStatus[] }>[];
  readonly grpcRoutes: readonly ObjectStatus<{ parents: readonly RouteParentStatus[] }>[];
  readonly tlsRoutes: readonly ObjectStatus<{ parents: readonly RouteParentStatus[] }>[];
}

/**
 * Compiles the whole state once. The controller keeps a GatewayCompiler instead, which compiles
 * again only what each change touches (compiler.ts); both give the same result.
 */
export function compileGateways(
  state: GatewayClusterState,
  options: GatewayCompileOptions = {},
): GatewayCompiled {
  return new GatewayCompiler(options).compile(state).compiled;
}

/** The routing table's backends for a compiled model: endpoints, and the protocol when not HTTP/1.1. */
export function backendEntries(compiled: GatewayCompiled): BackendEntry[] {
  return [...compiled.backends].map(([key, endpoints]) => {
    const protocol = compiled.backendProtocols.get(key);
    return protocol ? { key, endpoints, protocol } : { key, endpoints };
  });
}
