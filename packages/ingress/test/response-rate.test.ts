/**
 * limit-rate and limit-rate-after: nginx's arithmetic (ResponsePace), and through a running proxy
 * with curl against a real pod: a 300 KiB body at 100 KB/s takes about 2 s (the first second's
 * worth goes at once), with limit-rate-after 250 it does not wait, without the annotation it does
 * not either; bad values are refused for that Ingress with the annotation and value named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileWithProblems, IngressServer, readIngressAnnotations, ResponsePace } from '@portico/ingress';
import { ingress, ingressClass, rule } from './fixtures.js';
import { loopbackService, table } from './backends.js';
import { need } from './tls-kit.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
const BODY = Buffer.alloc(300 * 1024, 'x');
let pod: http.Server;
let server: IngressServer;
let httpPort = 0;

const paced = (name: string, annotations: Record<string, string>) =>
  ingress(
    name,
    { rules: [rule(`${name}.test`, { path: '/', svc: 'pod' })] },
    { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [nginx(k), v])) },
  );

beforeAll(async () => {
  need('curl');
  pod = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
    res.end(BODY);
  });
  await new Promise<void>((r) => pod.listen(0, '127.0.0.1', r));
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: null });
  server.setTable(
    table([
      loopbackService('pod', [(pod.address() as AddressInfo).port]),
      {
        ingresses: [
          paced('slow', { 'limit-rate': '100' }),
          paced('after', { 'limit-rate': '100', 'limit-rate-after': '250' }),
          paced('free', {}),
        ],
      },
    ]),
  );
  ({ httpPort } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  pod?.closeAllConnections();
  pod?.close();
});

describe('through the proxy (curl)', () => {
  const url = () => `http://127.0.0.1:${httpPort}/big`;
  const get = (host: string) =>
    new Promise<{ seconds: number; bytes: number }>((resolve, reject) => {
      execFile(
        'curl',
        ['-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', '-H', `Host: ${host}`, url()],
        { timeout: 20_000 },
        (err, stdout) => {
          if (err) return reject(err);
          const [seconds, bytes] = stdout.split(' ').map(Number);
          resolve({ seconds: seconds!, bytes: bytes! });
        },
      );
    });
  it('limit-rate 100: 300 KiB take about 2 s, all of them arrive', async () => {
    const r = await get('slow.test');
    expect(r.bytes).toBe(BODY.length);
    expect(r.seconds).toBeGreaterThanOrEqual(1.8);
    expect(r.seconds).toBeLessThan(6);
  });

  it('limit-rate-after 250: the first 250 KiB and a second`s worth go at once', async () => {
    const r = await get('after.test');
    expect(r.bytes).toBe(BODY.length);
    expect(r.seconds).toBeLessThan(1.5);
  });

  it('without the annotation: not paced', async () => {
    const r = await get('free.test');
    expect(r.bytes).toBe(BODY.length);
    expect(r.seconds).toBeLessThan(1.5);
  });
});

describe('ResponsePace (nginx`s limit_rate arithmetic)', () => {
  it('a second`s worth at once after `after`, then the rate', () => {
    const t0 = performance.now();
    const pace = new ResponsePace({ bytesPerSecond: 1000, after: 500 }, t0);
    expect(pace.room(t0)).toBe(1500);
    pace.wrote(2000);
    expect(pace.room(t0)).toBe(-500);
    // Room for 50 bytes (a twentieth of a second's worth) in 550 ms.
    expect(pace.waitFor(10_000, t0)).toBe(550);
    expect(pace.room(t0 + 1000)).toBe(500);
  });
});

describe('the annotations', () => {
  it('kilobytes per second; 0 is no limit', () => {
    const read = (a: Record<string, string>) =>
      readIngressAnnotations(Object.fromEntries(Object.entries(a).map(([k, v]) => [nginx(k), v]))).policy
        .responseRate;
    expect(read({ 'limit-rate': '100', 'limit-rate-after': '10' })).toEqual({
      bytesPerSecond: 102400,
      after: 10240,
    });
    expect(read({ 'limit-rate': '0' })).toBeUndefined();
  });

  it.each([
    ['limit-rate', '100k'],
    ['limit-rate', '-1'],
    ['limit-rate-after', '1m'],
  ])('%s: %s is refused for that Ingress, named with its value', (name, value) => {
    const pods = loopbackService('pod', [1]);
    const { problems } = compileWithProblems({
      ingresses: [
        paced('bad', { 'limit-rate': '100', [name]: value }),
        paced('good', { 'limit-rate': '100' }),
      ],
      classes: [ingressClass('portico')],
      services: pods.services,
      endpointSlices: pods.endpointSlices,
      secrets: [],
    });
    expect(problems.map((p) => `${p.namespace}/${p.name} ${p.reason} ${p.message}`)).toEqual([
      `default/bad InvalidAnnotation metadata.annotations["${nginx(name)}"]: "${value}" is not a whole number of kilobytes; ignored`,
    ]);
  });
});
