/**
 * Client certificates at request time (annotations/client-tls.ts): what the connection's handshake
 * established (certs.ts asked for the certificate per host), judged against the route's policy, and
 * the `ssl-client-*` fields its pods get, named and valued as ingress-nginx sets them.
 *
 * The verdict is nginx's $ssl_client_verify: `SUCCESS`, `FAILED:<reason>` or `NONE`. A certificate
 * verified against another host's CA (a connection whose SNI named another host) is not a success
 * here: it was never checked against this route's CA.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ClientTlsPolicy } from './annotations/index.js';
import { clientCaOf } from './certs.js';

export interface ClientCertificate {
  /** nginx's $ssl_client_verify. */
  readonly verify: string;
  readonly certificate?: X509Certificate | undefined;
}

/** What a handshake established, computed once per connection. */
interface HandshakeFacts {
  readonly ca: string | undefined;
  readonly certificate: X509Certificate | undefined;
  readonly error: string | undefined;
  /**
   * Intermediate CA certificates between the client's certificate and the self-signed CA that
   * verified it (chainDepth()); undefined without a certificate.
   */
  readonly intermediates: number | undefined;
}

const facts = new WeakMap<TLSSocket, HandshakeFacts>();

/**
 * The property under which a stand-in socket names the TLS connection it stands for: Node's
 * servers get connections from http1/listener.ts through socket pairs, and the handshake's facts
 * live on the real TLSSocket. A property, not a map: HTTP/2 sessions show their socket through a
 * Proxy, which passes property reads on.
 */
export const TLS_CONNECTION = Symbol('portico.tlsConnection');

/** The TLS connection behind a socket Node's server was given (itself when it is one). */
export function tlsConnectionOf(socket: object | undefined): TLSSocket | undefined {
  if (socket === undefined) return undefined;
  // HTTP/2: Node runs the session on its wrapper (`stream`) of the stand-in.
  const standIn = socket as { [TLS_CONNECTION]?: TLSSocket; stream?: { [TLS_CONNECTION]?: TLSSocket } };
  const behind = standIn[TLS_CONNECTION] ?? standIn.stream?.[TLS_CONNECTION];
  if (behind !== undefined) return behind;
  const s = socket as Partial<TLSSocket>;
  return s.encrypted === true && typeof s.getPeerX509Certificate === 'function'
    ? (socket as TLSSocket)
    : undefined;
}

function factsOf(socket: TLSSocket): HandshakeFacts {
  let f = facts.get(socket);
  if (f === undefined) {
    const certificate = socket.getPeerX509Certificate();
    const ca = clientCaOf(socket);
    f = {
      ca,
      certificate,
      error: socket.authorizationError === null ? undefined : String(socket.authorizationError ?? ''),
      intermediates: certificate !== undefined && ca !== undefined ? chainDepth(certificate, ca) : undefined,
    };
    facts.set(socket, f);
  }
  return f;
}

/**
 * Verify depth, as nginx's ssl_verify_depth N (OpenSSL's verify depth): at most N intermediate CA
 * certificates between the client's certificate and the self-signed CA of `ca.crt`. nginx 1.22 with
 * OpenSSL 3 accepts at depth 1 a certificate signed by the root and one signed by an intermediate
 * under it, and refuses one two intermediates below (client-depth-nginx.test.ts).
 *
 * The chain is followed as OpenSSL builds it: issuer by issuer through the bundle (OpenSSL looks
 * there first: X509_V_FLAG_TRUSTED_FIRST), each signature checked, up to a self-signed CA; the
 * count is exact when every intermediate is in `ca.crt`. An issuer not in the bundle is one the
 * client sent, and Node shows a server only the client's own certificate, not the intermediates it
 * sent (getPeerCertificate(true) stops at the leaf; no Node API reads the verified chain or sets
 * OpenSSL's verify depth): then the count is a lower bound, one for that unseen issuer.
 */
function chainDepth(certificate: X509Certificate, bundle: string): number {
  const cas = casOf(bundle);
  const path = [certificate];
  for (let current = certificate; !selfSigned(current);) {
    const issuer = cas.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
    if (issuer === undefined || path.length > MAX_CHAIN) return path.length;
    path.push(issuer);
    current = issuer;
  }
  return Math.max(0, path.length - 2);
}
/** OpenSSL's default verify depth (100 intermediates) and a trust anchor. */
const MAX_CHAIN = 101;

function selfSigned(certificate: X509Certificate): boolean {
  return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
}

/** The CA certificates of a bundle, parsed once (a table holds few distinct bundles). */
const bundles = new Map<string, X509Certificate[]>();
function casOf(bundle: string): X509Certificate[] {
  let cas = bundles.get(bundle);
  if (cas === undefined) {
    cas = [];
    for (const pem of bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [])
      try {
        cas.push(new X509Certificate(pem));
      } catch {
        // Not a certificate Node parses: OpenSSL did not verify against it either.
      }
    if (bundles.size >= 64) bundles.clear();
    bundles.set(bundle, cas);
  }
  return cas;
}

/** The connection's client certificate as the route's policy sees it; `socket` undefined: plain HTTP. */
export function clientCertificateOf(
  socket: TLSSocket | undefined,
  policy: ClientTlsPolicy,
): ClientCertificate {
  if (socket === undefined) return NONE;
  const f = factsOf(socket);
  if (f.certificate === undefined) return NONE;
  const certificate = f.certificate;
  if (f.ca === undefined || f.ca !== policy.ca)
    return { verify: 'FAILED:certificate not verified against this host', certificate };
  if (f.error !== undefined) return { verify: `FAILED:${f.error}`, certificate };
  // Too deep when it surely is: a chain through intermediates the client sent counts only those seen.
  if (f.intermediates !== undefined && f.intermediates > policy.depth)
    return { verify: 'FAILED:certificate chain too long', certificate };
  return { verify: 'SUCCESS', certificate };
}

const NONE: ClientCertificate = { verify: 'NONE' };

/** Whether the policy refuses the request (400, or the error page), as nginx's ssl_verify_client. */
export function refusesClientCertificate(policy: ClientTlsPolicy, check: ClientCertificate): boolean {
  switch (policy.verify) {
    case 'on':
      return check.verify !== 'SUCCESS';
    case 'optional':
      return check.verify.startsWith('FAILED:');
    case 'optional_no_ca':
      return check.verify.startsWith('FAILED:') && !WITHOUT_CA.has(check.verify.slice(7));
    default:
      return false;
  }
}

/**
 * What optional_no_ca lets through (nginx's ngx_ssl_verify_error_optional): a certificate whose
 * issuer is unknown or untrusted; as Node names OpenSSL's errors. Any other failure (revoked,
 * expired, a bad signature) is refused, as nginx does.
 */
const WITHOUT_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'certificate not verified against this host',
]);

/** The verdict of a revoked certificate (a CRL of `ca.crl` lists it). */
export const REVOKED = 'FAILED:CERT_REVOKED';

const FIELDS = new Set([
  'ssl-client-cert',
  'ssl-client-verify',
  'ssl-client-subject-dn',
  'ssl-client-issuer-dn',
]);

/**
 * Upstream `fields` ([name, value, …]) with the client's own `ssl-client-*` fields dropped (a client
 * must not claim a certificate) and ours added.
 */
export function withClientCertificateFields(
  fields: string[],
  policy: ClientTlsPolicy,
  check: ClientCertificate,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2)
    if (!FIELDS.has(fields[i]!.toLowerCase())) out.push(fields[i]!, fields[i + 1]!);
  const cert = check.certificate;
  out.push('ssl-client-verify', check.verify);
  out.push('ssl-client-subject-dn', cert === undefined ? '' : distinguishedName(cert.subject));
  out.push('ssl-client-issuer-dn', cert === undefined ? '' : distinguishedName(cert.issuer));
  if (policy.passCertificate && cert !== undefined) out.push('ssl-client-cert', escapedPem(cert));
  return out;
}

/** Whether auth-tls-match-cn refuses the request (403): the subject DN does not match. */
export function failsCommonName(policy: ClientTlsPolicy, check: ClientCertificate): boolean {
  const pattern = policy.matchCn;
  if (pattern === undefined) return false;
  let regex = patterns.get(pattern);
  if (regex === undefined) {
    if (patterns.size >= 256) patterns.clear();
    patterns.set(pattern, (regex = new RegExp(pattern)));
  }
  const cert = check.certificate;
  return !regex.test(cert === undefined ? '' : distinguishedName(cert.subject));
}

/** auth-tls-match-cn patterns, compiled once (the annotation read refused any that could not be). */
const patterns = new Map<string, RegExp>();

/** Node's one-attribute-per-line name as RFC 2253 writes it (nginx's $ssl_client_s_dn): last first, commas. */
export function distinguishedName(lines: string): string {
  return lines
    .split('\n')
    .filter((l) => l !== '')
    .reverse()
    .map((l) => l.replace(/([,+"\\<>;])/g, '\\$1'))
    .join(',');
}

/** The certificate as PEM, URL-encoded (nginx's $ssl_client_escaped_cert). */
function escapedPem(cert: X509Certificate): string {
  return encodeURIComponent(cert.toString());
}
