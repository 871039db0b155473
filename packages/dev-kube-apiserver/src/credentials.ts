/**
 * The identities of a test control plane, written into its data directory: a self-signed serving
 * certificate for 127.0.0.1 (the kubeconfig trusts exactly it), the key pair that signs
 * ServiceAccount tokens (so TokenRequest works and components can run as their ServiceAccounts),
 * a static token file with one admin in `system:masters`, and a client CA with one admin client
 * certificate (so clients that authenticate with certificates can be tested too).
 */
import { execFile } from 'node:child_process';
import { generateKeyPair as generateKeyPairCallback, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
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

/** Runs openssl asynchronously, so a test that starts a server never stalls its own event loop. */
async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new Error(
      `making the test API server's certificates needs the openssl command (Debian: openssl): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

const run = promisify(execFile);
const generateKeyPair = promisify(generateKeyPairCallback);

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function writeCredentials(dir: string): Promise<Credentials> {
  const files = {
    servingCert: join(dir, 'serving.crt'),
    servingKey: join(dir, 'serving.key'),
    serviceAccountPublic: join(dir, 'service-account.pub'),
    serviceAccountPrivate: join(dir, 'service-account.key'),
    tokens: join(dir, 'tokens.csv'),
    clientCa: join(dir, 'client-ca.crt'),
  };
  const client = {
    key: join(dir, 'admin-client.key'),
    csr: join(dir, 'admin-client.csr'),
    cert: join(dir, 'admin-client.crt'),
  };
  const clientCaKey = join(dir, 'client-ca.key');
  // Self-signed, so the serving certificate is also the CA a kubeconfig trusts.
  await openssl([
    'req',
    '-x509',
    ...EC_KEY,
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
  ]);
  await openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-days',
    '365',
    '-subj',
    '/CN=client-ca.portico.invalid',
    '-keyout',
    clientCaKey,
    '-out',
    files.clientCa,
  ]);
  await openssl([
    'req',
    ...EC_KEY,
    '-subj',
    '/O=system:masters/CN=portico-admin-cert',
    '-keyout',
    client.key,
    '-out',
    client.csr,
  ]);
  await openssl([
    'x509',
    '-req',
    '-in',
    client.csr,
    '-CA',
    files.clientCa,
    '-CAkey',
    clientCaKey,
    '-CAcreateserial',
    '-days',
    '365',
    '-out',
    client.cert,
  ]);
  const { publicKey, privateKey } = await generateKeyPair('rsa', { modulusLength: 2048 });
  await writeFile(files.serviceAccountPublic, publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(files.serviceAccountPrivate, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const adminToken = randomBytes(24).toString('hex');
  await writeFile(files.tokens, `${adminToken},portico-admin,portico-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  return {
    servingCert: await readFile(files.servingCert, 'utf8'),
    files,
    adminToken,
    adminClientCert: { cert: await readFile(client.cert, 'utf8'), key: await readFile(client.key, 'utf8') },
  };
}
