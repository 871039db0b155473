/**
 * Certificate revocation lists for client certificates: the `ca.crl` key of the auth-tls-secret, as
 * ingress-nginx's ssl_crl. With openssl-made CAs, certificates and CRLs (`openssl ca -revoke`,
 * `openssl ca -gencrl`), through a running proxy with real TLS clients (Node's https and http2,
 * curl): a revoked certificate gets 400 under `on`, `optional` and `optional_no_ca`, counted as
 * `client_certificate_revoked`; every CA of a chain needs a CRL (OpenSSL's CRL_CHECK_ALL, as
 * nginx); a new CRL applies on the next handshake; a `ca.crl` that is not a CRL makes the Ingress
 * answer 503 with a problem naming the Secret and the key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { compileWithProblems, IngressServer, ProxyMetrics } from '@portico/ingress';
import { ingress, ingressClass, rule, tlsSecret } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { crlOf, getWithCertificate, intermediateCa, leaf, need, testCa } from './tls-kit.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
type Pair = { cert: string; key: string };
const dirs: string[] = [];
let web: Echo;
let server: IngressServer;
let httpsPort = 0;
const metrics = new ProxyMetrics();
let site: Pair;
let ca = '';
let caDir = '';
let good: Pair;
let revoked: Pair;
let foreign: Pair;
/** root -> inter -> leaf, the leaf sent with its intermediate. */
let chained: Pair;
let interCa = '';
let rootCrl = '';
let interCrl = '';
let staleCrl = '';

const HOSTS = ['on', 'opt', 'noca', 'chain', 'chain-all', 'bad', 'notcrl', 'empty', 'stale'].map(
  (h) => `${h}.test`,
);

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portico-client-crl-'));
  dirs.push(d);
  return d;
}

function opaque(name: string, data: Record<string, string>, version = '1'): V1Secret {
  return {
    metadata: { name, namespace: 'default', resourceVersion: version },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

const mtls = (host: string, secret: string, settings: Record<string, string> = {}) =>
  ingress(
    host,
    { rules: [rule(`${host}.test`, { path: '/', svc: 'web' })], tls: [{ hosts: HOSTS, secretName: 'site' }] },
    {
      annotations: Object.fromEntries(
        Object.entries({ 'ssl-redirect': 'false', 'auth-tls-secret': `default/${secret}`, ...settings }).map(
          ([k, v]) => [nginx(k), v],
        ),
      ),
    },
  );

const INGRESSES = [
  mtls('on', 'with-crl'),
  mtls('opt', 'with-crl', { 'auth-tls-verify-client': 'optional' }),
  mtls('noca', 'with-crl', { 'auth-tls-verify-client': 'optional_no_ca' }),
  mtls('chain', 'root-crl-only', { 'auth-tls-verify-depth': '2' }),
  mtls('chain-all', 'both-crls', { 'auth-tls-verify-depth': '2' }),
  mtls('bad', 'bad-crl'),
  mtls('notcrl', 'cert-as-crl'),
  mtls('empty', 'empty-crl'),
  mtls('stale', 'stale-crl'),
];

function secrets(crl: string, version = '1'): V1Secret[] {
  return [
    tlsSecret('site', site.cert, site.key),
    opaque('with-crl', { 'ca.crt': ca, 'ca.crl': crl }, version),
    opaque('root-crl-only', { 'ca.crt': ca, 'ca.crl': rootCrl }),
    opaque('both-crls', { 'ca.crt': ca, 'ca.crl': rootCrl + interCrl }),
    opaque('bad-crl', { 'ca.crt': ca, 'ca.crl': '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' }),
    opaque('cert-as-crl', { 'ca.crt': ca, 'ca.crl': ca }),
    opaque('empty-crl', { 'ca.crt': ca, 'ca.crl': '' }),
    opaque('stale-crl', { 'ca.crt': ca, 'ca.crl': staleCrl }),
  ];
}

function serve(crl: string, version: string): void {
  server.setTable(
    table([loopbackService('web', [web.port]), { ingresses: INGRESSES, secrets: secrets(crl, version) }]),
  );
}

beforeAll(async () => {
  need('openssl');
  const siteDir = tempDir();
  testCa(siteDir, 'site-ca.portico.invalid');
  site = leaf(siteDir, 'site', HOSTS);
  caDir = tempDir();
  ca = testCa(caDir, 'client-ca.portico.invalid');
  good = leaf(caDir, 'good', ['good.portico.invalid']);
  revoked = leaf(caDir, 'revoked', ['revoked.portico.invalid']);
  const otherDir = tempDir();
  testCa(otherDir, 'other-ca.portico.invalid');
  foreign = leaf(otherDir, 'foreign', ['foreign.portico.invalid']);
  const interDir = tempDir();
  interCa = intermediateCa(caDir, interDir, 'inter.portico.invalid');
  const chainedLeaf = leaf(interDir, 'chained', ['chained.portico.invalid']);
  chained = { cert: chainedLeaf.cert + interCa, key: chainedLeaf.key };
  interCrl = crlOf(interDir, []);
  staleCrl = crlOf(caDir, [], true);
  rootCrl = crlOf(caDir, [revoked.cert]);
  web = await startEcho('web');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { metrics } });
  serve(rootCrl, '1');
  httpsPort = (await server.listen()).httpsPort!;
});

afterAll(async () => {
  await server?.close();
  if (web) await stopAll([web]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS HTTP/1.1 request on a fresh connection. */
const get = (host: string, pair?: Pair): Promise<Answer> => getWithCertificate(httpsPort, host, pair);

/** The client certificate verdict the pod was sent (200 only). */
const verdictOf = (a: Answer): string =>
  (JSON.parse(a.body) as { headers: Record<string, string> }).headers['ssl-client-verify']!;

describe('a CRL in ca.crl', () => {
  it('on: a certificate of the CA that is not revoked passes; a revoked one gets 400', async () => {
    const ok = await get('on.test', good);
    expect(ok.status).toBe(200);
    expect(verdictOf(ok)).toBe('SUCCESS');
    expect((await get('on.test', revoked)).status).toBe(400);
  });

  it('curl --cert: the same 400 for the revoked certificate', async () => {
    const dir = tempDir();
    for (const [name, pair] of [
      ['good', good],
      ['revoked', revoked],
    ] as const) {
      writeFileSync(join(dir, `${name}.crt`), pair.cert);
      writeFileSync(join(dir, `${name}.key`), pair.key);
    }
    const curl = (name: string) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          'curl',
          [
            '-sS',
            '-k',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            '--resolve',
            `on.test:${httpsPort}:127.0.0.1`,
          ]
            .concat(['--cert', join(dir, `${name}.crt`), '--key', join(dir, `${name}.key`)])
            .concat([`https://on.test:${httpsPort}/`]),
          (err, out) => (err ? reject(err) : resolve(out)),
        ),
      );
    expect(await curl('good')).toBe('200');
    expect(await curl('revoked')).toBe('400');
  });

  it('HTTP/2: a revoked certificate gets 400 too', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const session = http2.connect(`https://127.0.0.1:${httpsPort}`, {
        servername: 'on.test',
        rejectUnauthorized: false,
        cert: revoked.cert,
        key: revoked.key,
      });
      session.on('error', reject);
      const req = session.request({ ':path': '/', ':authority': 'on.test' });
      req.on('response', (h) => {
        resolve(Number(h[':status']));
        session.close();
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
  });

  it('optional: none passes, a revoked one gets 400 (nginx refuses any failed verification)', async () => {
    const none = await get('opt.test');
    expect(none.status).toBe(200);
    expect(verdictOf(none)).toBe('NONE');
    expect((await get('opt.test', revoked)).status).toBe(400);
  });

  it('optional_no_ca: another CA`s certificate passes for the pod to judge; a revoked one gets 400', async () => {
    const other = await get('noca.test', foreign);
    expect(other.status).toBe(200);
    expect(verdictOf(other)).toBe('FAILED:UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect((await get('noca.test', revoked)).status).toBe(400);
    expect((await get('noca.test', good)).status).toBe(200);
  });

  it('counted as admission refusals, reason client_certificate_revoked', async () => {
    const values = (await metrics.registry.getSingleMetric('portico_ingress_admission_refusals_total')!.get())
      .values;
    const count = (ingress: string) =>
      values.find((v) => v.labels.reason === 'client_certificate_revoked' && v.labels.ingress === ingress)
        ?.value;
    expect(count('default/on')).toBeGreaterThanOrEqual(3);
    expect(count('default/opt')).toBe(1);
    expect(count('default/noca')).toBe(1);
  });

  it('every CA of the chain needs a CRL (OpenSSL`s CRL_CHECK_ALL, as nginx): the root`s alone is not enough', async () => {
    expect((await get('chain.test', chained)).status).toBe(400);
    const ok = await get('chain-all.test', chained);
    expect(ok.status).toBe(200);
    expect(verdictOf(ok)).toBe('SUCCESS');
  });

  it('a CRL past its next update fails every certificate (CRL_HAS_EXPIRED), as OpenSSL does for nginx', async () => {
    expect((await get('stale.test', good)).status).toBe(400);
  });

  it('an empty ca.crl is ignored, as ingress-nginx does', async () => {
    expect((await get('empty.test', good)).status).toBe(200);
    expect((await get('empty.test', revoked)).status).toBe(200);
  });

  it('a new CRL in the Secret applies to the next handshake', async () => {
    serve(crlOf(caDir, [revoked.cert, good.cert]), '2');
    expect((await get('on.test', good)).status).toBe(400);
    serve(rootCrl, '3');
    expect((await get('on.test', good)).status).toBe(200);
  });
});

describe('a ca.crl that is not a CRL', () => {
  it('the Ingress answers 503, whatever the certificate', async () => {
    expect((await get('bad.test', good)).status).toBe(503);
    expect((await get('notcrl.test', good)).status).toBe(503);
  });

  it('reported for that Ingress only, naming the Secret and the key', () => {
    const { problems } = compileWithProblems({
      ingresses: INGRESSES,
      classes: [ingressClass('portico')],
      ...loopbackService('web', [1]),
      secrets: secrets(rootCrl),
    });
    const lines = problems.map((p) => `${p.namespace}/${p.name} ${p.reason} ${p.message}`);
    expect(lines).toEqual([
      `default/bad InvalidCertificate metadata.annotations["${nginx('auth-tls-secret')}"]: secret "default/bad-crl": ca.crl does not parse: Failed to parse CRL; the Ingress answers 503`,
      `default/notcrl InvalidCertificate metadata.annotations["${nginx('auth-tls-secret')}"]: secret "default/cert-as-crl": ca.crl starts with a PEM "CERTIFICATE" block, not "X509 CRL"; the Ingress answers 503`,
    ]);
  });
});
