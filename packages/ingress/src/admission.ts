/**
 * Whether a routed request may go on to its pod, for the route policies that can refuse one (rate
 * limits, then basic auth, in nginx's order: limit_req/limit_conn run in the preaccess phase, before
 * auth_basic). Shared by both data planes: each calls Proxy.admit() after decide() found a backend,
 * only when mustAdmit() says the target has such a policy, so an annotation-free route pays one
 * property test.
 */
import type { TLSSocket } from 'node:tls';
import type { BasicAuthPolicy, ClientTlsPolicy } from './annotations/index.js';
import {
  clientCertificateOf,
  failsCommonName,
  refusesClientCertificate,
  REVOKED,
} from './client-certificate.js';
import { BasicCredentials } from './htpasswd.js';
import type { Target } from './table.js';
import type { RateLimits } from './rate-limiter.js';

/** A response of our own instead of the pod's. */
export interface Refusal {
  readonly status: 302 | 400 | 401 | 403 | 503;
  readonly headers?: Readonly<Record<string, string>>;
  /** The reason label of portico_ingress_admission_refusals_total. */
  readonly reason: RefusalReason;
}

export type RefusalReason =
  'auth' | 'auth_denied' | 'rate' | 'connections' | 'client_certificate' | 'client_certificate_revoked';

/** Admitted, holding a place in a connection limit: call it once when the request ends. */
export type Release = () => void;

/** What admit() reads of a request. */
export interface AdmissionFacts {
  /** The Authorization header (joined when repeated), undefined when absent. */
  readonly authorization: string | undefined;
  /** The client address (as logged: PROXY protocol, trusted proxies), asked only for rate limits. */
  client(): string;
  /** The TLS connection (client certificates); undefined over plain HTTP. Absent: never asked. */
  tls?(): TLSSocket | undefined;
  /** The Host (or :authority) as received, for the log line of a refused client certificate. */
  readonly host?: string | undefined;
}

/** Whether the target has a policy that may refuse requests. */
export function mustAdmit(target: Target): boolean {
  return target.basicAuth !== undefined || target.rateLimit !== undefined || target.clientTls !== undefined;
}

/**
 * A refusal; or a Release when the request goes on holding a place in a connection limit; or
 * undefined when it simply goes on. Call only when mustAdmit(target).
 */
export function admit(
  target: Target,
  facts: AdmissionFacts,
  limits: RateLimits,
  now: number,
): Refusal | Release | undefined {
  // The client certificate first: nginx checks it as it reads the request, before any phase.
  const clientTls = target.clientTls;
  if (clientTls !== undefined) {
    const refusal = clientCertificateRefusal(clientTls, facts);
    if (refusal !== undefined) return refusal;
  }
  const limit = target.rateLimit;
  let client: string | undefined;
  let zone;
  if (limit !== undefined) {
    zone = limits.zoneOf(target, limit);
    client = facts.client();
    if (zone.allowlist?.trusts(client)) zone = undefined;
    else if (zone.rate && !zone.rate.take(client, now)) return RATE_LIMITED;
  }
  const auth = target.basicAuth;
  if (auth !== undefined) {
    if (auth.denied !== undefined) return DENIED;
    if (!credentialsOf(auth).check(facts.authorization)) return challenge(auth);
  }
  const connections = zone?.connections;
  if (connections === undefined) return undefined;
  if (!connections.take(client!)) return CONNECTION_LIMITED;
  let held = true;
  return () => {
    if (held) connections.release(client!);
    held = false;
  };
}

/** Whether the pod is sent the client's Authorization header (not when we checked it ourselves). */
export function keepsAuthorization(target: Target): boolean {
  return target.basicAuth === undefined;
}

const DENIED: Refusal = { status: 503, reason: 'auth_denied' };
const BAD_CERTIFICATE: Refusal = { status: 400, reason: 'client_certificate' };
const REVOKED_CERTIFICATE: Refusal = { status: 400, reason: 'client_certificate_revoked' };
/** auth-tls-match-cn: ingress-nginx's `return 403 "client certificate unauthorized"`. */
const UNAUTHORIZED_CERTIFICATE: Refusal = { status: 403, reason: 'client_certificate' };

/** 400 (or a 302 to auth-tls-error-page) for a missing or bad certificate; 503 when it cannot be checked. */
function clientCertificateRefusal(policy: ClientTlsPolicy, facts: AdmissionFacts): Refusal | undefined {
  if (policy.denied !== undefined) return DENIED;
  const check = clientCertificateOf(facts.tls?.(), policy);
  if (!refusesClientCertificate(policy, check))
    return failsCommonName(policy, check) ? UNAUTHORIZED_CERTIFICATE : undefined;
  const reason = check.verify === REVOKED ? 'client_certificate_revoked' : 'client_certificate';
  if (policy.errorPage === undefined)
    return reason === 'client_certificate' ? BAD_CERTIFICATE : REVOKED_CERTIFICATE;
  return { status: 302, headers: { location: policy.errorPage }, reason };
}
/** ingress-nginx's limit-req-status-code and limit-conn-status-code default. */
const RATE_LIMITED: Refusal = { status: 503, reason: 'rate' };
const CONNECTION_LIMITED: Refusal = { status: 503, reason: 'connections' };

/** The users of a policy, built once per table object (the workers get each table once). */
const credentials = new WeakMap<BasicAuthPolicy, BasicCredentials>();

function credentialsOf(auth: BasicAuthPolicy): BasicCredentials {
  let c = credentials.get(auth);
  if (!c) credentials.set(auth, (c = new BasicCredentials(auth.users ?? [])));
  return c;
}

const challenges = new WeakMap<BasicAuthPolicy, Refusal>();

function challenge(auth: BasicAuthPolicy): Refusal {
  let r = challenges.get(auth);
  if (!r) {
    r = { status: 401, reason: 'auth', headers: { 'www-authenticate': `Basic realm="${auth.realm}"` } };
    challenges.set(auth, r);
  }
  return r;
}

/** `fields` ([name, value, ...]) without the named field (lower-case name). */
export function withoutField(fields: string[], lowerName: string): string[] {
  return fields.filter((_, i) => {
    const name = fields[i - (i % 2)]!;
    return name.length !== lowerName.length || name.toLowerCase() !== lowerName;
  });
}
