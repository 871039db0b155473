/**
 * The request-time view of a RouteTable: hash maps built once per table, so a lookup costs one or
 * two host map probes plus one map probe per path element, whatever the number of rules.
 *
 * Precedence (reference §1.2–1.4): exact host > wildcard host (`*.foo.com` matches one extra label)
 * > host-less rules. Within a host: an Exact path equal to the request path wins (it is at least as
 * long as any matching prefix); otherwise the longest matching prefix, element-wise on '/'. A host
 * that matched but has no matching path goes to its own fallback, never to host-less rules. Nothing
 * matched at all: the cluster-wide catch-all, else 404. A host whose paths are regexes
 * (HostTable.regex) tries its compiled patterns in table order instead, the first match wins.
 */
import { MAX_REGEX_SUBJECT, pathRegex } from './annotations/index.js';
import { compilePolicy, hasRequestPolicy, type CompiledPolicy } from './route-policy.js';
import type { Endpoint, HostTable, RouteTable, Target, UpstreamProtocol } from './table.js';

export function originOf(e: Endpoint): string {
  return e.address.includes(':') ? `http://[${e.address}]:${e.port}` : `http://${e.address}:${e.port}`;
}

export class HostRoutes {
  private readonly exact = new Map<string, Target>();
  private readonly prefix = new Map<string, Target>();
  /** Regex mode (table.regex): patterns in table order, the first that matches wins. */
  private readonly regex: { readonly re: RegExp; readonly target: Target }[] = [];
  readonly fallback: Target | null;

  /** `compiled`: where each regex target's pattern is recorded (the rewrite needs its groups). */
  constructor(table: HostTable, compiled?: (target: Target) => CompiledPolicy) {
    for (const e of table.exact) this.exact.set(e.path, e.target);
    for (const e of table.prefix) this.prefix.set(e.path, e.target);
    for (const e of table.regex ?? []) {
      const re = pathRegex(e.path);
      this.regex.push({ re, target: e.target });
      if (compiled) compiled(e.target).pathRegex ??= re;
    }
    this.fallback = table.fallback;
  }

  /** The best rule for a request path (no query string, not decoded), or undefined. */
  match(path: string): Target | undefined {
    if (this.regex.length > 0) {
      if (path.length > MAX_REGEX_SUBJECT) return undefined;
      for (const r of this.regex) if (r.re.test(path)) return r.target;
      return undefined;
    }
    const exact = this.exact.get(path);
    if (exact) return exact;
    if (this.prefix.size === 0) return undefined;
    // Candidate prefixes, longest first: the whole path, then each position of a '/'.
    // Prefix `/a` matches `/a`, `/a/` and `/a/b`, never `/ab` (element-wise).
    let hit = this.prefix.get(path);
    if (hit) return hit;
    for (let i = path.lastIndexOf('/'); i >= 0; i = i === 0 ? -1 : path.lastIndexOf('/', i - 1)) {
      hit = this.prefix.get(path.slice(0, i));
      if (hit) return hit;
    }
    return undefined;
  }
}

/** An endpoint with its upstream origin precomputed (the pool key), once per table. */
export interface RoutedEndpoint extends Endpoint {
  readonly origin: string;
}

export interface Backend {
  readonly key: string;
  readonly endpoints: readonly RoutedEndpoint[];
  /** Absent: HTTP/1.1. */
  readonly protocol?: UpstreamProtocol;
}

export class Router {
  readonly table: RouteTable;
  private readonly exactHosts = new Map<string, HostRoutes>();
  /** `*.foo.com` stored under `foo.com`. */
  private readonly wildcardHosts = new Map<string, HostRoutes>();
  private readonly hostless: HostRoutes | undefined;
  private readonly backends = new Map<string, Backend>();
  private readonly tlsExact = new Set<string>();
  private readonly tlsWildcard = new Set<string>();
  /** Compiled annotation policies of the targets that have one (route-policy.ts). */
  private readonly policies = new WeakMap<Target, CompiledPolicy>();
  private readonly compiledPolicy = (t: Target): CompiledPolicy => {
    let p = this.policies.get(t);
    if (!p) this.policies.set(t, (p = compilePolicy(t)));
    return p;
  };

  constructor(table: RouteTable) {
    this.table = table;
    let hostless: HostRoutes | undefined;
    for (const h of table.hosts) {
      const routes = new HostRoutes(h, this.compiledPolicy);
      if (h.host === '') hostless = routes;
      else if (h.host.startsWith('*.')) this.wildcardHosts.set(h.host.slice(2), routes);
      else this.exactHosts.set(h.host, routes);
    }
    this.hostless = hostless;
    for (const b of table.backends)
      this.backends.set(b.key, {
        key: b.key,
        endpoints: b.endpoints.map((e) => ({ ...e, origin: originOf(e) })),
        ...(b.protocol ? { protocol: b.protocol } : {}),
      });
    for (const h of table.tlsHosts) {
      if (h.startsWith('*.')) this.tlsWildcard.add(h.slice(2));
      else this.tlsExact.add(h);
    }
  }

  /** Routes a request. `host` must already be normalised (see normalizeHost). Null means 404. */
  route(host: string, path: string): Target | null {
    const hr = this.exactHosts.get(host) ?? this.wildcardHosts.get(parentDomain(host));
    if (hr) return hr.match(path) ?? hr.fallback;
    if (this.hostless) {
      const t = this.hostless.match(path);
      if (t) return t;
    }
    return this.table.catchAll ?? this.hostless?.fallback ?? null;
  }

  /** The compiled policy of a target with annotations that act on requests (hasRequestPolicy). */
  policy(target: Target): CompiledPolicy | undefined {
    return hasRequestPolicy(target) ? this.compiledPolicy(target) : undefined;
  }

  backend(key: string): Backend | undefined {
    return this.backends.get(key);
  }

  /** Every backend of the table, endpoints with their origins. */
  allBackends(): IterableIterator<Backend> {
    return this.backends.values();
  }

  /** Whether plain HTTP for this host must be redirected to HTTPS (host listed under spec.tls). */
  isTlsHost(host: string): boolean {
    // Asked for every plain-HTTP request: no hashing of the host when there is nothing to find.
    return (
      (this.tlsExact.size !== 0 && this.tlsExact.has(host)) ||
      (this.tlsWildcard.size !== 0 && this.tlsWildcard.has(parentDomain(host)))
    );
  }
}

/** `a.b.c` -> `b.c`; a single label has no parent (a wildcard needs one extra label). */
export function parentDomain(host: string): string {
  const dot = host.indexOf('.');
  return dot <= 0 ? '\0' : host.slice(dot + 1);
}

/**
 * The host to route on, from a Host header or :authority: port stripped (IPv6 literals keep their
 * brackets), lower-cased, trailing dot dropped (reference §1.2).
 */
export function normalizeHost(raw: string | undefined): string {
  if (!raw) return '';
  let host = raw;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end > 0 ? host.slice(0, end + 1) : host;
  } else {
    const colon = host.indexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  // Fast path: most Host headers are already lower case.
  return /[A-Z]/.test(host) ? host.toLowerCase() : host;
}
