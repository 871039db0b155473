/**
 * The subrequest of forward auth (annotations/forward-auth.ts), as nginx's auth_request sends it
 * for ingress-nginx: the original request's headers without its body (no Content-Length), Host of
 * the auth service, and X-Original-URL, X-Original-Method, X-Sent-From, X-Real-IP,
 * X-Forwarded-For (the client), X-Auth-Request-Redirect and X-Request-ID; with `auth-method` also
 * X-Original-URI and X-Scheme.
 *
 * The answer, as auth_request's: 2xx lets the request go on, with the `auth-response-headers` of
 * the answer set on the request for the pod; 401 and 403 go back to the client (a 401 with the auth
 * service's WWW-Authenticate, or a 302 to `auth-signin` when set); anything else, a connection
 * failure or no answer within the timeout is 500. The auth service's Set-Cookie on a 2xx goes on
 * the client's response when that is below 400 (ingress-nginx's `add_header Set-Cookie $auth_cookie`:
 * oauth2-proxy refreshes its session cookie that way).
 */
import { AuthConnections, keptKey } from './auth-connections.js';
import { isHopByHop } from './headers.js';
import { normalizeHost } from './router.js';
import { newRequestId } from './request-id.js';
import { templateUrl, type CacheDuration, type ForwardAuthPolicy } from './annotations/index.js';
import { targetsOf, type RouteTable } from './table.js';

export interface AuthRequest {
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** Host header (or :authority) as received. */
  readonly host: string;
  /** The request-target as received (path and query). */
  readonly uri: string;
  /** The request's headers, [name, value, ...] as received. */
  readonly rawHeaders: readonly string[];
  readonly client: string;
  readonly requestId: string;
}

export type AuthOutcome =
  | {
      readonly allowed: true;
      readonly headers: readonly [string, string][];
      /** The auth service's Set-Cookie values, for the client's response (when it is < 400). */
      readonly cookies: readonly string[];
    }
  | {
      readonly allowed: false;
      readonly status: 302 | 401 | 403 | 500;
      readonly headers: Record<string, string>;
    };

/** Headers of the original request the auth service is not sent as they were. */
const REPLACED = new Set([
  'host',
  'content-length',
  'x-forwarded-proto',
  'x-original-url',
  'x-original-method',
  'x-original-uri',
  'x-scheme',
  'x-sent-from',
  'x-real-ip',
  'x-forwarded-for',
  'x-auth-request-redirect',
  'x-request-id',
]);

export class ForwardAuth {
  private readonly connections: AuthConnections;

  constructor(
    private readonly timeoutMs = 10_000,
    /** Called for each connection opened to an auth service (a metric). */
    onConnection?: () => void,
  ) {
    this.connections = new AuthConnections(Math.min(timeoutMs, 5_000), onConnection);
  }

  /** Answers kept for `auth-cache-key` (see remember()). */
  private readonly cache = new Map<string, { answer: AuthAnswer; expires: number }>();

  async check(policy: ForwardAuthPolicy, req: AuthRequest): Promise<AuthOutcome> {
    const key =
      policy.cacheKey === undefined
        ? undefined
        : // Per auth service, method and copied headers (what a kept answer depends on), and key.
          `${policy.url}\n${policy.method ?? ''}\n${policy.responseHeaders?.join(',') ?? ''}\n${expandKey(policy.cacheKey, req)}`;
    let answer = key === undefined ? undefined : this.cached(key);
    if (answer === undefined) {
      answer = await this.ask(policy, req);
      if (key !== undefined) this.remember(key, answer, policy);
    }
    return outcomeOf(answer, policy, req);
  }

  private cached(key: string): AuthAnswer | undefined {
    const entry = this.cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > Date.now()) return entry.answer;
    this.cache.delete(key);
    return undefined;
  }

  /** Keeps an answer whose status `auth-cache-duration` lists; bounded, oldest entries go first. */
  private remember(key: string, answer: AuthAnswer, policy: ForwardAuthPolicy): void {
    const ms = cacheMs(policy.cacheDurations ?? DEFAULT_CACHE, answer.status);
    // nginx's proxy_cache does not keep responses that set cookies: neither do we.
    if (ms <= 0 || answer.cookies.length > 0) return;
    if (this.cache.size >= CACHE_ENTRIES) {
      let drop = CACHE_ENTRIES / 4;
      for (const k of this.cache.keys()) {
        this.cache.delete(k);
        if (--drop <= 0) break;
      }
    }
    this.cache.set(key, { answer, expires: Date.now() + ms });
  }

  /** The subrequest; its answer (status 0: it failed or timed out). */
  private async ask(policy: ForwardAuthPolicy, req: AuthRequest): Promise<AuthAnswer> {
    const url = new URL(expand(policy.url, req));
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (name.charCodeAt(0) === 0x3a || isHopByHop(lower) || REPLACED.has(lower)) continue;
      headers.push(name, req.rawHeaders[i + 1]!);
    }
    headers.push(
      'x-original-url',
      `${req.scheme}://${req.host}${req.uri}`,
      'x-original-method',
      req.method,
      'x-sent-from',
      'nginx-ingress-controller',
      'x-real-ip',
      req.client,
      'x-forwarded-for',
      req.client,
      'x-auth-request-redirect',
      policy.requestRedirect ?? req.uri,
      'x-request-id',
      subrequestId(policy, req),
    );
    if (policy.method !== undefined) headers.push('x-original-uri', req.uri, 'x-scheme', req.scheme);
    let status: number;
    let answer: Record<string, string | string[] | undefined>;
    try {
      ({ status, headers: answer } = await this.connections.request(
        url,
        policy.method ?? 'GET',
        headers,
        policy.keepalive,
        this.timeoutMs,
      ));
    } catch {
      return { status: 0, headers: [], cookies: NO_COOKIES, challenge: undefined };
    }
    const copied: [string, string][] = [];
    for (const name of policy.responseHeaders ?? []) {
      const value = answer[name.toLowerCase()];
      if (value !== undefined) copied.push([name, Array.isArray(value) ? value.join(', ') : value]);
    }
    const set = answer['set-cookie'];
    const challenge = answer['www-authenticate'];
    return {
      status,
      headers: copied,
      cookies: set === undefined ? NO_COOKIES : Array.isArray(set) ? set : [set],
      challenge: Array.isArray(challenge) ? challenge.join(', ') : challenge,
    };
  }

  /**
   * Called with each new routing table: the connections kept for `auth-keepalive` to an auth
   * service that no route of `table` names any more with those settings are closed (an Ingress
   * deleted, its annotations changed), not left until their idle timeout.
   */
  retain(table: RouteTable): void {
    // Most proxies keep none: no walk through the table for them.
    if (this.connections.origins === 0) return;
    const live = new Set<string>();
    for (const t of targetsOf(table)) {
      const policy = t.forwardAuth;
      if (!policy?.keepalive?.connections || policy.denied !== undefined) continue;
      // With keep-alive on, the auth-url's host names no variable (annotations/forward-auth.ts):
      // the origin is the template's, and parses, as the annotation's reading checked.
      live.add(keptKey(templateUrl(policy.url).origin, policy.keepalive));
    }
    this.connections.retain(live);
  }

  /** How many auth service origins (and keep-alive settings) have kept connections now. */
  get keptOrigins(): number {
    return this.connections.origins;
  }

  close(): Promise<void> {
    return this.connections.close();
  }
}

/** What the auth service answered, as far as it matters (and as it is cached). */
interface AuthAnswer {
  /** 0: no answer (connection failure, timeout). */
  readonly status: number;
  readonly headers: readonly [string, string][];
  readonly cookies: readonly string[];
  readonly challenge: string | undefined;
}

function outcomeOf(answer: AuthAnswer, policy: ForwardAuthPolicy, req: AuthRequest): AuthOutcome {
  const status = answer.status;
  if (status >= 200 && status < 300)
    return { allowed: true, headers: answer.headers, cookies: answer.cookies };
  if (status === 401 && policy.signin !== undefined)
    return { allowed: false, status: 302, headers: { location: signinLocation(policy, req) } };
  if (status === 401 || status === 403) {
    const headers: Record<string, string> = {};
    if (status === 401 && answer.challenge !== undefined) headers['www-authenticate'] = answer.challenge;
    return { allowed: false, status, headers };
  }
  return FAILED;
}

/** ingress-nginx's default auth-cache-duration: `200 202 401 5m`. */
const DEFAULT_CACHE: readonly CacheDuration[] = [{ codes: [200, 202, 401], ms: 300_000 }];
const CACHE_ENTRIES = 10_000;

function cacheMs(durations: readonly CacheDuration[], status: number): number {
  if (status === 0) return 0;
  for (const d of durations) if (d.codes === 'any' || d.codes.includes(status)) return d.ms;
  return 0;
}

/** `$http_<name>` (a request header) and `$remote_addr`, besides expand()'s variables. */
function expandKey(template: string, req: AuthRequest): string {
  return expand(
    template.replace(/\$(remote_addr|http_[a-z0-9_]+)/g, (_m, name: string) => {
      if (name === 'remote_addr') return req.client;
      const wanted = name.slice(5).replace(/_/g, '-');
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        if (req.rawHeaders[i]!.toLowerCase() === wanted) return req.rawHeaders[i + 1]!;
      return '';
    }),
    req,
  );
}

/**
 * The X-Request-ID the auth service gets: the request's own, except where ingress-nginx's Lua
 * subrequest (keep-alive on, auth-keepalive-share-vars off) has a `$request_id` of its own, which
 * shows when the client sent none.
 */
function subrequestId(policy: ForwardAuthPolicy, req: AuthRequest): string {
  const keepalive = policy.keepalive;
  if (keepalive === undefined || keepalive.connections === 0 || keepalive.shareVars) return req.requestId;
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]!.toLowerCase() === 'x-request-id') return req.requestId;
  return newRequestId();
}

const NO_COOKIES: readonly string[] = [];
const FAILED: AuthOutcome = { allowed: false, status: 500, headers: {} };

/** `auth-signin` with the original URL in its redirect parameter (unless it names one already). */
export function signinLocation(policy: ForwardAuthPolicy, req: AuthRequest): string {
  const signin = expand(policy.signin!, req);
  const param = policy.signinRedirectParam ?? 'rd';
  const url = new URL(signin);
  if (url.searchParams.has(param)) return signin;
  const back = `${req.scheme}://${req.host}${encodeURIComponent(req.uri)}`;
  return `${signin}${url.search ? '&' : '?'}${param}=${back}`;
}

/** The template with its variables replaced as nginx's (`$host`: no port, lower case). */
function expand(template: string, req: AuthRequest): string {
  if (!template.includes('$')) return template;
  return template.replace(/\$(escaped_request_uri|request_uri|host|scheme)/g, (_m, name: string) =>
    name === 'host'
      ? normalizeHost(req.host)
      : name === 'scheme'
        ? req.scheme
        : name === 'request_uri'
          ? req.uri
          : encodeURIComponent(req.uri),
  );
}
