/**
 * Basic auth (auth-type: basic, auth-secret, auth-secret-type, auth-realm): the htpasswd formats
 * (against hashes made by openssl and published vectors), the compile-level table (what a Target
 * carries, what is reported, failing closed), and a running proxy on both planes with real curl:
 * 401 with WWW-Authenticate, 200 with good credentials and no Authorization sent to the pod, 503
 * when the Secret is missing, other Ingresses untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import type { V1Secret } from '@kubernetes/client-node';
import {
  BasicCredentials,
  compileWithProblems,
  hashProblem,
  IngressServer,
  md5Crypt,
  parseHtpasswd,
  verifyHash,
  type ClusterState,
} from '@portico/ingress';
import { ingress, ingressClass, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

function opaque(name: string, data: Record<string, string>, ns = 'default'): V1Secret {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) encoded[k] = Buffer.from(v).toString('base64');
  return { metadata: { name, namespace: ns }, type: 'Opaque', data: encoded };
}

const apr1 = (password: string, salt: string) =>
  execFileSync('openssl', ['passwd', '-apr1', '-salt', salt, password]).toString().trim();

describe('htpasswd hashes', () => {
  it('MD5-crypt ($apr1$ and $1$) equals what openssl passwd makes, and verifies', () => {
    for (const [pw, salt] of [
      ['secret', 'abcdefgh'],
      ['a much longer password than sixteen bytes', 'x.Y/9'],
      ['', 's'],
    ] as const) {
      const made = apr1(pw, salt);
      expect(md5Crypt(pw, salt, '$apr1$')).toBe(made);
      expect(verifyHash(pw, made)).toBe(true);
      expect(verifyHash(`${pw}x`, made)).toBe(false);
      const md5 = execFileSync('openssl', ['passwd', '-1', '-salt', salt, pw]).toString().trim();
      expect(md5Crypt(pw, salt, '$1$')).toBe(md5);
    }
  });

  it('{SHA} is base64 of SHA-1 (htpasswd -s)', () => {
    expect(verifyHash('secret', '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=')).toBe(true);
    expect(verifyHash('Secret', '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=')).toBe(false);
  });

  it('bcrypt: the OpenBSD test vector, and $2y$ as htpasswd -B writes it', () => {
    const vector = '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
    expect(hashProblem(vector)).toBeUndefined();
    expect(verifyHash('U*U', vector)).toBe(true);
    expect(verifyHash('U*V', vector)).toBe(false);
    const y = vector.replace('$2a$', '$2y$');
    expect(verifyHash('U*U', y)).toBe(true);
  });

  it.each([
    ['plain text', 'hunter2', /plain-text/],
    ['{PLAIN}', '{PLAIN}hunter2', /plain-text/],
    ['DES crypt', 'rl0uE9/E5M1Rk', /DES crypt/],
    ['sha512-crypt', '$6$salt$abc', /\$6\$ is not supported/],
    ['yescrypt', '$y$j9T$abc$def', /\$y\$ is not supported/],
  ])('refuses %s, saying why', (_name, hash, why) => {
    expect(hashProblem(hash)).toMatch(why);
    expect(verifyHash('hunter2', hash)).toBe(false);
  });

  it('parses a file: comments, blank lines, a refused line left out (its hash never quoted)', () => {
    const parsed = parseHtpasswd(`# users\n\nalice:${apr1('a', 'saltsalt')}\nbob:hunter2\nmallory\n`);
    expect(parsed.entries.map((e) => e.user)).toEqual(['alice']);
    expect(parsed.refused).toEqual([
      expect.stringMatching(/^line 4 \(user "bob"\): .*plain-text/),
      'line 5: not "user:hash"',
    ]);
    expect(parsed.refused.join()).not.toContain('hunter2');
  });

  it('checks Authorization values; a good one is remembered, memory bounded', () => {
    const creds = new BasicCredentials([{ user: 'alice', hash: apr1('pw', 'abc') }]);
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    expect(creds.check(basic('alice:pw'))).toBe(true);
    expect(creds.check(basic('alice:pw'))).toBe(true);
    expect(creds.check(`basic   ${Buffer.from('alice:pw').toString('base64')}`)).toBe(true);
    expect(creds.check(basic('alice:px'))).toBe(false);
    expect(creds.check(basic('bob:pw'))).toBe(false);
    expect(creds.check(basic('alicepw'))).toBe(false);
    expect(creds.check('Bearer abc')).toBe(false);
    expect(creds.check(undefined)).toBe(false);
    expect(creds.check('Basic !!!')).toBe(false);
  });
});

describe('compile: what a Target carries', () => {
  const state = (annotations: Record<string, string>, secrets: V1Secret[] = []): ClusterState => ({
    ingresses: [ingress('i', { rules: [rule('a.example.com', { svc: 'web' })] }, { annotations })],
    classes: [ingressClass('portico')],
    services: [],
    endpointSlices: [],
    secrets,
  });
  const compiled = (annotations: Record<string, string>, secrets: V1Secret[] = []) => {
    const { table: t, problems } = compileWithProblems(state(annotations, secrets));
    return {
      auth: t.hosts[0]!.prefix[0]!.target.basicAuth,
      problems: problems
        .filter((p) => p.reason !== 'BackendServiceNotFound')
        .map((p) => `${p.reason} ${p.message}`),
    };
  };
  const users = opaque('users', { auth: `alice:${apr1('pw', 'abc')}\n` });

  it('auth-file: the users of the Secret`s "auth" key, realm as given', () => {
    const r = compiled(
      { [nginx('auth-type')]: 'basic', [nginx('auth-secret')]: 'users', [nginx('auth-realm')]: 'Staff only' },
      [users],
    );
    expect(r.problems).toEqual([]);
    expect(r.auth).toEqual({
      realm: 'Staff only',
      secret: 'default/users',
      secretType: 'auth-file',
      users: [{ user: 'alice', hash: apr1('pw', 'abc') }],
    });
  });

  it('auth-map: each key a user', () => {
    const map = opaque('map', { alice: apr1('pw', 'abc'), bob: '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=' });
    const r = compiled(
      {
        [nginx('auth-type')]: 'basic',
        [nginx('auth-secret')]: 'default/map',
        [nginx('auth-secret-type')]: 'auth-map',
      },
      [map],
    );
    expect(r.auth?.users?.map((u) => u.user)).toEqual(['alice', 'bob']);
    expect(r.auth?.denied).toBeUndefined();
  });

  it('no annotations: nothing carried', () => {
    expect(compiled({}).auth).toBeUndefined();
  });

  it.each([
    [
      'a missing Secret',
      { [nginx('auth-type')]: 'basic', [nginx('auth-secret')]: 'nope' },
      /^SecretNotFound .*auth-secret.*: secret "default\/nope" not found; its routes answer 503$/,
    ],
    [
      'a Secret of another namespace',
      { [nginx('auth-type')]: 'basic', [nginx('auth-secret')]: 'other/users' },
      /^InvalidAnnotation .*secret "other\/users" is in another namespace/,
    ],
    [
      'digest (not supported)',
      { [nginx('auth-type')]: 'digest', [nginx('auth-secret')]: 'users' },
      /^InvalidAnnotation .*auth-type.*"digest" is not "basic"/,
    ],
    [
      'no auth-secret',
      { [nginx('auth-type')]: 'basic' },
      /^InvalidAnnotation .*no auth-secret; its routes answer 503/,
    ],
    [
      'a bad Secret name',
      { [nginx('auth-type')]: 'basic', [nginx('auth-secret')]: '../etc/passwd' },
      /^InvalidAnnotation .*auth-secret.*"\.\.\/etc\/passwd" is not a Secret name/,
    ],
    [
      'auth-file without "auth"',
      { [nginx('auth-type')]: 'basic', [nginx('auth-secret')]: 'wrongkey' },
      /secret "default\/wrongkey" has no key "auth"/,
    ],
    ['no usable users', { [nginx('auth-type')]: 'basic', [nginx('auth-secret')]: 'plain' }, /user left out/],
  ] as [string, Record<string, string>, RegExp][])(
    'fails closed (503) on %s, reported',
    (_name, annotations, problem) => {
      const r = compiled(annotations, [
        users,
        opaque('users', { auth: `x:${apr1('pw', 'abc')}` }, 'other'),
        opaque('wrongkey', { htpasswd: `alice:${apr1('pw', 'abc')}` }),
        opaque('plain', { auth: 'alice:hunter2' }),
      ]);
      expect(r.auth?.denied).toBeTruthy();
      expect(r.auth?.users).toBeUndefined();
      expect(r.problems.some((p) => problem.test(p))).toBe(true);
      expect(r.problems.join()).not.toContain('hunter2');
    },
  );

  it('a bad realm or secret type is reported and the default kept', () => {
    const r = compiled(
      {
        [nginx('auth-type')]: 'basic',
        [nginx('auth-secret')]: 'users',
        [nginx('auth-realm')]: 'say "hi"',
        [nginx('auth-secret-type')]: 'auth-json',
      },
      [users],
    );
    expect(r.auth).toMatchObject({ realm: '', secretType: 'auth-file' });
    expect(r.auth?.users).toHaveLength(1);
    expect(r.problems).toEqual([
      expect.stringMatching(/^InvalidAnnotation .*auth-secret-type.*"auth-json"/),
      expect.stringMatching(/^InvalidAnnotation .*auth-realm.*"say \\"hi\\""/),
    ]);
  });
});

let web: Echo;
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;

beforeAll(async () => {
  web = await startEcho('web');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      {
        secrets: [opaque('users', { auth: `alice:${apr1('open sesame', 'q1w2e3r4')}\n` })],
        ingresses: [
          ingress(
            'guarded',
            { rules: [rule('a.example.com', { path: '/', svc: 'web' })] },
            {
              annotations: {
                [nginx('auth-type')]: 'basic',
                [nginx('auth-secret')]: 'users',
                [nginx('auth-realm')]: 'Authentication Required - a',
                [nginx('ssl-redirect')]: 'false',
              },
            },
          ),
          ingress(
            'lost-secret',
            { rules: [rule('b.example.com', { path: '/', svc: 'web' })] },
            { annotations: { [nginx('auth-type')]: 'basic', [nginx('auth-secret')]: 'gone' } },
          ),
          ingress('open', { rules: [rule('c.example.com', { path: '/', svc: 'web' })] }),
        ],
      },
    ]),
  );
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  if (web) await stopAll([web]);
});

/** curl: status, WWW-Authenticate and the body; `plane` picks plain HTTP/1.1 or HTTPS HTTP/2. */
function curl(
  plane: 'fast' | 'node',
  host: string,
  user?: string,
): Promise<{ status: number; challenge?: string; body: string }> {
  const port = plane === 'fast' ? httpPort : httpsPort;
  const scheme = plane === 'fast' ? 'http' : 'https';
  const args = ['-sS', '-k', '-i', '--resolve', `${host}:${port}:127.0.0.1`];
  args.push(plane === 'fast' ? '--http1.1' : '--http2');
  if (user !== undefined) args.push('-u', user);
  args.push(`${scheme}://${host}:${port}/x`);
  return new Promise((resolve, reject) =>
    execFile('curl', args, (err, out) => {
      if (err) return reject(err);
      const [head = '', body = ''] = out.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0),
        ...(/\r\nwww-authenticate: ([^\r]*)/i.exec(head)
          ? { challenge: /\r\nwww-authenticate: ([^\r]*)/i.exec(head)![1] }
          : {}),
        body,
      });
    }),
  );
}

describe.each(['fast', 'node'] as const)('through the proxy, %s path', (plane) => {
  it('no credentials: 401 with the realm', async () => {
    const r = await curl(plane, 'a.example.com');
    expect(r).toMatchObject({ status: 401, challenge: 'Basic realm="Authentication Required - a"' });
  });

  it('a wrong password or user: 401', async () => {
    expect((await curl(plane, 'a.example.com', 'alice:open sesamE')).status).toBe(401);
    expect((await curl(plane, 'a.example.com', 'bob:open sesame')).status).toBe(401);
  });

  it('good credentials: served, and the pod is not sent them', async () => {
    const before = web.seen.length;
    const r = await curl(plane, 'a.example.com', 'alice:open sesame');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).headers.authorization).toBeUndefined();
    expect(web.seen.length).toBe(before + 1);
  });

  it('a missing Secret: 503, never served unprotected', async () => {
    const before = web.seen.length;
    expect((await curl(plane, 'b.example.com', 'alice:open sesame')).status).toBe(503);
    expect(web.seen.length).toBe(before);
  });

  it('another Ingress is untouched, its Authorization passed on', async () => {
    const r = await curl(plane, 'c.example.com', 'alice:x');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).headers.authorization).toBe(
      `Basic ${Buffer.from('alice:x').toString('base64')}`,
    );
  });
});

it('an Upgrade (WebSocket handshake) needs the credentials too', async () => {
  const handshake = (auth: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect(httpPort, '127.0.0.1');
      let text = '';
      sock.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) sock.destroy();
      });
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
      sock.write(
        `GET /ws HTTP/1.1\r\nHost: a.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${auth}\r\n`,
      );
    });
  const refused = await handshake('');
  expect(refused).toMatch(/^HTTP\/1\.1 401 /);
  expect(refused).toMatch(/\r\nwww-authenticate: Basic realm="Authentication Required - a"\r\n/);
  const ok = await handshake(
    `Authorization: Basic ${Buffer.from('alice:open sesame').toString('base64')}\r\n`,
  );
  expect(ok).toMatch(/^HTTP\/1\.1 101 /);
  expect(web.seen.at(-1)!.headers.authorization).toBeUndefined();
});
