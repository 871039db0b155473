/**
 * `trustedProxies` through a running proxy: the headers an echo pod received from a trusted and an
 * untrusted peer, on the fast path, the Node path (a chunked upload is handed over) and HTTP/2, with
 * the peer given by the connection or by a PROXY protocol header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { encodeV1, IngressServer, type ProxyAddress } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const v4 = (address: string, port: number): ProxyAddress => ({ address, port, family: 'IPv4' });

let echo: Echo;
const servers: IngressServer[] = [];
/** Peer 127.0.0.1 trusted. */
let trustingPort = 0;
let trustingTls = 0;
/** Trusts 10.0.0.0/8 only; requires PROXY headers. */
let proxiedPort = 0;
/** The default: trusts nobody. */
let defaultPort = 0;
/** Access-log lines of each server, by its HTTP port's role. */
const logs: Record<'trusting' | 'default', { path?: string; client?: string; peer?: string }[]> = {
  trusting: [],
  default: [],
};
const logTo = (lines: { path?: string; client?: string; peer?: string }[]) =>
  pino(
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as { path?: string; client?: string; peer?: string });
        cb();
      },
    }),
  );

/** One request over a raw socket (optionally after a PROXY header); the headers the pod received. */
function viaSocket(port: number, request: string, prefix = ''): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => {
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      try {
        resolve((JSON.parse(body.slice(body.indexOf('{'))) as { headers: Record<string, string> }).headers);
      } catch {
        reject(new Error(`no JSON answer: ${JSON.stringify(text.slice(0, 200))}`));
      }
    });
    sock.write(prefix + request);
  });
}

const claims =
  'X-Forwarded-For: 198.51.100.20\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\n' +
  'X-Forwarded-Port: 443\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=198.51.100.20;proto=https\r\n';
const fastGet = `GET /fast HTTP/1.1\r\nHost: f.example.com\r\n${claims}Connection: close\r\n\r\n`;
const chunkedPost =
  `POST /node HTTP/1.1\r\nHost: f.example.com\r\n${claims}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
  '2\r\nhi\r\n0\r\n\r\n';

beforeAll(async () => {
  echo = await startEcho('echo');
  const routes = table([
    loopbackService('echo', [echo.port]),
    { ingresses: [ingress('f', { rules: [rule('f.example.com', { path: '/', svc: 'echo' })] })] },
  ]);
  const start = async (options: ConstructorParameters<typeof IngressServer>[0]) => {
    const s = new IngressServer({ host: '127.0.0.1', httpPort: 0, ...options });
    s.setTable(routes);
    servers.push(s);
    return s.listen();
  };
  const trusting = await start({
    httpsPort: 0,
    proxy: { trustedProxies: ['127.0.0.1'], logger: logTo(logs.trusting) },
  });
  trustingPort = trusting.httpPort;
  trustingTls = trusting.httpsPort!;
  proxiedPort = (
    await start({
      httpsPort: null,
      proxyProtocol: { http: true, https: false },
      proxy: { trustedProxies: ['10.0.0.0/8'] },
    })
  ).httpPort;
  defaultPort = (await start({ httpsPort: null, proxy: { logger: logTo(logs.default) } })).httpPort;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  if (echo) await stopAll([echo]);
});

const believed = {
  'x-forwarded-for': '198.51.100.20, 127.0.0.1',
  'x-real-ip': '198.51.100.20',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'public.example',
  'x-forwarded-port': '443',
  forwarded: 'for=198.51.100.20;proto=https, for=127.0.0.1;host=f.example.com;proto=http',
};

describe('a trusted peer', () => {
  it.each([
    ['fast path', fastGet],
    ['Node path', chunkedPost],
  ])('%s: its chain is appended to and its X-Forwarded-* kept', async (_name, request) => {
    expect(await viaSocket(trustingPort, request)).toMatchObject(believed);
  });

  it('HTTP/2: the same', async () => {
    const session = http2.connect(`https://127.0.0.1:${trustingTls}`, { rejectUnauthorized: false });
    const headers = await new Promise<Record<string, string>>((resolve, reject) => {
      const req = session.request({
        ':path': '/h2',
        ':authority': 'f.example.com',
        'x-forwarded-for': '198.51.100.20',
        'x-forwarded-proto': 'https',
      });
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => resolve((JSON.parse(text) as { headers: Record<string, string> }).headers));
      req.on('error', reject);
    });
    session.close();
    expect(headers).toMatchObject({
      'x-forwarded-for': '198.51.100.20, 127.0.0.1',
      'x-real-ip': '198.51.100.20',
      'x-forwarded-proto': 'https',
    });
  });
});

describe('an untrusted peer', () => {
  const replaced = {
    'x-forwarded-for': '127.0.0.1',
    'x-real-ip': '127.0.0.1',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'f.example.com',
  };
  it.each([
    ['fast path', fastGet],
    ['Node path', chunkedPost],
  ])('%s (no list: the default): everything it claims is replaced', async (_name, request) => {
    const headers = await viaSocket(defaultPort, request);
    expect(headers).toMatchObject(replaced);
    expect(headers['x-forwarded-port']).toBe(String(defaultPort));
    // Without a trust list no Forwarded is written, and the client's is removed.
    expect(headers.forwarded).toBeUndefined();
  });
});

describe('with PROXY protocol: the header source is the peer that is trusted or not', () => {
  it('a trusted source (10.0.0.5): its chain is believed', async () => {
    const headers = await viaSocket(
      proxiedPort,
      fastGet,
      encodeV1(v4('10.0.0.5', 5000), v4('10.0.0.1', 80)).toString(),
    );
    expect(headers).toMatchObject({
      'x-forwarded-for': '198.51.100.20, 10.0.0.5',
      'x-real-ip': '198.51.100.20',
    });
  });

  it('an untrusted source (203.0.113.7): replaced, though the connection came from 127.0.0.1', async () => {
    const headers = await viaSocket(
      proxiedPort,
      chunkedPost,
      encodeV1(v4('203.0.113.7', 5000), v4('10.0.0.1', 80)).toString(),
    );
    expect(headers).toMatchObject({
      'x-forwarded-for': '203.0.113.7',
      'x-real-ip': '203.0.113.7',
      'x-forwarded-proto': 'http',
      forwarded: 'for=203.0.113.7;host=f.example.com;proto=http',
    });
  });
});

describe('a bad list', () => {
  it('is refused at construction, naming the entry', () => {
    expect(
      () => new IngressServer({ httpsPort: null, proxy: { trustedProxies: ['10.0.0.0/8', '10.0.0.0/40'] } }),
    ).toThrow('trusted proxies: "10.0.0.0/40" is not an IP address or CIDR');
  });
});

describe('the access log', () => {
  it('behind a trusted proxy: the client its chain names, and the peer (fast path and Node path)', async () => {
    await viaSocket(trustingPort, fastGet);
    await viaSocket(trustingPort, chunkedPost);
    for (const path of ['/fast', '/node'])
      expect(logs.trusting.filter((l) => l.path === path).at(-1)).toMatchObject({
        client: '198.51.100.20',
        peer: '127.0.0.1',
      });
  });

  it('without a list: the peer, whatever the request claims', async () => {
    await viaSocket(defaultPort, fastGet);
    await viaSocket(defaultPort, chunkedPost);
    for (const path of ['/fast', '/node']) {
      const line = logs.default.filter((l) => l.path === path).at(-1);
      expect(line?.client).toBe('127.0.0.1');
      expect(line).not.toHaveProperty('peer');
    }
  });
});
