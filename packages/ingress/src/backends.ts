/**
 * Backend resolution (reference §1.7): Ingress backend port (number or name) -> Service port ->
 * EndpointSlice port of the same name -> ready pod addresses. Endpoints whose `ready` condition is
 * false (not ready, or terminating) get no new requests; requests already running on them finish
 * because upstream pools are closed gracefully when their endpoint disappears.
 */
import type { V1EndpointSlice, V1IngressServiceBackend, V1Service } from '@kubernetes/client-node';
import type { Endpoint } from './table.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ServiceIndex {
  readonly services: ReadonlyMap<string, V1Service>;
  readonly slices: ReadonlyMap<string, readonly V1EndpointSlice[]>;
}

export function indexServices(
  services: readonly V1Service[],
  endpointSlices: readonly V1EndpointSlice[],
): ServiceIndex {
  const byName = new Map<string, V1Service>();
  for (const s of services) byName.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
  const slices = new Map<string, V1EndpointSlice[]>();
  for (const slice of endpointSlices) {
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${slice.metadata?.namespace}/${svc}`;
    const list = slices.get(key);
    if (list) list.push(slice);
    else slices.set(key, [slice]);
  }
  return { services: byName, slices };
}

export function backendKey(namespace: string, backend: V1IngressServiceBackend): string {
  const port = backend.port?.name ?? backend.port?.number ?? '';
  return `${namespace}/${backend.name}:${port}`;
}

/** Ready endpoints of a backend, or an error string explaining why there are none. */
export function resolveBackend(
  index: ServiceIndex,
  namespace: string,
  backend: V1IngressServiceBackend,
): Endpoint[] | string {
  const service = index.services.get(`${namespace}/${backend.name}`);
  if (!service) return `service ${namespace}/${backend.name} not found`;
  const ports = service.spec?.ports ?? [];
  const want = backend.port;
  const servicePort =
    want?.name !== undefined && want.name !== ''
      ? ports.find((p) => p.name === want.name)
      : ports.find((p) => p.port === want?.number);
  if (!servicePort) return `service ${namespace}/${backend.name} has no port ${want?.name ?? want?.number}`;
  const portName = servicePort.name ?? '';
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  for (const slice of index.slices.get(`${namespace}/${backend.name}`) ?? []) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName)?.port;
    if (port === undefined || port === null) continue;
    for (const ep of slice.endpoints ?? []) {
      // A nil `ready` means ready (discovery/v1 types.go); terminating endpoints report ready=false.
      if (ep.conditions?.ready === false) continue;
      const address = ep.addresses?.[0];
      if (!address) continue;
      const id = `${address}:${port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ address, port });
    }
  }
  return out;
}
