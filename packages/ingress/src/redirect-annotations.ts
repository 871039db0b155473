/**
 * The HTTPS-redirect annotations of an Ingress, read as ingress-nginx reads them, under its prefix
 * `nginx.ingress.kubernetes.io/` and under ours, `portico.dev/` (which wins when both are set):
 *
 * - `ssl-redirect` (default true): plain HTTP to a host that has TLS (listed under some Ingress's
 *   `spec.tls`) gets a 308 to HTTPS. `"false"` serves it over plain HTTP instead.
 * - `force-ssl-redirect` (default false): redirect even when the host has no TLS of ours (TLS ends
 *   at a load balancer in front).
 *
 * Values are booleans as ingress-nginx parses them (Go's strconv.ParseBool). Any other value is a
 * problem of that Ingress only (reason InvalidAnnotation, naming the annotation and the value), and
 * the annotation is ignored: its default applies.
 *
 * Whatever they say, `/.well-known/acme-challenge/` is never redirected (isAcmeChallenge): an ACME
 * server fetches HTTP-01 challenges over plain HTTP, and cert-manager's solver must be reachable
 * before the certificate exists.
 */
import type { V1Ingress } from '@kubernetes/client-node';

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';
export const PORTICO_PREFIX = 'portico.dev/';

/** What a Target carries: only what differs from the defaults, so most targets carry nothing. */
export interface RedirectChoice {
  /** ssl-redirect: "false". */
  readonly sslRedirect?: false;
  /** force-ssl-redirect: "true". */
  readonly forceSslRedirect?: true;
}

/** An annotation whose value could not be used: its full name and the value as written. */
export interface BadAnnotation {
  readonly annotation: string;
  readonly value: string;
  readonly expected: string;
}

const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** The redirect choice of one Ingress, and the annotations it could not use. */
export function redirectChoice(ing: V1Ingress): { choice: RedirectChoice; bad: BadAnnotation[] } {
  const annotations = ing.metadata?.annotations;
  const bad: BadAnnotation[] = [];
  if (!annotations) return { choice: {}, bad };
  const sslRedirect = booleanAnnotation(annotations, 'ssl-redirect', bad);
  const force = booleanAnnotation(annotations, 'force-ssl-redirect', bad);
  const choice: { sslRedirect?: false; forceSslRedirect?: true } = {};
  if (sslRedirect === false) choice.sslRedirect = false;
  if (force === true) choice.forceSslRedirect = true;
  return { choice, bad };
}

/**
 * A boolean annotation under either prefix (ours wins), undefined when absent or unusable; each
 * unusable value present is added to `bad`.
 */
function booleanAnnotation(
  annotations: Record<string, string>,
  name: string,
  bad: BadAnnotation[],
): boolean | undefined {
  let result: boolean | undefined;
  for (const prefix of [NGINX_PREFIX, PORTICO_PREFIX]) {
    const annotation = prefix + name;
    const value = annotations[annotation];
    if (value === undefined) continue;
    const parsed = TRUE.has(value) ? true : FALSE.has(value) ? false : undefined;
    if (parsed === undefined) bad.push({ annotation, value, expected: 'a boolean ("true" or "false")' });
    else result = parsed;
  }
  return result;
}

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
