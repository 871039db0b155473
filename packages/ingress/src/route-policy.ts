/**
 * The request-side part of an Ingress's annotations, decided for both data planes by
 * IngressCore.decide() (core.ts): who may use the route (source ranges), answers of our own (a
 * redirect, app-root, a CORS preflight), the path sent to the pod (rewrite-target) and the headers
 * added to the response (CORS). Routes without any of these annotations never get here
 * (hasRequestPolicy), so they pay nothing for them.
 *
 * Order: source ranges first (a client that may not use the route learns nothing from it, not even
 * a redirect), then the redirects, then CORS, then the rewrite.
 */
import { realClient, TrustedProxies } from './forwarded.js';
import { originRegex, rewrittenTarget } from './annotations/index.js';
import type { Target } from './table.js';

/** What a policy may ask of the request, whichever plane serves it. */
export interface RequestView {
  readonly method: string;
  /** The peer address (connection or PROXY protocol). */
  readonly peer: string;
  /** A request header's value (repeats joined with ", "), by lower-case name. */
  header(lowerName: string): string | undefined;
}

/** The forms of a Target's policy that are compiled in the worker, once per table (Router). */
export interface CompiledPolicy {
  /** The regex path the target was matched with (hosts in regex mode). */
  pathRegex?: RegExp;
  allow?: TrustedProxies;
  deny?: TrustedProxies;
  /** Allowed CORS origins; '*' for any. */
  origin?: RegExp | '*';
  /** With origin '*': the CORS response headers, the same for every request, built once. */
  anyOriginHeaders?: readonly string[];
  /** With origin '*': the outcome of a request that goes on to the pod with them, built once. */
  anyOriginForward?: PolicyOutcome;
}

export function hasRequestPolicy(t: Target): boolean {
  return (
    t.allowSources !== undefined ||
    t.denySources !== undefined ||
    t.redirectTo !== undefined ||
    t.appRoot !== undefined ||
    t.cors !== undefined ||
    t.rewriteTarget !== undefined
  );
}

/** The policy's compiled forms (pathRegex is added by the router, which compiles the paths). */
export function compilePolicy(t: Target, compiled: CompiledPolicy = {}): CompiledPolicy {
  try {
    if (t.allowSources) compiled.allow = new TrustedProxies(t.allowSources, 'allowlist-source-range');
    if (t.denySources) compiled.deny = new TrustedProxies(t.denySources, 'denylist-source-range');
  } catch {
    // The compiler refuses such lists; a table that holds one anyway is closed, not opened.
    compiled.allow = new TrustedProxies([]);
  }
  // No usable origin left (every entry refused): no request is a CORS one.
  if (t.cors && t.cors.origins.length > 0) {
    const any = t.cors.origins.length === 1 && t.cors.origins[0] === '*';
    compiled.origin = any ? '*' : originRegex(t.cors.origins);
    // Frozen: the fast path writes its lines once (http1/response-head.ts).
    if (any) {
      const headers = Object.freeze(['access-control-allow-origin', '*', ...t.cors.headers]);
      compiled.anyOriginHeaders = headers;
      compiled.anyOriginForward = Object.freeze({ status: 0, headers, action: 'cors' as const });
    }
  }
  return compiled;
}

/** Which policy answered or changed a request (the label of portico_ingress_policy_actions_total). */
export type PolicyAction = 'source_denied' | 'redirect' | 'app_root' | 'cors_preflight' | 'cors' | 'rewrite';

export interface PolicyOutcome {
  /** An answer of our own; 0: forward the request. */
  readonly status: number;
  readonly location?: string;
  /** Response headers to add, [name, value, …] (our answer's, or the pod's response's). */
  readonly headers?: readonly string[];
  /** The target to forward instead of the matched one (rewrite-target). */
  readonly path?: string;
  readonly action?: PolicyAction;
}

const FORWARD: PolicyOutcome = { status: 0 };

/**
 * What the route's policy does with a request. `path` is the normalised target (query included),
 * `trusted` the proxies whose X-Forwarded-For is believed.
 */
export function applyRequestPolicy(
  t: Target,
  compiled: CompiledPolicy,
  request: RequestView,
  rawHost: string,
  proto: 'http' | 'https',
  path: string,
  trusted: TrustedProxies,
): PolicyOutcome {
  if (compiled.allow || compiled.deny) {
    const client = trusted.empty
      ? request.peer
      : realClient(request.peer, request.header('x-forwarded-for'), trusted);
    if (compiled.deny?.trusts(client) || (compiled.allow && !compiled.allow.trusts(client)))
      return { status: 403, action: 'source_denied' };
  }
  if (t.redirectTo) return { status: t.redirectTo.code, location: t.redirectTo.url, action: 'redirect' };
  const q = path.indexOf('?');
  const pathOnly = q < 0 ? path : path.slice(0, q);
  if (t.appRoot !== undefined && pathOnly === '/')
    return { status: 302, location: `${proto}://${rawHost}${t.appRoot}`, action: 'app_root' };
  let headers: readonly string[] | undefined;
  if (t.cors && compiled.origin) {
    let allowed: readonly string[] | undefined = compiled.anyOriginHeaders;
    if (allowed === undefined) {
      const origin = request.header('origin');
      if (origin !== undefined && compiled.origin !== '*' && compiled.origin.test(origin))
        allowed = ['access-control-allow-origin', origin, ...t.cors.headers];
    }
    if (allowed !== undefined) {
      headers = allowed;
      if (request.method === 'OPTIONS') return { status: 204, headers, action: 'cors_preflight' };
    }
  }
  if (t.rewriteTarget !== undefined && compiled.pathRegex) {
    const match = compiled.pathRegex.exec(pathOnly);
    if (match) {
      const rewritten = rewrittenTarget(t.rewriteTarget, match, q < 0 ? '' : path.slice(q));
      return { status: 0, path: rewritten, action: 'rewrite', ...(headers && { headers }) };
    }
  }
  if (headers === undefined) return FORWARD;
  return headers === compiled.anyOriginHeaders
    ? compiled.anyOriginForward!
    : { status: 0, headers, action: 'cors' };
}
