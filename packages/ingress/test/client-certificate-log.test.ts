/**
 * The warn line of a client certificate refused for failing verification (certificate-refusal-log.ts):
 * through a running proxy with openssl-made certificates, a revoked one (`ca.crl`) and one of
 * another CA get a line naming the Ingress, host, client and certificate; a good one and a request
 * without a certificate get none; a client refused 100 times in a loop gets one line. Directly: at
 * most 100 lines a minute in all, the left-out refusals counted on the next line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import pino from 'pino';
import { IngressServer, selfSignedPair, type Target } from '@portico/ingress';
import { CertificateRefusalLog } from '../src/certificate-refusal-log.js';
import { ingress, rule, tlsSecret } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { crlOf, leaf, need, statusWithCertificate, testCa } from './tls-kit.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
type Pair = { cert: string; key: string };
const dirs: string[] = [];
let web: Echo;
let server: IngressServer;
let httpsPort = 0;
let good: Pair;
let revoked: Pair;
let foreign: Pair;
/** Every line the proxy's own log wrote, parsed. */
const lines: Record<string, unknown>[] = [];
const warnings = (ingressName: string) =>
  lines.filter((l) => l.level === 40 && l.ingress === `default/${ingressName}`);

const HOSTS = ['on.test', 'loop.test'];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portico-client-log-'));
  dirs.push(d);
  return d;
}

const mtls = (name: string) =>
  ingress(
    name,
    { rules: [rule(`${name}.test`, { path: '/', svc: 'web' })], tls: [{ hosts: HOSTS, secretName: 'site' }] },
    { annotations: { [nginx('ssl-redirect')]: 'false', [nginx('auth-tls-secret')]: 'default/client-ca' } },
  );

beforeAll(async () => {
  need('openssl');
  const site = selfSignedPair('on.test');
  const caDir = tempDir();
  const ca = testCa(caDir, 'client-ca.portico.invalid');
  good = leaf(caDir, 'good', ['good.portico.invalid']);
  revoked = leaf(caDir, 'revoked', ['revoked.portico.invalid']);
  const otherDir = tempDir();
  testCa(otherDir, 'other-ca.portico.invalid');
  foreign = leaf(otherDir, 'foreign', ['foreign.portico.invalid']);
  const caSecret: V1Secret = {
    metadata: { name: 'client-ca', namespace: 'default', resourceVersion: '1' },
    type: 'Opaque',
    data: {
      'ca.crt': Buffer.from(ca).toString('base64'),
      'ca.crl': Buffer.from(crlOf(caDir, [revoked.cert])).toString('base64'),
    },
  };
  web = await startEcho('web');
  const logger = pino(
    {},
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  // The proxy's own log only: the lines are written with the access log switched off.
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { log: logger } });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        ingresses: [mtls('on'), mtls('loop')],
        secrets: [tlsSecret('site', site.cert, site.key), caSecret],
      },
    ]),
  );
  httpsPort = (await server.listen()).httpsPort!;
});

afterAll(async () => {
  await server?.close();
  if (web) await stopAll([web]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('through the proxy', () => {
  it('a revoked certificate: 400 and a warn line naming the Ingress, host, client and certificate', async () => {
    expect(await statusWithCertificate(httpsPort, 'on.test', revoked)).toBe(400);
    const cert = new X509Certificate(revoked.cert);
    expect(warnings('on')).toEqual([
      expect.objectContaining({
        msg: 'client certificate refused',
        ingress: 'default/on',
        host: 'on.test',
        client: '127.0.0.1',
        reason: 'client_certificate_revoked',
        verify: 'FAILED:CERT_REVOKED',
        subject: 'CN=revoked.portico.invalid',
        serial: cert.serialNumber,
        issuer: 'CN=client-ca.portico.invalid',
        suppressed: 0,
      }),
    ]);
  });

  it('a certificate of another CA: a line with its verdict; a good one and none at all: no line', async () => {
    const before = warnings('on').length;
    expect(await statusWithCertificate(httpsPort, 'on.test', good)).toBe(200);
    expect(await statusWithCertificate(httpsPort, 'on.test', undefined)).toBe(400);
    expect(warnings('on')).toHaveLength(before);
    expect(await statusWithCertificate(httpsPort, 'on.test', foreign)).toBe(400);
    expect(warnings('on').slice(before)).toEqual([
      expect.objectContaining({
        reason: 'client_certificate',
        verify: expect.stringMatching(/^FAILED:UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF)/) as string,
        subject: 'CN=foreign.portico.invalid',
        issuer: 'CN=other-ca.portico.invalid',
      }),
    ]);
  });

  it('a client refused 100 times in a loop (one keep-alive connection): one line, nothing else written', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false, ...revoked });
    const status = () =>
      new Promise<number>((resolve, reject) =>
        https
          .get(
            {
              host: '127.0.0.1',
              port: httpsPort,
              servername: 'loop.test',
              headers: { host: 'loop.test' },
              agent,
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          )
          .on('error', reject),
      );
    for (let i = 0; i < 100; i++) expect(await status()).toBe(400);
    agent.destroy();
    expect(warnings('loop')).toHaveLength(1);
    // No access log: the one line is all that was written.
    expect(lines.filter((l) => l.host === 'loop.test')).toHaveLength(1);
  });
});

describe('CertificateRefusalLog', () => {
  /** A TLS connection as client-certificate.ts reads one: its certificate, verified against no CA here. */
  const cert = new X509Certificate(selfSignedPair('client.portico.invalid').cert);
  const socket = { getPeerX509Certificate: () => cert, authorizationError: null } as unknown as TLSSocket;
  const facts = {
    authorization: undefined,
    client: () => '192.0.2.7',
    tls: () => socket,
    host: 'A.test:443',
  };
  const target = (n: number): Target => ({
    ingress: `default/app-${n}`,
    backend: null,
    clientTls: { secret: 'default/ca', verify: 'on', depth: 1, passCertificate: false, ca: 'another CA' },
  });

  function capture(): { log: CertificateRefusalLog; written: Record<string, unknown>[] } {
    const written: Record<string, unknown>[] = [];
    const logger = pino(
      {},
      { write: (line: string) => written.push(JSON.parse(line) as Record<string, unknown>) },
    );
    return { log: new CertificateRefusalLog(logger), written };
  }

  it('many certificates (here: Ingresses) in a minute: at most 100 lines; the next minute counts the rest', () => {
    const { log, written } = capture();
    for (let n = 0; n < 250; n++) log.refused(target(n), facts, 'client_certificate', 1_000 + n);
    expect(written).toHaveLength(100);
    expect(written[0]).toMatchObject({ host: 'a.test', client: '192.0.2.7', suppressed: 0 });
    log.refused(target(0), facts, 'client_certificate', 61_000);
    expect(written).toHaveLength(101);
    expect(written[100]).toMatchObject({ ingress: 'default/app-0', suppressed: 150 });
  });

  it('the same certificate again: once a minute', () => {
    const { log, written } = capture();
    for (let ms = 0; ms < 180_000; ms += 100) log.refused(target(1), facts, 'client_certificate', ms);
    expect(written).toHaveLength(3);
    expect(written.map((l) => l.suppressed)).toEqual([0, 599, 599]);
  });
});
