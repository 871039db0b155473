import {
  apply,
  del,
  get,
  JSON_PATCH,
  kubectl,
  MERGE,
  patch,
  post,
  put,
  STRATEGIC,
  TABLE,
  watch,
  type Step,
} from '../steps.js';

const IC = '/apis/networking.k8s.io/v1/ingressclasses';
const ING = '/apis/networking.k8s.io/v1/namespaces/ing/ingresses';
const ingressClass = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec,
});
const ingress = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});
const backend = (name: string, port: number | string) => ({
  service: { name, port: typeof port === 'number' ? { number: port } : { name: port } },
});
const rule = (
  host: string | undefined,
  path: string,
  pathType: string,
  svc = 'web',
  port: number | string = 80,
) => ({
  ...(host ? { host } : {}),
  http: { paths: [{ path, pathType, backend: backend(svc, port) }] },
});

export const ingresses: Step[] = [
  post(
    'ic-create',
    IC,
    ingressClass(
      'portico',
      { controller: 'portico.dev/ingress' },
      { 'ingressclass.kubernetes.io/is-default-class': 'true' },
    ),
  ),
  post(
    'ic-create-params',
    IC,
    ingressClass('portico-params', {
      controller: 'portico.dev/ingress',
      parameters: { apiGroup: 'portico.dev', kind: 'IngressParameters', name: 'default' },
    }),
  ),
  post('ic-no-controller', IC, ingressClass('bad', {})),
  post('ic-bad-controller', IC, ingressClass('bad2', { controller: 'not a domain/x' })),
  post('ic-exists', IC, ingressClass('portico', { controller: 'portico.dev/ingress' })),
  get('ic-get', `${IC}/portico`),
  get('ic-list', IC),
  get('ic-list-table', IC, TABLE),
  patch('ic-change-controller', `${IC}/portico`, MERGE, { spec: { controller: 'other.dev/ingress' } }),
  patch('ic-annotate', `${IC}/portico`, MERGE, { metadata: { annotations: { note: 'x' } } }),
  patch('ic-params-scope', `${IC}/portico-params`, MERGE, {
    spec: { parameters: { scope: 'Namespace', namespace: 'ing' } },
  }),
  apply(
    'ic-apply',
    `${IC}/applied`,
    'portico-test',
    ingressClass('applied', { controller: 'portico.dev/ingress' }),
  ),
  put(
    'ic-put-generation',
    `${IC}/applied`,
    ingressClass('applied', { controller: 'portico.dev/ingress', parameters: { kind: 'Params', name: 'p' } }),
  ),
  del('ic-delete', `${IC}/applied`),
  post('ing-ns', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ing' } }),
  post(
    'ing-create',
    ING,
    ingress(
      'web',
      {
        ingressClassName: 'portico',
        tls: [{ hosts: ['app.example.com'], secretName: 'app-tls' }],
        rules: [
          rule('app.example.com', '/', 'Prefix'),
          rule('*.example.org', '/api', 'Exact', 'api', 'http'),
        ],
      },
      { app: 'web' },
    ),
  ),
  post('ing-default-backend', ING, ingress('default', { defaultBackend: backend('fallback', 8080) })),
  post(
    'ing-impl-specific',
    ING,
    ingress('impl', { rules: [rule(undefined, 'relative', 'ImplementationSpecific')] }),
  ),
  post('ing-empty', ING, ingress('empty', {})),
  post(
    'ing-no-path-type',
    ING,
    ingress('nopt', { rules: [{ http: { paths: [{ path: '/', backend: backend('web', 80) }] } }] }),
  ),
  post('ing-bad-path-type', ING, ingress('badpt', { rules: [rule(undefined, '/', 'Regex')] })),
  post('ing-relative-prefix', ING, ingress('rel', { rules: [rule(undefined, 'api', 'Prefix')] })),
  post('ing-ip-host', ING, ingress('iphost', { rules: [rule('192.0.2.1', '/', 'Prefix')] })),
  post('ing-bad-host', ING, ingress('badhost', { rules: [rule('Bad_Host', '/', 'Prefix')] })),
  post(
    'ing-both-port-forms',
    ING,
    ingress('ports', { defaultBackend: { service: { name: 'web', port: { number: 80, name: 'http' } } } }),
  ),
  post('ing-no-port', ING, ingress('noport', { defaultBackend: { service: { name: 'web' } } })),
  post(
    'ing-no-backend',
    ING,
    ingress('nobackend', { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix' }] } }] }),
  ),
  post(
    'ing-bad-class-name',
    ING,
    ingress('badclass', { ingressClassName: 'Bad Class', defaultBackend: backend('web', 80) }),
  ),
  post('ing-no-paths', ING, ingress('nopaths', { rules: [{ host: 'x.example.com', http: { paths: [] } }] })),
  get('ing-get', `${ING}/web`),
  get('ing-get-table', `${ING}/web`, TABLE),
  get('ing-list', ING),
  get('ing-list-table', ING, TABLE),
  get('ing-list-label', `${ING}?labelSelector=app%3Dweb`),
  get('ing-list-field-unsupported', `${ING}?fieldSelector=spec.ingressClassName%3Dportico`),
  put('ing-put', `${ING}/default`, ingress('default', { defaultBackend: backend('fallback', 9090) })),
  put('ing-put-stale', `${ING}/default`, {
    ...ingress('default', { defaultBackend: backend('fallback', 9090) }),
    metadata: { name: 'default', resourceVersion: '{{rv:ing-default-backend}}' },
  }),
  patch('ing-merge-labels', `${ING}/web`, MERGE, { metadata: { labels: { tier: 'front' } } }),
  patch('ing-merge-rules', `${ING}/web`, MERGE, {
    spec: { rules: [rule('app.example.com', '/v2', 'Prefix')] },
  }),
  patch('ing-strategic-tls', `${ING}/web`, STRATEGIC, {
    spec: { tls: [{ hosts: ['b.example.com'], secretName: 'b-tls' }] },
  }),
  patch('ing-json-class', `${ING}/web`, JSON_PATCH, [
    { op: 'replace', path: '/spec/ingressClassName', value: 'portico-params' },
  ]),
  patch('ing-json-invalid', `${ING}/web`, JSON_PATCH, [
    { op: 'replace', path: '/spec/rules/0/http/paths/0/pathType', value: 'Nope' },
  ]),
  put('ing-status', `${ING}/web/status`, {
    ...ingress('web', { defaultBackend: backend('x', 1) }, { app: 'web', tier: 'front' }),
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.50', ports: [{ port: 443, protocol: 'TCP' }] }] } },
  }),
  patch('ing-status-merge-hostname', `${ING}/web/status`, MERGE, {
    status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } },
  }),
  patch('ing-status-bad-ip', `${ING}/web/status`, MERGE, {
    status: { loadBalancer: { ingress: [{ ip: '999.1.1.1' }] } },
  }),
  apply('ing-status-apply', `${ING}/web/status`, 'portico-ingress', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web' },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.51' }] } },
  }),
  patch('ing-main-ignores-status', `${ING}/web`, MERGE, {
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.52' }] } },
  }),
  get('ing-after-status', `${ING}/web`),
  apply(
    'ing-apply',
    `${ING}/applied`,
    'portico-test',
    ingress('applied', { ingressClassName: 'portico', rules: [rule('applied.example.com', '/', 'Prefix')] }),
  ),
  apply(
    'ing-apply-add-rule',
    `${ING}/applied`,
    'portico-test',
    ingress('applied', {
      ingressClassName: 'portico',
      rules: [rule('applied.example.com', '/', 'Prefix'), rule('b.example.com', '/', 'Prefix')],
    }),
  ),
  apply('ing-apply-other', `${ING}/applied`, 'other', ingress('applied', { ingressClassName: 'other' })),
  watch('ing-watch', `${ING}?resourceVersion={{rv:ing-create}}`, 10),
  kubectl('kubectl-ing-create', [
    'create',
    'ingress',
    'kc-ing',
    '-n',
    'ing',
    '--class=portico',
    '--rule=app.example/api*=web:80,tls=cert',
    '-o',
    'json',
  ]),
  kubectl('kubectl-ing-get', ['get', 'ingress', '-n', 'ing']),
  kubectl('kubectl-ing-get-class', ['get', 'ingressclass']),
  kubectl(
    'kubectl-ing-apply',
    ['apply', '-n', 'ing', '-f', '-', '-o', 'json'],
    'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: kc-applied\nspec:\n  ingressClassName: portico\n  rules:\n  - host: kc.example.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n',
  ),
  kubectl(
    'kubectl-ing-invalid',
    ['apply', '-n', 'ing', '-f', '-'],
    'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: kc-invalid\nspec:\n  rules:\n  - http:\n      paths:\n      - {path: /, backend: {service: {name: web, port: {number: 80}}}}\n',
  ),
  kubectl('kubectl-ing-delete', ['delete', 'ingress', 'kc-ing', '-n', 'ing']),
  del('ing-delete', `${ING}/impl`),
  del('ing-delete-missing', `${ING}/impl`),
];
