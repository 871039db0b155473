/**
 * The identities of a test control plane, written into its data directory: a self-signed serving
 * certificate for 127.0.0.1 (the kubeconfig trusts exactly it), the key pair that signs
 * ServiceAccount tokens (so TokenRequest works and components can run as their ServiceAccounts),
 * a static token file with one admin in `system:masters`, and a client CA with one admin client
 * certificate (so clients that authenticate with certificates can be tested too).
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
    readonly clientCa: string;
  };
  /** A client certificate (user `portico-admin-cert`, group `system:masters`) signed by the client CA. */
  readonly adminClientCert: { readonly cert: string; readonly key: string };
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
    clientCa: join(dir, 'client-ca.crt'),
  };
  const openssl = (args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(
        `making the test API server's certificates needs the openssl command (Debian: openssl): ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-days',
    '365',
    '-subj',
    '/CN=client-ca.portico.invalid',
    '-keyout',
    join(dir, 'client-ca.key'),
    '-out',
    files.clientCa,
  ]);
  const clientKey = join(dir, 'admin-client.key');
  const clientCsr = join(dir, 'admin-client.csr');
  const clientCert = join(dir, 'admin-client.crt');
  openssl([
    'req',
    ...ec,
    '-subj',
    '/O=system:masters/CN=portico-admin-cert',
    '-keyout',
    clientKey,
    '-out',
    clientCsr,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    clientCsr,
    '-CA',
    files.clientCa,
    '-CAkey',
    join(dir, 'client-ca.key'),
    '-CAcreateserial',
    '-days',
    '365',
    '-out',
    clientCert,
  ]);
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
  return {
    servingCert: readFileSync(files.servingCert, 'utf8'),
    files,
    adminToken,
    adminClientCert: { cert: readFileSync(clientCert, 'utf8'), key: readFileSync(clientKey, 'utf8') },
  };
}
