/**
 * A listener's certificateRefs: Secrets of type kubernetes.io/tls in the Gateway's namespace, or in
 * another namespace when a ReferenceGrant allows it. Each ref resolves to a PEM pair or to the
 * listener reason the spec gives for it (InvalidCertificateRef, RefNotPermitted).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { ReferenceGrants } from './reference-grants.js';
import { GATEWAY_GROUP, type SecretObjectReference } from './types.js';

export interface CertificatePair {
  /** `namespace/name@resourceVersion`: identifies the pair so workers can cache the TLS context. */
  readonly id: string;
  readonly cert: string;
  readonly key: string;
}

export type CertificateResult =
  | { readonly ok: true; readonly pair: CertificatePair }
  | {
      readonly ok: false;
      readonly reason: 'InvalidCertificateRef' | 'RefNotPermitted';
      readonly message: string;
    };

const checked = new WeakMap<V1Secret, string | null>();

export function resolveCertificate(
  ref: SecretObjectReference,
  field: string,
  gatewayNamespace: string,
  secrets: ReadonlyMap<string, V1Secret>,
  grants: ReferenceGrants,
): CertificateResult {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Secret';
  const namespace = ref.namespace ?? gatewayNamespace;
  const id = `${namespace}/${ref.name}`;
  if (group !== '' || kind !== 'Secret')
    return fail('InvalidCertificateRef', `${field}: kind ${q(kind)} of group ${q(group)} is not a Secret`);
  const allowed = grants.allows({
    fromGroup: GATEWAY_GROUP,
    fromKind: 'Gateway',
    fromNamespace: gatewayNamespace,
    toGroup: '',
    toKind: 'Secret',
    toNamespace: namespace,
    toName: ref.name,
  });
  if (!allowed)
    return fail(
      'RefNotPermitted',
      `${field}: secret ${q(id)} is in another namespace and no ReferenceGrant allows it`,
    );
  const secret = secrets.get(id);
  if (!secret) return fail('InvalidCertificateRef', `${field}: secret ${q(id)} not found`);
  const crt = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (secret.type !== undefined && secret.type !== 'kubernetes.io/tls')
    return fail(
      'InvalidCertificateRef',
      `${field}: secret ${q(id)} has type ${q(secret.type)}, not "kubernetes.io/tls"`,
    );
  if (!crt || !key)
    return fail('InvalidCertificateRef', `${field}: secret ${q(id)} lacks tls.crt or tls.key`);
  const pair: CertificatePair = {
    id: `${id}@${secret.metadata?.resourceVersion ?? ''}`,
    cert: Buffer.from(crt, 'base64').toString('utf8'),
    key: Buffer.from(key, 'base64').toString('utf8'),
  };
  let problem = checked.get(secret);
  if (problem === undefined) checked.set(secret, (problem = pairProblem(pair)));
  if (problem) return fail('InvalidCertificateRef', `${field}: secret ${q(id)}: ${problem}`);
  return { ok: true, pair };
}

function pairProblem(pair: CertificatePair): string | null {
  try {
    const cert = new X509Certificate(pair.cert);
    const key = createPrivateKey(pair.key);
    return cert.checkPrivateKey(key) ? null : 'tls.key does not belong to the certificate in tls.crt';
  } catch (err) {
    return `tls.crt/tls.key is not a PEM certificate and key (${(err as Error).message})`;
  }
}

function fail(reason: 'InvalidCertificateRef' | 'RefNotPermitted', message: string): CertificateResult {
  return { ok: false, reason, message };
}

function q(value: string): string {
  return JSON.stringify(value);
}
