/**
 * The LoadBalancer Service that gives a Gateway its address from Portico's pools (pure). One per
 * Gateway of our class, in the Gateway's namespace, owned by it, one TCP port per distinct listener
 * port. `spec.addresses` of type IPAddress become the requested IPs (`metallb.io/loadBalancerIPs`,
 * which Portico's controller reads); pool and sharing annotations on the Gateway and
 * `spec.infrastructure` labels and annotations are copied to the Service.
 *
 * The ingress pods run in their own namespace, and a Service selects pods of its own namespace
 * only, so the Service has no selector: its EndpointSlices are the ingress pods' endpoints, taken
 * from the EndpointSlices of the ingress's own Service (`--publish-service`) with the Gateway's
 * ports (the pods serve every Gateway listener at its own port).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { GATEWAY_GROUP, type Gateway } from './types.js';

/** The label that names the Gateway a Service was made for (the Gateway API's own label). */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
/** The label that says Portico keeps the Service (and may delete it when its Gateway goes). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'portico-gateway';
/** The annotation Portico's controller reads for requested IPs. */
export const REQUESTED_IPS_ANNOTATION = 'metallb.io/loadBalancerIPs';

/** Annotations of the Gateway copied to its Service: pool selection and IP sharing, every alias. */
const COPIED_ANNOTATIONS = [
  'portico.dev/address-pool',
  'metallb.io/address-pool',
  'metallb.universe.tf/address-pool',
  'portico.dev/allow-shared-ip',
  'metallb.io/allow-shared-ip',
  'metallb.universe.tf/allow-shared-ip',
];

/** Address types we can honour: an IP from a pool (an empty value asks for any). */
const SUPPORTED_TYPES = new Set(['IPAddress']);

/** `portico-gateway-<name>`, made a valid Service name (DNS-1035, 63 characters) when it is not one. */
export function gatewayServiceName(gatewayName: string): string {
  const plain = `portico-gateway-${gatewayName}`;
  if (plain.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(plain)) return plain;
  // Dots (allowed in Gateway names) and length: a hash of the real name keeps it unique.
  const hash = createHash('sha256').update(gatewayName).digest('hex').slice(0, 8);
  const cleaned = plain.replace(/[^-a-z0-9]/g, '-').slice(0, 63 - 9);
  return `${cleaned.replace(/-+$/, '')}-${hash}`;
}

/** What spec.addresses asks for: IPs to request, or why the Gateway cannot be accepted. */
export interface RequestedAddresses {
  readonly ips: readonly string[];
  /** Set when an address has a type we do not support: Accepted=False/UnsupportedAddress. */
  readonly unsupported?: string;
  /** Set when an IPAddress value is not an IP: Programmed=False/AddressNotUsable. */
  readonly notUsable?: string;
}

export function requestedAddresses(gateway: Gateway): RequestedAddresses {
  const ips: string[] = [];
  for (const [i, a] of (gateway.spec?.addresses ?? []).entries()) {
    const type = a.type ?? 'IPAddress';
    if (!SUPPORTED_TYPES.has(type))
      return {
        ips,
        unsupported: `spec.addresses[${i}]: type ${JSON.stringify(type)} is not supported (only IPAddress)`,
      };
    if (a.value === undefined || a.value === '') continue;
    if (isIP(a.value) === 0)
      return { ips, notUsable: `spec.addresses[${i}]: ${JSON.stringify(a.value)} is not an IP address` };
    ips.push(a.value);
  }
  return { ips };
}

/**
 * The Service the Gateway should have; undefined when it should have none (address not supported,
 * or every listener on a port the ingress serves itself). `reservedPorts` (reservedGatewayPorts)
 * are left out: those listeners are not served, and the Service must not expose the ingress's
 * metrics or Ingress ports on the Gateway's address.
 */
export function desiredGatewayService(
  gateway: Gateway,
  reservedPorts: ReadonlyMap<number, string> = new Map(),
): V1Service | undefined {
  const requested = requestedAddresses(gateway);
  if (requested.unsupported || requested.notUsable) return undefined;
  const listenerPorts = new Set((gateway.spec?.listeners ?? []).map((l) => l.port));
  const ports = [...listenerPorts].filter((p) => !reservedPorts.has(p)).sort((a, b) => a - b);
  if (ports.length === 0 && listenerPorts.size > 0) return undefined;
  const meta = gateway.metadata ?? {};
  const name = meta.name ?? '';
  const annotations: Record<string, string> = { ...gateway.spec?.infrastructure?.annotations };
  for (const key of COPIED_ANNOTATIONS) {
    const value = meta.annotations?.[key];
    if (value !== undefined) annotations[key] = value;
  }
  if (requested.ips.length > 0) annotations[REQUESTED_IPS_ANNOTATION] = requested.ips.join(',');
  const families = [...new Set(requested.ips.map((ip) => (isIP(ip) === 6 ? 'IPv6' : 'IPv4')))];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: gatewayServiceName(name),
      namespace: meta.namespace ?? 'default',
      labels: {
        ...gateway.spec?.infrastructure?.labels,
        [GATEWAY_NAME_LABEL]: name.slice(0, 63),
        [MANAGED_BY_LABEL]: MANAGED_BY,
      },
      annotations,
      ownerReferences: [
        {
          apiVersion: `${GATEWAY_GROUP}/v1`,
          kind: 'Gateway',
          name,
          uid: meta.uid ?? '',
          controller: true,
        },
      ],
    },
    spec: {
      type: 'LoadBalancer',
      ports: ports.map((port) => ({ name: `port-${port}`, protocol: 'TCP', port, targetPort: port })),
      // Requested IPs of both families need a dual-stack Service; otherwise the server's default.
      ...(families.length === 2
        ? { ipFamilyPolicy: 'RequireDualStack', ipFamilies: families }
        : families.length === 1
          ? { ipFamilies: families }
          : {}),
    },
  };
}

/** Whether a Service is one we keep for a Gateway (labels; the owner is checked by the caller). */
export function isGatewayService(svc: V1Service): boolean {
  const labels = svc.metadata?.labels ?? {};
  return labels[MANAGED_BY_LABEL] === MANAGED_BY && labels[GATEWAY_NAME_LABEL] !== undefined;
}

/**
 * Whether the live Service already is what we want: our labels and annotations present with our
 * values, the same selector, ports and type. Other annotations (the controller's pool annotation)
 * are left alone.
 */
export function serviceMatches(live: V1Service, want: V1Service): boolean {
  const sameMap = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
    JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());
  const ours = (m: Record<string, string> | undefined, keys: string[]) =>
    Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => keys.includes(k)));
  const annotationKeys = [...ownedAnnotationKeys(live), ...Object.keys(want.metadata?.annotations ?? {})];
  const ports = (s: V1Service) =>
    JSON.stringify((s.spec?.ports ?? []).map((p) => [p.name, p.protocol ?? 'TCP', p.port, p.targetPort]));
  return (
    sameMap(live.metadata?.labels, want.metadata?.labels) &&
    sameMap(ours(live.metadata?.annotations, annotationKeys), want.metadata?.annotations) &&
    sameMap(live.spec?.selector, want.spec?.selector ?? undefined) &&
    ports(live) === ports(want) &&
    live.spec?.type === want.spec?.type &&
    live.metadata?.annotations?.[OWNED_ANNOTATIONS] === ownedList(want)
  );
}

/**
 * The annotation listing the annotation keys we wrote, so that one the Gateway no longer asks for
 * is removed while annotations others wrote on the Service stay.
 */
export const OWNED_ANNOTATIONS = 'portico.dev/gateway-annotations';

function ownedAnnotationKeys(svc: V1Service): string[] {
  const list = svc.metadata?.annotations?.[OWNED_ANNOTATIONS];
  return list ? list.split(',') : [];
}

function ownedList(want: V1Service): string {
  return Object.keys(want.metadata?.annotations ?? {})
    .filter((k) => k !== OWNED_ANNOTATIONS)
    .sort()
    .join(',');
}

/** The live Service changed to what we want, keeping what others wrote (and its resourceVersion). */
export function updatedService(live: V1Service, want: V1Service): V1Service {
  const annotations: Record<string, string> = { ...live.metadata?.annotations };
  for (const k of ownedAnnotationKeys(live)) delete annotations[k];
  Object.assign(annotations, want.metadata?.annotations);
  annotations[OWNED_ANNOTATIONS] = ownedList(want);
  return {
    ...live,
    metadata: { ...live.metadata, labels: want.metadata?.labels, annotations },
    spec: { ...live.spec, type: want.spec?.type, selector: want.spec?.selector, ports: want.spec?.ports },
  };
}

/** The Service to create: what we want, with the list of our annotations. */
export function newService(want: V1Service): V1Service {
  return {
    ...want,
    metadata: {
      ...want.metadata,
      annotations: { ...want.metadata?.annotations, [OWNED_ANNOTATIONS]: ownedList(want) },
    },
  };
}

/** Who writes the EndpointSlices of Gateway Services (the EndpointSlice controller leaves them alone). */
export const SLICE_MANAGER = 'portico-gateway.portico.dev';

/**
 * The EndpointSlices of a Gateway's Service: one per address type of the ingress's own slices,
 * holding their endpoints with the Gateway's ports.
 */
export function desiredGatewaySlices(
  service: V1Service,
  ingressSlices: readonly V1EndpointSlice[],
): V1EndpointSlice[] {
  const name = service.metadata?.name ?? '';
  const byType = new Map<string, V1EndpointSlice['endpoints']>();
  for (const s of ingressSlices) {
    const list = byType.get(s.addressType) ?? [];
    for (const e of s.endpoints ?? [])
      list.push({
        addresses: e.addresses,
        conditions: e.conditions,
        ...(e.nodeName ? { nodeName: e.nodeName } : {}),
        ...(e.zone ? { zone: e.zone } : {}),
      });
    byType.set(s.addressType, list);
  }
  return [...byType]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([addressType, endpoints]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${name}-${addressType.toLowerCase()}`,
        namespace: service.metadata?.namespace,
        labels: {
          ...service.metadata?.labels,
          'kubernetes.io/service-name': name,
          'endpointslice.kubernetes.io/managed-by': SLICE_MANAGER,
        },
        ownerReferences: service.metadata?.ownerReferences,
      },
      addressType,
      endpoints: endpoints ?? [],
      ports: (service.spec?.ports ?? []).map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    }));
}

/** Whether an EndpointSlice is one we keep for a Gateway Service. */
export function isGatewaySlice(slice: V1EndpointSlice): boolean {
  return slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'] === SLICE_MANAGER;
}

/** Whether the live slice holds what we want (labels, endpoints, ports). */
export function sliceMatches(live: V1EndpointSlice, want: V1EndpointSlice): boolean {
  const norm = (s: V1EndpointSlice) =>
    JSON.stringify([
      Object.entries(s.metadata?.labels ?? {}).sort(),
      s.addressType,
      (s.endpoints ?? []).map((e) => [
        e.addresses,
        e.conditions?.ready ?? null,
        e.conditions?.serving ?? null,
        e.conditions?.terminating ?? null,
        e.nodeName ?? null,
        e.zone ?? null,
      ]),
      (s.ports ?? []).map((p) => [p.name, p.protocol ?? 'TCP', p.port]),
    ]);
  return norm(live) === norm(want);
}
