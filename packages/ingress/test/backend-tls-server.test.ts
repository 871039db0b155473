/**
 * backend-protocol: HTTPS through a running proxy: a real TLS pod (node:https, openssl-made
 * certificate), reached from the Node path (chunked POST) and from the fast path, which hands such
 * routes to Node's server: unverified by default (ingress-nginx's proxy-ssl-verify off), SNI only
 * with proxy-ssl-server-name, verification against the proxy-ssl-secret's ca.crt and
 * proxy-ssl-name (a wrong CA or name is refused: 502), a client certificate from the Secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import { compileWithProblems, IngressServer, ProxyMetrics, readIngressAnnotations } from '@portico/ingress';
import { ingress, ingressClass, rule } from './fixtures.js';
import { loopbackService, table } from './backends.js';
import { leaf, need, testCa } from './tls-kit.js';
import { planeRequest, statusOf, type Plane } from './plane-request.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

let dir = '';
let otherDir = '';
let pod: https.Server;
let server: IngressServer;
let httpPort = 0;
let secrets: V1Secret[] = [];
const metrics = new ProxyMetrics();

/** Status and the pod's view (SNI, client certificate) of one request on a fresh connection. */
async function request(
  host: string,
  plane: Plane,
): Promise<{ status: number; sni?: string | false; client?: string }> {
  const text = await planeRequest(httpPort, plane, host);
  const status = statusOf(text);
  return status === 200
    ? { status, ...(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as object) }
    : { status };
}

function opaque(name: string, data: Record<string, string>): V1Secret {
  return {
    metadata: { name, namespace: 'default', resourceVersion: '1' },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

const tlsIngress = (name: string, settings: Record<string, string>) =>
  ingress(
    name,
    { rules: [rule(`${name}.test`, { path: '/', svc: 'pod' })] },
    {
      annotations: Object.fromEntries(
        Object.entries({ 'backend-protocol': 'HTTPS', ...settings }).map(([k, v]) => [nginx(k), v]),
      ),
    },
  );

const INGRESSES = [
  tlsIngress('unverified', {}),
  tlsIngress('sni', { 'proxy-ssl-server-name': 'on', 'proxy-ssl-name': 'pod.internal' }),
  tlsIngress('sni-host', { 'proxy-ssl-server-name': 'on' }),
  tlsIngress('verified', {
    'proxy-ssl-verify': 'on',
    'proxy-ssl-secret': 'default/pod-ca',
    'proxy-ssl-name': 'pod.internal',
  }),
  tlsIngress('wrong-ca', {
    'proxy-ssl-verify': 'on',
    'proxy-ssl-secret': 'default/other-ca',
    'proxy-ssl-name': 'pod.internal',
  }),
  tlsIngress('wrong-name', {
    'proxy-ssl-verify': 'on',
    'proxy-ssl-secret': 'default/pod-ca',
    'proxy-ssl-name': 'elsewhere.internal',
  }),
  tlsIngress('client-cert', { 'proxy-ssl-secret': 'default/client' }),
  ingress('cleartext', { rules: [rule('cleartext.test', { path: '/', svc: 'pod' })] }),
];

beforeAll(async () => {
  need('openssl');
  dir = mkdtempSync(join(tmpdir(), 'portico-backend-tls-'));
  otherDir = mkdtempSync(join(tmpdir(), 'portico-backend-tls-other-'));
  const ca = testCa(dir);
  const otherCa = testCa(otherDir, 'other-ca.portico.invalid');
  const podPair = leaf(dir, 'pod', ['pod.internal']);
  const clientPair = leaf(dir, 'client', ['client.portico.invalid']);
  pod = https.createServer({ ...podPair, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    const body = JSON.stringify({ sni: socket.servername, client: peer?.subject?.CN });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => pod.listen(0, '127.0.0.1', r));
  secrets = [
    opaque('pod-ca', { 'ca.crt': ca }),
    opaque('other-ca', { 'ca.crt': otherCa }),
    opaque('client', { 'tls.crt': clientPair.cert, 'tls.key': clientPair.key }),
  ];
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, proxy: { metrics } });
  server.setTable(
    table([loopbackService('pod', [(pod.address() as AddressInfo).port]), { ingresses: INGRESSES, secrets }]),
  );
  ({ httpPort } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  pod?.closeAllConnections();
  pod?.close();
  for (const d of [dir, otherDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe.each(['fast', 'node'] as const)('%s path', (plane) => {
  it('HTTPS without verification reaches the pod, without SNI', async () => {
    expect(await request('unverified.test', plane)).toEqual({ status: 200, sni: false });
  });

  it('proxy-ssl-server-name on sends proxy-ssl-name as SNI, else the request host', async () => {
    expect(await request('sni.test', plane)).toMatchObject({ status: 200, sni: 'pod.internal' });
    expect(await request('sni-host.test', plane)).toMatchObject({ status: 200, sni: 'sni-host.test' });
  });

  it('proxy-ssl-verify on: the right CA and name pass; a wrong CA or name gets 502', async () => {
    expect(await request('verified.test', plane)).toMatchObject({ status: 200 });
    expect(await request('wrong-ca.test', plane)).toEqual({ status: 502 });
    expect(await request('wrong-name.test', plane)).toEqual({ status: 502 });
    const text = await metrics.registry.getSingleMetricAsString('portico_ingress_upstream_errors_total');
    expect(text).toMatch(/service="default\/pod:80",reason="tls"\} [1-9]/);
  });

  it('the Secret tls.crt and tls.key are presented as client certificate', async () => {
    expect(await request('client-cert.test', plane)).toMatchObject({
      status: 200,
      client: 'client.portico.invalid',
    });
    expect(await request('unverified.test', plane)).not.toHaveProperty('client');
  });

  it('without backend-protocol the TLS pod is spoken to in clear: it hangs up, 502', async () => {
    expect(await request('cleartext.test', plane)).toEqual({ status: 502 });
  });
});

describe('compiled', () => {
  it('reads the Secret into the route, and reports a missing or foreign one', () => {
    const compiled = compileWithProblems({
      classes: [ingressClass('portico')],
      ingresses: [
        ...INGRESSES,
        tlsIngress('missing', { 'proxy-ssl-secret': 'default/nope' }),
        tlsIngress('foreign', { 'proxy-ssl-secret': 'kube-system/ca' }),
      ],
      services: [],
      endpointSlices: [],
      secrets,
    });
    const target = compiled.table.hosts.find((h) => h.host === 'verified.test')!.prefix[0]!.target;
    expect(target.backendProtocol).toBe('HTTPS');
    expect(target.proxySsl).toMatchObject({
      verify: true,
      name: 'pod.internal',
      ca: expect.stringContaining('BEGIN CERTIFICATE'),
    });
    expect(compiled.problems).toContainEqual(
      expect.objectContaining({ name: 'missing', reason: 'SecretNotFound' }),
    );
    expect(compiled.problems).toContainEqual(
      expect.objectContaining({
        name: 'foreign',
        reason: 'InvalidAnnotation',
        message: expect.stringContaining('not a Secret of namespace'),
      }),
    );
  });

  it.each([
    ['backend-protocol', 'SPDY'],
    ['backend-protocol', 'FCGI'],
    ['proxy-ssl-verify', 'true'],
    ['proxy-ssl-server-name', 'yes'],
    ['proxy-ssl-name', 'not a name'],
    ['proxy-ssl-secret', 'no-namespace'],
  ])('%s: %j is refused', (name, value) => {
    const read = readIngressAnnotations({ [nginx(name)]: value });
    expect(read.policy).toEqual({});
    expect(read.bad).toEqual([expect.objectContaining({ annotation: nginx(name), value })]);
  });

  it.each([
    ['http', {}],
    ['https', { backendProtocol: 'HTTPS' }],
    ['GRPC', { backendProtocol: 'GRPC' }],
    ['grpcs', { backendProtocol: 'GRPCS' }],
  ])('backend-protocol %j', (value, policy) => {
    expect(readIngressAnnotations({ [nginx('backend-protocol')]: value }).policy).toEqual(policy);
  });
});
