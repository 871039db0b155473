/**
 * What route annotations do to Upgrade requests (WebSocket) and gRPC, through a running proxy with
 * real pods on loopback: `backend-protocol: HTTPS` tunnels the handshake to a TLS pod (unverified,
 * and verified against proxy-ssl-secret's CA: a wrong CA is a 502); `enable-cors` puts its headers on
 * the 101; `affinity: cookie` sets its cookie on the 101 and sends a client with the cookie to the
 * same pod, for WebSockets and for gRPC (HTTP/2 pods, backend-protocol GRPC).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { V1Secret } from '@kubernetes/client-node';
import { IngressServer } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, table } from './backends.js';
import { leaf, need, testCa } from './tls-kit.js';
import { statusOf } from './plane-request.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
let dir = '';
let otherDir = '';
let server: IngressServer;
let httpPort = 0;
const pods: { close(): void; closeAllConnections?(): void }[] = [];

/** A WebSocket-ish pod: answers a handshake with 101 naming itself, then echoes what it gets. */
function onUpgrade(name: string) {
  return (req: http.IncomingMessage, socket: Duplex): void => {
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC11B85`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Accept: ${accept}\r\nX-Pod: ${name}\r\nAccess-Control-Allow-Origin: https://pod.own\r\n\r\n`,
    );
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('error', () => socket.destroy());
  };
}

async function listening<S extends http.Server | https.Server | http2.Http2Server>(s: S): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  pods.push(s as unknown as { close(): void });
  return (s.address() as AddressInfo).port;
}

function opaque(name: string, data: Record<string, string>): V1Secret {
  return {
    metadata: { name, namespace: 'default', resourceVersion: '1' },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

beforeAll(async () => {
  need('openssl');
  dir = mkdtempSync(join(tmpdir(), 'portico-upgrade-policy-'));
  otherDir = mkdtempSync(join(tmpdir(), 'portico-upgrade-policy-other-'));
  const ca = testCa(dir);
  const otherCa = testCa(otherDir, 'other-ca.portico.invalid');
  const tlsPod = https.createServer(leaf(dir, 'pod', ['pod.internal']));
  tlsPod.on('upgrade', onUpgrade('tls'));
  const tlsPort = await listening(tlsPod);
  const plainPorts: number[] = [];
  for (const name of ['a', 'b', 'c']) {
    const pod = http.createServer((_req, res) => res.end(name));
    pod.on('upgrade', onUpgrade(name));
    plainPorts.push(await listening(pod));
  }
  const grpcPorts: number[] = [];
  for (const name of ['ga', 'gb', 'gc']) {
    const pod = http2.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`pod=${name};`);
    });
    grpcPorts.push(await listening(pod));
  }
  const secrets = [opaque('pod-ca', { 'ca.crt': ca }), opaque('other-ca', { 'ca.crt': otherCa })];
  const one = (name: string, svc: string, annotations: Record<string, string>) =>
    ingress(
      name,
      { rules: [rule(`${name}.test`, { path: '/', svc })] },
      { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [nginx(k), v])) },
    );
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: null });
  server.setTable(
    table([
      loopbackService('tls', [tlsPort]),
      loopbackService('plain', plainPorts),
      loopbackService('grpc', grpcPorts),
      {
        secrets,
        ingresses: [
          one('wss', 'tls', { 'backend-protocol': 'HTTPS' }),
          one('wss-verified', 'tls', {
            'backend-protocol': 'HTTPS',
            'proxy-ssl-verify': 'on',
            'proxy-ssl-secret': 'default/pod-ca',
            'proxy-ssl-name': 'pod.internal',
          }),
          one('wss-wrong-ca', 'tls', {
            'backend-protocol': 'HTTPS',
            'proxy-ssl-verify': 'on',
            'proxy-ssl-secret': 'default/other-ca',
            'proxy-ssl-name': 'pod.internal',
          }),
          one('cors', 'plain', { 'enable-cors': 'true', 'cors-allow-origin': 'https://app.test' }),
          one('sticky', 'plain', { affinity: 'cookie', 'session-cookie-name': 'route' }),
          one('grpc-sticky', 'grpc', {
            'backend-protocol': 'GRPC',
            affinity: 'cookie',
            'session-cookie-name': 'grpcroute',
          }),
        ],
      },
    ]),
  );
  ({ httpPort } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  for (const p of pods) {
    p.closeAllConnections?.();
    p.close();
  }
  for (const d of [dir, otherDir]) if (d) rmSync(d, { recursive: true, force: true });
});

/**
 * A WebSocket handshake to `host`; resolves with the answer head and, after a 101, the echo of
 * `ping` through the tunnel.
 */
function handshake(host: string, extra = ''): Promise<{ head: string; echo: string }> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(httpPort, '127.0.0.1');
    let text = '';
    let head = '';
    sock.on('error', reject);
    sock.on('close', () => resolve({ head: head || text, echo: '' }));
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (head === '') {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = text.slice(0, end + 2);
        text = text.slice(end + 4);
        if (statusOf(head) === 101) sock.write('ping');
        else return;
      }
      if (text.length >= 4) {
        resolve({ head, echo: text });
        sock.destroy();
      }
    });
    sock.write(
      `GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
    );
  });
}

const field = (head: string, name: string): string | undefined =>
  new RegExp(`\\r\\n${name}: ([^\\r]*)`, 'i').exec(head)?.[1];

describe('WebSocket to a pod over TLS (backend-protocol: HTTPS)', () => {
  it('unverified, as ingress-nginx`s default: the tunnel carries bytes both ways', async () => {
    const { head, echo } = await handshake('wss.test');
    expect(statusOf(head)).toBe(101);
    expect(field(head, 'x-pod')).toBe('tls');
    expect(echo).toBe('ping');
  });

  it('verified against proxy-ssl-secret`s CA and proxy-ssl-name', async () => {
    const { head, echo } = await handshake('wss-verified.test');
    expect(statusOf(head)).toBe(101);
    expect(echo).toBe('ping');
  });

  it('a pod whose certificate another CA signed is refused: 502', async () => {
    const { head } = await handshake('wss-wrong-ca.test');
    expect(statusOf(head)).toBe(502);
  });
});

describe('CORS on the 101', () => {
  it('an allowed Origin gets the route`s headers, replacing the pod`s', async () => {
    const { head, echo } = await handshake('cors.test', 'Origin: https://app.test\r\n');
    expect(statusOf(head)).toBe(101);
    expect(field(head, 'access-control-allow-origin')).toBe('https://app.test');
    expect(field(head, 'access-control-allow-credentials')).toBe('true');
    expect(head.match(/access-control-allow-origin/gi)).toHaveLength(1);
    expect(echo).toBe('ping');
  });

  it('another Origin gets none of ours (the pod`s own stays)', async () => {
    const { head } = await handshake('cors.test', 'Origin: https://evil.test\r\n');
    expect(statusOf(head)).toBe(101);
    expect(field(head, 'access-control-allow-origin')).toBe('https://pod.own');
    expect(field(head, 'access-control-allow-credentials')).toBeUndefined();
  });
});

describe('cookie affinity', () => {
  it('WebSocket: the 101 sets the cookie; with it every handshake goes to the same pod', async () => {
    const first = await handshake('sticky.test');
    expect(statusOf(first.head)).toBe(101);
    const cookie = /^route=([0-9a-f]+)/.exec(field(first.head, 'set-cookie') ?? '')?.[1];
    expect(cookie).toMatch(/^[0-9a-f]{32}$/);
    const pod = field(first.head, 'x-pod');
    for (let i = 0; i < 6; i++) {
      const again = await handshake('sticky.test', `Cookie: route=${cookie}\r\n`);
      expect(field(again.head, 'x-pod')).toBe(pod);
      expect(field(again.head, 'set-cookie')).toBeUndefined();
    }
  });

  it('gRPC (HTTP/2 pods): the answer sets the cookie; with it every call goes to the same pod', async () => {
    const call = (cookie?: string): Promise<{ status: number; pod?: string; setCookie?: string }> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: httpPort,
            method: 'POST',
            path: '/svc.Echo/Call',
            headers: {
              host: 'grpc-sticky.test',
              'content-type': 'application/grpc',
              te: 'trailers',
              ...(cookie && { cookie }),
            },
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                pod: /pod=(\w+);/.exec(body)?.[1],
                setCookie: res.headers['set-cookie']?.[0],
              }),
            );
          },
        );
        req.on('error', reject);
        req.end('\0\0\0\0\0');
      });
    const first = await call();
    expect(first.status).toBe(200);
    const cookie = /^grpcroute=([0-9a-f]{32})/.exec(first.setCookie ?? '')?.[1];
    expect(cookie).toBeDefined();
    for (let i = 0; i < 6; i++) {
      const again = await call(`grpcroute=${cookie}`);
      expect(again.pod).toBe(first.pod);
      expect(again.setCookie).toBeUndefined();
    }
  });
});
