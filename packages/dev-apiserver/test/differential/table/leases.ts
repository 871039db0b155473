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

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/lease/leases';
const lease = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, ...extra },
  spec,
});
const held = (holder: string, transitions = 0, renew = '2026-01-01T00:00:10.123456Z') => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: '2026-01-01T00:00:00.000000Z',
  renewTime: renew,
  leaseTransitions: transitions,
});

export const leases: Step[] = [
  post('lease-ns', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'lease' },
  }),
  post('lease-create', LEASES, lease('portico-controller', held('controller-a'))),
  post(
    'lease-create-seconds',
    LEASES,
    lease('seconds', {
      holderIdentity: 'x',
      renewTime: '2026-01-01T00:00:10Z',
      acquireTime: '2026-01-01T00:00:00+02:00',
    }),
  ),
  post('lease-create-empty', LEASES, lease('empty', {})),
  post('lease-create-exists', LEASES, lease('portico-controller', held('controller-b'))),
  post('lease-zero-duration', LEASES, lease('zero', { holderIdentity: 'x', leaseDurationSeconds: 0 })),
  post('lease-negative-transitions', LEASES, lease('negative', { leaseTransitions: -1 })),
  post('lease-bad-strategy', LEASES, lease('strategy', { strategy: 'Whatever' })),
  get('lease-get', `${LEASES}/portico-controller`),
  get('lease-get-missing', `${LEASES}/nothing`),
  get('lease-list', LEASES),
  get('lease-list-table', LEASES, TABLE),
  // Leader election: a renewal with the resourceVersion, a competing stale renewal, a takeover.
  put(
    'lease-renew',
    `${LEASES}/portico-controller`,
    lease('portico-controller', held('controller-a', 0, '2026-01-01T00:00:20.5Z'), {
      resourceVersion: '{{rv:lease-create}}',
    }),
  ),
  put(
    'lease-renew-stale',
    `${LEASES}/portico-controller`,
    lease('portico-controller', held('controller-b', 1), { resourceVersion: '{{rv:lease-create}}' }),
  ),
  put(
    'lease-takeover',
    `${LEASES}/portico-controller`,
    lease('portico-controller', held('controller-b', 1, '2026-01-01T00:01:00Z'), {
      resourceVersion: '{{rv:lease-renew}}',
    }),
  ),
  put('lease-put-creates', `${LEASES}/created-by-put`, lease('created-by-put', held('x'))),
  put(
    'lease-put-creates-with-rv',
    `${LEASES}/created-by-put-rv`,
    lease('created-by-put-rv', held('x'), { resourceVersion: '5' }),
  ),
  patch('lease-merge-release', `${LEASES}/portico-controller`, MERGE, {
    spec: { holderIdentity: null, renewTime: null },
  }),
  patch('lease-strategic', `${LEASES}/portico-controller`, STRATEGIC, {
    spec: { holderIdentity: 'controller-c', leaseTransitions: 2 },
  }),
  patch('lease-json-test-holder', `${LEASES}/portico-controller`, JSON_PATCH, [
    { op: 'test', path: '/spec/holderIdentity', value: 'controller-c' },
    { op: 'replace', path: '/spec/holderIdentity', value: 'controller-d' },
  ]),
  patch('lease-json-test-stale', `${LEASES}/portico-controller`, JSON_PATCH, [
    { op: 'test', path: '/spec/holderIdentity', value: 'controller-c' },
    { op: 'replace', path: '/spec/holderIdentity', value: 'controller-e' },
  ]),
  patch('lease-merge-rv-precondition', `${LEASES}/portico-controller`, MERGE, {
    metadata: { resourceVersion: '{{rv:lease-strategic}}' },
    spec: { holderIdentity: 'late' },
  }),
  apply('lease-apply', `${LEASES}/applied`, 'elector', lease('applied', held('elector-1'))),
  apply(
    'lease-apply-renew',
    `${LEASES}/applied`,
    'elector',
    lease('applied', { holderIdentity: 'elector-1', renewTime: '2026-01-01T00:00:30.000000Z' }),
  ),
  apply('lease-apply-rival', `${LEASES}/applied`, 'rival', lease('applied', { holderIdentity: 'rival' })),
  watch(
    'lease-watch',
    `${LEASES}?resourceVersion={{rv:lease-create}}&fieldSelector=metadata.name%3Dportico-controller`,
    5,
  ),
  kubectl('kubectl-lease-get', ['get', 'leases', '-n', 'lease']),
  kubectl('kubectl-lease-get-json', ['get', 'lease', 'portico-controller', '-n', 'lease', '-o', 'json']),
  del('lease-delete', `${LEASES}/empty`),
  del('lease-delete-stale', `${LEASES}/portico-controller`, {
    preconditions: { resourceVersion: '{{rv:lease-create}}' },
  }),
  del('lease-delete-current', `${LEASES}/portico-controller`, {
    preconditions: { resourceVersion: '{{rv:lease-merge-rv-precondition}}' },
  }),
];
