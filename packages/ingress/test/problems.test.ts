/**
 * Structured problems from compileWithProblems(): every problem names the Ingress, a reason, the
 * offending field and its value, and never stops the rest of the table from being served.
 */
import type { V1Ingress, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  compileWithProblems,
  formatProblem,
  problemKey,
  selfSignedPair,
  type ClusterState,
  type IngressProblem,
} from '@portico/ingress';
import { ingress, ingressClass, rule, service, slice, svcBackend, tlsSecret } from './fixtures.js';

function state(partial: Partial<ClusterState>): ClusterState {
  return {
    ingresses: [],
    classes: [ingressClass('portico'), ingressClass('other', 'example.com/other')],
    services: [service('web', 80, 'http'), service('api', 8080)],
    endpointSlices: [slice('web', 3000, ['198.51.100.1'], 'http')],
    secrets: [],
    ...partial,
  };
}

/** The problems as [ingress, reason, message] triples, in the order the compiler found them. */
function problemsOf(partial: Partial<ClusterState>): [string, string, string][] {
  return compileWithProblems(state(partial)).problems.map((p) => [
    `${p.namespace}/${p.name}`,
    p.reason,
    p.message,
  ]);
}

const pairA = selfSignedPair('a.example.com');
const pairB = selfSignedPair('b.example.com');

function secret(name: string, patch: Partial<V1Secret> = {}): V1Secret {
  return { ...tlsSecret(name, pairA.cert, pairA.key), ...patch };
}

function withTls(name: string, secretName: string, hosts?: string[]): V1Ingress {
  return ingress(name, {
    tls: [{ hosts, secretName }],
    rules: [rule('a.example.com', { svc: 'web', port: 'http' })],
  });
}

describe('problems name the Ingress, the reason, the field and the value', () => {
  const cases: [string, Partial<ClusterState>, [string, string, string][]][] = [
    [
      'a missing Service (the second path of the first rule)',
      {
        ingresses: [
          ingress('shop', {
            rules: [rule('s.com', { path: '/', svc: 'web', port: 'http' }, { path: '/foo', svc: 'foo' })],
          }),
        ],
      },
      [
        [
          'default/shop',
          'BackendServiceNotFound',
          'spec.rules[0].http.paths[1].backend.service.name: service "default/foo" not found',
        ],
      ],
    ],
    [
      'a Service port number the Service does not have',
      { ingresses: [ingress('i', { defaultBackend: svcBackend('api', 9090) })] },
      [
        [
          'default/i',
          'BackendPortNotFound',
          'spec.defaultBackend.service.port.number: service "default/api" has no port 9090',
        ],
      ],
    ],
    [
      'a Service port name the Service does not have',
      { ingresses: [ingress('i', { rules: [rule('s.com', { svc: 'web', port: 'grpc' })] })] },
      [
        [
          'default/i',
          'BackendPortNotFound',
          'spec.rules[0].http.paths[0].backend.service.port.name: service "default/web" has no port named "grpc"',
        ],
      ],
    ],
    [
      'a resource backend',
      {
        ingresses: [
          ingress('i', {
            defaultBackend: {
              resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'assets' },
            },
          }),
        ],
      },
      [
        [
          'default/i',
          'UnsupportedBackend',
          'spec.defaultBackend.resource: resource backend (kind "StorageBucket", name "assets") is not supported; use a service backend',
        ],
      ],
    ],
    [
      'a missing TLS Secret',
      { ingresses: [withTls('i', 'gone')] },
      [['default/i', 'SecretNotFound', 'spec.tls[0].secretName: secret "default/gone" not found']],
    ],
    [
      'a Secret of the wrong type',
      { ingresses: [withTls('i', 'opaque')], secrets: [secret('opaque', { type: 'Opaque' })] },
      [
        [
          'default/i',
          'InvalidCertificate',
          'spec.tls[0].secretName: secret "default/opaque" has type "Opaque", not "kubernetes.io/tls"',
        ],
      ],
    ],
    [
      'a Secret without tls.key',
      {
        ingresses: [withTls('i', 'half')],
        secrets: [secret('half', { data: { 'tls.crt': Buffer.from(pairA.cert).toString('base64') } })],
      },
      [['default/i', 'InvalidCertificate', 'spec.tls[0].secretName: secret "default/half" has no tls.key']],
    ],
    [
      'a key that belongs to another certificate',
      {
        ingresses: [withTls('i', 'mixed')],
        secrets: [tlsSecret('mixed', pairA.cert, pairB.key)],
      },
      [
        [
          'default/i',
          'InvalidCertificate',
          'spec.tls[0].secretName: secret "default/mixed": tls.key does not belong to the certificate in tls.crt',
        ],
      ],
    ],
    [
      'the same Exact path in an older Ingress',
      {
        ingresses: [
          ingress(
            'new',
            { rules: [rule('s.com', { path: '/x', type: 'Exact', svc: 'web', port: 'http' })] },
            { created: '2024-02-01T00:00:00Z' },
          ),
          ingress('old', { rules: [rule('s.com', { path: '/x', type: 'Exact', svc: 'web', port: 'http' })] }),
        ],
      },
      [
        [
          'default/new',
          'RuleConflict',
          'spec.rules[0].http.paths[0].path: path "/x" (Exact) of host "s.com" is already defined by older Ingress "default/old" (spec.rules[0].http.paths[0].path)',
        ],
      ],
    ],
    [
      'the same Prefix path twice in one Ingress',
      {
        ingresses: [
          ingress('i', {
            rules: [
              rule(undefined, { path: '/p', svc: 'web', port: 'http' }),
              rule(undefined, { path: '/p', svc: 'web', port: 'http' }),
            ],
          }),
        ],
      },
      [
        [
          'default/i',
          'RuleConflict',
          'spec.rules[1].http.paths[0].path: path "/p" (Prefix) of host "*" is already defined at spec.rules[0].http.paths[0].path',
        ],
      ],
    ],
    [
      'a longer spelling of the same prefix in a newer Ingress shadows the older one',
      {
        ingresses: [
          ingress('old', { rules: [rule('s.com', { path: '/foo', svc: 'web', port: 'http' })] }),
          ingress(
            'new',
            { rules: [rule('s.com', { path: '/foo/', svc: 'web', port: 'http' })] },
            { created: '2024-02-01T00:00:00Z' },
          ),
        ],
      },
      [
        [
          'default/old',
          'RuleConflict',
          'spec.rules[0].http.paths[0].path: path "/foo" (Prefix) of host "s.com" is overridden by newer Ingress "default/new" (spec.rules[0].http.paths[0].path) as "/foo/"',
        ],
      ],
    ],
    [
      'a second cluster-wide default backend',
      {
        ingresses: [
          ingress('first', { defaultBackend: svcBackend('web', 'http') }),
          ingress('second', { defaultBackend: svcBackend('api', 8080) }, { created: '2024-02-01T00:00:00Z' }),
        ],
      },
      [
        [
          'default/second',
          'RuleConflict',
          'spec.defaultBackend: the cluster-wide default backend is already defined by older Ingress "default/first" (spec.defaultBackend)',
        ],
      ],
    ],
    [
      'a host whose default backend an older Ingress already defines',
      {
        ingresses: [
          ingress('old', {
            defaultBackend: svcBackend('web', 'http'),
            rules: [rule('s.com', { svc: 'web', port: 'http' })],
          }),
          ingress(
            'new',
            {
              defaultBackend: svcBackend('api', 8080),
              rules: [
                rule('s.com', { path: '/a', svc: 'api', port: 8080 }),
                rule('s.com', { path: '/b', svc: 'api', port: 8080 }),
              ],
            },
            { created: '2024-02-01T00:00:00Z' },
          ),
        ],
      },
      [
        [
          'default/new',
          'RuleConflict',
          'spec.defaultBackend: the default backend of host "s.com" is already defined by older Ingress "default/old" (spec.defaultBackend)',
        ],
      ],
    ],
    [
      'a TLS host whose certificate comes from another Secret in an older Ingress',
      {
        ingresses: [
          withTls('old', 'a', ['a.example.com']),
          ingress(
            'new',
            { tls: [{ hosts: ['x.example.com', 'A.example.com'], secretName: 'b' }] },
            { created: '2024-02-01T00:00:00Z' },
          ),
        ],
        secrets: [secret('a'), tlsSecret('b', pairB.cert, pairB.key)],
      },
      [
        [
          'default/new',
          'RuleConflict',
          'spec.tls[0].hosts[1]: TLS host "a.example.com" already has the certificate of secret "default/a" by older Ingress "default/old" (spec.tls[0].secretName)',
        ],
      ],
    ],
    [
      'every Ingress naming a missing Service gets its own problem',
      {
        ingresses: [
          ingress('one', { defaultBackend: svcBackend('gone') }),
          ingress('two', { rules: [rule('t.com', { svc: 'gone' })] }),
        ],
      },
      [
        [
          'default/one',
          'BackendServiceNotFound',
          'spec.defaultBackend.service.name: service "default/gone" not found',
        ],
        [
          'default/two',
          'BackendServiceNotFound',
          'spec.rules[0].http.paths[0].backend.service.name: service "default/gone" not found',
        ],
      ],
    ],
    [
      'nothing wrong: no problems',
      {
        ingresses: [withTls('i', 'a', ['a.example.com'])],
        secrets: [secret('a')],
      },
      [],
    ],
    [
      "another controller's Ingress is not ours to report",
      { ingresses: [ingress('i', { ingressClassName: 'other', defaultBackend: svcBackend('gone') })] },
      [],
    ],
  ];
  it.each(cases)('%s', (_name, partial, want) => {
    expect(problemsOf(partial)).toEqual(want);
  });

  it('a PEM that does not parse is reported and still published (handshakes fall back as before)', () => {
    const { table, problems } = compileWithProblems(
      state({ ingresses: [withTls('i', 'junk')], secrets: [tlsSecret('junk', 'NOT A CERT', pairA.key)] }),
    );
    expect(problems.map((p) => [p.reason, p.field])).toEqual([
      ['InvalidCertificate', 'spec.tls[0].secretName'],
    ]);
    expect(problems[0]!.message).toMatch(
      /^spec\.tls\[0\]\.secretName: secret "default\/junk": tls\.crt is not a PEM certificate \(.+\)$/,
    );
    expect(table.certs.map((c) => c.host)).toEqual(['a.example.com']);
  });

  it('a problem does not keep the rest of the Ingress from being served', () => {
    const { table } = compileWithProblems(
      state({
        ingresses: [
          ingress('i', {
            rules: [rule('s.com', { path: '/ok', svc: 'web', port: 'http' }, { path: '/bad', svc: 'foo' })],
          }),
        ],
      }),
    );
    expect(table.served).toEqual(['default/i']);
    expect(table.backends).toEqual([
      { key: 'default/foo:80', endpoints: [] },
      { key: 'default/web:http', endpoints: [{ address: '198.51.100.1', port: 3000 }] },
    ]);
  });

  it('carries the uid, and the table keeps the one-line form of each problem', () => {
    const ing = ingress('i', { defaultBackend: svcBackend('gone') });
    ing.metadata!.uid = '0f9e4c1a-5d7b-4e8f-9a2b-3c4d5e6f7a8b';
    const { table, problems } = compileWithProblems(state({ ingresses: [ing] }));
    const want: IngressProblem = {
      namespace: 'default',
      name: 'i',
      uid: '0f9e4c1a-5d7b-4e8f-9a2b-3c4d5e6f7a8b',
      reason: 'BackendServiceNotFound',
      field: 'spec.defaultBackend.service.name',
      message: 'spec.defaultBackend.service.name: service "default/gone" not found',
    };
    expect(problems).toEqual([want]);
    expect(table.problems).toEqual([
      'default/i: spec.defaultBackend.service.name: service "default/gone" not found',
    ]);
    expect(table.problems).toEqual(problems.map(formatProblem));
  });

  it('the same problem found by the next compile has the same key; a re-created Ingress has a new one', () => {
    const ing = ingress('i', { defaultBackend: svcBackend('gone') });
    ing.metadata!.uid = 'uid-1';
    const first = compileWithProblems(state({ ingresses: [ing] })).problems.map(problemKey);
    const again = compileWithProblems(state({ ingresses: [structuredClone(ing)] })).problems.map(problemKey);
    expect(again).toEqual(first);
    const recreated = structuredClone(ing);
    recreated.metadata!.uid = 'uid-2';
    const other = compileWithProblems(state({ ingresses: [recreated] })).problems.map(problemKey);
    expect(other).toHaveLength(1);
    expect(other[0]).not.toEqual(first[0]);
  });
});
