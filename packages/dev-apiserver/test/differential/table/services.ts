import {
  APPLY,
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

const NS = '/api/v1/namespaces/svc';
const SVC = `${NS}/services`;
type Spec = Record<string, unknown>;
const svc = (name: string, spec: Spec, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});
const web = { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] };

export const services: Step[] = [
  post('svc-ns', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'svc' } }),
  // Defaulting and allocation on create.
  post('svc-clusterip', SVC, svc('web', web, { app: 'web' })),
  post(
    'svc-clusterip-named-port',
    SVC,
    svc('named', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }),
  ),
  post(
    'svc-nodeport',
    SVC,
    svc('np', {
      type: 'NodePort',
      selector: { app: 'np' },
      ports: [
        { name: 'a', port: 80, nodePort: 30001 },
        { name: 'b', port: 81 },
      ],
    }),
  ),
  post('svc-nodeport-taken', SVC, svc('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] })),
  post(
    'svc-nodeport-out-of-range',
    SVC,
    svc('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: 20000 }] }),
  ),
  post(
    'svc-lb',
    SVC,
    svc(
      'lb',
      { type: 'LoadBalancer', selector: { app: 'lb' }, ports: [{ port: 443, protocol: 'TCP' }] },
      { tier: 'edge' },
    ),
  ),
  post(
    'svc-lb-local',
    SVC,
    svc(
      'lb-local',
      { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] },
      { tier: 'edge' },
    ),
  ),
  post(
    'svc-lb-no-nodeports',
    SVC,
    svc('lb-nnp', {
      type: 'LoadBalancer',
      allocateLoadBalancerNodePorts: false,
      loadBalancerClass: 'portico.dev/lb',
      ports: [{ port: 80 }],
    }),
  ),
  post(
    'svc-headless',
    SVC,
    svc('headless', { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] }),
  ),
  post('svc-headless-no-selector', SVC, svc('headless-ns', { clusterIP: 'None', ports: [{ port: 80 }] })),
  post('svc-prefer-dual', SVC, svc('dual', { ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] })),
  post(
    'svc-require-dual-v6',
    SVC,
    svc('dual6', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'], ports: [{ port: 80 }] }),
  ),
  post('svc-single-v6', SVC, svc('v6', { ipFamilies: ['IPv6'], ports: [{ port: 80 }] })),
  post(
    'svc-static-ip',
    SVC,
    svc('static', {
      clusterIP: '10.96.0.10',
      ports: [
        { port: 53, protocol: 'UDP', name: 'dns' },
        { port: 53, protocol: 'TCP', name: 'dns-tcp' },
      ],
    }),
  ),
  post('svc-static-ip-taken', SVC, svc('static2', { clusterIP: '10.96.0.10', ports: [{ port: 53 }] })),
  post('svc-ip-out-of-range', SVC, svc('outside', { clusterIP: '192.168.1.1', ports: [{ port: 53 }] })),
  post('svc-ip-invalid', SVC, svc('badip', { clusterIP: 'not-an-ip', ports: [{ port: 53 }] })),
  post('svc-external-name', SVC, svc('ext', { type: 'ExternalName', externalName: 'example.com' })),
  post(
    'svc-external-name-with-ip',
    SVC,
    svc('ext2', { type: 'ExternalName', externalName: 'example.com', clusterIP: '10.96.0.11' }),
  ),
  post('svc-external-name-missing', SVC, svc('ext3', { type: 'ExternalName' })),
  post('svc-no-ports', SVC, svc('noports', { selector: { app: 'x' } })),
  post('svc-port-zero', SVC, svc('port0', { ports: [{ port: 0 }] })),
  post('svc-port-too-big', SVC, svc('port70k', { ports: [{ port: 70000 }] })),
  post('svc-bad-protocol', SVC, svc('proto', { ports: [{ port: 80, protocol: 'FOO' }] })),
  post('svc-ports-unnamed', SVC, svc('unnamed', { ports: [{ port: 80 }, { port: 81 }] })),
  post(
    'svc-ports-duplicate-name',
    SVC,
    svc('dupname', {
      ports: [
        { name: 'a', port: 80 },
        { name: 'a', port: 81 },
      ],
    }),
  ),
  post('svc-nodeport-on-clusterip', SVC, svc('npcip', { ports: [{ port: 80, nodePort: 30002 }] })),
  post('svc-bad-type', SVC, svc('badtype', { type: 'Foo', ports: [{ port: 80 }] })),
  post('svc-bad-name', SVC, svc('1abc', web)),
  post('svc-bad-name-upper', SVC, svc('Web', web)),
  post(
    'svc-lb-class-on-clusterip',
    SVC,
    svc('lbc', { loadBalancerClass: 'x.dev/lb', ports: [{ port: 80 }] }),
  ),
  post('svc-etp-on-clusterip', SVC, svc('etp', { externalTrafficPolicy: 'Local', ports: [{ port: 80 }] })),
  post(
    'svc-single-stack-two-families',
    SVC,
    svc('ssf', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'], ports: [{ port: 80 }] }),
  ),
  post('svc-session-affinity', SVC, svc('sticky', { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] })),
  post('svc-unknown-field', SVC, { ...svc('unknown', { ports: [{ port: 80, bogus: 1 }], bogus: true }) }),
  post(
    'svc-unknown-field-strict',
    `${SVC}?fieldValidation=Strict`,
    svc('unknown2', { ports: [{ port: 80 }], bogus: true }),
  ),
  post('svc-exists', SVC, svc('web', web)),
  // Reads and selectors.
  get('svc-get', `${SVC}/web`),
  get('svc-get-table', `${SVC}/web`, TABLE),
  get('svc-list', SVC),
  get('svc-list-table', SVC, TABLE),
  get('svc-list-all-namespaces-type', '/api/v1/services?fieldSelector=spec.type%3DLoadBalancer'),
  get('svc-list-field-clusterip', `${SVC}?fieldSelector=spec.clusterIP%3D10.96.0.10`),
  get('svc-list-field-type-not', `${SVC}?fieldSelector=spec.type!%3DClusterIP`),
  get('svc-list-field-two', `${SVC}?fieldSelector=spec.type%3DLoadBalancer,metadata.name%3Dlb`),
  get('svc-list-field-unsupported', `${SVC}?fieldSelector=spec.ports%3D80`),
  get('svc-list-label', `${SVC}?labelSelector=tier%3Dedge`),
  get('svc-list-label-set', `${SVC}?labelSelector=app%20in%20(web,none),tier%20notin%20(edge)`),
  // Updates.
  put(
    'svc-put-keep-ip',
    `${SVC}/web`,
    svc('web', { ...web, ports: [{ port: 80, targetPort: 9090 }] }, { app: 'web' }),
  ),
  put('svc-put-stale', `${SVC}/web`, {
    ...svc('web', web),
    metadata: { name: 'web', resourceVersion: '{{rv:svc-clusterip}}' },
  }),
  put(
    'svc-put-change-ip',
    `${SVC}/static`,
    svc('static', { clusterIP: '10.96.0.12', ports: [{ port: 53, protocol: 'UDP' }] }),
  ),
  put(
    'svc-put-noop',
    `${SVC}/web`,
    svc('web', { ...web, ports: [{ port: 80, targetPort: 9090 }] }, { app: 'web' }),
  ),
  patch('svc-merge-to-nodeport', `${SVC}/web`, MERGE, { spec: { type: 'NodePort' } }),
  patch('svc-merge-back-to-clusterip', `${SVC}/web`, MERGE, { spec: { type: 'ClusterIP' } }),
  patch('svc-strategic-add-port', `${SVC}/web`, STRATEGIC, {
    spec: { ports: [{ name: 'metrics', port: 9100 }] },
  }),
  patch('svc-strategic-name-ports', `${SVC}/web`, STRATEGIC, {
    spec: { ports: [{ port: 80, name: 'http' }] },
  }),
  patch('svc-strategic-delete-port', `${SVC}/web`, STRATEGIC, {
    spec: { ports: [{ port: 9100, $patch: 'delete' }] },
  }),
  patch('svc-json-selector', `${SVC}/web`, JSON_PATCH, [
    { op: 'replace', path: '/spec/selector', value: { app: 'web2' } },
  ]),
  patch('svc-json-bad-port', `${SVC}/web`, JSON_PATCH, [
    { op: 'replace', path: '/spec/ports/0/port', value: 0 },
  ]),
  patch('svc-merge-lb-class-change', `${SVC}/lb-nnp`, MERGE, { spec: { loadBalancerClass: 'other.dev/lb' } }),
  patch('svc-merge-local-to-cluster', `${SVC}/lb-local`, MERGE, {
    spec: { externalTrafficPolicy: 'Cluster' },
  }),
  put('svc-put-dual-keeps-policy', `${SVC}/dual6`, svc('dual6', { ports: [{ port: 80 }] })),
  patch('svc-merge-dual-downgrade', `${SVC}/dual`, MERGE, {
    spec: { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], clusterIPs: null },
  }),
  patch('svc-merge-to-external-name', `${SVC}/named`, MERGE, {
    spec: {
      type: 'ExternalName',
      externalName: 'named.example.com',
      clusterIP: '',
      clusterIPs: null,
      selector: null,
    },
  }),
  // Status.
  put('svc-status-put', `${SVC}/lb/status`, {
    ...svc('lb', { type: 'ClusterIP' }, { tier: 'edge', via: 'status' }),
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } },
  }),
  get('svc-status-get', `${SVC}/lb/status`),
  patch('svc-status-merge', `${SVC}/lb/status`, MERGE, {
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.11', ipMode: 'Proxy' }] } },
  }),
  patch('svc-status-strategic', `${SVC}/lb/status`, STRATEGIC, {
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Assigned',
          message: 'ok',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    },
  }),
  patch('svc-status-bad-ip', `${SVC}/lb/status`, MERGE, {
    status: { loadBalancer: { ingress: [{ ip: 'nope' }] } },
  }),
  patch('svc-status-hostname-ip', `${SVC}/lb/status`, MERGE, {
    status: { loadBalancer: { ingress: [{ hostname: '192.0.2.1' }] } },
  }),
  patch('svc-status-ipmode-without-ip', `${SVC}/lb/status`, MERGE, {
    status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com', ipMode: 'VIP' }] } },
  }),
  apply('svc-status-apply', `${SVC}/lb/status`, 'portico-controller', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'lb' },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.20' }] } },
  }),
  patch('svc-main-ignores-status', `${SVC}/lb`, MERGE, {
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.99' }] } },
    metadata: { labels: { touched: 'yes' } },
  }),
  patch('svc-status-missing', `${SVC}/nothere/status`, MERGE, { status: {} }),
  get('svc-after-status', `${SVC}/lb`),
  // Server-side apply.
  apply(
    'svc-apply-create',
    `${SVC}/applied`,
    'deployer',
    svc('applied', { selector: { app: 'applied' }, ports: [{ name: 'http', port: 80 }] }),
  ),
  apply(
    'svc-apply-add-port',
    `${SVC}/applied`,
    'deployer',
    svc('applied', {
      selector: { app: 'applied' },
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
    }),
  ),
  apply(
    'svc-apply-other-manager-conflict',
    `${SVC}/applied`,
    'other',
    svc('applied', { selector: { app: 'other' } }),
  ),
  apply(
    'svc-apply-other-manager-shared',
    `${SVC}/applied`,
    'other',
    svc('applied', { ports: [{ name: 'https', port: 443 }] }),
  ),
  apply(
    'svc-apply-drop-port',
    `${SVC}/applied`,
    'deployer',
    svc('applied', { selector: { app: 'applied' }, ports: [{ name: 'http', port: 80 }] }),
  ),
  apply('svc-apply-drop-shared', `${SVC}/applied`, 'other', svc('applied', {})),
  apply(
    'svc-apply-type-lb',
    `${SVC}/applied`,
    'deployer',
    svc('applied', {
      type: 'LoadBalancer',
      selector: { app: 'applied' },
      ports: [{ name: 'http', port: 80 }],
    }),
  ),
  patch('svc-apply-no-manager', `${SVC}/applied`, APPLY, svc('applied', {})),
  apply('svc-apply-wrong-kind', `${SVC}/applied`, 'deployer', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'applied' },
  }),
  apply('svc-apply-invalid', `${SVC}/applied-bad`, 'deployer', svc('applied-bad', { ports: [{ port: 0 }] })),
  get('svc-apply-get', `${SVC}/applied`),
  watch('svc-watch-lb', `${SVC}?resourceVersion={{rv:svc-clusterip}}&fieldSelector=metadata.name%3Dlb`, 6),
  // kubectl.
  kubectl('kubectl-svc-create-clusterip', [
    'create',
    'service',
    'clusterip',
    'kc-cip',
    '-n',
    'svc',
    '--tcp=80:8080',
  ]),
  kubectl('kubectl-svc-create-nodeport', [
    'create',
    'service',
    'nodeport',
    'kc-np',
    '-n',
    'svc',
    '--tcp=5678:8080',
    '--node-port=30080',
  ]),
  kubectl('kubectl-svc-create-lb', [
    'create',
    'service',
    'loadbalancer',
    'kc-lb',
    '-n',
    'svc',
    '--tcp=80:8080',
    '-o',
    'json',
  ]),
  kubectl('kubectl-svc-create-external', [
    'create',
    'service',
    'externalname',
    'kc-ext',
    '-n',
    'svc',
    '--external-name=example.org',
  ]),
  kubectl('kubectl-svc-get', ['get', 'service', 'kc-np', '-n', 'svc', '-o', 'json']),
  kubectl('kubectl-svc-get-wide', ['get', 'services', '-n', 'svc', '-o', 'wide', '-l', 'app=kc-cip']),
  kubectl(
    'kubectl-svc-apply',
    ['apply', '-n', 'svc', '-f', '-'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-applied\n  labels: {app: kc}\nspec:\n  type: LoadBalancer\n  selector: {app: kc}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n',
  ),
  kubectl(
    'kubectl-svc-apply-again',
    ['apply', '-n', 'svc', '-f', '-', '-o', 'json'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-applied\n  labels: {app: kc}\nspec:\n  type: LoadBalancer\n  selector: {app: kc}\n  ports:\n  - {name: https, port: 443, targetPort: 8443}\n',
  ),
  kubectl(
    'kubectl-svc-apply-server-side',
    ['apply', '--server-side', '-n', 'svc', '-f', '-', '-o', 'json'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-applied\n  labels: {app: kc}\nspec:\n  type: LoadBalancer\n  selector: {app: kc}\n  ports:\n  - {name: https, port: 443, targetPort: 8443}\n',
  ),
  kubectl('kubectl-svc-patch-status', [
    'patch',
    'service',
    'kc-applied',
    '-n',
    'svc',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.30"}]}}}',
  ]),
  kubectl('kubectl-svc-get-lb-table', ['get', 'service', 'kc-applied', '-n', 'svc']),
  kubectl('kubectl-svc-label', ['label', 'service', 'kc-applied', '-n', 'svc', 'env=test']),
  kubectl('kubectl-svc-annotate', [
    'annotate',
    'service',
    'kc-applied',
    '-n',
    'svc',
    'note=hello',
    '-o',
    'json',
  ]),
  kubectl('kubectl-svc-patch-strategic', [
    'patch',
    'service',
    'kc-applied',
    '-n',
    'svc',
    '-p',
    '{"spec":{"ports":[{"port":8443,"name":"alt"}]}}',
    '-o',
    'json',
  ]),
  kubectl('kubectl-svc-get-managed', [
    'get',
    'service',
    'kc-applied',
    '-n',
    'svc',
    '-o',
    'json',
    '--show-managed-fields',
  ]),
  kubectl(
    'kubectl-svc-replace',
    ['replace', '-n', 'svc', '-f', '-', '-o', 'json'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-cip\nspec:\n  selector: {app: replaced}\n  ports:\n  - {port: 80}\n',
  ),
  kubectl(
    'kubectl-svc-apply-ss-conflict',
    ['apply', '--server-side', '--field-manager=rival', '-n', 'svc', '-f', '-'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-applied\nspec:\n  selector: {app: rival}\n',
  ),
  kubectl(
    'kubectl-svc-apply-ss-force',
    [
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=rival',
      '-n',
      'svc',
      '-f',
      '-',
      '-o',
      'json',
    ],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-applied\nspec:\n  selector: {app: rival}\n',
  ),
  kubectl(
    'kubectl-svc-dry-run-server',
    ['apply', '--dry-run=server', '-n', 'svc', '-f', '-'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: kc-dry\nspec:\n  ports:\n  - {port: 80}\n',
  ),
  kubectl('kubectl-svc-delete', ['delete', 'service', 'kc-ext', '-n', 'svc']),
  kubectl('kubectl-svc-get-missing', ['get', 'service', 'kc-ext', '-n', 'svc']),
  // Dry runs: validated, defaulted and allocated as for real, then not stored.
  post('svc-dry-run-create', `${SVC}?dryRun=All`, svc('dry', { type: 'NodePort', ports: [{ port: 80 }] })),
  get('svc-dry-run-create-absent', `${SVC}/dry`),
  post('svc-dry-run-create-invalid', `${SVC}?dryRun=All`, svc('dry', { ports: [{ port: 0 }] })),
  put(
    'svc-dry-run-update',
    `${SVC}/web?dryRun=All`,
    svc('web', { type: 'NodePort', selector: { app: 'dry' }, ports: [{ port: 80 }] }),
  ),
  patch('svc-dry-run-merge', `${SVC}/web?dryRun=All`, MERGE, { metadata: { labels: { dry: 'run' } } }),
  apply(
    'svc-dry-run-apply',
    `${SVC}/applied?dryRun=All`,
    'dry-runner',
    svc('applied', { selector: { app: 'dry' } }),
    true,
  ),
  get('svc-dry-run-unchanged', `${SVC}/web`),
  del('svc-dry-run-delete', `${SVC}/web?dryRun=All`),
  get('svc-dry-run-still-there', `${SVC}/web`),
  // Deletion.
  del('svc-delete', `${SVC}/v6`),
  del('svc-delete-missing', `${SVC}/v6`),
  del('svc-delete-uid-precondition', `${SVC}/headless`, {
    preconditions: { uid: '00000000-0000-0000-0000-000000000000' },
  }),
  post('svc-recreate-deleted', SVC, svc('v6', { ipFamilies: ['IPv6'], ports: [{ port: 80 }] })),
];
