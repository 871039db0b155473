/**
 * The HTTPS-redirect annotations of an Ingress, read as ingress-nginx reads them (read.ts):
 *
 * - `ssl-redirect` (default true): plain HTTP to a host that has TLS (listed under some Ingress's
 *   `spec.tls`) gets a 308 to HTTPS. `"false"` serves it over plain HTTP instead.
 * - `force-ssl-redirect` (default false): redirect even when the host has no TLS of ours (TLS ends
 *   at a load balancer in front).
 *
 * Values are booleans as ingress-nginx parses them (Go's strconv.ParseBool). Any other value is a
 * problem of that Ingress only, and the annotation keeps its default.
 *
 * Whatever they say, `/.well-known/acme-challenge/` is never redirected (isAcmeChallenge): an ACME
 * server fetches HTTP-01 challenges over plain HTTP, and cert-manager's solver must be reachable
 * before the certificate exists.
 */
import type { AnnotationFamily } from './family.js';

/** What a Target carries: only what differs from the defaults, so most targets carry nothing. */
export interface RedirectChoice {
  /** ssl-redirect: "false". */
  readonly sslRedirect?: false;
  /** force-ssl-redirect: "true". */
  readonly forceSslRedirect?: true;
}

export const redirectAnnotations: AnnotationFamily<RedirectChoice> = {
  names: ['ssl-redirect', 'force-ssl-redirect'],
  read(reader) {
    const choice: { sslRedirect?: false; forceSslRedirect?: true } = {};
    if (reader.boolean('ssl-redirect') === false) choice.sslRedirect = false;
    if (reader.boolean('force-ssl-redirect') === true) choice.forceSslRedirect = true;
    return choice;
  },
};

const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/** An ACME HTTP-01 challenge path (the normalised request path, query included or not). */
export function isAcmeChallenge(path: string): boolean {
  return path.startsWith(ACME_CHALLENGE);
}

/**
 * Whether a plain-HTTP request is redirected to HTTPS: `target` is the route it matched (undefined
 * when none did; then a TLS host still redirects, as before annotations existed), `tlsHost` whether
 * its host has TLS.
 */
export function redirectsToHttps(
  target: RedirectChoice | undefined,
  tlsHost: boolean,
  path: string,
): boolean {
  const wanted = target?.forceSslRedirect === true || (tlsHost && target?.sslRedirect !== false);
  return wanted && !isAcmeChallenge(path);
}
