/**
 * The kube-proxy stand-in's rules (see node-proxy.ts), as a pure function: for every
 * LoadBalancer IP and TCP port, the endpoints a given node forwards to.
 *
 * - only ready endpoints (`conditions.ready` false means not ready; absent means ready);
 * - externalTrafficPolicy Local: only endpoints on this node; Cluster: all of them;
 * - the target port is the EndpointSlice port with the Service port's name.
 */

export interface Service {
  metadata: { namespace: string; name: string };
  spec: {
    type?: string;
    externalTrafficPolicy?: string;
    ports?: Array<{ name?: string; port: number; protocol?: string }>;
  };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

export interface EndpointSlice {
  metadata: { namespace: string; labels?: Record<string, string> };
  ports?: Array<{ name?: string; port?: number }>;
  endpoints?: Array<{ addresses: string[]; nodeName?: string; conditions?: { ready?: boolean } }>;
}

export interface Rule {
  ip: string;
  port: number;
  /** host:port of each endpoint (IPv6 in brackets), sorted. */
  targets: string[];
}

/** Keyed by the listening address, `IP:port` (`[IPv6]:port`). */
export type Rules = Map<string, Rule>;

export const hostPort = (ip: string, port: number) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;

export function forwardingRules(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  nodeName: string,
): Rules {
  const out: Rules = new Map();
  for (const svc of services) {
    if (svc.spec.type !== 'LoadBalancer') continue;
    const ips = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
    const local = svc.spec.externalTrafficPolicy === 'Local';
    const mine = slices.filter(
      (s) =>
        s.metadata.namespace === svc.metadata.namespace &&
        s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name,
    );
    for (const port of svc.spec.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== 'TCP') continue;
      const targets: string[] = [];
      for (const slice of mine) {
        const target = (slice.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? ''))?.port;
        if (target === undefined) continue;
        for (const ep of slice.endpoints ?? []) {
          if (ep.conditions?.ready === false) continue;
          if (local && ep.nodeName !== nodeName) continue;
          for (const a of ep.addresses) targets.push(hostPort(a, target));
        }
      }
      for (const ip of ips)
        out.set(hostPort(ip, port.port), { ip, port: port.port, targets: targets.sort() });
    }
  }
  return out;
}
