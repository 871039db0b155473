/**
 * Cookie session affinity, read as ingress-nginx reads it: `affinity: cookie` makes the balancer
 * send a client back to the endpoint its cookie names (affinity.ts at request time), and set the
 * cookie when there is none or its endpoint is gone.
 *
 * - `session-cookie-name` (default INGRESSCOOKIE), `-path` (default: the rule's path), `-domain`;
 * - `session-cookie-max-age`, `-expires`: seconds (ingress-nginx's digits), as Max-Age and Expires;
 *   without either the cookie lives as long as the browser session;
 * - `session-cookie-samesite`: None, Lax or Strict; `session-cookie-secure`: a boolean (the cookie
 *   is Secure anyway on requests that came over HTTPS, as ingress-nginx does);
 * - `affinity-mode` (balanced, persistent) and `session-cookie-change-on-failure` are read and
 *   accepted; both modes keep a client on its endpoint while it lives, and a failed or removed
 *   endpoint always moves it (see docs/ingress.md).
 */
import type { AnnotationFamily } from './family.js';

export interface CookieAffinity {
  readonly name: string;
  readonly path?: string;
  readonly domain?: string;
  readonly maxAge?: number;
  readonly expires?: number;
  readonly sameSite?: 'None' | 'Lax' | 'Strict';
  readonly secure?: true;
  /** Keys the cookie values (HMAC), so they name endpoints without revealing them; set by compile.ts. */
  readonly key?: string;
}

export interface AffinityChoice {
  readonly affinity?: CookieAffinity;
}

/** RFC 6265 cookie-name (a token) and a cookie path without separators that would end it. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PATH = /^\/[^;,\s]*$/;
const DOMAIN = /^\.?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i;
const SECONDS = (v: string): number | undefined => (/^\d{1,10}$/.test(v) ? Number(v) : undefined);
const SAME_SITE: Record<string, 'None' | 'Lax' | 'Strict'> = { none: 'None', lax: 'Lax', strict: 'Strict' };

export const affinityAnnotations: AnnotationFamily<AffinityChoice> = {
  names: [
    'affinity',
    'affinity-mode',
    'session-cookie-name',
    'session-cookie-path',
    'session-cookie-domain',
    'session-cookie-max-age',
    'session-cookie-expires',
    'session-cookie-samesite',
    'session-cookie-secure',
    'session-cookie-change-on-failure',
  ],
  read(reader) {
    const type = reader.read(
      'affinity',
      (v) => (v === 'cookie' ? v : undefined),
      '"cookie" (the only affinity type)',
    );
    reader.read(
      'affinity-mode',
      (v) => (v === 'balanced' || v === 'persistent' ? v : undefined),
      '"balanced" or "persistent"',
    );
    reader.boolean('session-cookie-change-on-failure');
    const cookie: {
      name: string;
      path?: string;
      domain?: string;
      maxAge?: number;
      expires?: number;
      sameSite?: 'None' | 'Lax' | 'Strict';
      secure?: true;
    } = {
      name:
        reader.read(
          'session-cookie-name',
          (v) => (TOKEN.test(v) ? v : undefined),
          'a cookie name (an HTTP token)',
        ) ?? 'INGRESSCOOKIE',
    };
    const path = reader.read(
      'session-cookie-path',
      (v) => (PATH.test(v) ? v : undefined),
      'a path starting with "/"',
    );
    if (path !== undefined) cookie.path = path;
    const domain = reader.read(
      'session-cookie-domain',
      (v) => (DOMAIN.test(v) ? v : undefined),
      'a domain name',
    );
    if (domain !== undefined) cookie.domain = domain;
    const maxAge = reader.read('session-cookie-max-age', SECONDS, 'a whole number of seconds');
    if (maxAge !== undefined) cookie.maxAge = maxAge;
    const expires = reader.read('session-cookie-expires', SECONDS, 'a whole number of seconds');
    if (expires !== undefined) cookie.expires = expires;
    const sameSite = reader.read(
      'session-cookie-samesite',
      (v) => SAME_SITE[v.toLowerCase()],
      '"None", "Lax" or "Strict"',
    );
    if (sameSite !== undefined) cookie.sameSite = sameSite;
    if (reader.boolean('session-cookie-secure') === true) cookie.secure = true;
    return type === 'cookie' ? { affinity: cookie } : {};
  },
};
