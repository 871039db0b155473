/**
 * The route compiler: Kubernetes objects in, an immutable RouteTable out. Pure: no I/O, no clock.
 *
 * Ingresses are processed oldest first (creationTimestamp, then namespace/name), so every conflict
 * (same host + path, same TLS host, several catch-all default backends) is won by the oldest Ingress,
 * which is what ingress-nginx users rely on (reference §1.4).
 */
import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressBackend,
  V1IngressClass,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { backendKey, indexServices, resolveBackend, type ServiceIndex } from './backends.js';
import { classFilter, CONTROLLER_NAME, DEFAULT_CLASS_NAME } from './classes.js';
import type { BackendEntry, CertEntry, Endpoint, HostTable, PathEntry, RouteTable, Target } from './table.js';

export interface ClusterState {
  readonly ingresses: readonly V1Ingress[];
  readonly classes: readonly V1IngressClass[];
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly secrets: readonly V1Secret[];
}

export interface CompileOptions {
  readonly version?: number;
  readonly controller?: string;
  readonly className?: string;
}

interface HostBuilder {
  exact: Map<string, PathEntry>;
  /** Keyed by the normalised prefix; `raw` keeps the rule path length for the tie-break. */
  prefix: Map<string, { raw: number; entry: PathEntry }>;
  fallback: Target | null;
}

const TLS_SECRET_TYPE = 'kubernetes.io/tls';

export function compile(state: ClusterState, options: CompileOptions = {}): RouteTable {
  const ours = classFilter(state.classes, {
    controller: options.controller ?? CONTROLLER_NAME,
    className: options.className ?? DEFAULT_CLASS_NAME,
  });
  const ingresses = oldestFirst(state.ingresses.filter(ours));
  const services = indexServices(state.services, state.endpointSlices);
  const secrets = new Map<string, V1Secret>();
  for (const s of state.secrets) secrets.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);

  const problems: string[] = [];
  const backends = new Map<string, readonly Endpoint[]>();
  const hosts = new Map<string, HostBuilder>();
  const certs = new Map<string, CertEntry>();
  const tlsHosts = new Set<string>();
  let catchAll: Target | null = null;

  const targetOf = (ns: string, ingress: string, backend: V1IngressBackend): Target => {
    if (!backend.service) {
      problems.push(`${ingress}: resource backends are not supported`);
      return { ingress, backend: null };
    }
    const key = backendKey(ns, backend.service);
    if (!backends.has(key)) backends.set(key, resolveOrReport(services, ns, backend, ingress, problems));
    return { ingress, backend: key };
  };

  for (const ing of ingresses) {
    const ns = ing.metadata?.namespace ?? 'default';
    const id = `${ns}/${ing.metadata?.name}`;
    const spec = ing.spec ?? {};
    const fallback = spec.defaultBackend ? targetOf(ns, id, spec.defaultBackend) : null;
    const rules = spec.rules ?? [];
    if (rules.length === 0 && fallback && !catchAll) catchAll = fallback;

    for (const rule of rules) {
      const host = (rule.host ?? '').toLowerCase();
      let hb = hosts.get(host);
      if (!hb) hosts.set(host, (hb = { exact: new Map(), prefix: new Map(), fallback: null }));
      if (fallback && !hb.fallback) hb.fallback = fallback;
      for (const p of rule.http?.paths ?? []) {
        const path = p.path || '/';
        const target = targetOf(ns, id, p.backend);
        if (p.pathType === 'Exact') {
          const old = hb.exact.get(path);
          if (old) problems.push(`${id}: Exact ${host}${path} already defined by ${old.target.ingress}`);
          else hb.exact.set(path, { path, target });
          continue;
        }
        // Prefix, and ImplementationSpecific which we define as Prefix.
        const norm = stripTrailingSlashes(path);
        const old = hb.prefix.get(norm);
        if (!old || path.length > old.raw)
          hb.prefix.set(norm, { raw: path.length, entry: { path: norm, target } });
        else if (path.length === old.raw)
          problems.push(`${id}: Prefix ${host}${path} already defined by ${old.entry.target.ingress}`);
      }
    }

    for (const tls of spec.tls ?? []) {
      // No hosts: the certificate covers this Ingress's own rule hosts.
      const tlsList = tls.hosts?.length
        ? tls.hosts
        : rules.map((r) => r.host).filter((h): h is string => !!h);
      for (const h of tlsList) tlsHosts.add(h.toLowerCase());
      if (!tls.secretName) continue;
      const pair = tlsPair(secrets.get(`${ns}/${tls.secretName}`));
      if (typeof pair === 'string') {
        problems.push(`${id}: secret ${ns}/${tls.secretName}: ${pair}`);
        continue;
      }
      for (const h of tlsList) {
        const host = h.toLowerCase();
        if (!certs.has(host)) certs.set(host, { host, ...pair });
      }
    }
  }

  const hostTables: HostTable[] = [...hosts].sort(byKey).map(([host, hb]) => ({
    host,
    exact: [...hb.exact.values()],
    prefix: [...hb.prefix.values()].map((v) => v.entry),
    fallback: hb.fallback,
  }));
  const backendList: BackendEntry[] = [...backends]
    .sort(byKey)
    .map(([key, endpoints]) => ({ key, endpoints }));
  return {
    version: options.version ?? 0,
    hosts: hostTables,
    catchAll,
    backends: backendList,
    certs: [...certs.values()].sort((a, b) => cmp(a.host, b.host)),
    tlsHosts: [...tlsHosts].sort(),
    served: ingresses.map((i) => `${i.metadata?.namespace ?? 'default'}/${i.metadata?.name}`),
    problems,
  };
}

function resolveOrReport(
  services: ServiceIndex,
  ns: string,
  backend: V1IngressBackend,
  ingress: string,
  problems: string[],
): readonly Endpoint[] {
  const r = resolveBackend(services, ns, backend.service!);
  if (typeof r === 'string') {
    problems.push(`${ingress}: ${r}`);
    return [];
  }
  return r;
}

function tlsPair(secret: V1Secret | undefined): { id: string; cert: string; key: string } | string {
  if (!secret) return 'not found';
  if (secret.type !== undefined && secret.type !== TLS_SECRET_TYPE)
    return `type is ${secret.type}, not ${TLS_SECRET_TYPE}`;
  const crt = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (!crt || !key) return 'missing tls.crt or tls.key';
  const m = secret.metadata;
  return {
    id: `${m?.namespace}/${m?.name}@${m?.resourceVersion ?? ''}`,
    cert: Buffer.from(crt, 'base64').toString('utf8'),
    key: Buffer.from(key, 'base64').toString('utf8'),
  };
}

function stripTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

function creationTime(i: V1Ingress): number {
  const t = i.metadata?.creationTimestamp;
  if (t === undefined) return Number.POSITIVE_INFINITY;
  const ms = new Date(t).getTime();
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Sorted by creationTimestamp, then namespace/name; sort keys computed once, not per comparison. */
function oldestFirst(ingresses: V1Ingress[]): V1Ingress[] {
  const keyed = ingresses.map((ing) => ({
    ing,
    time: creationTime(ing),
    name: `${ing.metadata?.namespace ?? ''}/${ing.metadata?.name ?? ''}`,
  }));
  keyed.sort((a, b) => (a.time !== b.time ? (a.time < b.time ? -1 : 1) : cmp(a.name, b.name)));
  return keyed.map((k) => k.ing);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return cmp(a[0], b[0]);
}
