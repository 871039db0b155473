/**
 * One HTTPRoute's rules, translated into what the data plane needs: for each match, the path,
 * header, query and method conditions (regular expressions compiled and checked here), the filters,
 * and the weighted backends. A backendRef that cannot be used stays in the list with no backend, so
 * its share of the traffic gets 500 as the spec requires, and sets the route's ResolvedRefs reason.
 * What we do not support (a filter type, an invalid pattern) makes the route not Accepted.
 */
import type { ServiceIndex } from '../backends.js';
import { resolveBackend } from '../backends.js';
import type { Endpoint, UpstreamProtocol } from '../table.js';
import { parseDuration } from './durations.js';
import type { ReferenceGrants } from './reference-grants.js';
import {
  GATEWAY_GROUP,
  type HeaderModifier,
  type BackendObjectReference,
  type HTTPRoute,
  type HTTPRouteFilter,
  type HTTPRouteRule,
  type PathModifier,
} from './types.js';

export type PathType = 'Exact' | 'PathPrefix' | 'RegularExpression';

export interface ValueMatch {
  /** Header names lower case; query parameter names as written (they are case-sensitive). */
  readonly name: string;
  readonly type: 'Exact' | 'RegularExpression';
  readonly value: string;
}

export type Filter =
  | { readonly type: 'RequestHeaderModifier'; readonly modifier: HeaderModifier }
  | { readonly type: 'ResponseHeaderModifier'; readonly modifier: HeaderModifier }
  | {
      readonly type: 'RequestRedirect';
      readonly scheme?: string;
      readonly hostname?: string;
      readonly path?: PathModifier;
      readonly port?: number;
      readonly statusCode: number;
    }
  | { readonly type: 'URLRewrite'; readonly hostname?: string; readonly path?: PathModifier }
  | {
      readonly type: 'RequestMirror';
      /** Key into RouteTable.backends, or null (unresolved: nothing is mirrored). */
      readonly backend: string | null;
      /** Share of requests mirrored, 0 to 100. */
      readonly percent: number;
    };

export interface WeightedBackend {
  /** Key into RouteTable.backends (`namespace/service:port`), or null: requests get 500. */
  readonly backend: string | null;
  readonly weight: number;
  readonly filters: readonly Filter[];
}

export interface RuleMatch {
  readonly pathType: PathType;
  /** Exact: as written. PathPrefix: without trailing slashes ('' for '/'). Regex: the pattern. */
  readonly path: string;
  readonly headers: readonly ValueMatch[];
  readonly queryParams: readonly ValueMatch[];
  readonly method?: string;
  /** A GRPCRoute match: the characters of its service and method, for precedence. */
  readonly grpc?: { readonly service: number; readonly method: number };
}

export interface CompiledRule {
  readonly index: number;
  readonly name?: string;
  readonly matches: readonly RuleMatch[];
  readonly filters: readonly Filter[];
  readonly backends: readonly WeightedBackend[];
  /** GEP-1742 timeouts in ms; absent or 0: none beyond the proxy's own. */
  readonly timeouts: { readonly request?: number; readonly backendRequest?: number };
}

export interface CompiledRoute {
  readonly rules: readonly CompiledRule[];
  /** Why the route cannot be accepted at all (reason UnsupportedValue), or undefined. */
  readonly unsupported?: string;
  /** The first unresolved reference: reason and message for ResolvedRefs=False, or undefined. */
  readonly unresolved?: { readonly reason: string; readonly message: string };
  /** Every backend key used, with its ready endpoints. */
  readonly backends: ReadonlyMap<string, readonly Endpoint[]>;
  /** The backends not spoken to over HTTP/1.1 (Service port appProtocol). */
  readonly protocols: ReadonlyMap<string, UpstreamProtocol>;
}

export interface RuleContext {
  readonly services: ServiceIndex;
  readonly grants: Pick<ReferenceGrants, 'allows'>;
  /** The route's kind, for ReferenceGrants (default HTTPRoute). */
  readonly kind?: 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';
  /** The protocol to every backend whatever its appProtocol (GRPCRoute: h2c). */
  readonly protocol?: UpstreamProtocol;
}

export function compileRoute(route: HTTPRoute, context: RuleContext): CompiledRoute {
  const ns = route.metadata?.namespace ?? 'default';
  const backends = new Map<string, readonly Endpoint[]>();
  const protocols = new Map<string, UpstreamProtocol>();
  const unsupported: string[] = [];
  const unresolved: { reason: string; message: string }[] = [];

  const resolve = (ref: BackendObjectReference, field: string): string | null => {
    const group = ref.group ?? '';
    const kind = ref.kind ?? 'Service';
    if (group !== '' || kind !== 'Service') {
      unresolved.push({
        reason: 'InvalidKind',
        message: `${field}: kind ${q(kind)} of group ${q(group)} is not supported (only Service)`,
      });
      return null;
    }
    const namespace = ref.namespace ?? ns;
    const allowed = context.grants.allows({
      fromGroup: GATEWAY_GROUP,
      fromKind: context.kind ?? 'HTTPRoute',
      fromNamespace: ns,
      toGroup: '',
      toKind: 'Service',
      toNamespace: namespace,
      toName: ref.name,
    });
    if (!allowed) {
      unresolved.push({
        reason: 'RefNotPermitted',
        message: `${field}: service ${q(`${namespace}/${ref.name}`)} is in another namespace and no ReferenceGrant allows it`,
      });
      return null;
    }
    if (ref.port === undefined) {
      unresolved.push({
        reason: 'BackendNotFound',
        message: `${field}.port: a Service backend needs a port`,
      });
      return null;
    }
    const endpoints = resolveBackend(context.services, namespace, {
      name: ref.name,
      port: { number: ref.port },
    });
    if (typeof endpoints === 'string') {
      const service = `${namespace}/${ref.name}`;
      const what = context.services.services.has(service)
        ? `service ${q(service)} has no port ${ref.port}`
        : `service ${q(service)} not found`;
      unresolved.push({ reason: 'BackendNotFound', message: `${field}: ${what}` });
      return null;
    }
    const appProtocol = context.services.services
      .get(`${namespace}/${ref.name}`)
      ?.spec?.ports?.find((p) => p.port === ref.port)?.appProtocol;
    const protocol = context.protocol ?? upstreamProtocol(appProtocol);
    if (protocol === 'unsupported') {
      unresolved.push({
        reason: 'UnsupportedProtocol',
        message: `${field}: service ${q(`${namespace}/${ref.name}`)} port ${ref.port} has appProtocol ${q(appProtocol ?? '')}, which is not supported (kubernetes.io/h2c and kubernetes.io/ws are)`,
      });
      return null;
    }
    const key = `${namespace}/${ref.name}:${ref.port}`;
    backends.set(key, endpoints);
    if (protocol) protocols.set(key, protocol);
    return key;
  };

  const rules = (route.spec?.rules ?? []).map((rule, r): CompiledRule => {
    const field = `spec.rules[${r}]`;
    const matches = (rule.matches?.length ? rule.matches : [{}]).map((m, k): RuleMatch => {
      const mf = `${field}.matches[${k}]`;
      const pathType = (m.path?.type ?? 'PathPrefix') as PathType;
      const value = m.path?.value ?? '/';
      if (!['Exact', 'PathPrefix', 'RegularExpression'].includes(pathType))
        unsupported.push(`${mf}.path.type: ${q(pathType)} is not supported`);
      if (pathType === 'RegularExpression') checkPattern(value, `${mf}.path.value`, unsupported);
      const values = (list: typeof m.headers, kind: 'headers' | 'queryParams'): ValueMatch[] =>
        (list ?? []).map((h, i) => {
          const type = (h.type ?? 'Exact') as ValueMatch['type'];
          if (type !== 'Exact' && type !== 'RegularExpression')
            unsupported.push(`${mf}.${kind}[${i}].type: ${q(type)} is not supported`);
          if (type === 'RegularExpression') checkPattern(h.value, `${mf}.${kind}[${i}].value`, unsupported);
          return { name: kind === 'headers' ? h.name.toLowerCase() : h.name, type, value: h.value };
        });
      return {
        pathType,
        path: pathType === 'PathPrefix' ? stripTrailingSlashes(value) : value,
        headers: values(m.headers, 'headers'),
        queryParams: values(m.queryParams, 'queryParams'),
        ...(m.method ? { method: m.method } : {}),
      };
    });
    const filters = translateFilters(rule.filters ?? [], `${field}.filters`, unsupported, resolve);
    const weighted = (rule.backendRefs ?? []).map((ref, b): WeightedBackend => {
      const bf = `${field}.backendRefs[${b}]`;
      return {
        backend: resolve(ref, bf),
        weight: ref.weight ?? 1,
        filters: translateFilters(ref.filters ?? [], `${bf}.filters`, unsupported, resolve),
      };
    });
    const timeouts = translateTimeouts(rule.timeouts, `${field}.timeouts`, unsupported);
    return {
      index: r,
      ...(rule.name ? { name: rule.name } : {}),
      matches,
      filters,
      backends: weighted,
      timeouts,
    };
  });
  return {
    rules,
    ...(unsupported.length ? { unsupported: unsupported.join('; ') } : {}),
    ...(unresolved.length
      ? {
          unresolved: { reason: unresolved[0]!.reason, message: unresolved.map((u) => u.message).join('; ') },
        }
      : {}),
    backends,
    protocols,
  };
}

/**
 * How a Service port's appProtocol is spoken to: kubernetes.io/h2c over cleartext HTTP/2 with
 * prior knowledge; kubernetes.io/ws is HTTP/1.1 with Upgrade (forwarded as any Upgrade is); TLS to
 * the pod (kubernetes.io/wss, https) is not done; any other value (none, http, a name of the
 * application's own) is HTTP/1.1.
 */
function upstreamProtocol(appProtocol: string | undefined): UpstreamProtocol | undefined | 'unsupported' {
  switch (appProtocol?.toLowerCase()) {
    case 'kubernetes.io/h2c':
      return 'h2c';
    case 'kubernetes.io/wss':
    case 'https':
      return 'unsupported';
    default:
      return undefined;
  }
}

function translateFilters(
  filters: readonly HTTPRouteFilter[],
  field: string,
  unsupported: string[],
  resolve: (ref: BackendObjectReference, field: string) => string | null,
): Filter[] {
  const out: Filter[] = [];
  filters.forEach((f, i) => {
    switch (f.type) {
      case 'RequestHeaderModifier':
        out.push({ type: f.type, modifier: f.requestHeaderModifier ?? {} });
        break;
      case 'ResponseHeaderModifier':
        out.push({ type: f.type, modifier: f.responseHeaderModifier ?? {} });
        break;
      case 'RequestRedirect': {
        const r = f.requestRedirect ?? {};
        out.push({ type: f.type, ...r, statusCode: r.statusCode ?? 302 });
        break;
      }
      case 'URLRewrite':
        out.push({ type: f.type, ...(f.urlRewrite ?? {}) });
        break;
      case 'RequestMirror': {
        const m = f.requestMirror;
        if (!m?.backendRef) {
          unsupported.push(`${field}[${i}].requestMirror.backendRef: a RequestMirror needs a backendRef`);
          break;
        }
        const percent = mirrorPercent(m);
        if (percent === undefined) {
          unsupported.push(
            `${field}[${i}].requestMirror: percent ${JSON.stringify(m.percent)} / fraction ${JSON.stringify(m.fraction)} is not a share between 0 and 100 %`,
          );
          break;
        }
        out.push({
          type: f.type,
          backend: resolve(m.backendRef, `${field}[${i}].requestMirror.backendRef`),
          percent,
        });
        break;
      }
      default:
        unsupported.push(`${field}[${i}].type: filter ${q(f.type)} is not supported`);
    }
  });
  return out;
}

/** The share of requests a RequestMirror copies (percent, else fraction, else all), or undefined. */
function mirrorPercent(m: NonNullable<HTTPRouteFilter['requestMirror']>): number | undefined {
  if (m.percent !== undefined) return m.percent >= 0 && m.percent <= 100 ? m.percent : undefined;
  if (m.fraction !== undefined) {
    const d = m.fraction.denominator ?? 100;
    const n = m.fraction.numerator;
    return d > 0 && n >= 0 && n <= d ? (100 * n) / d : undefined;
  }
  return 100;
}

/** GEP-1742: backendRequest may not exceed request (both set and not 0). */
function translateTimeouts(
  timeouts: HTTPRouteRule['timeouts'],
  field: string,
  unsupported: string[],
): CompiledRule['timeouts'] {
  const out: { request?: number; backendRequest?: number } = {};
  for (const key of ['request', 'backendRequest'] as const) {
    const value = timeouts?.[key];
    if (value === undefined) continue;
    const ms = parseDuration(value, `${field}.${key}`);
    if (typeof ms === 'string') unsupported.push(ms);
    else if (ms > 0) out[key] = ms;
  }
  if (out.request !== undefined && out.backendRequest !== undefined && out.backendRequest > out.request)
    unsupported.push(
      `${field}.backendRequest: ${JSON.stringify(timeouts?.backendRequest)} is longer than request ${JSON.stringify(timeouts?.request)}`,
    );
  return out;
}

/** Patterns are ECMAScript regular expressions matched against the whole value. */
export function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function checkPattern(pattern: string, field: string, unsupported: string[]): void {
  try {
    anchored(pattern);
  } catch (err) {
    unsupported.push(`${field}: ${q(pattern)} is not a valid regular expression (${(err as Error).message})`);
  }
}

function stripTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

function q(value: string): string {
  return JSON.stringify(value);
}
