/**
 * Client certificates with a CRL against nginx 1.22 (`ssl_client_certificate`, `ssl_crl`,
 * `ssl_verify_client`, what ingress-nginx writes for auth-tls-secret with `ca.crl`) as the
 * reference: the same openssl-made CA, certificates and CRLs to both, every verify mode with no
 * certificate, a good one, a revoked one and one of another CA, and a CRL past its next update;
 * the status codes must be the same.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { IngressServer } from '@portico/ingress';
import { freePort } from './adversarial/harness.js';
import { startReferenceNginx } from './reference-nginx.js';
import { ingress, rule, tlsSecret } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { crlOf, leaf, need, statusWithCertificate, testCa } from './tls-kit.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
type Pair = { cert: string; key: string };
/** Host -> verify mode and which CRL. */
const CASES = {
  'on.test': { verify: 'on', crl: 'fresh' },
  'optional.test': { verify: 'optional', crl: 'fresh' },
  'noca.test': { verify: 'optional_no_ca', crl: 'fresh' },
  'stale.test': { verify: 'on', crl: 'stale' },
} as const;
const HOSTS = Object.keys(CASES) as (keyof typeof CASES)[];
const dirs: string[] = [];
let nginxProcess: ChildProcess | undefined;
const nginxPorts = new Map<string, number>();
let server: IngressServer;
let porticoPort = 0;
let web: Echo;
const clients: Record<string, Pair | undefined> = { none: undefined };

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portico-crl-nginx-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  need('openssl');
  const siteDir = tempDir();
  testCa(siteDir, 'site-ca.portico.invalid');
  const site = leaf(siteDir, 'site', HOSTS);
  const caDir = tempDir();
  const ca = testCa(caDir, 'client-ca.portico.invalid');
  clients.good = leaf(caDir, 'good', ['good.portico.invalid']);
  clients.revoked = leaf(caDir, 'revoked', ['revoked.portico.invalid']);
  const otherDir = tempDir();
  testCa(otherDir, 'other-ca.portico.invalid');
  clients.foreign = leaf(otherDir, 'foreign', ['foreign.portico.invalid']);
  const crls = { stale: crlOf(caDir, [], true), fresh: crlOf(caDir, [clients.revoked.cert]) };

  const work = tempDir();
  writeFileSync(join(work, 'site.crt'), site.cert);
  writeFileSync(join(work, 'site.key'), site.key);
  writeFileSync(join(work, 'ca.crt'), ca);
  for (const [name, crl] of Object.entries(crls)) writeFileSync(join(work, `${name}.crl`), crl);
  const servers: string[] = [];
  for (const host of HOSTS) {
    const port = await freePort();
    nginxPorts.set(host, port);
    servers.push(`server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${work}/site.crt; ssl_certificate_key ${work}/site.key;
    ssl_client_certificate ${work}/ca.crt; ssl_verify_client ${CASES[host].verify};
    ssl_crl ${work}/${CASES[host].crl}.crl;
    location / { return 200 "ok\\n"; }
  }`);
  }
  nginxProcess = await startReferenceNginx(work, `${servers.join('\n  ')}`, [...nginxPorts.values()]);

  web = await startEcho('web');
  const secret = (name: string, crl: string): V1Secret => ({
    metadata: { name, namespace: 'default', resourceVersion: '1' },
    type: 'Opaque',
    data: { 'ca.crt': Buffer.from(ca).toString('base64'), 'ca.crl': Buffer.from(crl).toString('base64') },
  });
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        secrets: [
          tlsSecret('site', site.cert, site.key),
          secret('fresh', crls.fresh),
          secret('stale', crls.stale),
        ],
        ingresses: HOSTS.map((host) =>
          ingress(
            host.split('.')[0]!,
            { rules: [rule(host, { path: '/', svc: 'web' })], tls: [{ hosts: HOSTS, secretName: 'site' }] },
            {
              annotations: {
                [nginx('auth-tls-secret')]: `default/${CASES[host].crl}`,
                [nginx('auth-tls-verify-client')]: CASES[host].verify,
              },
            },
          ),
        ),
      },
    ]),
  );
  porticoPort = (await server.listen()).httpsPort!;
});

afterAll(async () => {
  nginxProcess?.kill('SIGQUIT');
  await server?.close();
  if (web) await stopAll([web]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

it('the same status as nginx for every verify mode and certificate, and for an expired CRL', async () => {
  const lines: string[] = [];
  for (const host of HOSTS)
    for (const [name, pair] of Object.entries(clients)) {
      const theirs = await statusWithCertificate(nginxPorts.get(host)!, host, pair);
      const ours = await statusWithCertificate(porticoPort, host, pair);
      lines.push(`${host} ${name}: nginx ${theirs}, portico ${ours}`);
    }
  expect(lines).toEqual([
    'on.test none: nginx 400, portico 400',
    'on.test good: nginx 200, portico 200',
    'on.test revoked: nginx 400, portico 400',
    'on.test foreign: nginx 400, portico 400',
    'optional.test none: nginx 200, portico 200',
    'optional.test good: nginx 200, portico 200',
    'optional.test revoked: nginx 400, portico 400',
    'optional.test foreign: nginx 400, portico 400',
    'noca.test none: nginx 200, portico 200',
    'noca.test good: nginx 200, portico 200',
    'noca.test revoked: nginx 400, portico 400',
    'noca.test foreign: nginx 200, portico 200',
    'stale.test none: nginx 400, portico 400',
    'stale.test good: nginx 400, portico 400',
    'stale.test revoked: nginx 400, portico 400',
    'stale.test foreign: nginx 400, portico 400',
  ]);
});
