/**
 * Client certificates (mutual TLS), as ingress-nginx's `auth-tls-*` annotations:
 *
 * - `auth-tls-secret`: `namespace/name` of a Secret of the Ingress's own namespace whose `ca.crt`
 *   holds the CA certificates client certificates are verified against, and whose optional
 *   `ca.crl` holds certificate revocation lists (nginx's ssl_crl: a revoked certificate fails
 *   verification, and, as OpenSSL checks every certificate of the chain, each CA of a chain needs
 *   a CRL there).
 * - `auth-tls-verify-client`: `on` (default: a verified certificate is required), `optional` (asked
 *   for; a certificate that fails verification is refused, none is let through), `optional_no_ca`
 *   (asked for; one not signed by a CA of `ca.crt` is let through and the pod judges, from the
 *   headers below, but one that fails otherwise, revoked or expired, is refused, as nginx's
 *   ngx_ssl_verify_error_optional), `off` (not asked for).
 * - `auth-tls-verify-depth`: how many intermediate CA certificates may sit between the client's
 *   certificate and the self-signed CA of `ca.crt`, as nginx's ssl_verify_depth with OpenSSL 3
 *   (1, the default, lets one through). Exact for intermediates in `ca.crt`; those the client
 *   sends are invisible to a Node server and count as one (client-certificate.ts).
 * - `auth-tls-pass-certificate-to-upstream`: `true` sends the pod the client's certificate, PEM
 *   URL-encoded, in `ssl-client-cert` (nginx's $ssl_client_escaped_cert).
 * - `auth-tls-error-page`: an absolute http(s) URL the refused clients are redirected to (302)
 *   instead of getting 400.
 * - `auth-tls-match-cn`: a regular expression starting with `CN=` the client certificate's subject
 *   (RFC 2253, nginx's $ssl_client_s_dn) must contain a match of, else 403, as ingress-nginx's
 *   `if ($ssl_client_s_dn !~ …)`; case-sensitive, unanchored, refused when it could backtrack
 *   without bound (JavaScript regexes backtrack: annotations/rewrite.ts).
 *
 * The certificate is asked for during the TLS handshake of the host (certs.ts), so it is per host, as
 * in ingress-nginx (the server block); the check and the headers are per Ingress. A request that
 * fails the check gets 400 (nginx's answer to a missing or bad client certificate). The pods of
 * such an Ingress always get `ssl-client-verify` (`SUCCESS`, `FAILED:<reason>`, `NONE`),
 * `ssl-client-subject-dn` and `ssl-client-issuer-dn`, whatever the client sent under those names.
 *
 * Fails closed: when the Secret is missing, of another namespace, has no usable `ca.crt` or a
 * `ca.crl` that is not a PEM CRL (as ingress-nginx, which then refuses the whole Secret), the
 * Ingress's routes answer 503, as ingress-nginx denies such a location. Never served unprotected.
 */
import type { AnnotationFamily } from './family.js';
import { regexPathProblem } from './rewrite.js';

export type ClientVerify = 'on' | 'optional' | 'optional_no_ca' | 'off';

/** What a Target carries when its Ingress asks for client certificates. */
export interface ClientTlsPolicy {
  /** `namespace/name` of the CA Secret, as written. */
  readonly secret: string;
  readonly verify: ClientVerify;
  readonly depth: number;
  readonly passCertificate: boolean;
  readonly errorPage?: string;
  /** auth-tls-match-cn: a pattern the subject DN must match. */
  readonly matchCn?: string;
  /** `ca.crt` of the Secret (PEM), filled in by the compiler. */
  readonly ca?: string;
  /** `ca.crl` of the Secret (PEM), when it has one: revoked certificates fail verification. */
  readonly crl?: string;
  /** Why the routes are denied (503) instead: client certificates were asked for and cannot be checked. */
  readonly denied?: string;
}

export interface ClientTlsChoice {
  readonly clientTls?: ClientTlsPolicy;
}

const SECRET = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\/[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;
const VERIFY = new Set<string>(['on', 'optional', 'optional_no_ca', 'off']);
/** An absolute http(s) URL of visible ASCII: nothing that could break the Location line. */
const URL_OF_PAGE = /^https?:\/\/[!-~]+$/i;

export const clientTlsAnnotations: AnnotationFamily<ClientTlsChoice> = {
  names: [
    'auth-tls-secret',
    'auth-tls-verify-client',
    'auth-tls-verify-depth',
    'auth-tls-pass-certificate-to-upstream',
    'auth-tls-error-page',
    'auth-tls-match-cn',
  ],
  read(reader) {
    const verify = reader.read(
      'auth-tls-verify-client',
      (v) => (VERIFY.has(v) ? (v as ClientVerify) : undefined),
      '"on", "off", "optional" or "optional_no_ca"',
    );
    const depth = reader.read(
      'auth-tls-verify-depth',
      (v) => (/^\d{1,3}$/.test(v) && Number(v) >= 1 && Number(v) <= 100 ? Number(v) : undefined),
      'a whole number from 1 to 100',
    );
    const passCertificate = reader.boolean('auth-tls-pass-certificate-to-upstream');
    const errorPage = reader.read(
      'auth-tls-error-page',
      (v) => (URL_OF_PAGE.test(v) ? v : undefined),
      'an absolute http(s) URL',
    );
    const matchCn = reader.read(
      'auth-tls-match-cn',
      (v) => (v.startsWith('CN=') && regexPathProblem(v) === undefined ? v : undefined),
      'a regular expression starting with "CN=" that cannot backtrack without bound',
    );
    const raw = reader.raw('auth-tls-secret');
    if (raw === undefined) return {};
    const policy = {
      secret: raw.value,
      verify: verify ?? 'on',
      depth: depth ?? 1,
      passCertificate: passCertificate ?? false,
      ...(errorPage !== undefined && { errorPage }),
      ...(matchCn !== undefined && { matchCn }),
    };
    if (!SECRET.test(raw.value)) {
      // Asked for and unusable: closed (503), not open.
      reader.refuse(raw.annotation, raw.value, '"namespace/name" of a Secret', 'the Ingress answers 503');
      return { clientTls: { ...policy, denied: `${raw.annotation} is not a Secret name` } };
    }
    return { clientTls: policy };
  },
};

/** Whether the host's TLS handshakes ask for a client certificate for this policy. */
export function asksClientCertificate(policy: ClientTlsPolicy): boolean {
  return policy.verify !== 'off' && policy.denied === undefined && policy.ca !== undefined;
}
