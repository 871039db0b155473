/**
 * The request-side annotation families, compile level: one table per family (value in, policy or
 * problem out), the regex-path rules of the compiler (per host, longest first, refused patterns),
 * server-alias conflicts, and the pure pieces the worker runs (rewrittenTarget, originRegex).
 */
import { describe, expect, it } from 'vitest';
import {
  applyRequestPolicy,
  compilePolicy,
  compileWithProblems,
  originRegex,
  pathRegex,
  readIngressAnnotations,
  regexPathProblem,
  rewrittenTarget,
  Router,
  TrustedProxies,
  type ClusterState,
  type RequestView,
  type RoutePolicy,
  type Target,
} from '@portico/ingress';
import { ingress, ingressClass, rule, service, slice } from './fixtures.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
const ours = (name: string) => `portico.dev/${name}`;

function read(annotations: Record<string, string>): { policy: RoutePolicy; bad: string[] } {
  const r = readIngressAnnotations(annotations);
  return { policy: r.policy, bad: r.bad.map((b) => `${b.annotation}=${b.value}`) };
}

type Row = [string, Record<string, string>, RoutePolicy, string[]];

describe('rewrite family', () => {
  it.each<Row>([
    ['rewrite-target with groups', { [nginx('rewrite-target')]: '/$2' }, { rewriteTarget: '/$2' }, []],
    ['use-regex', { [nginx('use-regex')]: 'true' }, { useRegex: true }, []],
    ['use-regex false', { [nginx('use-regex')]: 'false' }, {}, []],
    ['app-root', { [ours('app-root')]: '/app1?x=1' }, { appRoot: '/app1?x=1' }, []],
    ['rewrite-target without /', { [nginx('rewrite-target')]: '$1' }, {}, [`${nginx('rewrite-target')}=$1`]],
    [
      'rewrite-target with a space',
      { [nginx('rewrite-target')]: '/a b' },
      {},
      [`${nginx('rewrite-target')}=/a b`],
    ],
    [
      'rewrite-target with CR/LF',
      { [nginx('rewrite-target')]: '/a\r\nx: y' },
      {},
      [`${nginx('rewrite-target')}=/a\r\nx: y`],
    ],
    ['app-root absolute URL', { [nginx('app-root')]: 'http://x/' }, {}, [`${nginx('app-root')}=http://x/`]],
    ['use-regex "yes"', { [nginx('use-regex')]: 'yes' }, {}, [`${nginx('use-regex')}=yes`]],
  ])('%s', (_n, annotations, policy, bad) => {
    expect(read(annotations)).toEqual({ policy, bad });
  });
});

describe('url-redirect family', () => {
  const url = 'https://new.example.com/x?y=1';
  it.each<Row>([
    ['permanent', { [nginx('permanent-redirect')]: url }, { redirectTo: { url, code: 301 } }, []],
    [
      'permanent with code 308',
      { [nginx('permanent-redirect')]: url, [nginx('permanent-redirect-code')]: '308' },
      { redirectTo: { url, code: 308 } },
      [],
    ],
    ['temporal', { [nginx('temporal-redirect')]: url }, { redirectTo: { url, code: 302 } }, []],
    [
      'temporal with code 307 wins over permanent',
      {
        [nginx('temporal-redirect')]: url,
        [nginx('temporal-redirect-code')]: '307',
        [nginx('permanent-redirect')]: 'https://p/',
      },
      { redirectTo: { url, code: 307 } },
      [],
    ],
    [
      'temporal code 308 is out of range: default kept',
      { [nginx('temporal-redirect')]: url, [nginx('temporal-redirect-code')]: '308' },
      { redirectTo: { url, code: 302 } },
      [`${nginx('temporal-redirect-code')}=308`],
    ],
    [
      'permanent code 200 refused',
      { [nginx('permanent-redirect')]: url, [nginx('permanent-redirect-code')]: '200' },
      { redirectTo: { url, code: 301 } },
      [`${nginx('permanent-redirect-code')}=200`],
    ],
    [
      'CR/LF injection refused',
      { [nginx('permanent-redirect')]: 'https://a/\r\nset-cookie: x' },
      {},
      [`${nginx('permanent-redirect')}=https://a/\r\nset-cookie: x`],
    ],
    [
      'a space refused',
      { [nginx('permanent-redirect')]: 'https://a/ b' },
      {},
      [`${nginx('permanent-redirect')}=https://a/ b`],
    ],
    [
      'not http(s)',
      { [nginx('permanent-redirect')]: 'javascript:alert(1)' },
      {},
      [`${nginx('permanent-redirect')}=javascript:alert(1)`],
    ],
    [
      'relative',
      { [nginx('temporal-redirect')]: '/elsewhere' },
      {},
      [`${nginx('temporal-redirect')}=/elsewhere`],
    ],
  ])('%s', (_n, annotations, policy, bad) => {
    expect(read(annotations)).toEqual({ policy, bad });
  });
});

describe('alias family', () => {
  it.each<Row>([
    [
      'two names, trimmed, sorted, lower-cased',
      { [nginx('server-alias')]: ' B.example.com,a.example.com ' },
      { serverAlias: ['a.example.com', 'b.example.com'] },
      [],
    ],
    ['wildcard', { [nginx('server-alias')]: '*.example.com' }, { serverAlias: ['*.example.com'] }, []],
    [
      'a regex (ingress-nginx takes ~^) is refused',
      { [nginx('server-alias')]: '~^www\\d+\\.example\\.com$' },
      {},
      [`${nginx('server-alias')}=~^www\\d+\\.example\\.com$`],
    ],
    ['empty', { [nginx('server-alias')]: ' , ' }, {}, [`${nginx('server-alias')}= , `]],
  ])('%s', (_n, annotations, policy, bad) => {
    expect(read(annotations)).toEqual({ policy, bad });
  });
});

describe('source-range family', () => {
  it.each<Row>([
    [
      'allowlist',
      { [nginx('allowlist-source-range')]: '10.0.0.0/8, 192.0.2.1' },
      { allowSources: ['10.0.0.0/8', '192.0.2.1'] },
      [],
    ],
    [
      'whitelist (old name)',
      { [nginx('whitelist-source-range')]: '2001:db8::/32' },
      { allowSources: ['2001:db8::/32'] },
      [],
    ],
    [
      'allowlist wins over whitelist',
      { [nginx('allowlist-source-range')]: '10.0.0.0/8', [nginx('whitelist-source-range')]: '1.2.3.4' },
      { allowSources: ['10.0.0.0/8'] },
      [],
    ],
    ['denylist', { [nginx('denylist-source-range')]: '192.0.2.0/24' }, { denySources: ['192.0.2.0/24'] }, []],
    [
      'a bad CIDR closes the routes',
      { [nginx('allowlist-source-range')]: '10.0.0.0/33' },
      { allowSources: [] },
      [`${nginx('allowlist-source-range')}=10.0.0.0/33`],
    ],
    [
      'a bad denylist closes them too',
      { [nginx('denylist-source-range')]: 'nope' },
      { allowSources: [] },
      [`${nginx('denylist-source-range')}=nope`],
    ],
    [
      'an empty list is bad',
      { [nginx('allowlist-source-range')]: '' },
      { allowSources: [] },
      [`${nginx('allowlist-source-range')}=`],
    ],
  ])('%s', (_n, annotations, policy, bad) => {
    expect(read(annotations)).toEqual({ policy, bad });
  });
});

describe('cors family', () => {
  const defaults = [
    'access-control-allow-credentials',
    'true',
    'access-control-allow-methods',
    'GET, PUT, POST, DELETE, PATCH, OPTIONS',
    'access-control-allow-headers',
    'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
    'access-control-max-age',
    '1728000',
  ];
  it.each<Row>([
    ['not enabled: nothing, whatever else is set', { [nginx('cors-allow-origin')]: 'https://a.com' }, {}, []],
    [
      'enabled: ingress-nginx defaults',
      { [nginx('enable-cors')]: 'true' },
      { cors: { origins: ['*'], headers: defaults } },
      [],
    ],
    [
      'origins list, a bad one skipped and reported',
      {
        [nginx('enable-cors')]: 'true',
        [nginx('cors-allow-origin')]: 'https://A.com, ftp//bad, https://*.b.org:8443',
      },
      { cors: { origins: ['https://a.com', 'https://*.b.org:8443'], headers: defaults } },
      [`${nginx('cors-allow-origin')}=ftp//bad`],
    ],
    [
      '* in a list means any',
      { [nginx('enable-cors')]: 'true', [nginx('cors-allow-origin')]: 'https://a.com, *' },
      { cors: { origins: ['*'], headers: defaults } },
      [],
    ],
    [
      'bad methods and max-age: defaults kept, reported',
      {
        [nginx('enable-cors')]: 'true',
        [nginx('cors-allow-methods')]: 'GET;rm',
        [nginx('cors-max-age')]: 'ten',
      },
      { cors: { origins: ['*'], headers: defaults } },
      [`${nginx('cors-allow-methods')}=GET;rm`, `${nginx('cors-max-age')}=ten`],
    ],
    [
      'header injection through allow-headers refused',
      { [nginx('enable-cors')]: 'true', [nginx('cors-allow-headers')]: 'X-A\r\nset-cookie: x' },
      { cors: { origins: ['*'], headers: defaults } },
      [`${nginx('cors-allow-headers')}=X-A\r\nset-cookie: x`],
    ],
  ])('%s', (_n, annotations, policy, bad) => {
    expect(read(annotations)).toEqual({ policy, bad });
  });
});

describe('worker-side pieces', () => {
  it.each([
    ['/$2', '/something(/|$)(.*)', '/something/new', '', '/new'],
    ['/$2', '/something(/|$)(.*)', '/something', '?q=1', '/?q=1'],
    ['/', '/app', '/app/deep', '?x=1', '/?x=1'],
    ['/x?a=1', '/app', '/app', '?b=2', '/x?a=1&b=2'],
    ['/x?', '/app', '/app', '?b=2', '/x'],
    ['/$1/$9', '/(a)', '/a', '', '/a/'],
  ])('rewrite %s of %s for %s%s is %s', (template, pattern, path, query, out) => {
    const m = pathRegex(pattern).exec(path)!;
    expect(rewrittenTarget(template, m, query)).toBe(out);
  });

  it('regex paths: bounded, nested quantifiers and syntax errors refused', () => {
    for (const ok of [
      '/api/v[0-9]+/(.*)',
      '/something(/|$)(.*)',
      '/([^/]+)/([^/]+)/(.*)',
      '/x(/|$)?',
      '/\\.+',
    ])
      expect(regexPathProblem(ok), ok).toBeUndefined();
    expect(regexPathProblem('/(a+)+$')).toMatch(/catastrophic/);
    expect(regexPathProblem('/(.*)*')).toMatch(/catastrophic/);
    expect(regexPathProblem('/(a|aa)+')).toMatch(/catastrophic/);
    expect(regexPathProblem('/((a+)b)*')).toMatch(/catastrophic/);
    expect(regexPathProblem('/.*.*.*x')).toMatch(/more than 2 times \(polynomial/);
    expect(regexPathProblem('/(.+)/(.+)/(.*)')).toMatch(/more than 2 times/);
    expect(regexPathProblem('/\\S+/.{2,}/[^a]*')).toMatch(/more than 2 times/);
    expect(regexPathProblem('/(x')).toMatch(/not a regular expression/);
    expect(regexPathProblem(`/${'a'.repeat(300)}`)).toMatch(/longer than 256/);
  });

  it('a path longer than 4096 characters is tried on no regex path (bounded backtracking)', () => {
    const { table } = compileWithProblems({
      ingresses: [
        ingress(
          'a',
          { rules: [rule('h.example.com', { path: '/(.*)', type: 'ImplementationSpecific', svc: 'web' })] },
          {
            annotations: { [nginx('use-regex')]: 'true' },
          },
        ),
      ],
      classes: [ingressClass('portico')],
      services: [service('web')],
      endpointSlices: [slice('web', 8080, [{ ip: '10.0.0.1' }])],
      secrets: [],
    });
    const router = new Router(table);
    expect(router.route('h.example.com', `/${'a'.repeat(4095)}`)?.ingress).toBe('default/a');
    expect(router.route('h.example.com', `/${'a'.repeat(4096)}`)).toBeNull();
  });

  it('origin patterns match the whole origin, one label per wildcard, case-insensitively', () => {
    const re = originRegex(['https://a.com', 'https://*.b.org:8443']);
    expect(re.test('https://A.com')).toBe(true);
    expect(re.test('https://x.b.org:8443')).toBe(true);
    expect(re.test('https://x.y.b.org:8443')).toBe(false);
    expect(re.test('https://a.com.evil')).toBe(false);
    expect(re.test('https://evila.com')).toBe(false);
  });
});

describe('compiler: regex hosts and aliases', () => {
  const state = (ingresses: ClusterState['ingresses']): ClusterState => ({
    ingresses,
    classes: [ingressClass('portico')],
    services: [service('web')],
    endpointSlices: [slice('web', 8080, [{ ip: '10.0.0.1' }])],
    secrets: [],
  });

  it('use-regex on one Ingress makes every path of the host a regex, longest first', () => {
    const { table, problems } = compileWithProblems(
      state([
        ingress('a', {
          rules: [
            rule('h.example.com', { path: '/a', svc: 'web' }, { path: '/a/long', type: 'Exact', svc: 'web' }),
          ],
        }),
        ingress(
          'b',
          { rules: [rule('h.example.com', { path: '/b(.*)', type: 'ImplementationSpecific', svc: 'web' })] },
          {
            annotations: { [nginx('use-regex')]: 'true' },
          },
        ),
        ingress('c', { rules: [rule('other.example.com', { path: '/c', svc: 'web' })] }),
      ]),
    );
    expect(problems).toEqual([]);
    const h = table.hosts.find((x) => x.host === 'h.example.com')!;
    expect(h.regex?.map((e) => e.path)).toEqual(['/a/long', '/b(.*)', '/a']);
    expect(h.exact).toEqual([]);
    expect(table.hosts.find((x) => x.host === 'other.example.com')!.regex).toBeUndefined();
  });

  it('equal lengths: the greater path first (ingress-nginx sorts by path, then stably by length)', () => {
    const { table } = compileWithProblems(
      state([
        ingress(
          'a',
          {
            rules: [
              rule(
                'h.example.com',
                { path: '/a.*', type: 'ImplementationSpecific', svc: 'web' },
                { path: '/b.*', type: 'ImplementationSpecific', svc: 'web' },
                { path: '/', type: 'ImplementationSpecific', svc: 'web' },
              ),
            ],
          },
          { annotations: { [nginx('use-regex')]: 'true' } },
        ),
      ]),
    );
    expect(table.hosts[0]!.regex?.map((e) => e.path)).toEqual(['/b.*', '/a.*', '/']);
  });

  it('a rewrite-target equal to its path does not make the host regex (ingress-nginx needsRewrite)', () => {
    const { table } = compileWithProblems(
      state([
        ingress(
          'a',
          { rules: [rule('h.example.com', { path: '/x', svc: 'web' })] },
          { annotations: { [nginx('rewrite-target')]: '/x' } },
        ),
      ]),
    );
    expect(table.hosts[0]!.regex).toBeUndefined();
  });

  it('a pattern that cannot be used is an InvalidPath problem naming the path; the others are served', () => {
    const { table, problems } = compileWithProblems(
      state([
        ingress(
          'a',
          {
            rules: [
              rule(
                'h.example.com',
                { path: '/(a+)+', type: 'ImplementationSpecific', svc: 'web' },
                { path: '/ok', svc: 'web' },
              ),
            ],
          },
          {
            annotations: { [nginx('use-regex')]: 'true' },
          },
        ),
      ]),
    );
    expect(problems.map((p) => [p.reason, p.field])).toEqual([
      ['InvalidPath', 'spec.rules[0].http.paths[0].path'],
    ]);
    expect(problems[0]!.message).toMatch(/"\/\(a\+\)\+".*catastrophic/);
    expect(table.hosts[0]!.regex?.map((e) => e.path)).toEqual(['/ok']);
  });

  it('server-alias copies the host; an alias that is a host or an older alias is a RuleConflict', () => {
    const alias = (v: string) => ({ annotations: { [nginx('server-alias')]: v } });
    const { table, problems } = compileWithProblems(
      state([
        ingress(
          'a',
          { rules: [rule('main.example.com', { path: '/', svc: 'web' })] },
          { ...alias('www.example.com, taken.example.com'), created: '2024-01-01T00:00:00Z' },
        ),
        ingress(
          'b',
          { rules: [rule('taken.example.com', { path: '/t', svc: 'web' })] },
          { created: '2024-01-02T00:00:00Z' },
        ),
        ingress(
          'c',
          { rules: [rule('other.example.com', { path: '/', svc: 'web' })] },
          { ...alias('www.example.com'), created: '2024-01-03T00:00:00Z' },
        ),
      ]),
    );
    expect(table.hosts.map((h) => h.host)).toEqual([
      'main.example.com',
      'other.example.com',
      'taken.example.com',
      'www.example.com',
    ]);
    const www = table.hosts.find((h) => h.host === 'www.example.com')!;
    expect(www.prefix.map((e) => e.target.ingress)).toEqual(['default/a']);
    expect(www.prefix[0]!.target).not.toHaveProperty('serverAlias');
    expect(problems.map((p) => `${p.name} ${p.reason}: ${p.message}`)).toEqual([
      expect.stringMatching(/^a RuleConflict: .*"taken\.example\.com" is already a host/),
      expect.stringMatching(
        /^c RuleConflict: .*"www\.example\.com" is already an alias of host "main\.example\.com"/,
      ),
    ]);
  });

  it('a bad source range is a problem saying the routes are closed', () => {
    const { problems } = compileWithProblems(
      state([
        ingress(
          'a',
          { rules: [rule('h.example.com', { path: '/', svc: 'web' })] },
          { annotations: { [nginx('denylist-source-range')]: '1.2.3.4/40' } },
        ),
      ]),
    );
    expect(problems.map((p) => p.message)).toEqual([
      `metadata.annotations["${nginx('denylist-source-range')}"]: "1.2.3.4/40" is not a comma-separated list of IP addresses or CIDRs; every client of these routes gets 403 until it is fixed`,
    ]);
  });
});

describe('applyRequestPolicy (the decision both planes share)', () => {
  const nobody = new TrustedProxies([]);
  const view = (peer: string, method = 'GET', headers: Record<string, string> = {}): RequestView => ({
    peer,
    method,
    header: (name) => headers[name],
  });
  const target = (policy: RoutePolicy): Target => ({
    ingress: 'default/i',
    backend: 'default/web:80',
    ...policy,
  });
  const decide = (policy: RoutePolicy, request: RequestView, path = '/x') => {
    const t = target(policy);
    return applyRequestPolicy(t, compilePolicy(t), request, 'h.example.com:8080', 'http', path, nobody);
  };

  it('the source ranges come first: a denied client gets 403, not the redirect', () => {
    const policy = { denySources: ['192.0.2.0/24'], redirectTo: { url: 'https://a/', code: 301 } };
    expect(decide(policy, view('192.0.2.1'))).toEqual({ status: 403, action: 'source_denied' });
    expect(decide(policy, view('198.51.100.1'))).toEqual({
      status: 301,
      location: 'https://a/',
      action: 'redirect',
    });
  });

  it('IPv4-mapped IPv6 peers (dual-stack sockets) are judged as IPv4', () => {
    expect(decide({ allowSources: ['192.0.2.0/24'] }, view('::ffff:192.0.2.9')).status).toBe(0);
    expect(decide({ allowSources: ['192.0.2.0/24'] }, view('::ffff:198.51.100.9')).status).toBe(403);
  });

  it('app-root only for "/" (query allowed), with the Host as sent', () => {
    expect(decide({ appRoot: '/app' }, view('10.0.0.1'), '/?a=1')).toEqual({
      status: 302,
      location: 'http://h.example.com:8080/app',
      action: 'app_root',
    });
    expect(decide({ appRoot: '/app' }, view('10.0.0.1'), '/other').status).toBe(0);
  });

  it('a CORS list with no usable origin allows nothing, not even an empty Origin', () => {
    const cors = { origins: [], headers: [] };
    expect(compilePolicy(target({ cors })).origin).toBeUndefined();
    expect(decide({ cors }, view('10.0.0.1', 'OPTIONS', { origin: '' }))).toEqual({ status: 0 });
  });

  it('without a regex for the target, a rewrite-target changes nothing (never guessed)', () => {
    expect(decide({ rewriteTarget: '/y' }, view('10.0.0.1'))).toEqual({ status: 0 });
  });
});
