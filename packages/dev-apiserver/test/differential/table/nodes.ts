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

const NODES = '/api/v1/nodes';
const node = (name: string, extra: Record<string, unknown> = {}, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, ...(labels ? { labels } : {}) },
  ...extra,
});
const ready = (status: string) => ({
  type: 'Ready',
  status,
  reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady',
  message: 'kubelet',
  lastHeartbeatTime: '2026-01-01T00:00:00Z',
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

export const nodes: Step[] = [
  post(
    'node-create',
    NODES,
    node(
      'node-1',
      { spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } },
      { 'kubernetes.io/hostname': 'node-1', 'node-role.kubernetes.io/worker': '' },
    ),
  ),
  post('node-create-bare', NODES, node('node-2', {}, { zone: 'b' })),
  post('node-create-name-only', NODES, node('node-3')),
  post(
    'node-create-with-status',
    NODES,
    node('node-4', {
      status: {
        addresses: [{ type: 'InternalIP', address: '192.168.1.4' }],
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      },
    }),
  ),
  post('node-bad-name', NODES, node('Node_1')),
  post('node-namespaced-path', '/api/v1/namespaces/default/nodes', node('node-x')),
  get('node-get', `${NODES}/node-1`),
  get('node-get-table', `${NODES}/node-1`, TABLE),
  get('node-list', NODES),
  get('node-list-table', NODES, TABLE),
  get('node-list-label', `${NODES}?labelSelector=node-role.kubernetes.io%2Fworker`),
  get('node-list-field-name', `${NODES}?fieldSelector=metadata.name%3Dnode-2`),
  get('node-list-field-unschedulable', `${NODES}?fieldSelector=spec.unschedulable%3Dfalse`),
  get('node-list-field-namespace', `${NODES}?fieldSelector=metadata.namespace%3Ddefault`),
  // The kubelet's status: addresses, conditions, capacity.
  put(
    'node-status-put',
    `${NODES}/node-1/status`,
    node(
      'node-1',
      {
        status: {
          addresses: [
            { type: 'InternalIP', address: '192.168.1.1' },
            { type: 'Hostname', address: 'node-1' },
          ],
          conditions: [ready('True')],
          capacity: { cpu: '2', memory: '4Gi', pods: '110' },
          nodeInfo: { kubeletVersion: 'v1.36.3', architecture: 'amd64', operatingSystem: 'linux' },
        },
      },
      { 'kubernetes.io/hostname': 'node-1', 'node-role.kubernetes.io/worker': '' },
    ),
  ),
  patch('node-status-strategic-condition', `${NODES}/node-1/status`, STRATEGIC, {
    status: { conditions: [ready('False')] },
  }),
  patch('node-status-strategic-address', `${NODES}/node-1/status`, STRATEGIC, {
    status: { addresses: [{ type: 'ExternalIP', address: '203.0.113.1' }] },
  }),
  patch('node-status-merge', `${NODES}/node-2/status`, MERGE, {
    status: { addresses: [{ type: 'InternalIP', address: '192.168.1.2' }] },
  }),
  apply(
    'node-status-apply',
    `${NODES}/node-3/status`,
    'kubelet',
    node('node-3', { status: { conditions: [ready('True')] } }),
  ),
  get('node-after-status', `${NODES}/node-1`),
  patch('node-cordon', `${NODES}/node-1`, STRATEGIC, { spec: { unschedulable: true } }),
  get('node-list-field-unschedulable-true', `${NODES}?fieldSelector=spec.unschedulable%3Dtrue`),
  patch('node-taint', `${NODES}/node-2`, MERGE, {
    spec: { taints: [{ key: 'dedicated', value: 'lb', effect: 'NoSchedule' }] },
  }),
  patch('node-label', `${NODES}/node-2`, JSON_PATCH, [
    { op: 'add', path: '/metadata/labels/portico.dev~1speaker', value: 'true' },
  ]),
  patch('node-main-ignores-status', `${NODES}/node-2`, MERGE, {
    status: { addresses: [] },
    metadata: { annotations: { a: 'b' } },
  }),
  put('node-put-stale', `${NODES}/node-2`, {
    ...node('node-2'),
    metadata: { name: 'node-2', resourceVersion: '{{rv:node-create-bare}}' },
  }),
  put('node-put-missing', `${NODES}/node-9`, node('node-9')),
  apply('node-apply', `${NODES}/node-5`, 'portico-test', node('node-5', {}, { zone: 'a' })),
  apply(
    'node-apply-label-owner',
    `${NODES}/node-2`,
    'labeler',
    node('node-2', {}, { 'portico.dev/speaker': 'false' }),
  ),
  watch('node-watch', `${NODES}?resourceVersion={{rv:node-create}}&labelSelector=zone`, 6),
  kubectl('kubectl-node-get', ['get', 'nodes']),
  kubectl('kubectl-node-get-wide', ['get', 'node', 'node-1', '-o', 'wide']),
  kubectl('kubectl-node-cordon', ['cordon', 'node-2']),
  kubectl('kubectl-node-uncordon', ['uncordon', 'node-2']),
  kubectl('kubectl-node-label', ['label', 'node', 'node-3', 'portico.dev/speaker=true', '-o', 'json']),
  kubectl('kubectl-node-taint', ['taint', 'node', 'node-3', 'dedicated=lb:NoSchedule']),
  del('node-delete', `${NODES}/node-4`),
  del('node-delete-missing', `${NODES}/node-4`),
];
