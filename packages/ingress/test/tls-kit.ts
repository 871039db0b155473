/** Certificates for tests, made by the real openssl command in a temporary directory. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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
