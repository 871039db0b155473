/**
 * limit-rate on WebSocket tunnels and gRPC, as nginx: not paced. nginx's limit_rate lives in its
 * write filter; an upgraded connection is relayed by ngx_http_upstream_process_upgraded straight
 * to the socket (no filter), and grpc_pass is always unbuffered, where nginx sets the request's
 * limit_rate to 0 (ngx_http_upstream_send_response). Measured with real pods on loopback: a
 * WebSocket pod and an h2c gRPC-style pod each sending 96 KiB under `limit-rate: 16` (which would
 * take 5 s paced) deliver at once, while an HTTP/1 response of the same Ingress is paced.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngressServer } from '@portico/ingress';
import { ingress, rule, tlsSecret } from './fixtures.js';
import { loopbackService, table } from './backends.js';
import { leaf, need, testCa } from './tls-kit.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
const BIG = 96 * 1024;
const PAGE = 48 * 1024;
let dir = '';
let ca = '';
let webPod: http.Server;
let grpcPod: http2.Http2Server;
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;

beforeAll(async () => {
  need('openssl');
  dir = mkdtempSync(join(tmpdir(), 'portico-limit-rate-tunnels-'));
  ca = testCa(dir);
  const front = leaf(dir, 'front', ['grpc.test']);
  // An HTTP/1 pod: a page, and WebSocket upgrades answered with 96 KiB at once.
  webPod = http.createServer((_req, res) => res.writeHead(200).end(Buffer.alloc(PAGE, 0x61)));
  webPod.on('upgrade', (_req, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.end(Buffer.alloc(BIG, 0x62));
  });
  await new Promise<void>((r) => webPod.listen(0, '127.0.0.1', r));
  // An h2c pod answering as a gRPC server would: 96 KiB of DATA, then trailers.
  grpcPod = http2.createServer();
  grpcPod.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.alloc(BIG, 0x63));
  });
  await new Promise<void>((r) => grpcPod.listen(0, '127.0.0.1', r));
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  const limited = { [nginx('limit-rate')]: '16', [nginx('ssl-redirect')]: 'false' };
  server.setTable(
    table([
      loopbackService('web', [(webPod.address() as AddressInfo).port]),
      loopbackService('grpc', [(grpcPod.address() as AddressInfo).port]),
      {
        secrets: [tlsSecret('front', front.cert, front.key)],
        ingresses: [
          ingress('web', { rules: [rule('web.test', { path: '/', svc: 'web' })] }, { annotations: limited }),
          ingress(
            'grpc',
            {
              tls: [{ hosts: ['grpc.test'], secretName: 'front' }],
              rules: [rule('grpc.test', { path: '/', svc: 'grpc' })],
            },
            { annotations: { ...limited, [nginx('backend-protocol')]: 'GRPC' } },
          ),
        ],
      },
    ]),
  );
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  webPod?.closeAllConnections();
  webPod?.close();
  grpcPod?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Bytes received after the head, and the seconds from the request to the last of them. */
function timed(run: (done: (bytes: number) => void, fail: (err: Error) => void) => void): Promise<{
  bytes: number;
  seconds: number;
}> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    run((bytes) => resolve({ bytes, seconds: (performance.now() - t0) / 1000 }), reject),
  );
}

it('an HTTP/1 response of the Ingress is paced (the control): 48 KiB at 16 KiB/s take 2 s', async () => {
  const r = await timed((done, fail) => {
    http
      .get({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host: 'web.test' } }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => done(bytes));
      })
      .on('error', fail);
  });
  expect(r.bytes).toBe(PAGE);
  expect(r.seconds).toBeGreaterThan(1.8);
});

it('a WebSocket tunnel is not paced, as nginx`s upgraded connections: 96 KiB at once', async () => {
  const r = await timed((done, fail) => {
    const sock = connect(httpPort, '127.0.0.1');
    let text = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (text = Buffer.concat([text, d])));
    sock.on('end', () => {
      const head = text.indexOf('\r\n\r\n');
      expect(text.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
      done(text.length - head - 4);
    });
    sock.on('error', fail);
    sock.write(
      'GET /ws HTTP/1.1\r\nHost: web.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
  expect(r.bytes).toBe(BIG);
  expect(r.seconds).toBeLessThan(1.5);
});

it('a gRPC response is not paced, as nginx`s grpc_pass: 96 KiB at once', async () => {
  const r = await timed((done, fail) => {
    const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { servername: 'grpc.test', ca });
    session.on('error', fail);
    const req = session.request({
      ':method': 'POST',
      ':path': '/test.Echo/Big',
      ':authority': 'grpc.test',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let bytes = 0;
    let status = '';
    req.on('trailers', (t) => (status = String(t['grpc-status'])));
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => {
      session.close();
      expect(status).toBe('0');
      done(bytes);
    });
    req.on('error', fail);
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  expect(r.bytes).toBe(BIG);
  expect(r.seconds).toBeLessThan(1.5);
});
