/**
 * HTTP basic authentication, as ingress-nginx's `auth-type: basic` (internal/ingress/annotations/auth):
 *
 * - `auth-type`: `basic`. (`digest` is ingress-nginx's other value; Portico does not do digest.)
 * - `auth-secret`: the Secret with the users, `name` or `namespace/name`; another namespace than the
 *   Ingress's is refused, as ingress-nginx does by default (allow-cross-namespace-resources: false).
 * - `auth-secret-type`: `auth-file` (default: the Secret's `auth` key holds an htpasswd file) or
 *   `auth-map` (each key is a user, its value the hash).
 * - `auth-realm`: the realm of the 401's WWW-Authenticate (default empty, as nginx's).
 *
 * Fails closed: when basic auth is asked for and cannot be done (an unknown auth-type, no
 * auth-secret, a missing Secret, a Secret without users), the routes of the Ingress answer 503, as
 * ingress-nginx denies such a location ("Location denied", return 503). Never served unprotected.
 *
 * The annotation read gives the Secret's name; the compiler, which has the Secrets, replaces it with
 * the users (resolveBasicAuth), so the table the workers get carries the hashes as data.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { parseHtpasswd, type HtpasswdEntry } from '../htpasswd.js';
import type { AnnotationFamily } from './family.js';

/** What a Target carries when its Ingress asks for basic auth. */
export interface BasicAuthPolicy {
  readonly realm: string;
  /** `namespace/name` of the Secret once resolved; the name as written before. */
  readonly secret: string;
  readonly secretType: 'auth-file' | 'auth-map';
  /** The users (resolved by the compiler). */
  readonly users?: readonly HtpasswdEntry[];
  /** Why the routes are denied (503) instead: basic auth was asked for and cannot be done. */
  readonly denied?: string;
}

export interface BasicAuthChoice {
  readonly basicAuth?: BasicAuthPolicy;
}

/** Characters ingress-nginx's BasicCharsRegex allows in a Secret name (and its namespace). */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/;
/** A realm goes into a quoted-string of a header: printable ASCII and spaces, no quote or backslash. */
const REALM = /^[ !#-[\]-~]*$/;

export const basicAuthAnnotations: AnnotationFamily<BasicAuthChoice> = {
  names: ['auth-type', 'auth-secret', 'auth-secret-type', 'auth-realm'],
  read(reader) {
    const type = reader.read('auth-type', (v) => (v === 'basic' ? v : undefined), '"basic"');
    const typeAsked = reader.raw('auth-type') !== undefined;
    const secret = reader.read(
      'auth-secret',
      (v) => (SECRET_NAME.test(v) ? v : undefined),
      'a Secret name ("name" or "namespace/name")',
    );
    const secretType =
      reader.read(
        'auth-secret-type',
        (v) => (v === 'auth-file' || v === 'auth-map' ? v : undefined),
        '"auth-file" or "auth-map"',
      ) ?? 'auth-file';
    const realm =
      reader.read('auth-realm', (v) => (REALM.test(v) ? v : undefined), 'a realm without quotes') ?? '';
    if (!typeAsked) return {};
    const denied =
      type === undefined
        ? 'auth-type is not "basic"'
        : secret === undefined
          ? reader.raw('auth-secret') === undefined
            ? 'auth-secret is missing'
            : 'auth-secret is invalid'
          : undefined;
    const policy: BasicAuthPolicy = { realm, secret: secret ?? '', secretType };
    return { basicAuth: denied ? { ...policy, denied } : policy };
  },
};

/**
 * The policy with its Secret's users in place, or denied when the Secret cannot be used.
 * `report(field, what)` is called for what the user must fix (the Secret, refused lines).
 */
export function resolveBasicAuth(
  policy: BasicAuthPolicy,
  namespace: string,
  secrets: ReadonlyMap<string, V1Secret>,
  report: (reason: 'SecretNotFound' | 'InvalidAnnotation', what: string) => void,
): BasicAuthPolicy {
  // A bad value was reported by the reader already; a missing one is reported here.
  if (policy.denied === 'auth-secret is missing')
    report('InvalidAnnotation', 'auth-type is "basic" but there is no auth-secret; its routes answer 503');
  if (policy.denied !== undefined) return policy;
  const [ns, name] = policy.secret.includes('/') ? policy.secret.split('/') : [namespace, policy.secret];
  const key = `${ns}/${name}`;
  const deny = (reason: 'SecretNotFound' | 'InvalidAnnotation', what: string): BasicAuthPolicy => {
    report(reason, `${what}; its routes answer 503`);
    return { ...policy, secret: key, denied: what };
  };
  if (ns !== namespace)
    return deny('InvalidAnnotation', `secret ${JSON.stringify(key)} is in another namespace`);
  const secret = secrets.get(key);
  if (!secret) return deny('SecretNotFound', `secret ${JSON.stringify(key)} not found`);
  const data = secret.data ?? {};
  const text =
    policy.secretType === 'auth-file'
      ? data.auth === undefined
        ? undefined
        : decode(data.auth)
      : Object.entries(data)
          .map(([user, hash]) => `${user}:${decode(hash)}`)
          .join('\n');
  if (text === undefined) return deny('InvalidAnnotation', `secret ${JSON.stringify(key)} has no key "auth"`);
  const { entries, refused } = parseHtpasswd(text);
  for (const line of refused)
    report('InvalidAnnotation', `secret ${JSON.stringify(key)}: ${line}; user left out`);
  if (entries.length === 0)
    return deny('InvalidAnnotation', `secret ${JSON.stringify(key)} has no usable users`);
  return { ...policy, secret: key, users: entries };
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}
