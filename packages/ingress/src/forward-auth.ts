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
import { Agent, type Dispatcher } from 'undici';
import { isHopByHop } from './headers.js';
import { normalizeHost } from './router.js';
import type { ForwardAuthPolicy } from './annotations/index.js';

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
  private readonly agent: Dispatcher;

  constructor(private readonly timeoutMs = 10_000) {
    this.agent = new Agent({ connect: { timeout: Math.min(timeoutMs, 5_000) }, keepAliveTimeout: 4_000 });
  }

  async check(policy: ForwardAuthPolicy, req: AuthRequest): Promise<AuthOutcome> {
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
      req.requestId,
    );
    if (policy.method !== undefined) headers.push('x-original-uri', req.uri, 'x-scheme', req.scheme);
    let status: number;
    let answer: Record<string, string | string[] | undefined>;
    try {
      const res = await this.agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: (policy.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      answer = res.headers;
      await res.body.dump();
    } catch {
      return FAILED;
    }
    if (status >= 200 && status < 300) {
      const copied: [string, string][] = [];
      for (const name of policy.responseHeaders ?? []) {
        const value = answer[name.toLowerCase()];
        if (value !== undefined) copied.push([name, Array.isArray(value) ? value.join(', ') : value]);
      }
      const set = answer['set-cookie'];
      const cookies = set === undefined ? NO_COOKIES : Array.isArray(set) ? set : [set];
      return { allowed: true, headers: copied, cookies };
    }
    if (status === 401 && policy.signin !== undefined)
      return { allowed: false, status: 302, headers: { location: signinLocation(policy, req) } };
    if (status === 401 || status === 403) {
      const challenge = answer['www-authenticate'];
      const headers: Record<string, string> = {};
      if (status === 401 && challenge !== undefined)
        headers['www-authenticate'] = Array.isArray(challenge) ? challenge.join(', ') : challenge;
      return { allowed: false, status, headers };
    }
    return FAILED;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
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
