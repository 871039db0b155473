/**
 * Client certificates (auth-tls-*) through a running proxy, with openssl-made CAs and certificates,
 * over HTTPS HTTP/1.1 (the fast path's listener, which hands such routes to Node's server) and
 * HTTP/2: the certificate is asked for only on hosts that want one; `on` refuses a missing or
 * foreign certificate with 400 (or a 302 to auth-tls-error-page); `optional` lets a client
 * without one through; `optional_no_ca` lets one of an unknown CA through; the pod gets the verdict and, with
 * auth-tls-pass-certificate-to-upstream, the certificate, never what the client claimed; a missing
 * CA Secret answers 503; bad values are reported for that Ingress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { compileWithProblems, IngressServer, ProxyMetrics } from '@portico/ingress';
import { ingress, ingressClass, rule, tlsSecret } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { intermediateCa, leaf, need, testCa } from './tls-kit.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
const dirs: string[] = [];
let web: Echo;
let server: IngressServer;
let httpsPort = 0;
let httpPort = 0;
const metrics = new ProxyMetrics();
type Pair = { cert: string; key: string };
let client: Pair;
let foreign: Pair;
let deep: Pair;
let site: Pair;

const HOSTS = ['on', 'opt', 'noca', 'page', 'deep', 'denied', 'plain', 'cn', 'cn-other'].map(
  (h) => `${h}.test`,
);

function opaque(name: string, data: Record<string, string>): V1Secret {
  return {
    metadata: { name, namespace: 'default', resourceVersion: '1' },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portico-client-tls-'));
  dirs.push(d);
  return d;
}

const withAnnotations = (name: string, settings: Record<string, string>) =>
  ingress(
    name,
    { rules: [rule(`${name}.test`, { path: '/', svc: 'web' })], tls: [{ hosts: HOSTS, secretName: 'site' }] },
    {
      annotations: Object.fromEntries(
        Object.entries({ 'ssl-redirect': 'false', ...settings }).map(([k, v]) => [nginx(k), v]),
      ),
    },
  );

const INGRESSES = [
  withAnnotations('on', {
    'auth-tls-secret': 'default/client-ca',
    'auth-tls-pass-certificate-to-upstream': 'true',
  }),
  withAnnotations('opt', { 'auth-tls-secret': 'default/client-ca', 'auth-tls-verify-client': 'optional' }),
  withAnnotations('noca', {
    'auth-tls-secret': 'default/client-ca',
    'auth-tls-verify-client': 'optional_no_ca',
  }),
  withAnnotations('page', {
    'auth-tls-secret': 'default/client-ca',
    'auth-tls-error-page': 'https://errors.test/cert.html',
  }),
  withAnnotations('deep', { 'auth-tls-secret': 'default/client-ca', 'auth-tls-verify-depth': '2' }),
  withAnnotations('denied', { 'auth-tls-secret': 'default/missing' }),
  withAnnotations('plain', {}),
  withAnnotations('cn', {
    'auth-tls-secret': 'default/client-ca',
    'auth-tls-match-cn': 'CN=(client|admin)\\.',
  }),
  withAnnotations('cn-other', { 'auth-tls-secret': 'default/client-ca', 'auth-tls-match-cn': 'CN=admin' }),
];

beforeAll(async () => {
  need('openssl');
  const siteDir = tempDir();
  testCa(siteDir, 'site-ca.portico.invalid');
  site = leaf(siteDir, 'site', HOSTS);
  const caDir = tempDir();
  const ca = testCa(caDir, 'client-ca.portico.invalid');
  client = leaf(caDir, 'client', ['client.portico.invalid']);
  const otherDir = tempDir();
  testCa(otherDir, 'other-ca.portico.invalid');
  foreign = leaf(otherDir, 'foreign', ['foreign.portico.invalid']);
  const interDir = tempDir();
  const interCert = intermediateCa(caDir, interDir, 'inter');
  const deepLeaf = leaf(interDir, 'deep', ['deep.portico.invalid']);
  deep = { cert: deepLeaf.cert + interCert, key: deepLeaf.key };
  web = await startEcho('web');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { metrics } });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        ingresses: INGRESSES,
        secrets: [tlsSecret('site', site.cert, site.key), opaque('client-ca', { 'ca.crt': ca })],
      },
    ]),
  );
  const ports = await server.listen();
  httpsPort = ports.httpsPort!;
  httpPort = ports.httpPort;
});

afterAll(async () => {
  await server?.close();
  if (web) await stopAll([web]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Answer {
  status: number;
  location?: string;
  /** The pod's view of the request headers (200 only). */
  seen?: Record<string, string>;
}

/** One HTTPS HTTP/1.1 request on a fresh connection; `sni` defaults to the host. */
function get(host: string, pair?: Pair, headers: Record<string, string> = {}, sni = host): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: httpsPort,
        path: '/',
        servername: sni,
        headers: { host, ...headers },
        rejectUnauthorized: false,
        agent: false,
        ...(pair && { cert: pair.cert, key: pair.key }),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            seen:
              res.statusCode === 200
                ? (JSON.parse(body) as { headers: Record<string, string> }).headers
                : undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('auth-tls-verify-client: on (the default)', () => {
  it('a certificate of the CA: the pod gets the verdict, the names and the certificate', async () => {
    const r = await get('on.test', client);
    expect(r.status).toBe(200);
    const seen = r.seen!;
    expect(seen['ssl-client-verify']).toBe('SUCCESS');
    expect(seen['ssl-client-subject-dn']).toBe('CN=client.portico.invalid');
    expect(seen['ssl-client-issuer-dn']).toBe('CN=client-ca.portico.invalid');
    const pem = decodeURIComponent(seen['ssl-client-cert']!);
    expect(new X509Certificate(pem).fingerprint256).toBe(new X509Certificate(client.cert).fingerprint256);
  });

  it('what the client claims in ssl-client-* never reaches the pod', async () => {
    const r = await get('on.test', client, {
      'ssl-client-verify': 'FORGED',
      'ssl-client-subject-dn': 'CN=admin',
    });
    expect(r.seen!['ssl-client-verify']).toBe('SUCCESS');
    expect(r.seen!['ssl-client-subject-dn']).toBe('CN=client.portico.invalid');
  });

  it('no certificate, one of another CA, or one verified for another host (SNI): 400', async () => {
    expect((await get('on.test')).status).toBe(400);
    expect((await get('on.test', foreign)).status).toBe(400);
    // The handshake named a host that asks for no certificate: nothing was verified for on.test.
    expect((await get('on.test', client, {}, 'plain.test')).status).toBe(400);
  });

  it('plain HTTP (no certificate possible): 400', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const r = http.request(
        { host: '127.0.0.1', port: httpPort, path: '/', headers: { host: 'on.test' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      r.on('error', reject);
      r.end();
    });
    expect(status).toBe(400);
  });

  it('counted as admission refusals, reason client_certificate', async () => {
    const values = (await metrics.registry.getSingleMetric('portico_ingress_admission_refusals_total')!.get())
      .values;
    const refused = values.find(
      (v) => v.labels.reason === 'client_certificate' && v.labels.ingress === 'default/on',
    );
    expect(refused?.value).toBeGreaterThanOrEqual(4);
  });

  it('HTTP/2: the same check on the Node path', async () => {
    const h2 = (pair?: Pair): Promise<number> =>
      new Promise((resolve, reject) => {
        const session = http2.connect(`https://127.0.0.1:${httpsPort}`, {
          servername: 'on.test',
          rejectUnauthorized: false,
          ...(pair && { cert: pair.cert, key: pair.key }),
        });
        session.on('error', reject);
        const stream = session.request({ ':path': '/', ':authority': 'on.test' });
        stream.on('response', (h) => {
          resolve(Number(h[':status']));
          session.close();
        });
        stream.on('error', reject);
        stream.end();
      });
    expect(await h2(client)).toBe(200);
    expect(await h2()).toBe(400);
  });
});

describe('other modes', () => {
  it('optional: none is let through (NONE, whatever the client claims), a foreign one is not', async () => {
    const none = await get('opt.test', undefined, { 'ssl-client-verify': 'SUCCESS' });
    expect(none.status).toBe(200);
    expect(none.seen!['ssl-client-verify']).toBe('NONE');
    expect(none.seen!['ssl-client-cert']).toBeUndefined();
    expect((await get('opt.test', client)).seen!['ssl-client-verify']).toBe('SUCCESS');
    expect((await get('opt.test', foreign)).status).toBe(400);
  });

  it('optional_no_ca: all let through, the pod told which failed', async () => {
    const bad = await get('noca.test', foreign);
    expect(bad.status).toBe(200);
    expect(bad.seen!['ssl-client-verify']).toMatch(/^FAILED:/);
    expect(bad.seen!['ssl-client-subject-dn']).toBe('CN=foreign.portico.invalid');
    expect((await get('noca.test', client)).seen!['ssl-client-verify']).toBe('SUCCESS');
  });

  it('auth-tls-error-page: a 302 there instead of 400', async () => {
    const r = await get('page.test');
    expect(r.status).toBe(302);
    expect(r.location).toBe('https://errors.test/cert.html');
  });

  it('auth-tls-verify-depth: a certificate under one intermediate passes at 1 (the default), as nginx`s', async () => {
    expect((await get('on.test', deep)).status).toBe(200);
    const r = await get('deep.test', deep);
    expect(r.status).toBe(200);
    expect(r.seen!['ssl-client-verify']).toBe('SUCCESS');
  });

  it('auth-tls-match-cn: a subject that does not match gets 403', async () => {
    expect((await get('cn.test', client)).status).toBe(200);
    expect((await get('cn-other.test', client)).status).toBe(403);
    // Verification comes first: no certificate is the 400 of the check.
    expect((await get('cn-other.test')).status).toBe(400);
  });

  it('a missing CA Secret closes the Ingress: 503, certificate or not', async () => {
    expect((await get('denied.test', client)).status).toBe(503);
  });

  it('the handshake asks for a certificate (naming the CA) only for hosts that want one (openssl s_client)', async () => {
    // Asynchronously: the proxy runs in this process.
    const handshake = (sni: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = execFile(
          'openssl',
          ['s_client', '-connect', `127.0.0.1:${httpsPort}`, '-servername', sni],
          { timeout: 10_000 },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
        child.stdin!.end('Q\n');
      });
    expect(await handshake('on.test')).toMatch(
      /Acceptable client certificate CA names\n.*client-ca\.portico\.invalid/,
    );
    expect(await handshake('plain.test')).toContain('No client certificate CA names sent');
  });

  it('a host without auth-tls gets no ssl-client-* of ours', async () => {
    const r = await get('plain.test', client);
    expect(r.status).toBe(200);
    expect(r.seen!['ssl-client-verify']).toBeUndefined();
  });
});

describe('bad values, reported for that Ingress only', () => {
  const problemsOf = (settings: Record<string, string>) => {
    const own = (name: string, annotations: Record<string, string>) =>
      ingress(
        name,
        { rules: [rule(`${name}.test`, { path: '/', svc: 'web' })], tls: [{ secretName: 'site' }] },
        { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [nginx(k), v])) },
      );
    const pods = loopbackService('web', [web.port]);
    return compileWithProblems({
      ingresses: [own('bad', settings), own('good', { 'auth-tls-secret': 'default/ca' })],
      classes: [ingressClass('portico')],
      services: pods.services,
      endpointSlices: pods.endpointSlices,
      secrets: [
        tlsSecret('site', site.cert, site.key),
        opaque('ca', { 'ca.crt': readFileSync(join(dirs[1]!, 'ca.crt'), 'utf8') }),
      ],
    }).problems.map((p) => `${p.namespace}/${p.name} ${p.reason} ${p.message}`);
  };

  it.each([
    ['auth-tls-verify-client', 'maybe', '"on", "off", "optional" or "optional_no_ca"'],
    ['auth-tls-verify-depth', '0', 'a whole number from 1 to 100'],
    ['auth-tls-error-page', 'javascript:alert(1)', 'an absolute http(s) URL'],
    ['auth-tls-pass-certificate-to-upstream', 'yes', 'a boolean'],
    ['auth-tls-match-cn', 'O=acme', 'a regular expression starting with "CN="'],
    ['auth-tls-match-cn', 'CN=(a+)+$', 'a regular expression starting with "CN=" that cannot backtrack'],
  ])('%s: %s', (name, value, expected) => {
    const problems = problemsOf({ 'auth-tls-secret': 'default/ca', [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`default/bad InvalidAnnotation metadata.annotations["${nginx(name)}"]`);
    expect(problems[0]).toContain(`"${value}" is not ${expected}`);
  });

  it('a host without a certificate of its own, and a second CA for one host: reported', () => {
    const pods = loopbackService('web', [web.port]);
    const caPem = readFileSync(join(dirs[1]!, 'ca.crt'), 'utf8');
    const mtls = (name: string, host: string, secret: string, tls: boolean) =>
      ingress(
        name,
        {
          rules: [rule(host, { path: `/${name}`, svc: 'web' })],
          ...(tls && { tls: [{ secretName: 'site' }] }),
        },
        { annotations: { [nginx('auth-tls-secret')]: secret } },
      );
    const { problems, table: compiled } = compileWithProblems({
      ingresses: [
        mtls('bare', 'bare.test', 'default/ca', false),
        mtls('first', 'shared.test', 'default/ca', true),
        mtls('second', 'shared.test', 'default/ca2', true),
      ],
      classes: [ingressClass('portico')],
      services: pods.services,
      endpointSlices: pods.endpointSlices,
      secrets: [
        tlsSecret('site', site.cert, site.key),
        opaque('ca', { 'ca.crt': caPem }),
        opaque('ca2', { 'ca.crt': caPem }),
      ],
    });
    const lines = problems.map((p) => `${p.namespace}/${p.name} ${p.reason} ${p.message}`);
    expect(lines).toContainEqual(expect.stringContaining('default/bare InvalidAnnotation'));
    expect(lines.find((l) => l.startsWith('default/bare'))).toContain('has no TLS certificate of its own');
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^default\/second RuleConflict .*already verifies client certificates against secret "default\/ca@1"/,
      ),
    );
    expect(compiled.certs.find((c) => c.host === 'shared.test')?.id).toContain('#client-ca:default/ca@1');
  });

  it('a Secret of another namespace or not a Secret name: the Ingress answers 503', () => {
    expect(problemsOf({ 'auth-tls-secret': 'other/ca' })[0]).toContain(
      'is not a Secret of namespace "default"; the Ingress answers 503',
    );
    expect(problemsOf({ 'auth-tls-secret': 'no such' })[0]).toContain('the Ingress answers 503');
  });
});
