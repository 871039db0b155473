import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { IngressServer, type RouteTable } from '@portico/ingress';
import { ingress, rule, tlsSecret } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { leaf as signedLeaf, need, testCa } from './tls-kit.js';

let dir = '';
let echo: Echo;
let server: IngressServer;
let httpsPort = 0;

/** A CA-signed leaf certificate for `names` (DNS SANs), made by openssl in the temp dir. */
function leaf(id: string, names: string[]): { cert: string; key: string } {
  return signedLeaf(dir, id, names);
}

function tableWith(secrets: ReturnType<typeof tlsSecret>[], version: number): RouteTable {
  return table(
    [
      loopbackService('echo', [echo.port]),
      {
        secrets,
        ingresses: [
          ingress('tls', {
            tls: [
              { hosts: ['a.example.com'], secretName: 'a' },
              { hosts: ['*.wild.example.com'], secretName: 'w' },
            ],
            rules: [rule('a.example.com', { svc: 'echo' }), rule('*.wild.example.com', { svc: 'echo' })],
          }),
        ],
      },
    ],
    version,
  );
}

/** The DNS SANs and fingerprint of the certificate the proxy presents for `servername`. */
function presented(
  servername: string | undefined,
): Promise<{ san: string; fingerprint: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port: httpsPort, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      resolve({
        san: c.subjectaltname ?? '',
        fingerprint: c.fingerprint256,
        protocol: s.getProtocol() ?? '',
      });
      s.end();
    });
    s.on('error', reject);
  });
}

/** curl runs as a child process, asynchronously: the proxy under test lives in this event loop. */
function curl(args: string[]): Promise<{ out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8' }, (_e, out, err) =>
      resolve({ out, err }),
    );
  });
}

beforeAll(async () => {
  need('openssl');
  need('curl');
  dir = mkdtempSync(join(tmpdir(), 'portico-tls-test-'));
  // The test CA: a self-signed certificate made the way the default certificate is.
  testCa(dir);
  const a = leaf('a', ['a.example.com']);
  const w = leaf('w', ['*.wild.example.com']);
  echo = await startEcho('echo');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  server.setTable(tableWith([tlsSecret('a', a.cert, a.key), tlsSecret('w', w.cert, w.key)], 1));
  ({ httpsPort } = (await server.listen()) as { httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  if (echo) await stopAll([echo]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('certificates by SNI', () => {
  const cases: [string, string | undefined, string][] = [
    ['exact name', 'a.example.com', 'DNS:a.example.com'],
    ['wildcard, one label', 'x.wild.example.com', 'DNS:*.wild.example.com'],
    ['wildcard does not match two labels: default', 'y.x.wild.example.com', 'DNS:ingress.portico.invalid'],
    ['unknown name: default', 'other.example.com', 'DNS:ingress.portico.invalid'],
    ['no SNI: default (which still has a DNS SAN)', undefined, 'DNS:ingress.portico.invalid'],
  ];
  it.each(cases)('%s', async (_n, servername, san) => {
    const got = await presented(servername);
    expect(got.san).toBe(san);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(got.protocol);
  });

  it('refuses TLS 1.1', async () => {
    const err = await new Promise<Error | undefined>((resolve) => {
      const s = connect({
        port: httpsPort,
        host: '127.0.0.1',
        servername: 'a.example.com',
        rejectUnauthorized: false,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      s.on('secureConnect', () => {
        s.destroy();
        resolve(undefined);
      });
      s.on('error', resolve);
    });
    expect(err).toBeDefined();
    expect(err!.message).toMatch(/protocol version|unsupported protocol|no protocols available|alert/i);
  });
});

describe('HTTPS proxying with curl', () => {
  const resolve = (host: string) => [
    '--resolve',
    `${host}:${httpsPort}:127.0.0.1`,
    '--cacert',
    join(dir, 'ca.crt'),
  ];
  /** GET https://host/path; the output ends with a line holding the HTTP version curl used. */
  const curlVersion = (version: '--http2' | '--http1.1', host: string, path: string) =>
    curl([...resolve(host), version, '-w', '\\n%{http_version}', `https://${host}:${httpsPort}${path}`]);

  it('HTTP/2 by ALPN, verified against the CA, HTTP/1.1 to the pod', async () => {
    const r = await curlVersion('--http2', 'a.example.com', '/h2?x=1');
    expect(r.err).toBe('');
    const [body, version] = r.out.split('\n');
    expect(version).toBe('2');
    const seen = JSON.parse(body!);
    expect(seen).toMatchObject({ url: '/h2?x=1', httpVersion: '1.1' });
    expect(seen.headers.host).toBe(`a.example.com:${httpsPort}`);
    expect(seen.headers['x-forwarded-proto']).toBe('https');
  });

  it('HTTP/1.1 over TLS on the same port (the fast path), wildcard certificate verified', async () => {
    const r = await curlVersion('--http1.1', 'x.wild.example.com', '/h1');
    expect(r.err).toBe('');
    const [body, version] = r.out.split('\n');
    expect(version).toBe('1.1');
    const seen = JSON.parse(body!);
    expect(seen).toMatchObject({ url: '/h1' });
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-port']).toBe(String(httpsPort));
  });

  it("a chunked upload over TLS is handed to Node's server and still reaches the pod", async () => {
    const r = await curl([
      ...resolve('a.example.com'),
      '--http1.1',
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      'tls-chunked-body',
      `https://a.example.com:${httpsPort}/body`,
    ]);
    expect(r.err).toBe('');
    expect(r.out).toBe('tls-chunked-body');
  });

  it('serves a changed Secret without a restart', async () => {
    const before = await presented('a.example.com');
    const rotated = leaf('a2', ['a.example.com']);
    const w = leaf('w2', ['*.wild.example.com']);
    server.setTable(
      tableWith(
        [tlsSecret('a', rotated.cert, rotated.key, 'default', '2'), tlsSecret('w', w.cert, w.key)],
        2,
      ),
    );
    const after = await presented('a.example.com');
    expect(after.san).toBe('DNS:a.example.com');
    expect(after.fingerprint).not.toBe(before.fingerprint);
    const r = await curl([...resolve('a.example.com'), '--http2', `https://a.example.com:${httpsPort}/`]);
    expect(r.err).toBe('');
  });
});

describe('WebSocket over TLS', () => {
  it('upgrades an HTTP/1.1 (ALPN) connection and pipes it to the pod', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect(
        {
          port: httpsPort,
          host: '127.0.0.1',
          servername: 'a.example.com',
          ca: readFileSync(join(dir, 'ca.crt')),
          ALPNProtocols: ['http/1.1'],
        },
        () =>
          s.write(
            'GET /wss HTTP/1.1\r\nHost: a.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
          ),
      );
      let out = '';
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no echo; got ${JSON.stringify(out)}`));
      }, 5_000);
      s.on('data', (d) => {
        out += d.toString();
        if (out.startsWith('HTTP/1.1 101') && out.endsWith('\r\n\r\n')) s.write('over-tls');
        if (out.endsWith('over-tls')) {
          clearTimeout(timer);
          s.destroy();
          resolve(out);
        }
      });
      s.on('error', reject);
    });
    expect(got).toMatch(/^HTTP\/1.1 101/);
    expect(echo.seen.at(-1)!.headers['x-forwarded-proto']).toBe('https');
  });
});

describe('limits on the HTTPS listener (HTTP/1.1 by ALPN)', () => {
  /** Opens a TLS connection, writes `parts` `gapMs` apart, returns what came back until close. */
  function tlsExchange(port: number, parts: string[], gapMs: number): Promise<string> {
    return new Promise((resolve) => {
      let out = '';
      const s = connect(
        { port, host: '127.0.0.1', servername: 'x', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
        () => {
          let i = 0;
          const next = () => {
            if (i >= parts.length || s.destroyed) return;
            s.write(parts[i++]!);
            setTimeout(next, gapMs);
          };
          next();
        },
      );
      const timer = setTimeout(() => s.destroy(), 8_000);
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
      s.on('error', () => undefined);
    });
  }

  it('answers 408 to slow headers and 431 to oversized headers', async () => {
    const limited = new IngressServer({
      host: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      headersTimeout: 1_000,
      timeoutCheckInterval: 200,
      maxHeaderSize: 8 * 1024,
    });
    try {
      const { httpsPort: port } = (await limited.listen()) as { httpsPort: number };
      const slow = await tlsExchange(port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\n'.split(''), 150);
      expect(slow).toMatch(/^HTTP\/1.1 408/);
      const big = await tlsExchange(
        port,
        [`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'z'.repeat(20_000)}\r\n\r\n`],
        0,
      );
      expect(big).toMatch(/^HTTP\/1.1 431/);
    } finally {
      await limited.close();
    }
  });
});
