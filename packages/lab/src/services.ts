/** Reading the lab's Services back: allocated IPs and the URLs a client requests. */
import type { LabApi } from './api.js';
import { DEMO_GATEWAY, DEMO_HOST, DEMO_SERVICES, INGRESS_SERVICE } from './objects.js';

export interface ServiceReport {
  namespace: string;
  name: string;
  pool: string;
  ips: string[];
  /** One URL per allocated IP, to request from the client namespace. */
  urls: string[];
  /** The first URL (IPv4 when there is one), or null while no IP is allocated. */
  url: string | null;
  /** For the ingress: the Host header that selects the demo app. */
  host?: string;
}

export const bracket = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

export async function allocatedIps(api: LabApi, namespace: string, name: string): Promise<string[]> {
  const svc = await api.get<{ status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }>(
    api.path('v1', 'Service', namespace, name),
  );
  const ips = (svc?.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
  return ips.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

/** Reports for the lab's Services that exist (a lab without a router has no BGP demo). */
export async function serviceReports(
  api: LabApi,
  existing: Array<{ namespace: string; name: string }>,
): Promise<ServiceReport[]> {
  const made = (s: { namespace: string; name: string }) =>
    existing.some((e) => e.namespace === s.namespace && e.name === s.name);
  return Promise.all(
    [...DEMO_SERVICES, INGRESS_SERVICE].filter(made).map(async (s) => {
      const ips = await allocatedIps(api, s.namespace, s.name).catch(() => []);
      const urls = ips.map((ip) => `http://${bracket(ip)}${s.port === 80 ? '' : `:${s.port}`}/`);
      const report: ServiceReport = {
        namespace: s.namespace,
        name: s.name,
        pool: s.pool,
        ips,
        urls,
        url: urls[0] ?? null,
      };
      if (s === INGRESS_SERVICE) report.host = DEMO_HOST;
      return report;
    }),
  );
}

export interface GatewayReport {
  namespace: string;
  name: string;
  pool: string;
  /** The Gateway's status.addresses. */
  ips: string[];
  urls: string[];
  url: string | null;
  /** Its Programmed condition: status and reason, e.g. `True Programmed`. */
  programmed: string | null;
}

/** The Gateway's addresses as its status reports them (from the Service the ingress keeps). */
export async function gatewayAddresses(api: LabApi, namespace: string, name: string): Promise<string[]> {
  const gw = await gatewayObject(api, namespace, name);
  const ips = (gw?.status?.addresses ?? []).map((a) => a.value);
  return ips.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

interface GatewayObject {
  status?: {
    addresses?: Array<{ value: string }>;
    conditions?: Array<{ type: string; status: string; reason: string }>;
  };
}

function gatewayObject(api: LabApi, namespace: string, name: string): Promise<GatewayObject | undefined> {
  return api.get<GatewayObject>(api.path('gateway.networking.k8s.io/v1', 'Gateway', namespace, name));
}

export async function gatewayReports(
  api: LabApi,
  made: { namespace: string; name: string } | undefined,
): Promise<GatewayReport[]> {
  if (!made) return [];
  const gw = await gatewayObject(api, made.namespace, made.name).catch(() => undefined);
  const ips = (gw?.status?.addresses ?? []).map((a) => a.value);
  const urls = ips.map(
    (ip) => `http://${bracket(ip)}${DEMO_GATEWAY.port === 80 ? '' : `:${DEMO_GATEWAY.port}`}/`,
  );
  const programmed = gw?.status?.conditions?.find((c) => c.type === 'Programmed');
  return [
    {
      namespace: made.namespace,
      name: made.name,
      pool: DEMO_GATEWAY.pool,
      ips,
      urls,
      url: urls[0] ?? null,
      programmed: programmed ? `${programmed.status} ${programmed.reason}` : null,
    },
  ];
}
