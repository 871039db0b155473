/** Certificates for tests, made by the real openssl command in a temporary directory. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { selfSignedPair } from '@portico/ingress';

/** Fails loudly when a command the test needs is missing. */
export function need(cmd: string): void {
  if (spawnSync(cmd, ['--version']).error && spawnSync(cmd, ['version']).error)
    throw new Error(`this test needs the ${cmd} command (Debian package ${cmd})`);
}

/** A test CA in `dir` (ca.crt, ca.key), made the way the default certificate is; returns its PEM. */
export function testCa(dir: string, name = 'test-ca.portico.invalid'): string {
  const ca = selfSignedPair(name);
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'ca.key'), ca.key);
  return ca.cert;
}

/** A leaf certificate for `names` (DNS SANs) signed by the CA of `dir` (testCa), made by openssl. */
export function leaf(dir: string, id: string, names: string[]): { cert: string; key: string } {
  const p = (f: string) => join(dir, `${id}.${f}`);
  writeFileSync(p('ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
  execFileSync(
    'openssl',
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${names[0]}`,
      '-keyout',
      p('key'),
      '-out',
      p('csr'),
    ],
    { stdio: 'pipe' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      p('csr'),
      '-CA',
      join(dir, 'ca.crt'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      p('ext'),
      '-out',
      p('crt'),
    ],
    { stdio: 'pipe' },
  );
  return { cert: readFileSync(p('crt'), 'utf8'), key: readFileSync(p('key'), 'utf8') };
}

/**
 * An intermediate CA signed by the CA of `caDir`, written as ca.crt / ca.key of `dir` (so leaf()
 * and intermediateCa() sign with it); returns its PEM.
 */
export function intermediateCa(caDir: string, dir: string, name: string): string {
  const p = (f: string) => join(dir, f);
  writeFileSync(p('ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  execFileSync(
    'openssl',
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${name}`,
    ].concat(['-keyout', p('ca.key'), '-out', p('ca.csr')]),
    { stdio: 'pipe' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      p('ca.csr'),
      '-CA',
      join(caDir, 'ca.crt'),
      '-CAkey',
      join(caDir, 'ca.key'),
    ].concat(['-CAcreateserial', '-days', '2', '-extfile', p('ca.ext'), '-out', p('ca.crt')]),
    { stdio: 'pipe' },
  );
  return readFileSync(p('ca.crt'), 'utf8');
}

/**
 * The CRL of the CA of `dir` (ca.crt, ca.key) revoking `revoked` (PEM certificates), past its next
 * update when `expired`, made by
 * `openssl ca -revoke` and `openssl ca -gencrl` with a throwaway configuration and database there.
 */
export function crlOf(dir: string, revoked: readonly string[], expired = false): string {
  const p = (f: string) => join(dir, f);
  writeFileSync(
    p('crl.cnf'),
    [
      '[ca]',
      'default_ca = here',
      '[here]',
      `database = ${p('index.txt')}`,
      `crlnumber = ${p('crlnumber')}`,
      `certificate = ${p('ca.crt')}`,
      `private_key = ${p('ca.key')}`,
      'default_md = sha256',
      'default_crl_days = 2',
      '',
    ].join('\n'),
  );
  writeFileSync(p('index.txt'), '');
  writeFileSync(p('crlnumber'), '01\n');
  revoked.forEach((pem, i) => {
    writeFileSync(p(`revoked-${i}.crt`), pem);
    execFileSync('openssl', ['ca', '-config', p('crl.cnf'), '-revoke', p(`revoked-${i}.crt`)], {
      stdio: 'pipe',
    });
  });
  // An expired CRL: valid for a day of January 2025.
  const dates = expired ? ['-crl_lastupdate', '20250101000000Z', '-crl_nextupdate', '20250102000000Z'] : [];
  execFileSync('openssl', ['ca', '-config', p('crl.cnf'), '-gencrl', ...dates, '-out', p('ca.crl')], {
    stdio: 'pipe',
  });
  return readFileSync(p('ca.crl'), 'utf8');
}

/** A GET / to 127.0.0.1:`port` for `host` (SNI and Host) on a fresh connection, with a client certificate when given. */
export function getWithCertificate(
  port: number,
  host: string,
  pair: { cert: string; key: string } | undefined,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        servername: host,
        headers: { host },
        rejectUnauthorized: false,
        agent: false,
        ...(pair && { cert: pair.cert, key: pair.key }),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The status of getWithCertificate(). */
export async function statusWithCertificate(
  port: number,
  host: string,
  pair: { cert: string; key: string } | undefined,
): Promise<number> {
  return (await getWithCertificate(port, host, pair)).status;
}
