/**
 * HTTP Strict Transport Security for TLS hosts, as ingress-nginx's `hsts`, `hsts-max-age`,
 * `hsts-include-subdomains` and `hsts-preload` settings (defaults: on, one year, includeSubDomains,
 * no preload): the header goes on HTTPS responses for hosts with a certificate of their own (listed
 * under some Ingress's spec.tls), never over plain HTTP (RFC 6797 §7.2) and never for hosts served
 * with the default certificate. A pod's own Strict-Transport-Security is left as it sent it.
 */

export interface HstsOptions {
  /** max-age in seconds; 0 tells browsers to forget the host's HSTS. */
  readonly maxAge: number;
  readonly includeSubDomains: boolean;
  readonly preload: boolean;
}

export const defaultHsts: HstsOptions = { maxAge: 31_536_000, includeSubDomains: true, preload: false };

/** The Strict-Transport-Security value. */
export function hstsValue(options: HstsOptions): string {
  let value = `max-age=${options.maxAge}`;
  if (options.includeSubDomains) value += '; includeSubDomains';
  if (options.preload) value += '; preload';
  return value;
}

/** Whether a response head text (CRLF-separated lines, status line first) has its own HSTS field. */
export function hasHstsField(head: string): boolean {
  return /\r\nstrict-transport-security:/i.test(head);
}
