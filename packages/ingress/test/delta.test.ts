import { describe, expect, it } from 'vitest';
import { forWorkers, Router, TableState, type RouteTable } from '@portico/ingress';
import { ingress, rule, svcBackend, tlsSecret } from './fixtures.js';
import { loopbackService, table } from './backends.js';

/** A table with `n` hosts; `flip` changes the backend of one rule, `drop` removes one Ingress. */
function build(
  version: number,
  opts: { flip?: number; drop?: number; port?: number; cert?: string } = {},
): RouteTable {
  const ingresses = Array.from({ length: 50 }, (_, i) => i)
    .filter((i) => i !== opts.drop)
    .map((i) =>
      ingress(`i${i}`, {
        rules: [rule(`h${i % 10}.example.com`, { path: `/p${i}`, svc: i === opts.flip ? 'b' : 'a' })],
        tls: i === 0 ? [{ hosts: ['h0.example.com'], secretName: 'tls' }] : undefined,
      }),
    );
  ingresses.push(ingress('catch', { defaultBackend: svcBackend('a') }));
  return table(
    [
      loopbackService('a', [opts.port ?? 1000]),
      loopbackService('b', [2000]),
      { ingresses, secrets: [tlsSecret('tls', opts.cert ?? 'CERT', 'KEY', 'default', opts.cert ?? '1')] },
    ],
    version,
  );
}

/** Order-independent view of what a worker routes with. */
function canonical(t: RouteTable) {
  const byKey = <T>(xs: readonly T[], k: (x: T) => string) => [...xs].sort((a, b) => (k(a) < k(b) ? -1 : 1));
  return {
    version: t.version,
    hosts: byKey(t.hosts, (h) => h.host),
    backends: byKey(t.backends, (b) => b.key),
    certs: byKey(t.certs, (c) => c.host),
    catchAll: t.catchAll,
    tlsHosts: t.tlsHosts,
  };
}

describe('table deltas (primary -> worker)', () => {
  const steps: [string, Parameters<typeof build>[1], number][] = [
    ['one rule changes backend: one host sent', { flip: 13 }, 1],
    ['an Ingress is deleted: its host is re-sent', { drop: 27 }, 1],
    ['endpoints change: only the backend is sent', { port: 1001 }, 0],
    ['a Secret rotates: only the certificate is sent', { cert: 'CERT2' }, 0],
  ];
  it.each(steps)('%s', (_n, change, hostsSent) => {
    const primary = new TableState();
    const worker = new TableState();
    const first = build(1);
    primary.reset(first);
    worker.reset(forWorkers(first));
    const next = build(2, change);
    const delta = primary.advance(next);
    expect(delta.hosts.changed.length).toBe(hostsSent);
    worker.apply(structuredClone(delta));
    expect(canonical(worker.table())).toEqual(canonical(next));
    const router = new Router(worker.table());
    if (change?.flip !== undefined)
      expect(router.route('h3.example.com', '/p13/x')?.backend).toBe('default/b:80');
    // The host still exists (other Ingresses), so the deleted path is a 404, not the catch-all.
    if (change?.drop !== undefined) expect(router.route('h7.example.com', '/p27')).toBeNull();
  });

  it('an unchanged table yields an empty delta', () => {
    const primary = new TableState();
    primary.reset(build(1));
    const delta = primary.advance(build(2));
    expect(
      [delta.hosts, delta.backends, delta.certs].map((c) => c.changed.length + c.removed.length),
    ).toEqual([0, 0, 0]);
  });

  it('a changed route policy (a basic-auth Secret, a limit) re-sends its host', () => {
    const primary = new TableState();
    const worker = new TableState();
    const secret = (hash: string) => ({
      metadata: { name: 'users', namespace: 'default' },
      data: { auth: Buffer.from(`alice:${hash}`).toString('base64') },
    });
    const annotations = (rps: string) => ({
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': 'users',
      'nginx.ingress.kubernetes.io/limit-rps': rps,
    });
    const build2 = (hash: string, rps: string, version: number) =>
      table(
        [
          loopbackService('a', [1]),
          {
            secrets: [secret(hash)],
            ingresses: [
              ingress(
                'x',
                { rules: [rule('p.example.com', { svc: 'a' })] },
                { annotations: annotations(rps) },
              ),
            ],
          },
        ],
        version,
      );
    const first = build2('{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', '5', 1);
    primary.reset(first);
    worker.reset(first);
    expect(primary.advance(build2('{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', '5', 2)).hosts.changed).toEqual([]);
    const rotated = build2('{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=', '5', 3);
    const delta = primary.advance(rotated);
    expect(delta.hosts.changed.map((h) => h.host)).toEqual(['p.example.com']);
    worker.apply(structuredClone(delta));
    const target = new Router(worker.table()).route('p.example.com', '/');
    expect(target?.basicAuth?.users).toEqual([{ user: 'alice', hash: '{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=' }]);
    expect(primary.advance(build2('{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=', '9', 4)).hosts.changed).toHaveLength(
      1,
    );
  });

  it('a host that disappears is removed', () => {
    const primary = new TableState();
    const worker = new TableState();
    const first = table(
      [
        loopbackService('a', [1]),
        { ingresses: [ingress('x', { rules: [rule('gone.example.com', { svc: 'a' })] })] },
      ],
      1,
    );
    primary.reset(first);
    worker.reset(first);
    const delta = primary.advance(table([loopbackService('a', [1])], 2));
    expect(delta.hosts.removed).toEqual(['gone.example.com']);
    worker.apply(delta);
    expect(new Router(worker.table()).route('gone.example.com', '/')).toBeNull();
  });
});

describe('table deltas carry annotation changes', () => {
  const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
  const withAnnotations = (version: number, annotations: Record<string, string>) =>
    table(
      [
        loopbackService('a', [1]),
        {
          ingresses: [
            ingress('x', { rules: [rule('h.example.com', { path: '/p', svc: 'a' })] }, { annotations }),
            ingress('y', { rules: [rule('other.example.com', { path: '/', svc: 'a' })] }),
          ],
        },
      ],
      version,
    );

  it.each([
    [
      'a CORS origin',
      { [nginx('enable-cors')]: 'true' },
      { [nginx('enable-cors')]: 'true', [nginx('cors-allow-origin')]: 'https://a.com' },
    ],
    [
      'a source range',
      { [nginx('allowlist-source-range')]: '10.0.0.0/8' },
      { [nginx('allowlist-source-range')]: '10.0.0.0/16' },
    ],
    [
      'a redirect code',
      { [nginx('permanent-redirect')]: 'https://a/' },
      { [nginx('permanent-redirect')]: 'https://a/', [nginx('permanent-redirect-code')]: '308' },
    ],
    ['use-regex turned on', {}, { [nginx('use-regex')]: 'true' }],
    [
      'a rewrite-target',
      { [nginx('use-regex')]: 'true' },
      { [nginx('use-regex')]: 'true', [nginx('rewrite-target')]: '/x' },
    ],
  ])('%s: the host is re-sent, the other is not', (_n, before, after) => {
    const primary = new TableState();
    const worker = new TableState();
    const first = withAnnotations(1, before);
    primary.reset(first);
    worker.reset(forWorkers(first));
    const next = withAnnotations(2, after);
    const delta = primary.advance(next);
    expect(delta.hosts.changed.map((h) => h.host)).toEqual(['h.example.com']);
    worker.apply(structuredClone(delta));
    const host = (t: RouteTable) => t.hosts.find((h) => h.host === 'h.example.com');
    expect(host(worker.table())).toEqual(host(next));
  });
});
