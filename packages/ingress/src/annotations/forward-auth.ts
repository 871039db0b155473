/**
 * Forward authentication, as ingress-nginx's `auth-url` family (internal/ingress/annotations/
 * authreq, nginx's auth_request): before a request goes to its pod, a subrequest asks an auth
 * service (oauth2-proxy, Authelia…) whether it may.
 *
 * - `auth-url`: the auth service's URL (http or https). `$host`, `$scheme`, `$request_uri` and
 *   `$escaped_request_uri` are replaced per request, as ingress-nginx's users write them; any other
 *   `$variable`, a character outside visible ASCII, a quote or a backslash makes the value bad
 *   (ingress-nginx's CVE-2025-24514 was configuration injected through auth-url).
 * - `auth-method`: the subrequest's method (default GET, as nginx's subrequests).
 * - `auth-response-headers`: response headers of the auth service copied to the request for the pod.
 * - `auth-signin`: where a 401 is redirected (302), with `auth-signin-redirect-param` (default `rd`)
 *   naming the original URL.
 * - `auth-request-redirect`: the X-Auth-Request-Redirect value sent to the auth service.
 * - `auth-keepalive` (idle connections kept to the auth service, default 0: one connection per
 *   subrequest), `auth-keepalive-requests` (subrequests per connection, default 1000) and
 *   `auth-keepalive-timeout` (seconds a kept connection may idle, default 60), as ingress-nginx's
 *   upstream `keepalive`, `keepalive_requests` and `keepalive_timeout` for the auth service.
 *   ingress-nginx's rules: a negative `auth-keepalive`, `$` in the auth-url's host, or a requests
 *   or timeout value of 0 or less turn keep-alive off (reported here). Without any of them Portico
 *   keeps its own default pool (connections idle 4 s), not nginx's connection per subrequest.
 * - `auth-keepalive-share-vars`: with keep-alive on, ingress-nginx's Lua subrequest gets its own
 *   `$request_id` unless this is "true": the auth service then sees a different X-Request-ID than
 *   the pod when the client sent none.
 *
 * Fails closed: a bad `auth-url` (or `auth-signin`) denies the Ingress's routes (503).
 */
import type { AnnotationFamily } from './family.js';
import type { AnnotationReader } from './read.js';

export interface ForwardAuthPolicy {
  readonly url: string;
  readonly method?: string;
  readonly responseHeaders?: readonly string[];
  readonly signin?: string;
  readonly signinRedirectParam?: string;
  readonly requestRedirect?: string;
  /** auth-cache-key: answers are kept per expanded key (per auth-url) for cacheDurations. */
  readonly cacheKey?: string;
  readonly cacheDurations?: readonly CacheDuration[];
  /** auth-keepalive*: how connections to the auth service are kept; absent: Portico's default pool. */
  readonly keepalive?: AuthKeepalive;
  /** Why the routes are denied (503): forward auth was asked for and cannot be done. */
  readonly denied?: string;
}

/** ingress-nginx's keep-alive to an auth service (nginx's upstream keepalive directives). */
export interface AuthKeepalive {
  /** Idle connections kept (nginx's `keepalive`); 0: a new connection per subrequest. */
  readonly connections: number;
  /** Subrequests one connection serves before it is closed (`keepalive_requests`). */
  readonly requests: number;
  /** Seconds a kept connection may stay idle (`keepalive_timeout`). */
  readonly timeoutSeconds: number;
  /** auth-keepalive-share-vars: the auth service gets the request's own X-Request-ID. */
  readonly shareVars: boolean;
}

/** ingress-nginx's defaults (internal/ingress/annotations/authreq). */
const KEEPALIVE_REQUESTS = 1000;
const KEEPALIVE_TIMEOUT = 60;

/** Go's strconv.Atoi as ingress-nginx reads these: an optionally signed whole number. */
const integer = (v: string): number | undefined => (/^[+-]?\d{1,9}$/.test(v) ? Number(v) : undefined);

/** How long answers with these statuses are kept ('any': every status). */
export interface CacheDuration {
  readonly codes: readonly number[] | 'any';
  readonly ms: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `200 202 401 5m`, or several such entries separated by commas; a duration alone is any status. */
export function parseCacheDurations(value: string): CacheDuration[] | undefined {
  const out: CacheDuration[] = [];
  for (const entry of value.split(',')) {
    const words = entry.trim().split(/\s+/);
    const m = /^(\d{1,6})(ms|s|m|h|d)$/.exec(words.pop() ?? '');
    if (!m || !words.every((w) => /^\d{3}$/.test(w))) return undefined;
    out.push({ codes: words.length === 0 ? 'any' : words.map(Number), ms: Number(m[1]) * UNIT_MS[m[2]!]! });
  }
  return out;
}

/** A cache-key template: visible ASCII without quotes or backslashes; variables we can expand. */
function parseCacheKey(value: string): string | undefined {
  if (!/^[!#-[\]-~]+$/.test(value) || value.includes("'")) return undefined;
  for (const v of value.match(/\$[A-Za-z0-9_]+/g) ?? [])
    if (!VARIABLES.has(v) && v !== '$remote_addr' && !/^\$http_[a-z0-9_]+$/.test(v)) return undefined;
  return value;
}

export interface ForwardAuthChoice {
  readonly forwardAuth?: ForwardAuthPolicy;
}

const VARIABLES = new Set(['$host', '$scheme', '$request_uri', '$escaped_request_uri']);

/** An http(s) URL template: visible ASCII, no quotes or backslashes, only our variables. */
export function parseAuthUrl(value: string): string | undefined {
  if (!/^[!#-[\]-~]+$/.test(value) || value.includes("'")) return undefined;
  for (const v of value.match(/\$[A-Za-z_]+/g) ?? []) if (!VARIABLES.has(v)) return undefined;
  let url: URL;
  try {
    url = templateUrl(value);
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined;
}

/** The URL of an auth-url template with each variable as `x`: its scheme and, where fixed, origin. */
export function templateUrl(template: string): URL {
  return new URL(template.replace(/\$[a-z_]+/g, 'x'));
}

const METHODS = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/;
const HEADER = /^[A-Za-z0-9_-]+$/;

function headerList(value: string): string[] | undefined {
  const list = value
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  return list.every((h) => HEADER.test(h)) ? list : undefined;
}

export const forwardAuthAnnotations: AnnotationFamily<ForwardAuthChoice> = {
  names: [
    'auth-url',
    'auth-method',
    'auth-response-headers',
    'auth-signin',
    'auth-signin-redirect-param',
    'auth-request-redirect',
    'auth-cache-key',
    'auth-cache-duration',
    'auth-keepalive',
    'auth-keepalive-requests',
    'auth-keepalive-timeout',
    'auth-keepalive-share-vars',
  ],
  read(reader) {
    const asked = reader.raw('auth-url') !== undefined;
    const url = reader.read(
      'auth-url',
      parseAuthUrl,
      'an http(s) URL without quotes, spaces or unknown $variables',
    );
    const method = reader.read('auth-method', (v) => (METHODS.test(v) ? v : undefined), 'an HTTP method');
    const responseHeaders = reader.read(
      'auth-response-headers',
      headerList,
      'a comma-separated list of header names',
    );
    const signinRaw = reader.raw('auth-signin') !== undefined;
    const signin = reader.read(
      'auth-signin',
      parseAuthUrl,
      'an http(s) URL without quotes, spaces or unknown $variables',
    );
    const param = reader.read(
      'auth-signin-redirect-param',
      (v) => (/^[A-Za-z0-9_-]+$/.test(v) ? v : undefined),
      'a query parameter name',
    );
    const requestRedirect = reader.read(
      'auth-request-redirect',
      (v) => (/^[!-~]+$/.test(v) ? v : undefined),
      'a URL',
    );
    const cacheKey = reader.read(
      'auth-cache-key',
      parseCacheKey,
      'a key template of $host, $remote_addr, $http_<name>…',
    );
    const cacheDurations = reader.read(
      'auth-cache-duration',
      parseCacheDurations,
      'status codes and a duration, e.g. "200 202 401 5m"',
    );
    const keepalive = readKeepalive(reader, url);
    if (!asked) return {};
    const policy: {
      url: string;
      method?: string;
      responseHeaders?: readonly string[];
      signin?: string;
      signinRedirectParam?: string;
      requestRedirect?: string;
      cacheKey?: string;
      cacheDurations?: readonly CacheDuration[];
      keepalive?: AuthKeepalive;
      denied?: string;
    } = { url: url ?? '' };
    if (url === undefined) policy.denied = 'auth-url is invalid';
    else if (signinRaw && signin === undefined) policy.denied = 'auth-signin is invalid';
    if (method !== undefined) policy.method = method;
    if (responseHeaders !== undefined && responseHeaders.length > 0) policy.responseHeaders = responseHeaders;
    if (signin !== undefined) policy.signin = signin;
    if (param !== undefined) policy.signinRedirectParam = param;
    if (requestRedirect !== undefined) policy.requestRedirect = requestRedirect;
    if (cacheKey !== undefined) policy.cacheKey = cacheKey;
    if (cacheKey !== undefined && cacheDurations !== undefined) policy.cacheDurations = cacheDurations;
    if (keepalive !== undefined) policy.keepalive = keepalive;
    return { forwardAuth: policy };
  },
};

/**
 * The auth-keepalive* settings, undefined when none is set. Values that are not whole numbers keep
 * their defaults; the values ingress-nginx answers by turning keep-alive off do so here too, and
 * are reported with that consequence.
 */
function readKeepalive(reader: AnnotationReader, url: string | undefined): AuthKeepalive | undefined {
  const names = [
    'auth-keepalive',
    'auth-keepalive-requests',
    'auth-keepalive-timeout',
    'auth-keepalive-share-vars',
  ];
  if (names.every((n) => reader.raw(n) === undefined)) return undefined;
  const whole = 'a whole number';
  let connections = reader.read('auth-keepalive', integer, whole) ?? 0;
  const requests = reader.read('auth-keepalive-requests', integer, whole) ?? KEEPALIVE_REQUESTS;
  const timeoutSeconds = reader.read('auth-keepalive-timeout', integer, whole) ?? KEEPALIVE_TIMEOUT;
  const shareVars = reader.boolean('auth-keepalive-share-vars') ?? false;
  const off = 'auth-keepalive is off: a new connection per subrequest';
  const refuse = (name: string, expected: string): void => {
    const raw = reader.raw(name)!;
    reader.refuse(raw.annotation, raw.value, expected, off);
    connections = 0;
  };
  if (connections < 0) refuse('auth-keepalive', 'a whole number of 0 or more');
  if (requests <= 0) refuse('auth-keepalive-requests', 'a whole number above 0');
  if (timeoutSeconds <= 0) refuse('auth-keepalive-timeout', 'a whole number of seconds above 0');
  // nginx's upstream block cannot name a variable host: ingress-nginx turns keep-alive off then.
  if (connections > 0 && url !== undefined && /^[a-z]+:\/\/[^/?#]*\$/i.test(url))
    refuse('auth-keepalive', 'keep-alive to an auth-url whose host has no $variable');
  return {
    connections,
    requests: requests > 0 ? requests : KEEPALIVE_REQUESTS,
    timeoutSeconds: timeoutSeconds > 0 ? timeoutSeconds : KEEPALIVE_TIMEOUT,
    shareVars,
  };
}
