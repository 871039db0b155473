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

const ES = '/apis/discovery.k8s.io/v1/namespaces/eps/endpointslices';
type Extra = Record<string, unknown>;
const slice = (
  name: string,
  extra: Extra,
  labels: Record<string, string> = { 'kubernetes.io/service-name': 'web' },
) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, labels },
  addressType: 'IPv4',
  ...extra,
});
const endpoint = (ip: string, ready = true, node = 'node-1') => ({
  addresses: [ip],
  conditions: { ready, serving: ready, terminating: false },
  nodeName: node,
  targetRef: { kind: 'Pod', namespace: 'eps', name: `pod-${ip.split('.').pop()}` },
});

export const endpointSlices: Step[] = [
  post('eps-ns', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'eps' } }),
  post(
    'eps-create',
    ES,
    slice('web-1', {
      endpoints: [endpoint('10.1.0.5'), endpoint('10.1.0.6', false, 'node-2')],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }),
  ),
  post('eps-create-minimal', ES, slice('web-2', { ports: [{ port: 80 }] })),
  post('eps-create-no-ports', ES, slice('web-3', { endpoints: [{ addresses: ['10.1.0.7'] }] })),
  post('eps-ipv6', ES, {
    ...slice('web-v6', { endpoints: [{ addresses: ['fd00::5'] }] }),
    addressType: 'IPv6',
  }),
  post('eps-fqdn', ES, {
    ...slice('web-fqdn', { endpoints: [{ addresses: ['pod.example.com'] }] }),
    addressType: 'FQDN',
  }),
  post('eps-missing-address-type', ES, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'bad1' },
    endpoints: [],
  }),
  post('eps-bad-address-type', ES, { ...slice('bad2', {}), addressType: 'IPv5' }),
  post('eps-address-wrong-family', ES, slice('bad3', { endpoints: [{ addresses: ['fd00::1'] }] })),
  post('eps-no-addresses', ES, slice('bad4', { endpoints: [{ addresses: [] }] })),
  post('eps-bad-port', ES, slice('bad5', { ports: [{ port: 70000 }] })),
  post('eps-generate-name', ES, {
    ...slice('', { endpoints: [{ addresses: ['10.1.0.9'] }] }),
    metadata: { generateName: 'zz-web-', labels: { 'kubernetes.io/service-name': 'web' } },
  }),
  get('eps-get', `${ES}/web-1`),
  get('eps-get-table', `${ES}/web-1`, TABLE),
  get('eps-list', ES),
  get('eps-list-service', `${ES}?labelSelector=kubernetes.io%2Fservice-name%3Dweb`),
  get('eps-list-service-none', `${ES}?labelSelector=kubernetes.io%2Fservice-name%3Dother`),
  get('eps-list-field-address-type', `${ES}?fieldSelector=addressType%3DIPv4`),
  get('eps-list-field-name', `${ES}?fieldSelector=metadata.name%3Dweb-2`),
  get(
    'eps-list-all-namespaces',
    '/apis/discovery.k8s.io/v1/endpointslices?labelSelector=kubernetes.io%2Fservice-name',
  ),
  put('eps-put', `${ES}/web-2`, slice('web-2', { endpoints: [endpoint('10.1.0.8')], ports: [{ port: 80 }] })),
  put(
    'eps-put-labels-only',
    `${ES}/web-2`,
    slice(
      'web-2',
      { endpoints: [endpoint('10.1.0.8')], ports: [{ port: 80 }] },
      { 'kubernetes.io/service-name': 'web', extra: 'x' },
    ),
  ),
  put('eps-put-annotation-only', `${ES}/web-2`, {
    ...slice(
      'web-2',
      { endpoints: [endpoint('10.1.0.8')], ports: [{ port: 80 }] },
      { 'kubernetes.io/service-name': 'web', extra: 'x' },
    ),
    metadata: {
      name: 'web-2',
      labels: { 'kubernetes.io/service-name': 'web', extra: 'x' },
      annotations: { a: 'b' },
    },
  }),
  put('eps-put-creates', `${ES}/web-put`, slice('web-put', { endpoints: [endpoint('10.1.0.10')] })),
  put('eps-put-change-address-type', `${ES}/web-2`, { ...slice('web-2', {}), addressType: 'IPv6' }),
  put('eps-put-stale', `${ES}/web-1`, {
    ...slice('web-1', {}),
    metadata: { name: 'web-1', resourceVersion: '{{rv:eps-create}}' },
  }),
  patch('eps-merge-endpoints', `${ES}/web-1`, MERGE, {
    endpoints: [endpoint('10.1.0.5'), endpoint('10.1.0.6')],
  }),
  patch('eps-strategic-ports', `${ES}/web-1`, STRATEGIC, { ports: [{ name: 'metrics', port: 9100 }] }),
  patch('eps-json-ready', `${ES}/web-1`, JSON_PATCH, [
    { op: 'replace', path: '/endpoints/0/conditions/ready', value: false },
  ]),
  patch('eps-json-remove-endpoint', `${ES}/web-1`, JSON_PATCH, [{ op: 'remove', path: '/endpoints/1' }]),
  patch('eps-merge-noop', `${ES}/web-1`, MERGE, { addressType: 'IPv4' }),
  apply(
    'eps-apply',
    `${ES}/web-applied`,
    'portico-test',
    slice('web-applied', {
      endpoints: [{ addresses: ['10.1.0.20'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 80 }],
    }),
  ),
  apply(
    'eps-apply-again',
    `${ES}/web-applied`,
    'portico-test',
    slice('web-applied', {
      endpoints: [{ addresses: ['10.1.0.21'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 80 }],
    }),
  ),
  apply('eps-apply-conflict', `${ES}/web-applied`, 'someone-else', slice('web-applied', { endpoints: [] })),
  apply(
    'eps-apply-force',
    `${ES}/web-applied`,
    'someone-else',
    slice('web-applied', { endpoints: [] }),
    true,
  ),
  watch(
    'eps-watch',
    `${ES}?resourceVersion={{rv:eps-create}}&labelSelector=kubernetes.io%2Fservice-name%3Dweb`,
    12,
  ),
  kubectl('kubectl-eps-get', ['get', 'endpointslices', '-n', 'eps', '-l', 'kubernetes.io/service-name=web']),
  kubectl('kubectl-eps-get-json', ['get', 'endpointslice', 'web-1', '-n', 'eps', '-o', 'json']),
  kubectl(
    'kubectl-eps-apply',
    ['apply', '-n', 'eps', '-f', '-'],
    'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: kc-eps\n  labels: {kubernetes.io/service-name: kc}\naddressType: IPv4\nendpoints:\n- addresses: [10.2.0.1]\n  conditions: {ready: true}\nports:\n- {name: http, port: 80, protocol: TCP}\n',
  ),
  kubectl('kubectl-eps-delete', ['delete', 'endpointslice', 'kc-eps', '-n', 'eps']),
  del('eps-delete', `${ES}/web-3`),
  del('eps-delete-missing', `${ES}/web-3`),
  del('eps-delete-collection', `${ES}?labelSelector=extra%3Dx`),
];
