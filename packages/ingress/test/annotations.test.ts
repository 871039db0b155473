/**
 * Ingress annotations: read as ingress-nginx reads them (both prefixes, ours wins), bad values,
 * snippets refused and unknown annotations reported for their Ingress only by the compiler; and
 * ssl-redirect / force-ssl-redirect: the decision table, ACME challenges never redirected.
 */
import { describe, expect, it } from 'vitest';
import {
  compileWithProblems,
  isAcmeChallenge,
  readIngressAnnotations,
  redirectsToHttps,
  type ClusterState,
  type RedirectChoice,
} from '@portico/ingress';
import { ingress, ingressClass, rule, service, slice } from './fixtures.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
const ours = (name: string) => `portico.dev/${name}`;
const withAnnotations = (annotations: Record<string, string>) =>
  ingress('i', { rules: [rule('a.example.com', { svc: 'web' })] }, { annotations });
const redirectChoice = (ing: ReturnType<typeof withAnnotations>) => {
  const { policy, bad } = readIngressAnnotations(ing.metadata?.annotations);
  return { choice: policy, bad };
};

describe('redirectChoice', () => {
  it.each([
    ['no annotations', {}, {}],
    ['ssl-redirect "false"', { [nginx('ssl-redirect')]: 'false' }, { sslRedirect: false }],
    ['ssl-redirect "true" (the default: nothing carried)', { [nginx('ssl-redirect')]: 'true' }, {}],
    ['ssl-redirect "0"', { [nginx('ssl-redirect')]: '0' }, { sslRedirect: false }],
    ['ssl-redirect "False"', { [nginx('ssl-redirect')]: 'False' }, { sslRedirect: false }],
    ['force-ssl-redirect "true"', { [nginx('force-ssl-redirect')]: 'true' }, { forceSslRedirect: true }],
    ['force-ssl-redirect "T"', { [nginx('force-ssl-redirect')]: 'T' }, { forceSslRedirect: true }],
    ['force-ssl-redirect "false"', { [nginx('force-ssl-redirect')]: 'false' }, {}],
    ['portico.dev/ prefix', { [ours('ssl-redirect')]: 'false' }, { sslRedirect: false }],
    [
      'portico.dev/ wins over nginx',
      { [nginx('ssl-redirect')]: 'false', [ours('ssl-redirect')]: 'true' },
      {},
    ],
    ['an unrelated annotation', { 'example.com/ssl-redirect': 'false' }, {}],
  ] as [string, Record<string, string>, RedirectChoice][])('%s', (_name, annotations, choice) => {
    expect(redirectChoice(withAnnotations(annotations))).toEqual({ choice, bad: [] });
  });

  it.each(['yes', 'no', 'TRUE ', '', 'on', '2', 'tRUE'])('refuses %j, naming the annotation', (value) => {
    const { choice, bad } = redirectChoice(withAnnotations({ [nginx('ssl-redirect')]: value }));
    expect(choice).toEqual({});
    expect(bad).toEqual([
      { annotation: nginx('ssl-redirect'), value, expected: 'a boolean ("true" or "false")' },
    ]);
  });

  it('a bad value under one prefix, a good one under the other: the good one is used, the bad reported', () => {
    const { choice, bad } = redirectChoice(
      withAnnotations({ [nginx('force-ssl-redirect')]: 'yes', [ours('force-ssl-redirect')]: 'true' }),
    );
    expect(choice).toEqual({ forceSslRedirect: true });
    expect(bad.map((b) => b.annotation)).toEqual([nginx('force-ssl-redirect')]);
  });
});

describe('redirectsToHttps', () => {
  it.each([
    ['TLS host, no annotation', {}, true, '/', true],
    ['TLS host, ssl-redirect false', { sslRedirect: false }, true, '/', false],
    ['no TLS, no annotation', {}, false, '/', false],
    ['no TLS, force-ssl-redirect', { forceSslRedirect: true }, false, '/', true],
    [
      'TLS host, both ssl-redirect false and force',
      { sslRedirect: false, forceSslRedirect: true },
      true,
      '/',
      true,
    ],
    ['TLS host, no route matched', undefined, true, '/', true],
    ['no TLS, no route matched', undefined, false, '/', false],
    ['TLS host, ACME challenge', {}, true, '/.well-known/acme-challenge/abc', false],
    [
      'forced, ACME challenge',
      { forceSslRedirect: true },
      false,
      '/.well-known/acme-challenge/abc?x=1',
      false,
    ],
    ['TLS host, not quite ACME', {}, true, '/.well-known/acme-challenge', true],
    ['TLS host, ACME elsewhere in the path', {}, true, '/x/.well-known/acme-challenge/abc', true],
  ] as [string, RedirectChoice | undefined, boolean, string, boolean][])(
    '%s',
    (_name, target, tls, path, expected) => expect(redirectsToHttps(target, tls, path)).toBe(expected),
  );

  it('isAcmeChallenge is case-sensitive, as the path is', () => {
    expect(isAcmeChallenge('/.well-known/acme-challenge/t')).toBe(true);
    expect(isAcmeChallenge('/.Well-Known/acme-challenge/t')).toBe(false);
  });
});

describe('compile', () => {
  const state = (ingresses: ClusterState['ingresses']): ClusterState => ({
    ingresses,
    classes: [ingressClass('portico')],
    services: [service('web', 80, 'http')],
    endpointSlices: [slice('web', 3000, ['198.51.100.1'], 'http')],
    secrets: [],
  });

  it('targets carry their Ingress choice; a bad value is a problem of that Ingress only', () => {
    const plain = ingress(
      'plain',
      { rules: [rule('a.example.com', { path: '/api', svc: 'web' })] },
      { annotations: { [nginx('ssl-redirect')]: 'false' } },
    );
    const broken = ingress(
      'broken',
      { rules: [rule('a.example.com', { path: '/shop', svc: 'web' })] },
      { annotations: { [nginx('ssl-redirect')]: 'flase', [ours('force-ssl-redirect')]: 'always' } },
    );
    const { table, problems } = compileWithProblems(state([plain, broken]));
    const prefix = table.hosts.find((h) => h.host === 'a.example.com')!.prefix;
    expect(prefix.find((p) => p.path === '/api')!.target).toEqual({
      ingress: 'default/plain',
      backend: 'default/web:80',
      sslRedirect: false,
    });
    // The broken Ingress is still served, with the defaults.
    expect(prefix.find((p) => p.path === '/shop')!.target).toEqual({
      ingress: 'default/broken',
      backend: 'default/web:80',
    });
    expect(problems.map((p) => [p.name, p.reason, p.field, p.message])).toEqual([
      [
        'broken',
        'InvalidAnnotation',
        'metadata.annotations["nginx.ingress.kubernetes.io/ssl-redirect"]',
        'metadata.annotations["nginx.ingress.kubernetes.io/ssl-redirect"]: "flase" is not a boolean ("true" or "false"); ignored',
      ],
      [
        'broken',
        'InvalidAnnotation',
        'metadata.annotations["portico.dev/force-ssl-redirect"]',
        'metadata.annotations["portico.dev/force-ssl-redirect"]: "always" is not a boolean ("true" or "false"); ignored',
      ],
    ]);
  });

  it('snippets are refused and unknown annotations reported, naming each; the Ingress is still served', () => {
    const annotated = ingress(
      'annotated',
      { rules: [rule('b.example.com', { path: '/', svc: 'web' })] },
      {
        annotations: {
          [nginx('configuration-snippet')]: 'more_set_headers "x: y";',
          [ours('server-snippet')]: 'location /x {}',
          [nginx('no-such-thing')]: 'on',
          [nginx('ssl-redirect')]: 'false',
          'example.com/other': 'not ours, not reported',
        },
      },
    );
    const { table, problems } = compileWithProblems(state([annotated]));
    expect(table.hosts.map((h) => h.host)).toEqual(['b.example.com']);
    expect(problems.map((p) => [p.reason, p.field])).toEqual([
      ['RefusedAnnotation', 'metadata.annotations["nginx.ingress.kubernetes.io/configuration-snippet"]'],
      ['RefusedAnnotation', 'metadata.annotations["portico.dev/server-snippet"]'],
      ['UnknownAnnotation', 'metadata.annotations["nginx.ingress.kubernetes.io/no-such-thing"]'],
    ]);
    expect(problems[0]!.message).toContain('never run');
  });
});
