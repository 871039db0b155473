/**
 * The order in which a listener's route matches are tried, as the HTTPRoute spec ranks them
 * (HTTPRouteRule, "precedence"), the first matching entry winning:
 *
 * 1. the longest matching non-wildcard hostname, then the longest matching hostname;
 * 2. an Exact path, then (our choice where the spec leaves it to implementations) a
 *    RegularExpression path, then a PathPrefix; within a type, the most characters;
 * 3. a method match over none;
 * 4. the most header matches; 5. the most query parameter matches;
 * 6. across routes: the oldest route (creationTimestamp), then `namespace/name` alphabetically;
 * 7. within a route: the first rule in list order (then the first match in the rule).
 *
 * GRPCRoute matches (GRPCRouteRule, "matches") replace 2 to 5 with: the most characters in the
 * matching service, then in the matching method, then the most header matches. HTTPRoutes and
 * GRPCRoutes never share a hostname on a listener (compile.ts rejects the younger), so the two
 * orders are never mixed for one host.
 */
import type { CompiledRule, RuleMatch } from './route-rules.js';

export interface RouteEntry {
  /** `namespace/name` of the HTTPRoute or GRPCRoute. */
  readonly route: string;
  /** creationTimestamp in ms (Infinity when unknown: newest). */
  readonly created: number;
  /** The route hostname this entry serves (from the listener intersection); undefined: any host. */
  readonly hostname: string | undefined;
  readonly rule: CompiledRule;
  readonly matchIndex: number;
  readonly match: RuleMatch;
}

const PATH_RANK = { Exact: 0, RegularExpression: 1, PathPrefix: 2 } as const;

export function comparePrecedence(a: RouteEntry, b: RouteEntry): number {
  return (
    exactHostLength(b) - exactHostLength(a) ||
    (b.hostname?.length ?? 0) - (a.hostname?.length ?? 0) ||
    (a.match.grpc && b.match.grpc ? compareGrpc(a, b) : comparePaths(a, b)) ||
    compareNumbers(a.created, b.created) ||
    compareStrings(a.route, b.route) ||
    a.rule.index - b.rule.index ||
    a.matchIndex - b.matchIndex
  );
}

/** HTTPRoute: path type, path length, method, headers, query parameters. */
function comparePaths(a: RouteEntry, b: RouteEntry): number {
  return (
    PATH_RANK[a.match.pathType] - PATH_RANK[b.match.pathType] ||
    b.match.path.length - a.match.path.length ||
    (b.match.method ? 1 : 0) - (a.match.method ? 1 : 0) ||
    b.match.headers.length - a.match.headers.length ||
    b.match.queryParams.length - a.match.queryParams.length
  );
}

/** GRPCRoute: the most characters of service, then of method, then the most header matches. */
function compareGrpc(a: RouteEntry, b: RouteEntry): number {
  return (
    b.match.grpc!.service - a.match.grpc!.service ||
    b.match.grpc!.method - a.match.grpc!.method ||
    b.match.headers.length - a.match.headers.length
  );
}

function exactHostLength(e: RouteEntry): number {
  return e.hostname && !e.hostname.startsWith('*.') ? e.hostname.length : 0;
}

function compareNumbers(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function compareStrings(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}
