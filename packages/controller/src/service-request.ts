import type { V1Service } from '@kubernetes/client-node';
import { ANNOTATIONS, readAnnotation, type ServiceRequest, splitIPList } from '@portico/allocator';
import { parseIP, type IPFamily } from '@portico/net';
import { serviceKey } from '@portico/kube';

/** The IPs currently in the Service's status (hostname-only entries are not ours and ignored). */
export function statusIPs(svc: V1Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
}

export type RequestResult = { ok: true; request: ServiceRequest } | { ok: false; error: string };

/** Maps a Service (and its namespace's labels, for serviceAllocation) to what the allocator needs to know. */
export function serviceRequest(
  svc: V1Service,
  namespaceLabels: Readonly<Record<string, string>> = {},
): RequestResult {
  const spec = svc.spec ?? {};
  const notes = svc.metadata?.annotations ?? {};
  const families = serviceFamilies(svc);
  if (families.length === 0) return { ok: false, error: 'service has no ipFamilies and no clusterIPs' };

  const fromAnnotation = readAnnotation(notes, 'loadBalancerIPs');
  if (fromAnnotation !== undefined && spec.loadBalancerIP) {
    return {
      ok: false,
      error: `service can not have both ${ANNOTATIONS.loadBalancerIPs} and spec.loadBalancerIP`,
    };
  }
  const requestedIPs =
    fromAnnotation !== undefined
      ? splitIPList(fromAnnotation)
      : spec.loadBalancerIP
        ? [spec.loadBalancerIP]
        : [];

  const request: ServiceRequest = {
    key: serviceKey(svc),
    families,
    ipFamilyPolicy: (spec.ipFamilyPolicy as ServiceRequest['ipFamilyPolicy'] | undefined) ?? 'SingleStack',
    requestedIPs,
    pool: readAnnotation(notes, 'addressPool'),
    sharingKey: readAnnotation(notes, 'allowSharedIP'),
    backendKey: spec.externalTrafficPolicy === 'Local' ? selectorKey(spec.selector) : undefined,
    ports: (spec.ports ?? []).map((p) => ({
      protocol: (p.protocol as ServiceRequest['ports'][number]['protocol'] | undefined) ?? 'TCP',
      port: p.port,
    })),
    labels: svc.metadata?.labels ?? {},
    namespaceLabels,
  };
  return { ok: true, request };
}

function serviceFamilies(svc: V1Service): IPFamily[] {
  const declared = (svc.spec?.ipFamilies ?? []).filter((f): f is IPFamily => f === 'IPv4' || f === 'IPv6');
  if (declared.length > 0) return declared;
  const clusterIPs = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
  return clusterIPs.flatMap((ip) => {
    const parsed = parseIP(ip);
    return parsed ? [parsed.family] : [];
  });
}

/** Services with externalTrafficPolicy Local may share an IP only when they select the same pods. */
function selectorKey(selector: Record<string, string> | undefined): string {
  return Object.keys(selector ?? {})
    .sort()
    .map((k) => `${k}=${selector?.[k]}`)
    .join(',');
}
