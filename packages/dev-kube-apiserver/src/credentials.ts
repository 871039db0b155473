/**
 * The identities of a test control plane, written into its data directory: a self-signed serving
 * certificate for 127.0.0.1 (the kubeconfig trusts exactly it), the key pair that signs
 * ServiceAccount tokens (so TokenRequest works and components can run as their ServiceAccounts),
 * and a static token file with one admin in `system:masters`.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Credentials {
  /** PEM of the serving certificate; being self-signed, it is also the CA to trust. */
  readonly servingCert: string;
  readonly files: {
    readonly servingCert: string;
    readonly servingKey: string;
    readonly serviceAccountPublic: string;
    readonly serviceAccountPrivate: string;
    readonly tokens: string;
  };
  /** Bearer token of the admin user (`portico-admin`, group `system:masters`). */
  readonly adminToken: string;
}

export function writeCredentials(dir: string): Credentials {
  const files = {
    servingCert: join(dir, 'serving.crt'),
    servingKey: join(dir, 'serving.key'),
    serviceAccountPublic: join(dir, 'service-account.pub'),
    serviceAccountPrivate: join(dir, 'service-account.key'),
    tokens: join(dir, 'tokens.csv'),
  };
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '365',
        '-subj',
        '/CN=kube-apiserver.portico.invalid',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
        '-keyout',
        files.servingKey,
        '-out',
        files.servingCert,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    throw new Error(
      `making the test API server's certificate needs the openssl command (Debian: openssl): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(files.serviceAccountPublic, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(files.serviceAccountPrivate, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(files.tokens, `${adminToken},portico-admin,portico-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  return { servingCert: readFileSync(files.servingCert, 'utf8'), files, adminToken };
}
