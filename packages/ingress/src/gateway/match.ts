/**
 * Request-time matching for Gateway listeners, pure: which listener on a port takes a request (the
 * most specific hostname: exact, then the longest wildcard, then a listener without hostname — a
 * request is never routed by the routes of another listener), and which of its entries, tried in
 * precedence order, matches the request's host, path, method, headers and query.
 */
import { hostMatches } from './hostnames.js';
import type { RouteEntry } from './precedence.js';
import { anchored, type RuleMatch, type ValueMatch } from './route-rules.js';

export interface MatchableListener {
  readonly hostname: string | undefined;
  /** Sorted by comparePrecedence. */
  readonly routes: readonly RouteEntry[];
}

export interface HttpRequestView {
  /** Normalised host (lower case, no port). */
  readonly host: string;
  /** Normalised path, without the query. */
  readonly path: string;
  readonly method: string;
  /** Header names lower case; a repeated header's values joined with ',' . */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw query string without '?', or ''. */
  readonly query: string;
}

export function selectListener<L extends MatchableListener>(
  listeners: readonly L[],
  host: string,
): L | undefined {
  let best: L | undefined;
  let bestScore = -1;
  for (const l of listeners) {
    let score: number;
    if (l.hostname === undefined) score = 0;
    else if (!hostMatches(l.hostname, host)) continue;
    else score = l.hostname.startsWith('*.') ? l.hostname.length : 1_000_000;
    if (score > bestScore) {
      best = l;
      bestScore = score;
    }
  }
  return best;
}

/**
 * A listener's entries by hostname, each list in precedence order. Precedence ranks an exact
 * hostname first, then wildcards by length, then entries without hostname, and only one exact
 * hostname and one wildcard of each length can match a host; so trying the request host's own
 * list, then the lists of its wildcard suffixes longest first, then the host-less list, tries
 * exactly the entries that can match, in precedence order, without scanning the others.
 */
const indexes = new WeakMap<MatchableListener, ReadonlyMap<string, readonly RouteEntry[]>>();

/** A listener's entries by hostname (`''`: the entries without one), each list in precedence order. */
export type HostIndex = ReadonlyMap<string, readonly RouteEntry[]>;

function indexOf(listener: MatchableListener): HostIndex {
  let index = indexes.get(listener);
  if (!index) {
    const built = new Map<string, RouteEntry[]>();
    for (const e of listener.routes) {
      const key = e.hostname ?? '';
      const list = built.get(key);
      if (list) list.push(e);
      else built.set(key, [e]);
    }
    indexes.set(listener, (index = built));
  }
  return index;
}

/** The index matchRoute reads for a listener (built now if nobody seeded it). */
export function hostIndex(listener: MatchableListener): HostIndex {
  return indexOf(listener);
}

/**
 * The order in which a listener's hostname lists are laid out in its `routes`: exact hostnames
 * first, the longest first, then wildcards, the longest first, then '' (no hostname). A request
 * can match one hostname of each rank at most, so this order keeps comparePrecedence's answer.
 */
export function compareHostKeys(a: string, b: string): number {
  const exact = (h: string) => (h && !h.startsWith('*.') ? h.length : 0);
  return exact(b) - exact(a) || b.length - a.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Gives a listener the index its routes would build, already built: whoever assembled `routes`
 * from per-hostname lists (the compiler, a worker patching its table) hands those lists over, so
 * the first request after a swap does not index 10,000 entries again. `index` must not change.
 */
export function seedHostIndex<L extends MatchableListener>(listener: L, index: HostIndex): L {
  indexes.set(listener, index);
  return listener;
}

/**
 * A listener made of per-hostname lists (by the compiler, or a worker patching its table): `index`
 * is its index, seeded as seedHostIndex does, and its `routes`, the lists laid out in `order`, are
 * put together only when read. Requests read the index; a route change at 10,000 routes then does
 * not copy 10,000 entries into a list nobody reads. `index` and `order` must not change.
 */
export function indexedListener<H extends object>(
  head: H,
  index: HostIndex,
  order: readonly string[],
): H & MatchableListener {
  let routes: readonly RouteEntry[] | undefined;
  const listener = Object.defineProperty({ ...head }, 'routes', {
    enumerable: true,
    get: () => (routes ??= order.flatMap((h) => index.get(h) ?? [])),
  }) as H & MatchableListener;
  indexes.set(listener, index);
  return listener;
}

export function matchRoute(listener: MatchableListener, request: HttpRequestView): RouteEntry | undefined {
  const index = indexOf(listener);
  const host = request.host;
  let hit = matchIn(index.get(host), request);
  // `*.b.c` for `a.b.c`, then `*.c`: longest wildcard first.
  for (let dot = host.indexOf('.'); !hit && dot >= 0; dot = host.indexOf('.', dot + 1))
    if (dot > 0) hit = matchIn(index.get(`*${host.slice(dot)}`), request);
  return hit ?? (host === '' ? undefined : matchIn(index.get(''), request));
}

function matchIn(
  entries: readonly RouteEntry[] | undefined,
  request: HttpRequestView,
): RouteEntry | undefined {
  if (!entries) return undefined;
  let query: URLSearchParams | undefined;
  for (const entry of entries) {
    if (!pathMatches(entry.match, request.path)) continue;
    if (entry.match.method && entry.match.method !== request.method) continue;
    if (!entry.match.headers.every((h) => valueMatches(h, request.headers[h.name]))) continue;
    if (entry.match.queryParams.length) {
      query ??= new URLSearchParams(request.query);
      const q = query;
      if (!entry.match.queryParams.every((m) => valueMatches(m, q.get(m.name) ?? undefined))) continue;
    }
    return entry;
  }
  return undefined;
}

export function pathMatches(match: RuleMatch, path: string): boolean {
  switch (match.pathType) {
    case 'Exact':
      return path === match.path;
    case 'PathPrefix':
      // Element-wise: prefix `/v2` matches `/v2`, `/v2/` and `/v2/x`, never `/v2x`.
      return (
        match.path === '' ||
        (path.startsWith(match.path) &&
          (path.length === match.path.length || path[match.path.length] === '/'))
      );
    case 'RegularExpression':
      return cached(match.path).test(path);
  }
}

function valueMatches(m: ValueMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return m.type === 'Exact' ? value === m.value : cached(m.value).test(value);
}

const patterns = new Map<string, RegExp>();

function cached(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    // Patterns were checked when the route was compiled; the cache is bounded by the routes served.
    if (patterns.size > 10_000) patterns.clear();
    patterns.set(pattern, (re = anchored(pattern)));
  }
  return re;
}
