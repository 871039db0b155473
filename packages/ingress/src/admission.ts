/**
 * Whether a routed request may go on to its pod, for the route policies that can refuse one (basic
 * auth). Shared by both data planes: each calls admit() after decide() found a backend, only when
 * mustAdmit() says the target has such a policy, so an annotation-free route pays one property test.
 */
import type { BasicAuthPolicy } from './annotations/index.js';
import { BasicCredentials } from './htpasswd.js';
import type { Target } from './table.js';

/** A response of our own instead of the pod's. */
export interface Refusal {
  readonly status: 401 | 503;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What admit() reads of a request. */
export interface AdmissionFacts {
  /** The Authorization header (joined when repeated), undefined when absent. */
  readonly authorization: string | undefined;
}

/** Whether the target has a policy that may refuse requests. */
export function mustAdmit(target: Target): boolean {
  return target.basicAuth !== undefined;
}

/** A refusal, or undefined when the request goes on. Call only when mustAdmit(target). */
export function admit(target: Target, facts: AdmissionFacts): Refusal | undefined {
  const auth = target.basicAuth;
  if (auth !== undefined) {
    if (auth.denied !== undefined) return DENIED;
    if (!credentialsOf(auth).check(facts.authorization)) return challenge(auth);
  }
  return undefined;
}

/** Whether the pod is sent the client's Authorization header (not when we checked it ourselves). */
export function keepsAuthorization(target: Target): boolean {
  return target.basicAuth === undefined;
}

const DENIED: Refusal = { status: 503 };

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
    r = { status: 401, headers: { 'www-authenticate': `Basic realm="${auth.realm}"` } };
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
