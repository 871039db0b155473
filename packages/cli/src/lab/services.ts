/** Reading the lab's Services back: allocated IPs and the URLs a client requests. */
import type { LabApi } from './api.js';
import { DEMO_HOST, DEMO_SERVICES, INGRESS_SERVICE } from './objects.js';

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
