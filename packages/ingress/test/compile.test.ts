import { describe, expect, it } from 'vitest';
import { compile, normalizeHost, Router, type ClusterState } from '@portico/ingress';
import {
  ingress,
  ingressClass,
  rule,
  service,
  slice,
  svcBackend,
  tlsSecret,
  type PathSpec,
} from './fixtures.js';

const ourClass = ingressClass('portico');

function state(partial: Partial<ClusterState>): ClusterState {
  return { ingresses: [], classes: [ourClass], services: [], endpointSlices: [], secrets: [], ...partial };
}

/** The Router for a cluster state (defaults as in state()). */
function routerFor(partial: Partial<ClusterState>): Router {
  return new Router(compile(state(partial)));
}

/** Routes `host path` and returns the backend's Service name, or 404. */
function routeTo(router: Router, host: string, path: string): string {
  const t = router.route(normalizeHost(host), path);
  if (!t) return '404';
  return t.backend ? t.backend.slice(t.backend.indexOf('/') + 1, t.backend.lastIndexOf(':')) : 'resource';
}

describe('path matching: the Kubernetes docs examples (reference §1.3)', () => {
  // kind, rule paths, request path, which rule path wins (its index) or null for 404
  const cases: [string, string[], string, number | null][] = [
    ['Prefix', ['/'], '/anything/at/all', 0],
    ['Exact', ['/foo'], '/foo', 0],
    ['Exact', ['/foo'], '/bar', null],
    ['Exact', ['/foo'], '/foo/', null],
    ['Exact', ['/foo/'], '/foo', null],
    ['Exact', ['/foo'], '/FOO', null],
    ['Prefix', ['/foo'], '/foo', 0],
    ['Prefix', ['/foo'], '/foo/', 0],
    ['Prefix', ['/foo/'], '/foo', 0],
    ['Prefix', ['/foo/'], '/foo/', 0],
    ['Prefix', ['/aaa/bb'], '/aaa/bbb', null],
    ['Prefix', ['/aaa/bbb'], '/aaa/bbb', 0],
    ['Prefix', ['/aaa/bbb/'], '/aaa/bbb', 0],
    ['Prefix', ['/aaa/bbb'], '/aaa/bbb/', 0],
    ['Prefix', ['/aaa/bbb'], '/aaa/bbb/ccc', 0],
    ['Prefix', ['/aaa/bbb'], '/aaa/bbbxyz', null],
    ['Prefix', ['/', '/aaa'], '/aaa/ccc', 1],
    ['Prefix', ['/', '/aaa', '/aaa/bbb'], '/aaa/bbb', 2],
    ['Prefix', ['/', '/aaa', '/aaa/bbb'], '/ccc', 0],
    ['Prefix', ['/aaa'], '/ccc', null],
    ['Prefix', ['/foo/bar'], '/foo/bar/baz', 0],
    ['Prefix', ['/foo/bar'], '/foo/barbaz', null],
    ['Prefix', ['/v2'], '/v2example', null],
    ['Prefix', ['/v2'], '/foo/v2/example', null],
    ['ImplementationSpecific', ['/aaa'], '/aaa/x', 0],
    ['ImplementationSpecific', ['/aaa'], '/aaax', null],
  ];
  it.each(cases)('%s %j, request %s -> rule %s', (kind, paths, req, want) => {
    const specs: PathSpec[] = paths.map((path, i) => ({
      path,
      type: kind as PathSpec['type'],
      svc: `s${i}`,
    }));
    const router = routerFor({ ingresses: [ingress('a', { rules: [rule('foo.com', ...specs)] })] });
    expect(routeTo(router, 'foo.com', req)).toBe(want === null ? '404' : `s${want}`);
  });

  const mixed: [string, PathSpec[], string, string][] = [
    [
      'Exact beats Prefix on the same path',
      [
        { path: '/foo', type: 'Prefix', svc: 'p' },
        { path: '/foo', type: 'Exact', svc: 'e' },
      ],
      '/foo',
      'e',
    ],
    [
      'Prefix still serves below an Exact',
      [
        { path: '/foo', type: 'Prefix', svc: 'p' },
        { path: '/foo', type: 'Exact', svc: 'e' },
      ],
      '/foo/x',
      'p',
    ],
    [
      'Exact /foo beats Prefix /foo/ for /foo',
      [
        { path: '/foo/', type: 'Prefix', svc: 'p' },
        { path: '/foo', type: 'Exact', svc: 'e' },
      ],
      '/foo',
      'e',
    ],
    [
      'Prefix /foo/ beats Prefix /foo for /foo/',
      [
        { path: '/foo', svc: 'short' },
        { path: '/foo/', svc: 'long' },
      ],
      '/foo/',
      'long',
    ],
    [
      'Prefix /foo/ beats Prefix /foo for /foo',
      [
        { path: '/foo', svc: 'short' },
        { path: '/foo/', svc: 'long' },
      ],
      '/foo',
      'long',
    ],
    [
      'longer Prefix beats Exact that does not match',
      [
        { path: '/a', type: 'Exact', svc: 'e' },
        { path: '/a/b', svc: 'p' },
      ],
      '/a/b/c',
      'p',
    ],
    [
      'Exact /a/b beats Prefix /a for /a/b',
      [
        { path: '/a', svc: 'p' },
        { path: '/a/b', type: 'Exact', svc: 'e' },
      ],
      '/a/b',
      'e',
    ],
    ['query string is not part of the path', [{ path: '/a', type: 'Exact', svc: 'e' }], '/a', 'e'],
    ['a rule without path is Prefix /', [{ type: 'ImplementationSpecific', svc: 'root' }], '/x/y', 'root'],
  ];
  it.each(mixed)('%s', (_name, specs, req, want) => {
    const router = routerFor({ ingresses: [ingress('a', { rules: [rule('foo.com', ...specs)] })] });
    expect(routeTo(router, 'foo.com', req)).toBe(want);
  });
});

describe('host matching (reference §1.2)', () => {
  const router = routerFor({
    ingresses: [
      ingress('exact', { rules: [rule('bar.foo.com', { path: '/', svc: 'exact' })] }),
      ingress('wild', { rules: [rule('*.foo.com', { path: '/', svc: 'wild' })] }),
      ingress('pathonly', { rules: [rule('only.example.com', { path: '/api', svc: 'api' })] }),
      ingress('none', { rules: [rule(undefined, { path: '/', svc: 'hostless' })] }),
    ],
  });
  const cases: [string, string, string][] = [
    ['bar.foo.com', '/', 'exact'],
    ['BAR.Foo.com', '/', 'exact'],
    ['bar.foo.com:8080', '/', 'exact'],
    ['bar.foo.com.', '/', 'exact'],
    ['baz.foo.com', '/', 'wild'],
    ['baz.bar.foo.com', '/', 'hostless'],
    ['foo.com', '/', 'hostless'],
    ['192.0.2.1', '/x', 'hostless'],
    ['[2001:db8::1]:80', '/x', 'hostless'],
    ['', '/x', 'hostless'],
    ['only.example.com', '/api/v1', 'api'],
    // A matched host with no matching path does not fall through to host-less rules.
    ['only.example.com', '/other', '404'],
  ];
  it.each(cases)('Host %j path %s -> %s', (host, path, want) => {
    expect(routeTo(router, host, path)).toBe(want);
  });
});

describe('default backends (reference §1.4)', () => {
  it('the oldest rule-less Ingress with a defaultBackend is the catch-all', () => {
    const router = routerFor({
      ingresses: [
        ingress('newer', { defaultBackend: svcBackend('newer') }, { created: '2024-02-01T00:00:00Z' }),
        ingress('older', { defaultBackend: svcBackend('older') }, { created: '2024-01-01T00:00:00Z' }),
        ingress('r', { rules: [rule('a.com', { path: '/a', svc: 'a' })] }),
      ],
    });
    expect(routeTo(router, 'unknown.com', '/x')).toBe('older');
    expect(routeTo(router, 'a.com', '/a')).toBe('a');
    // Known host, no path: the host's own fallback; a.com has none -> 404, not the catch-all.
    expect(routeTo(router, 'a.com', '/b')).toBe('404');
  });

  it('an Ingress defaultBackend with rules is the fallback for its own hosts only', () => {
    const router = routerFor({
      ingresses: [
        ingress('own', {
          defaultBackend: svcBackend('own-def'),
          rules: [rule('a.com', { path: '/a', svc: 'a' })],
        }),
        ingress('other', { rules: [rule('b.com', { path: '/b', svc: 'b' })] }),
      ],
    });
    expect(routeTo(router, 'a.com', '/zzz')).toBe('own-def');
    expect(routeTo(router, 'b.com', '/zzz')).toBe('404');
    expect(routeTo(router, 'c.com', '/zzz')).toBe('404');
  });

  it('404 when nothing matches and there is no catch-all', () => {
    const router = routerFor({
      ingresses: [ingress('a', { rules: [rule('a.com', { path: '/a', svc: 'a' })] })],
    });
    expect(router.route('b.com', '/a')).toBeNull();
    expect(routerFor({}).route('', '/')).toBeNull();
  });

  it('a resource backend routes to a null backend (served as 503)', () => {
    const router = routerFor({
      ingresses: [ingress('r', { defaultBackend: { resource: { kind: 'Bucket', name: 'b' } } })],
    });
    expect(router.route('x', '/')).toEqual({ ingress: 'default/r', backend: null });
  });
});

describe('conflicts are won by the oldest Ingress', () => {
  const cases: [string, { name: string; ns?: string; created: string }[], string][] = [
    [
      'older creationTimestamp wins',
      [
        { name: 'b', created: '2024-01-02T00:00:00Z' },
        { name: 'a', created: '2024-01-03T00:00:00Z' },
      ],
      'b',
    ],
    [
      'same time: namespace/name order',
      [
        { name: 'b', created: '2024-01-02T00:00:00Z' },
        { name: 'a', created: '2024-01-02T00:00:00Z' },
      ],
      'a',
    ],
    [
      'same time: namespace first',
      [
        { name: 'a', ns: 'zz', created: '2024-01-02T00:00:00Z' },
        { name: 'z', ns: 'aa', created: '2024-01-02T00:00:00Z' },
      ],
      'z',
    ],
  ];
  it.each(cases)('%s', (_n, defs, want) => {
    for (const type of ['Exact', 'Prefix'] as const) {
      const ingresses = defs.map((d) =>
        ingress(
          d.name,
          { rules: [rule('h.com', { path: '/p', type, svc: d.name })] },
          { ns: d.ns, created: d.created },
        ),
      );
      const table = compile(state({ ingresses }));
      expect(new Router(table).route('h.com', '/p')?.backend?.split(':')[0]).toBe(
        `${defs.find((d) => d.name === want)!.ns ?? 'default'}/${want}`,
      );
      expect(table.problems.some((p) => p.includes('already defined'))).toBe(true);
    }
  });

  it('different paths of the same host from several Ingresses are merged', () => {
    const router = routerFor({
      ingresses: [
        ingress('one', { rules: [rule('h.com', { path: '/one', svc: 'one' })] }),
        ingress('two', { rules: [rule('h.com', { path: '/two', svc: 'two' })] }),
      ],
    });
    expect(routeTo(router, 'h.com', '/one')).toBe('one');
    expect(routeTo(router, 'h.com', '/two/x')).toBe('two');
  });
});

describe('class selection (reference §1.5)', () => {
  const other = ingressClass('nginx', 'k8s.io/ingress-nginx');
  const r = [rule('h.com', { path: '/', svc: 's' })];
  const cases: [string, ReturnType<typeof ingress>, ReturnType<typeof ingressClass>[], boolean][] = [
    ['ingressClassName of our class', ingress('i', { rules: r }), [ourClass], true],
    [
      'ingressClassName of another controller',
      ingress('i', { rules: r, ingressClassName: 'nginx' }),
      [ourClass, other],
      false,
    ],
    [
      'ingressClassName that does not exist',
      ingress('i', { rules: r, ingressClassName: 'some-invalid-class-name' }),
      [ourClass],
      false,
    ],
    [
      'legacy annotation with our class name',
      ingress(
        'i',
        { rules: r, ingressClassName: undefined },
        { annotations: { 'kubernetes.io/ingress.class': 'portico' } },
      ),
      [],
      true,
    ],
    [
      'legacy annotation naming another class',
      ingress(
        'i',
        { rules: r, ingressClassName: undefined },
        { annotations: { 'kubernetes.io/ingress.class': 'nginx' } },
      ),
      [ourClass, other],
      false,
    ],
    [
      'field wins over the annotation',
      ingress(
        'i',
        { rules: r, ingressClassName: 'nginx' },
        { annotations: { 'kubernetes.io/ingress.class': 'portico' } },
      ),
      [ourClass, other],
      false,
    ],
    [
      'class-less, our class is the default',
      ingress('i', { rules: r, ingressClassName: undefined }),
      [ingressClass('portico', undefined, true)],
      true,
    ],
    [
      'class-less, our class is not the default',
      ingress('i', { rules: r, ingressClassName: undefined }),
      [ourClass, ingressClass('nginx', 'k8s.io/ingress-nginx', true)],
      false,
    ],
    ['being deleted', ingress('i', { rules: r }, { deleting: true }), [ourClass], false],
  ];
  it.each(cases)('%s', (_n, ing, classes, served) => {
    const table = compile(state({ ingresses: [ing], classes }));
    expect(table.served).toEqual(served ? ['default/i'] : []);
    expect(new Router(table).route('h.com', '/') !== null).toBe(served);
  });
});

describe('backends resolve through the Service to ready endpoints (reference §1.7)', () => {
  const services = [service('echo', 8080, 'http')];
  const slices = [
    slice(
      'echo',
      3000,
      [
        '192.0.2.1',
        { ip: '192.0.2.2', ready: false },
        { ip: '192.0.2.3', ready: false, terminating: true },
        { ip: '192.0.2.4', ready: true },
      ],
      'http',
    ),
    slice('echo', 3000, ['192.0.2.5', '192.0.2.1'], 'http', 'default', 'echo-second'),
    slice('echo', 9999, ['192.0.2.9'], 'metrics', 'default', 'echo-other-port'),
    slice('echo', 3000, ['192.0.2.10'], 'http', 'other-ns'),
  ];
  const cases: [string, number | string, string[]][] = [
    ['port number', 8080, ['192.0.2.1:3000', '192.0.2.4:3000', '192.0.2.5:3000']],
    ['port name', 'http', ['192.0.2.1:3000', '192.0.2.4:3000', '192.0.2.5:3000']],
    ['unknown port number', 81, []],
  ];
  it.each(cases)('by %s', (_n, port, want) => {
    const table = compile(
      state({
        services,
        endpointSlices: slices,
        ingresses: [ingress('i', { rules: [rule('h', { svc: 'echo', port })] })],
      }),
    );
    const router = new Router(table);
    const key = router.route('h', '/')!.backend!;
    expect(router.backend(key)!.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(want);
  });

  it('unnamed Service port maps to the unnamed EndpointSlice port', () => {
    const table = compile(
      state({
        services: [service('s', 80)],
        endpointSlices: [slice('s', 8080, ['198.51.100.7'])],
        ingresses: [ingress('i', { defaultBackend: svcBackend('s', 80) })],
      }),
    );
    expect(table.backends).toEqual([
      { key: 'default/s:80', endpoints: [{ address: '198.51.100.7', port: 8080 }] },
    ]);
  });

  it('a missing Service yields no endpoints and a problem', () => {
    const table = compile(state({ ingresses: [ingress('i', { defaultBackend: svcBackend('nope') })] }));
    expect(table.backends).toEqual([{ key: 'default/nope:80', endpoints: [] }]);
    expect(table.problems).toEqual([
      'default/i: spec.defaultBackend.service.name: service "default/nope" not found',
    ]);
  });
});

describe('TLS certificates and redirect hosts', () => {
  it('picks the Secret per host, oldest Ingress first, and lists TLS hosts', () => {
    const table = compile(
      state({
        secrets: [tlsSecret('a', 'CERT-A', 'KEY-A'), tlsSecret('b', 'CERT-B', 'KEY-B', 'default', '7')],
        ingresses: [
          ingress(
            'new',
            { tls: [{ hosts: ['a.com'], secretName: 'b' }], rules: [rule('a.com', { svc: 's' })] },
            { created: '2024-03-01T00:00:00Z' },
          ),
          ingress('old', {
            tls: [{ hosts: ['a.com', '*.w.com'], secretName: 'a' }],
            rules: [rule('a.com', { svc: 's' })],
          }),
          ingress('nohosts', { tls: [{ secretName: 'b' }], rules: [rule('n.com', { svc: 's' })] }),
          ingress('missing', {
            tls: [{ hosts: ['m.com'], secretName: 'gone' }],
            rules: [rule('m.com', { svc: 's' })],
          }),
        ],
      }),
    );
    expect(table.certs.map((c) => [c.host, c.cert, c.id])).toEqual([
      ['*.w.com', 'CERT-A', 'default/a@1'],
      ['a.com', 'CERT-A', 'default/a@1'],
      ['n.com', 'CERT-B', 'default/b@7'],
    ]);
    expect(table.tlsHosts).toEqual(['*.w.com', 'a.com', 'm.com', 'n.com']);
    // The placeholder PEMs also yield InvalidCertificate problems; problems.test.ts covers those.
    const tlsProblems = table.problems.filter((p) => p.includes(': spec.tls['));
    expect(tlsProblems.filter((p) => !p.includes('is not a PEM certificate'))).toEqual([
      'default/missing: spec.tls[0].secretName: secret "default/gone" not found',
      'default/new: spec.tls[0].hosts[0]: TLS host "a.com" already has the certificate of secret "default/a" by older Ingress "default/old" (spec.tls[0].secretName)',
    ]);
    const router = new Router(table);
    expect(router.isTlsHost('x.w.com')).toBe(true);
    expect(router.isTlsHost('y.x.w.com')).toBe(false);
    expect(router.isTlsHost('b.com')).toBe(false);
  });
});

describe('scale', () => {
  it('compiles and routes 10,000 rules', () => {
    const ingresses = Array.from({ length: 10_000 }, (_, i) =>
      ingress(`i${i}`, { rules: [rule(`h${i % 1000}.example.com`, { path: `/p${i}/x`, svc: `s${i}` })] }),
    );
    const table = compile(state({ ingresses }));
    const router = new Router(table);
    expect(table.served.length).toBe(10_000);
    for (const i of [0, 4567, 9999]) {
      expect(routeTo(router, `h${i % 1000}.example.com`, `/p${i}/x/y`)).toBe(`s${i}`);
      expect(routeTo(router, `h${i % 1000}.example.com`, `/p${i}/xy`)).toBe('404');
    }
  });
});
