/**
 * The RBAC of the manifests, proven on a real kube-apiserver (RBAC authorization on):
 *
 * 1. `manifests/overlays/layer2` with the `manifests/ingress` component, and
 *    `manifests/overlays/bgp`, rendered and applied by the pinned kubectl with
 *    `kubectl apply --server-side`, are accepted cleanly.
 * 2. Every rule of every Role and ClusterRole is listed, with its reason, in the permission tables
 *    of docs/installation.md, and every row there is in the manifests.
 * 3. The controller, the speaker and the ingress each run with a token of their own
 *    ServiceAccount (TokenRequest) and do their whole job: the controller assigns IPs, writes
 *    status and Events and holds its Lease; the speaker reads Nodes, Services, EndpointSlices and
 *    the ConfigMap, decides, answers ARP on a veth (as root) and writes its Events; the ingress
 *    serves HTTP and HTTPS (a certificate from a Secret), writes Ingress status and Events, holds
 *    its Lease, and a new leader continues the Events of the previous one. None of them logs a
 *    refused request.
 * 4. What the manifests grant and what they do not is exactly what the API server allows: over a
 *    matrix of resources x verbs x namespaces x names, with `kubectl auth can-i --as=...` and with
 *    real requests made with each ServiceAccount's token (mutations as dry runs), in both
 *    directions; and the permissions no component may ever have are refused.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, get as httpGet, type Server } from 'node:http';
import { Agent, get as httpsGet, request as httpsRequest } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type CoreV1Event, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  hostEndpointAddress,
  installGatewayApiCrds,
  installMetallbCrds,
  startKubeApiServer,
  type KubeApiServer,
} from '@portico/dev-kube-apiserver';
import { selfSignedPair } from '@portico/ingress';
import { ApiClient, kubeconfigCredentials } from '@portico/kube';
import {
  type BgpBackend,
  type Layer2Backend,
  openUdpTransport,
  Speaker,
  SPEAKER_ADDRESS_ANNOTATION,
} from '@portico/speaker';
import type { PeerOptions, Route } from '@portico/bgp';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'packages/cli/bin/portico.js');
const cliDist = join(root, 'packages/cli/dist/main.js');
const NS = 'portico-system';
const SAS = ['controller', 'speaker', 'ingress'] as const;
type Sa = (typeof SAS)[number];
const username = (sa: Sa) => `system:serviceaccount:${NS}:${sa}`;

// ---------------------------------------------------------------------------------------------
// The manifests as RBAC grants
// ---------------------------------------------------------------------------------------------

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
};
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface Binding extends Obj {
  roleRef: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/** One allowed (scope, group, resource, name, verb); scope `cluster` or a namespace, name `*` for any. */
interface Grant {
  scope: string;
  group: string;
  resource: string;
  name: string;
  verb: string;
}
const grantKey = (sa: string, g: Grant) =>
  `${sa} ${g.scope} ${g.group || 'core'} ${g.resource} ${g.name} ${g.verb}`;

/** The grants of a ServiceAccount: the rules of every Role/ClusterRole bound to it. */
function grantsOf(objects: Obj[], sa: Sa): Grant[] {
  const roles = new Map(
    objects
      .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
      .map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, (o.rules as Rule[]) ?? []]),
  );
  const grants: Grant[] = [];
  for (const b of objects.filter(
    (o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding',
  ) as Binding[]) {
    if (!b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === NS))
      continue;
    const scope = b.kind === 'ClusterRoleBinding' ? 'cluster' : b.metadata.namespace!;
    const roleNs = b.roleRef.kind === 'Role' ? b.metadata.namespace! : '';
    const rules = roles.get(`${b.roleRef.kind}/${roleNs}/${b.roleRef.name}`);
    if (!rules)
      throw new Error(`${b.kind} ${b.metadata.name} refers to a missing ${b.roleRef.kind} ${b.roleRef.name}`);
    for (const r of rules)
      for (const group of r.apiGroups ?? [])
        for (const resource of r.resources ?? [])
          for (const name of r.resourceNames?.length ? r.resourceNames : ['*'])
            for (const verb of r.verbs) grants.push({ scope, group, resource, name, verb });
  }
  return grants;
}

/** What RBAC decides for one request, given the grants (the manifests have no wildcards). */
interface Check {
  verb: string;
  group: string;
  /** `services`, or `services/status` for a subresource. */
  resource: string;
  /** A namespace; undefined for cluster-scoped resources and for lists across all namespaces. */
  namespace?: string;
  /** Only for get, update, patch, delete and subresources. */
  name?: string;
}
const allows = (grants: Grant[], c: Check) =>
  grants.some(
    (g) =>
      g.verb === c.verb &&
      g.group === c.group &&
      g.resource === c.resource &&
      (g.name === '*' || g.name === c.name) &&
      (g.scope === 'cluster' || g.scope === c.namespace),
  );
const describeCheck = (c: Check) =>
  `${c.verb} ${c.group ? `${c.resource.split('/')[0]}.${c.group}` : c.resource.split('/')[0]}` +
  `${c.resource.includes('/') ? `/${c.resource.split('/')[1]}` : ''}` +
  `${c.name ? ` name=${c.name}` : ''} ${c.namespace ? `in ${c.namespace}` : '(cluster / all namespaces)'}`;

// ---------------------------------------------------------------------------------------------
// docs/installation.md: one permission table per ServiceAccount
// ---------------------------------------------------------------------------------------------

interface DocRow extends Grant {
  why: string;
}

function documentedGrants(): Map<Sa, DocRow[]> {
  const lines = readFileSync(join(root, 'docs/installation.md'), 'utf8').split('\n');
  const out = new Map<Sa, DocRow[]>();
  const strip = (cell: string) => cell.trim().replace(/^`|`$/g, '');
  const list = (cell: string) => cell.split(',').map(strip);
  for (let i = 0; i < lines.length; i++) {
    const heading = /^###.*ServiceAccount `([a-z-]+)`/.exec(lines[i]!);
    if (!heading) continue;
    const sa = heading[1] as Sa;
    const rows: DocRow[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith('|')) j++;
    const header = lines[j]!.split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    expect(header, `table header for ${sa}`).toEqual([
      'Scope',
      'API group',
      'Resource',
      'Names',
      'Verbs',
      'Why',
    ]);
    for (j += 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      const [scope, group, resource, names, verbs, why] = lines[j]!.split('|').slice(1, -1);
      for (const name of names!.trim() === 'any' ? ['*'] : list(names!))
        for (const verb of list(verbs!))
          rows.push({
            scope: strip(scope!),
            group: strip(group!) === 'core' ? '' : strip(group!),
            resource: strip(resource!),
            name,
            verb,
            why: why!.trim(),
          });
    }
    out.set(sa, rows);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The permissions no component may ever have (intent, independent of the manifests)
// ---------------------------------------------------------------------------------------------

const core = (verb: string, resource: string, namespace?: string, name?: string): Check => ({
  verb,
  group: '',
  resource,
  namespace,
  name,
});
const net = (verb: string, resource: string, namespace?: string, name?: string): Check => ({
  verb,
  group: 'networking.k8s.io',
  resource,
  namespace,
  name,
});
const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const gw = (verb: string, resource: string, namespace?: string, name?: string): Check => ({
  verb,
  group: GATEWAY_GROUP,
  resource,
  namespace,
  name,
});
const lease = (verb: string, name?: string, namespace = NS): Check => ({
  verb,
  group: 'coordination.k8s.io',
  resource: 'leases',
  namespace,
  name,
});

const NEVER: Record<Sa, Check[]> = {
  controller: [
    core('get', 'secrets', 'default', 'probe'),
    core('list', 'secrets'),
    core('list', 'secrets', NS),
    core('update', 'services', 'default', 'probe'),
    core('patch', 'services', 'default', 'probe'),
    core('create', 'services', 'default'),
    core('delete', 'services', 'default', 'probe'),
    core('patch', 'services/status', 'default', 'probe'),
    core('list', 'configmaps'),
    core('list', 'configmaps', 'default'),
    core('update', 'configmaps', NS, 'config'),
    core('list', 'nodes'),
    core('create', 'pods', 'default'),
    core('delete', 'events', 'default', 'probe'),
    core('create', 'serviceaccounts/token', NS, 'controller'),
    lease('update', 'portico-ingress'),
    lease('get', 'portico-ingress'),
    lease('update', 'portico-controller', 'default'),
    lease('delete', 'portico-controller'),
    net('list', 'ingresses'),
    gw('list', 'gateways'),
    gw('update', 'gateways/status', 'default', 'probe'),
  ],
  speaker: [
    core('update', 'services/status', 'default', 'probe'),
    core('patch', 'services/status', 'default', 'probe'),
    core('update', 'services', 'default', 'probe'),
    core('get', 'services', 'default', 'probe'),
    core('list', 'secrets'),
    core('list', 'secrets', NS),
    core('get', 'secrets', 'default', 'probe'),
    core('update', 'nodes', undefined, 'probe'),
    core('patch', 'nodes/status', undefined, 'probe'),
    core('update', 'configmaps', NS, 'config'),
    core('list', 'configmaps'),
    core('create', 'pods', NS),
    core('create', 'serviceaccounts/token', NS, 'speaker'),
    lease('create'),
    lease('update', 'portico-controller'),
    lease('get', 'portico-ingress'),
    { verb: 'create', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: 'default' },
    net('list', 'ingresses'),
    gw('list', 'httproutes'),
  ],
  ingress: [
    // The Gateway API side creates, updates and deletes the Gateways' LoadBalancer Services (any
    // namespace: RBAC has no name prefixes), but never patches a Service or writes its status.
    core('patch', 'services', NS, 'probe'),
    core('update', 'services/status', NS, 'probe'),
    core('patch', 'services/status', 'default', 'probe'),
    core('deletecollection', 'services', 'default'),
    { verb: 'patch', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: 'default', name: 'probe' },
    core('create', 'namespaces'),
    core('get', 'namespaces', undefined, 'probe'),
    core('get', 'secrets', 'default', 'probe'),
    core('create', 'secrets', 'default'),
    core('update', 'secrets', 'default', 'probe'),
    core('delete', 'secrets', 'default', 'probe'),
    core('list', 'configmaps', NS),
    core('list', 'nodes'),
    core('create', 'pods', 'default'),
    core('delete', 'events', 'default', 'probe'),
    core('create', 'serviceaccounts/token', NS, 'ingress'),
    net('update', 'ingresses', 'default', 'probe'),
    net('delete', 'ingresses', 'default', 'probe'),
    net('create', 'ingresses', 'default'),
    net('patch', 'ingresses/status', 'default', 'probe'),
    net('update', 'ingressclasses', undefined, 'probe'),
    lease('update', 'portico-controller'),
    lease('get', 'portico-controller'),
    lease('update', 'portico-ingress', 'default'),
    // Gateway API objects are the users': the ingress writes their status only.
    gw('create', 'gateways', 'default'),
    gw('update', 'gateways', 'default', 'probe'),
    gw('patch', 'gateways/status', 'default', 'probe'),
    gw('delete', 'httproutes', 'default', 'probe'),
    gw('update', 'gatewayclasses', undefined, 'probe'),
    gw('create', 'referencegrants', 'default'),
    gw('get', 'referencegrants', 'default', 'probe'),
  ],
};

// ---------------------------------------------------------------------------------------------
// The resources the allow/deny matrix covers
// ---------------------------------------------------------------------------------------------

interface Kind {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Subresources and the verbs they serve. */
  subresources?: Record<string, string[]>;
  /** Body of an object of this kind (its `probe` object, and dry-run creates). */
  spec: (namespace: string | undefined) => Record<string, unknown>;
}

const KINDS: Kind[] = [
  {
    group: '',
    version: 'v1',
    resource: 'services',
    kind: 'Service',
    namespaced: true,
    subresources: { status: ['get', 'update', 'patch'] },
    spec: () => ({ spec: { ports: [{ port: 80 }] } }),
  },
  {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    kind: 'ConfigMap',
    namespaced: true,
    spec: () => ({ data: {} }),
  },
  {
    group: '',
    version: 'v1',
    resource: 'secrets',
    kind: 'Secret',
    namespaced: true,
    spec: () => ({ type: 'Opaque' }),
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    kind: 'Pod',
    namespaced: true,
    spec: () => ({ spec: { containers: [{ name: 'c', image: 'registry.invalid/probe' }] } }),
  },
  {
    group: '',
    version: 'v1',
    resource: 'events',
    kind: 'Event',
    namespaced: true,
    spec: (namespace) => ({
      involvedObject: { kind: 'ConfigMap', name: 'probe', namespace },
      reason: 'Probe',
      message: 'probe',
      type: 'Normal',
    }),
  },
  {
    group: '',
    version: 'v1',
    resource: 'serviceaccounts',
    kind: 'ServiceAccount',
    namespaced: true,
    subresources: { token: ['create'] },
    spec: () => ({}),
  },
  {
    group: '',
    version: 'v1',
    resource: 'nodes',
    kind: 'Node',
    namespaced: false,
    subresources: { status: ['get', 'update', 'patch'] },
    spec: () => ({}),
  },
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    spec: () => ({}),
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    resource: 'leases',
    kind: 'Lease',
    namespaced: true,
    spec: () => ({ spec: {} }),
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    resource: 'endpointslices',
    kind: 'EndpointSlice',
    namespaced: true,
    spec: () => ({ addressType: 'IPv4', endpoints: [], ports: [] }),
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    resource: 'ingresses',
    kind: 'Ingress',
    namespaced: true,
    subresources: { status: ['get', 'update', 'patch'] },
    // A class nobody serves: the probe Ingress must not become work for the ingress.
    spec: () => ({
      spec: {
        ingressClassName: 'probe',
        defaultBackend: { service: { name: 'probe', port: { number: 80 } } },
      },
    }),
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    resource: 'ingressclasses',
    kind: 'IngressClass',
    namespaced: false,
    spec: () => ({ spec: { controller: 'example.com/probe' } }),
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource: 'roles',
    kind: 'Role',
    namespaced: true,
    spec: () => ({ rules: [] }),
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
    spec: () => ({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [],
    }),
  },
  // The Gateway API's kinds (the upstream CRDs, installed before the matrix runs); probes of a class
  // nobody serves.
  {
    group: GATEWAY_GROUP,
    version: 'v1',
    resource: 'gatewayclasses',
    kind: 'GatewayClass',
    namespaced: false,
    subresources: { status: ['get', 'update', 'patch'] },
    spec: () => ({ spec: { controllerName: 'example.com/probe' } }),
  },
  {
    group: GATEWAY_GROUP,
    version: 'v1',
    resource: 'gateways',
    kind: 'Gateway',
    namespaced: true,
    subresources: { status: ['get', 'update', 'patch'] },
    spec: () => ({
      spec: { gatewayClassName: 'probe', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    }),
  },
  ...(['HTTPRoute', 'GRPCRoute'] as const).map(
    (kind): Kind => ({
      group: GATEWAY_GROUP,
      version: 'v1',
      resource: `${kind.toLowerCase()}s`,
      kind,
      namespaced: true,
      subresources: { status: ['get', 'update', 'patch'] },
      spec: () => ({ spec: { parentRefs: [{ name: 'probe' }] } }),
    }),
  ),
  {
    group: GATEWAY_GROUP,
    version: 'v1',
    resource: 'tlsroutes',
    kind: 'TLSRoute',
    namespaced: true,
    subresources: { status: ['get', 'update', 'patch'] },
    spec: () => ({
      spec: {
        parentRefs: [{ name: 'probe' }],
        hostnames: ['probe.example'],
        rules: [{ backendRefs: [{ name: 'probe', port: 443 }] }],
      },
    }),
  },
  {
    group: GATEWAY_GROUP,
    version: 'v1beta1',
    resource: 'referencegrants',
    kind: 'ReferenceGrant',
    namespaced: true,
    spec: (namespace) => ({
      spec: {
        from: [{ group: GATEWAY_GROUP, kind: 'HTTPRoute', namespace: namespace ?? 'default' }],
        to: [{ group: '', kind: 'Service' }],
      },
    }),
  },
  // MetalLB's kinds (manifests/crds, installed before the matrix runs): the configuration the
  // controller and the speaker read, the pool status and the ConfigurationStates they write, and
  // the speakers' announcement status objects.
  ...(
    [
      ['ipaddresspools', 'IPAddressPool', 'v1beta1', { spec: { addresses: ['192.0.2.0/30'] } }, true],
      ['l2advertisements', 'L2Advertisement', 'v1beta1', { spec: {} }, false],
      ['bgpadvertisements', 'BGPAdvertisement', 'v1beta1', { spec: {} }, false],
      ['communities', 'Community', 'v1beta1', { spec: { communities: [{ name: 'probe', value: '64500:1' }] } }, false],
      ['bfdprofiles', 'BFDProfile', 'v1beta1', { spec: {} }, false],
      ['bgppeers', 'BGPPeer', 'v1beta2', { spec: { myASN: 64500, peerASN: 64501, peerAddress: '192.0.2.1' } }, false],
      ['configurationstates', 'ConfigurationState', 'v1beta1', {}, true],
      ['servicel2statuses', 'ServiceL2Status', 'v1beta1', { spec: {} }, true],
      ['servicebgpstatuses', 'ServiceBGPStatus', 'v1beta1', { spec: {} }, true],
    ] as const
  ).map(
    ([resource, kind, version, body, status]): Kind => ({
      group: 'metallb.io',
      version,
      resource,
      kind,
      namespaced: true,
      ...(status && { subresources: { status: ['get', 'update', 'patch'] } }),
      spec: () => body,
    }),
  ),
];
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const NAMED = new Set(['get', 'update', 'patch', 'delete']);
const NAMESPACES = [NS, 'default'];

interface MatrixCheck extends Check {
  kind: Kind;
  sub?: string;
}

/** Every check of the matrix: names are `probe` plus every resourceName the manifests mention. */
function matrix(objects: Obj[]): MatrixCheck[] {
  const named = (k: Kind) => {
    const names = new Set(['probe']);
    for (const sa of SAS)
      for (const g of grantsOf(objects, sa))
        if (g.group === k.group && g.resource.split('/')[0] === k.resource && g.name !== '*')
          names.add(g.name);
    return [...names];
  };
  const checks: MatrixCheck[] = [];
  for (const k of KINDS) {
    const scopes: Array<string | undefined> = k.namespaced ? [...NAMESPACES, undefined] : [undefined];
    for (const namespace of scopes) {
      const acrossNamespaces = k.namespaced && namespace === undefined;
      for (const verb of VERBS) {
        if (acrossNamespaces && verb !== 'list' && verb !== 'watch') continue;
        for (const name of NAMED.has(verb) ? named(k) : [undefined])
          checks.push({ kind: k, verb, group: k.group, resource: k.resource, namespace, name });
      }
      if (acrossNamespaces) continue;
      for (const [sub, verbs] of Object.entries(k.subresources ?? {}))
        for (const verb of verbs)
          for (const name of named(k))
            checks.push({
              kind: k,
              sub,
              verb,
              group: k.group,
              resource: `${k.resource}/${sub}`,
              namespace,
              name,
            });
    }
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

let server: KubeApiServer;
let dir: string;
let adminKc: KubeConfig;
let adminApi: CoreV1Api;
let agent: Agent;
const tokens = new Map<Sa, string>();
const children: ChildProcess[] = [];
/** Every log line of every component run as a ServiceAccount, for the refused-request check. */
const componentLogs: Array<{ who: string; line: string }> = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Reply {
  status: number;
  body: string;
}

/** One request to the API server with a bearer token; a watch is answered as soon as its status is known. */
function api(token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${server.url}${path}`,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
        },
      },
      (res) => {
        if (path.includes('watch=true') && res.statusCode === 200) {
          res.destroy();
          resolve({ status: 200, body: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

async function adminJson(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const reply = await api(server.adminToken, method, path, body);
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as Record<string, unknown>;
}

const collection = (k: Kind, namespace?: string) =>
  `${k.group ? `/apis/${k.group}/${k.version}` : '/api/v1'}${namespace ? `/namespaces/${namespace}` : ''}/${k.resource}`;

/** Creates the object as admin unless it exists. */
async function ensure(k: Kind, namespace: string | undefined, name: string): Promise<void> {
  const found = await api(server.adminToken, 'GET', `${collection(k, namespace)}/${name}`);
  if (found.status === 200) return;
  await adminJson('POST', collection(k, namespace), {
    apiVersion: k.group ? `${k.group}/${k.version}` : k.version,
    kind: k.kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    ...k.spec(namespace),
  });
}

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      server.binaries.kubectl,
      [`--kubeconfig=${join(dir, 'admin.kubeconfig')}`, `--cache-dir=${join(dir, 'kubectl-cache')}`, ...args],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Renders a kustomization with the pinned kubectl's kustomize. */
async function render(kustomization: string): Promise<{ yaml: string; objects: Obj[] }> {
  const out = await kubectl(['kustomize', kustomization]);
  if (out.code !== 0) throw new Error(`kubectl kustomize ${kustomization}: ${out.stderr}`);
  return { yaml: out.stdout, objects: parseAllDocuments(out.stdout).map((d) => d.toJSON() as Obj) };
}

/** `portico ingress` with the args of the ingress Deployment in the manifests (overridden after them). */
function manifestIngressArgs(): string[] {
  const deployment = layer2Objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ingress') as
    | { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }
    | undefined;
  const args = deployment?.spec.template.spec.containers[0]?.args;
  if (!args) throw new Error('the rendered manifests have no ingress Deployment with args');
  return args;
}

/** The manifests' ingress args, then this test's: loopback ports, one process, its own identity, quick stop. */
function localIngressArgs(http: number, https: number, identity: string): string[] {
  return [
    ...manifestIngressArgs(),
    '--kubeconfig',
    kubeconfigFile('ingress'),
    '--listen-address',
    '127.0.0.1',
    '--http-port',
    String(http),
    '--https-port',
    String(https),
    '--metrics-port',
    '0',
    '--workers',
    '0',
    '--identity',
    identity,
    '--shutdown-delay',
    '0',
    '--shutdown-grace',
    '1',
  ];
}

/** The HTTP status of an admin GET. */
async function apiStatus(path: string): Promise<number> {
  return (await api(server.adminToken, 'GET', path)).status;
}

/** The upstream Gateway API CRDs (v1.5.1 standard channel, from the Go module proxy), once. */
let gatewayCrds: Promise<void> | undefined;
function ensureGatewayCrds(): Promise<void> {
  gatewayCrds ??= (async () => {
    const admin = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    try {
      await installGatewayApiCrds(admin);
    } finally {
      await admin.close();
    }
  })();
  return gatewayCrds;
}

/** An overlay of a site with the ingress component, as docs/installation.md tells users to write. */
function siteWithIngress(site: string): string {
  const overlay = mkdtempSync(join(dir, 'overlay-'));
  const rel = (p: string) => relative(overlay, join(root, p));
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${rel(site)}]`,
      `components: [${rel('manifests/ingress')}]`,
      '',
    ].join('\n'),
  );
  return overlay;
}

async function tokenRequest(sa: Sa): Promise<string> {
  const reply = await adminJson('POST', `/api/v1/namespaces/${NS}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  return (reply.status as { token: string }).token;
}

function kubeconfigFile(sa: Sa): string {
  const file = join(dir, `${sa}.kubeconfig`);
  writeFileSync(file, server.kubeconfigForToken(tokens.get(sa)!, username(sa)));
  return file;
}

/** Portico's client with the ServiceAccount's token (an in-process component's connection pool). */
function saApiClient(sa: Sa): ApiClient {
  return new ApiClient(kubeconfigCredentials(server.kubeconfigForToken(tokens.get(sa)!, username(sa))));
}

interface Component {
  child: ChildProcess;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  log(): string;
}

/** A real `portico <command>` process; its JSON log lines are kept. */
function run(who: string, args: string[], env: Record<string, string> = {}): Component {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
  });
  children.push(child);
  let text = '';
  const keep = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const line of chunk.toString('utf8').split('\n')) if (line) componentLogs.push({ who, line });
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, log: () => text };
}

/** SIGTERM, as the kubelet stops a pod; SIGKILL if it has not exited within 10 s. */
async function stop(c: Component): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
  await c.exited;
  clearTimeout(timer);
}

/**
 * Requests the API server refused (401 or 403) according to the components' logs, each as
 * `who: log message: what was refused`.
 */
function refusals(who?: string): string[] {
  return componentLogs
    .filter(
      (l) => (who === undefined || l.who === who) && /forbidden|HTTP-Code: 40[13]|Unauthorized/i.test(l.line),
    )
    .map((l) => {
      const plain = l.line.replace(/\\/g, '');
      const what = /cannot [^,]*?(?:at the cluster scope|in the namespace "[^"]*")/.exec(plain)?.[0] ?? plain;
      const msg = /"msg":"([^"]*)"/.exec(plain)?.[1] ?? '';
      return `${l.who}: ${msg}: ${what}`;
    });
}

async function events(namespace: string, kind: string, name: string): Promise<CoreV1Event[]> {
  const list = await adminApi.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name);
}

async function leaseHolder(name: string): Promise<string | undefined> {
  const reply = await api(
    server.adminToken,
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${name}`,
  );
  if (reply.status !== 200) return undefined;
  return (JSON.parse(reply.body) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity || undefined;
}

async function serviceIPs(namespace: string, name: string): Promise<string[]> {
  const svc = await adminApi.readNamespacedService({ namespace, name });
  return (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
}

async function createLoadBalancer(
  name: string,
  pool: string,
  policy: 'Cluster' | 'Local' = 'Cluster',
  extra: Record<string, unknown> = {},
): Promise<void> {
  await adminApi.createNamespacedService({
    namespace: 'default',
    body: {
      metadata: { name, annotations: { 'portico.dev/address-pool': pool } },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: policy,
        ports: [{ name: 'http', port: 80 }],
        selector: { app: name },
        ...extra,
      },
    },
  });
}

/** The EndpointSlice that kube-controller-manager would make (none runs here). */
async function createEndpointSlice(
  service: string,
  endpoints: Array<{ address: string; nodeName?: string }>,
  port: number,
): Promise<void> {
  await adminJson('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.address],
      conditions: { ready: true },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
    })),
  });
}

const CONFIG = `
peers:
  - peer-address: 203.0.113.1
    peer-asn: 64500
    my-asn: 64512
    node-selectors:
      - match-labels:
          portico-rbac/bgp: "true"
address-pools:
  - name: l2
    protocol: layer2
    addresses: [198.51.100.240-198.51.100.250]
  - name: bgp
    protocol: bgp
    addresses: [203.0.113.192/28]
`;
const NODE = 'rbac-node';

let layer2Objects: Obj[];
let bgpObjects: Obj[];
type Run = { code: number; stdout: string; stderr: string };
/** What `kubectl apply --server-side` and then `kubectl diff --server-side` said, per overlay. */
const installs: Array<{ what: string; objects: Obj[]; applied: Run; diff: Run; found: Run }> = [];

beforeAll(async () => {
  if (!existsSync(cliDist))
    throw new Error(`${cliDist} is missing: run \`npx tsc -b\` first (npm test does)`);
  server = await startKubeApiServer();
  const admin = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
  await installMetallbCrds(admin);
  await admin.close();
  agent = new Agent({ ca: server.caCert, keepAlive: true, maxSockets: 16 });
  dir = mkdtempSync(join(tmpdir(), 'portico-rbac-'));
  writeFileSync(join(dir, 'admin.kubeconfig'), server.kubeconfig());
  adminKc = new KubeConfig();
  adminKc.loadFromString(server.kubeconfig());
  adminApi = adminKc.makeApiClient(CoreV1Api);
  const bgp = await render(siteWithIngress('manifests/overlays/bgp'));
  const site = await render(siteWithIngress('manifests/overlays/layer2'));
  [bgpObjects, layer2Objects] = [bgp.objects, site.objects];
  // Installed here, so that every test can rely on it; the first test checks how it went. The
  // layer-2 site goes last: it is the one the components then run in.
  for (const [what, { yaml, objects }] of [
    ['bgp', bgp],
    ['layer2', site],
  ] as const) {
    const applied = await kubectl(
      ['apply', '--server-side', '--field-manager=portico-install', '-f', '-'],
      yaml,
    );
    // Applied means stored as written: the server has nothing left to change.
    const diff = await kubectl(['diff', '--server-side', '--field-manager=portico-install', '-f', '-'], yaml);
    const found = await kubectl(['get', '-f', '-', '-o', 'name'], yaml);
    installs.push({ what, objects, applied, diff, found });
  }
}, 120_000);

afterAll(async () => {
  // RBAC_TEST_LOG=FILE keeps every component's log lines, for a failure to be looked into.
  if (process.env.RBAC_TEST_LOG)
    writeFileSync(process.env.RBAC_TEST_LOG, componentLogs.map((l) => `${l.who} ${l.line}`).join('\n'));
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  agent?.destroy();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// 1-2. The manifests are accepted, and documented
// ---------------------------------------------------------------------------------------------

describe('the manifests on a real kube-apiserver', () => {
  it('the BGP overlay and the layer-2 overlay, each with the ingress component, apply cleanly with kubectl apply --server-side', async () => {
    expect(installs.map((i) => i.what)).toEqual(['bgp', 'layer2']);
    for (const { what, objects, applied, diff, found } of installs) {
      expect(applied.stderr, `${what}: kubectl apply stderr`).toBe('');
      expect(applied.code, `${what}: kubectl apply exit code`).toBe(0);
      const lines = applied.stdout.trim().split('\n');
      expect(lines, `${what}: one line per object`).toHaveLength(objects.length);
      for (const line of lines) expect(line).toMatch(/ serverside-applied$/);
      expect(diff.stderr, `${what}: kubectl diff stderr`).toBe('');
      expect(diff.code, `${what}: kubectl diff finds differences:\n${diff.stdout}`).toBe(0);
      // Everything rendered is there, in the namespaces it was rendered for.
      expect(found.stderr, `${what}: kubectl get stderr`).toBe('');
      expect(found.stdout.trim().split('\n')).toHaveLength(objects.length);
    }
  });

  it('both overlays grant the same permissions, with no wildcard', () => {
    for (const objects of [layer2Objects, bgpObjects])
      for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole'))
        for (const rule of role.rules as Rule[])
          for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames ?? []])
            expect(field, role.metadata.name).not.toContain('*');
    for (const sa of SAS)
      expect(
        grantsOf(bgpObjects, sa)
          .map((g) => grantKey(sa, g))
          .sort(),
      ).toEqual(
        grantsOf(layer2Objects, sa)
          .map((g) => grantKey(sa, g))
          .sort(),
      );
  });

  it('docs/installation.md lists every permission of each ServiceAccount with its reason, and no other', () => {
    const documented = documentedGrants();
    expect([...documented.keys()].sort()).toEqual([...SAS].sort());
    for (const sa of SAS) {
      const rows = documented.get(sa)!;
      for (const row of rows) expect(row.why.length, `why ${grantKey(sa, row)}`).toBeGreaterThan(10);
      const inDocs = rows.map((g) => grantKey(sa, g)).sort();
      const inManifests = grantsOf(layer2Objects, sa)
        .map((g) => grantKey(sa, g))
        .sort();
      expect(inDocs).toEqual(inManifests);
      expect(new Set(inDocs).size, `${sa}: a permission listed twice`).toBe(inDocs.length);
    }
  });

  it('each ServiceAccount gets a token by TokenRequest and is known by it as itself, and nothing is bound to other subjects', async () => {
    for (const sa of SAS) {
      tokens.set(sa, await tokenRequest(sa));
      const review = await api(tokens.get(sa)!, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      });
      expect(review.status).toBe(201);
      expect(JSON.parse(review.body).status.userInfo.username).toBe(username(sa));
    }
    for (const b of layer2Objects.filter((o) => o.kind.endsWith('Binding')) as Binding[])
      for (const s of b.subjects ?? [])
        expect(SAS.map(username)).toContain(`system:serviceaccount:${s.namespace}:${s.name}`);
  });

  it('the permissions no component may ever have are not in the manifests', () => {
    for (const sa of SAS)
      for (const c of NEVER[sa])
        expect(allows(grantsOf(layer2Objects, sa), c), `${sa} may ${describeCheck(c)}`).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Each component does its whole job as its own ServiceAccount
// ---------------------------------------------------------------------------------------------

describe('each component does its whole job with exactly the manifests’ RBAC', () => {
  let controller: Component | undefined;

  /** The controller, as its ServiceAccount; it keeps running for the speaker and the ingress. */
  async function startController(): Promise<void> {
    if (controller) return;
    controller = run('controller', [
      'controller',
      '--kubeconfig',
      kubeconfigFile('controller'),
      '--identity',
      'rbac-controller',
      '--metrics-port',
      '0',
    ]);
    await waitFor(
      'the controller to hold the Lease portico-controller',
      async () => (await leaseHolder('portico-controller')) === 'rbac-controller',
    );
  }

  beforeAll(async () => {
    for (const sa of SAS) if (!tokens.has(sa)) tokens.set(sa, await tokenRequest(sa));
    const cm = await adminApi.readNamespacedConfigMap({ namespace: NS, name: 'config' });
    cm.data = { config: CONFIG };
    await adminApi.replaceNamespacedConfigMap({ namespace: NS, name: 'config', body: cm });
  });

  it(
    'controller: holds its Lease, assigns IPs, writes Service status and Events (created and counted)',
    { timeout: 60_000 },
    async () => {
      await startController();

      await createLoadBalancer('web', 'l2');
      const [ip] = await waitFor('an IP for default/web', async () => {
        const ips = await serviceIPs('default', 'web');
        return ips.length > 0 && ips;
      });
      expect(ip).toMatch(/^198\.51\.100\.(24\d|250)$/);
      const allocated = await waitFor('Event IPAllocated', async () =>
        (await events('default', 'Service', 'web')).find((e) => e.reason === 'IPAllocated'),
      );
      expect(allocated.source?.component).toBe('portico-controller');

      // An IP outside every pool: a Warning Event, and a repeat of it (after any change to the
      // Service) updates that Event's count instead of creating another.
      await createLoadBalancer('wrong', 'l2', 'Cluster', { loadBalancerIP: '192.0.2.99' });
      await waitFor('Event AllocationFailed', async () =>
        (await events('default', 'Service', 'wrong')).find((e) => e.reason === 'AllocationFailed'),
      );
      const svc = await adminApi.readNamespacedService({ namespace: 'default', name: 'wrong' });
      svc.metadata!.labels = { touched: 'yes' };
      await adminApi.replaceNamespacedService({ namespace: 'default', name: 'wrong', body: svc });
      const failed = await waitFor('AllocationFailed counted twice', async () => {
        const found = (await events('default', 'Service', 'wrong')).filter(
          (e) => e.reason === 'AllocationFailed',
        );
        return found.length === 1 && found[0]!.count === 2 && found;
      });
      expect(failed[0]!.type).toBe('Warning');

      // The standby's view: the Lease is renewed (updated), not merely created.
      const before = (await adminJson(
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/portico-controller`,
      )) as { spec: { renewTime: string } };
      await waitFor('a renewal of the Lease', async () => {
        const now = (await adminJson(
          'GET',
          `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/portico-controller`,
        )) as { spec: { renewTime: string } };
        return now.spec.renewTime !== before.spec.renewTime;
      });
      expect(refusals('controller')).toEqual([]);
    },
  );

  const heartbeat = { port: 0 };

  /** A LoadBalancer Service with one ready endpoint on our Node; returns the IP the controller gave it. */
  async function serviceOnNode(name: string, pool: string, podIP: string): Promise<string> {
    await startController();
    if (!(await adminApi.readNamespacedService({ namespace: 'default', name }).catch(() => undefined))) {
      await createLoadBalancer(name, pool);
      await createEndpointSlice(name, [{ address: podIP, nodeName: NODE }], 8080);
    }
    const [ip] = await waitFor(`an IP for default/${name}`, async () => {
      const ips = await serviceIPs('default', name);
      return ips.length > 0 && ips;
    });
    return ip!;
  }

  /** Our one Node, Ready, with the address of its speaker's heartbeat socket. */
  async function ensureNode(): Promise<void> {
    if (heartbeat.port) return;
    heartbeat.port = await freePort();
    await adminApi.createNode({
      body: {
        metadata: {
          name: NODE,
          labels: { 'kubernetes.io/hostname': NODE },
          annotations: { [SPEAKER_ADDRESS_ANNOTATION]: `127.0.0.1:${heartbeat.port}` },
        },
      },
    });
    const node = await adminApi.readNode({ name: NODE });
    node.status = {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    };
    await adminApi.replaceNodeStatus({ name: NODE, body: node });
  }

  /** A veth pair: the speaker answers ARP on the host end, a client namespace asks on the other. */
  const veth = { host: 'prbac-h', peer: 'prbac-c', netns: 'prbac-client' };
  const sh = promisify(execFile);
  /** The ARP check needs root, ip and arping: without them the test fails saying so, never skips. */
  function requireVeth(): void {
    if (process.getuid?.() !== 0)
      throw new Error('the speaker test needs root (a veth and a network namespace)');
    const missing = ['ip', 'arping'].filter((cmd) => !onPath(cmd));
    if (missing.length)
      throw new Error(`the speaker test needs ${missing.join(' and ')} (iproute2, iputils-arping)`);
  }

  async function setUpVeth(): Promise<void> {
    await tearDownVeth();
    await sh('ip', ['netns', 'add', veth.netns]);
    await sh('ip', [
      'link',
      'add',
      veth.host,
      'type',
      'veth',
      'peer',
      'name',
      veth.peer,
      'netns',
      veth.netns,
    ]);
    await sh('ip', ['link', 'set', veth.host, 'up']);
    await sh('ip', ['-n', veth.netns, 'addr', 'add', '198.51.100.1/24', 'dev', veth.peer]);
    await sh('ip', ['-n', veth.netns, 'link', 'set', veth.peer, 'up']);
    await sh('ip', ['-n', veth.netns, 'link', 'set', 'lo', 'up']);
  }

  async function tearDownVeth(): Promise<void> {
    await sh('ip', ['link', 'del', veth.host]).catch(() => undefined);
    await sh('ip', ['netns', 'del', veth.netns]).catch(() => undefined);
  }

  afterAll(async () => {
    await tearDownVeth();
  });

  it(
    'speaker (process): reads its Node, Services, EndpointSlices and the ConfigMap, answers ARP on a veth and writes nodeAssigned',
    { timeout: 60_000 },
    async () => {
      await ensureNode();
      const ip = await serviceOnNode('l2-web', 'l2', '10.244.0.10');
      requireVeth();
      await setUpVeth();
      const speaker = run('speaker', [
        'speaker',
        '--kubeconfig',
        kubeconfigFile('speaker'),
        '--node-name',
        NODE,
        '--bind-address',
        '127.0.0.1',
        '--memberlist-port',
        String(heartbeat.port),
        '--metrics-port',
        '0',
        '--metrics-address',
        '127.0.0.1',
        '--interfaces',
        veth.host,
      ]);
      try {
        const assigned = await waitFor('Event nodeAssigned on default/l2-web', async () =>
          (await events('default', 'Service', 'l2-web')).find((e) => e.reason === 'nodeAssigned'),
        );
        expect(assigned.source?.component).toBe('portico-speaker');
        expect(assigned.message).toBe(`announcing from node "${NODE}" with protocol "layer2"`);
        expect(speaker.log()).toContain('"event":"configLoaded"');
        expect(speaker.log()).toContain(`"event":"layer2Announced","ip":"${ip}"`);
        const { stdout: link } = await sh('ip', ['-j', 'link', 'show', veth.host]);
        const mac = (JSON.parse(link) as Array<{ address: string }>)[0]!.address;
        const reply = await waitFor(`an ARP reply for ${ip} in ${veth.netns}`, async () => {
          const r = await sh('ip', [
            'netns',
            'exec',
            veth.netns,
            'arping',
            '-c',
            '1',
            '-w',
            '1',
            '-I',
            veth.peer,
            ip,
          ]).catch(() => undefined);
          return r?.stdout;
        });
        expect(reply.toLowerCase()).toContain(mac.toLowerCase());
        // The speaker writes Events and nothing else: Service status is the controller's.
        expect(await serviceIPs('default', 'l2-web')).toEqual([ip]);
      } finally {
        await stop(speaker);
      }
      expect(refusals('speaker')).toEqual([]);
    },
  );

  it(
    'speaker (in-process): decides BGP routes for its peers from Node labels and layer-2 ownership, and writes nodeAssigned for BGP',
    { timeout: 60_000 },
    async () => {
      await ensureNode();
      const node = await adminApi.readNode({ name: NODE });
      node.metadata!.labels = { ...node.metadata!.labels, 'portico-rbac/bgp': 'true' };
      await adminApi.replaceNode({ name: NODE, body: node });
      const bgpIP = await serviceOnNode('bgp-web', 'bgp', '10.244.0.11');
      const l2IP = await serviceOnNode('l2-web', 'l2', '10.244.0.10');

      const lines: string[] = [];
      const logger = pino(
        { level: 'debug' },
        new Writable({
          write(chunk: Buffer, _enc, done) {
            for (const line of chunk.toString('utf8').split('\n')) {
              if (!line) continue;
              componentLogs.push({ who: 'speaker-in-process', line });
              lines.push(line);
            }
            done();
          },
        }),
      );
      const layer2 = new RecordingLayer2();
      let bgp: RecordingBgp | undefined;
      const transport = await openUdpTransport('127.0.0.1', heartbeat.port);
      const speaker = new Speaker({
        api: saApiClient('speaker'),
        nodeName: NODE,
        namespace: NS,
        configMapName: 'config',
        logger,
        registry: new Registry(),
        layer2,
        createBgp: (asn) => (bgp = new RecordingBgp(asn)),
        transport,
        memberlistPort: 7946,
      });
      try {
        await speaker.start();
        expect(speaker.ready).toBe(true);
        const routes = await waitFor('BGP routes', () =>
          bgp && bgp.routes.length > 0 ? bgp.routes : undefined,
        );
        expect(bgp!.localAsn).toBe(64512);
        expect([...bgp!.peers.keys()]).toEqual(['203.0.113.1']);
        expect(routes.map((r) => r.prefix)).toContain(`${bgpIP}/32`);
        await waitFor(`layer-2 ${l2IP} decided`, () => layer2.ips.has(l2IP));
        const assigned = await waitFor('Event nodeAssigned (bgp) on default/bgp-web', async () =>
          (await events('default', 'Service', 'bgp-web')).find((e) => e.reason === 'nodeAssigned'),
        );
        expect(assigned.message).toBe(`announcing from node "${NODE}" with protocol "bgp"`);
        expect(assigned.source?.component).toBe('portico-speaker');
      } finally {
        await speaker.stop();
        await transport.close();
      }
      expect(refusals('speaker-in-process')).toEqual([]);
      expect(lines.length).toBeGreaterThan(0);
    },
  );

  it(
    'ingress (the manifests’ flags, Gateway API on, its CRDs absent): serves HTTP and HTTPS (certificate from a Secret), writes Ingress status and Events, holds its Lease; a new leader continues the Events',
    { timeout: 90_000 },
    async () => {
      // A backend on a routable address of this host (kube-apiserver refuses loopback endpoints).
      const hostIP = hostEndpointAddress();
      const backend: Server = createHttpServer((req, res) => res.end(`backend saw ${req.headers.host}`));
      await new Promise<void>((r) => backend.listen(0, '0.0.0.0', r));
      const backendPort = (backend.address() as { port: number }).port;
      try {
        const cert = selfSignedPair('app.rbac.test');
        const b64 = (s: string) => Buffer.from(s).toString('base64');
        await adminApi.createNamespacedSecret({
          namespace: 'default',
          body: {
            metadata: { name: 'app-tls' },
            type: 'kubernetes.io/tls',
            data: { 'tls.crt': b64(cert.cert), 'tls.key': b64(cert.key) },
          },
        });
        await adminApi.createNamespacedService({
          namespace: 'default',
          body: {
            metadata: { name: 'echo' },
            spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' as never }] },
          },
        });
        await createEndpointSlice('echo', [{ address: hostIP }], backendPort);
        const ingress = (name: string, host: string, service: string, tls?: string) => ({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name },
          spec: {
            ingressClassName: 'portico',
            ...(tls ? { tls: [{ hosts: [host], secretName: tls }] } : {}),
            rules: [
              {
                host,
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: { service: { name: service, port: { name: 'http' } } },
                    },
                  ],
                },
              },
            ],
          },
        });
        await adminJson(
          'POST',
          '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
          ingress('app', 'app.rbac.test', 'echo', 'app-tls'),
        );
        await adminJson(
          'POST',
          '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
          ingress('broken', 'broken.rbac.test', 'nope'),
        );
        // The publish Service portico-system/ingress comes from the manifests; the controller (still
        // running as its ServiceAccount) gives it its address.
        await startController();
        const [published] = await waitFor('an IP for portico-system/ingress', async () => {
          const ips = await serviceIPs(NS, 'ingress');
          return ips.length > 0 && ips;
        });

        const [http, https] = [await freePort(), await freePort()];
        const startIngress = (identity: string) =>
          run('ingress', localIngressArgs(http, https, identity));
        const getHttp = () =>
          new Promise<{ status: number; location?: string }>((resolve, reject) => {
            httpGet(
              { host: '127.0.0.1', port: http, path: '/', headers: { host: 'app.rbac.test' }, agent: false },
              (res) => {
                res.resume();
                res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
              },
            ).on('error', reject);
          });
        /** An HTTPS request for app.rbac.test: the backend's answer and the certificate served. */
        const getHttps = () =>
          new Promise<{ status: number; body: string; fingerprint: string }>((resolve, reject) => {
            httpsGet(
              {
                host: '127.0.0.1',
                port: https,
                path: '/',
                servername: 'app.rbac.test',
                headers: { host: 'app.rbac.test' },
                rejectUnauthorized: false,
                agent: false,
              },
              (res) => {
                const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
                let body = '';
                res.on('data', (c: Buffer) => (body += c.toString()));
                res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
              },
            ).on('error', reject);
          });

        const first = startIngress('rbac-ingress-1');
        await waitFor(
          'the ingress to hold the Lease portico-ingress',
          async () => (await leaseHolder('portico-ingress')) === 'rbac-ingress-1',
        );
        // The Gateway API side runs (--gateway-services) and finds no CRDs: it retries, Ingress is served.
        expect(
          await apiStatus(`/apis/${GATEWAY_GROUP}/v1/gateways`),
          'the Gateway API CRDs must not be installed yet',
        ).toBe(404);
        await waitFor('the Gateway watches to report the missing CRDs', () =>
          first.log().includes('watch failed; retrying'),
        );
        // HTTPS with the certificate of the Secret default/app-tls, proxied to the backend; plain
        // HTTP redirected to it (the host has TLS).
        const served = await waitFor('app.rbac.test served over HTTPS', async () => {
          const r = await getHttps().catch(() => undefined);
          return r?.status === 200 && r;
        });
        expect(served.body).toBe('backend saw app.rbac.test');
        expect(served.fingerprint).toBe(new X509Certificate(cert.cert).fingerprint256);
        const redirect = await getHttp();
        expect(redirect.status).toBe(308);
        expect(redirect.location).toBe(`https://app.rbac.test:${https}/`);
        await waitFor('Ingress status', async () => {
          const ing = (await adminJson(
            'GET',
            '/apis/networking.k8s.io/v1/namespaces/default/ingresses/app',
          )) as { status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } };
          return ing.status?.loadBalancer?.ingress?.[0]?.ip === published;
        });
        const serving = await waitFor('Event Serving on app', async () =>
          (await events('default', 'Ingress', 'app')).find((e) => e.reason === 'Serving'),
        );
        expect(serving.source?.component).toBe('portico-ingress');
        const problem = await waitFor('Warning BackendServiceNotFound on broken', async () =>
          (await events('default', 'Ingress', 'broken')).find((e) => e.reason === 'BackendServiceNotFound'),
        );
        expect(problem.type).toBe('Warning');

        // A new leader lists the Events already written (events: list) and continues them instead of
        // writing the problem again.
        await stop(first);
        const second = startIngress('rbac-ingress-2');
        try {
          await waitFor(
            'the new ingress to hold the Lease',
            async () => (await leaseHolder('portico-ingress')) === 'rbac-ingress-2',
          );
          await waitFor('the new leader to take over the existing Events', () =>
            second.log().includes('took over existing events'),
          );
          expect(second.log()).not.toContain('listing existing events failed');
          const took = second
            .log()
            .split('\n')
            .map((l) =>
              l.includes('took over existing events') ? (JSON.parse(l) as { events: number }) : undefined,
            )
            .find(Boolean)!;
          expect(took.events).toBeGreaterThanOrEqual(2); // Serving on app, the problem on broken
          await waitFor(
            'app.rbac.test served by the new process',
            async () => (await getHttps().catch(() => undefined))?.status === 200,
          );
          await new Promise((r) => setTimeout(r, 1000));
          const problems = (await events('default', 'Ingress', 'broken')).filter(
            (e) => e.reason === 'BackendServiceNotFound',
          );
          expect(problems).toHaveLength(1);
          expect(problems[0]!.count ?? 1).toBe(1);
        } finally {
          await stop(second);
        }
        expect(refusals('ingress')).toEqual([]);
      } finally {
        await new Promise((r) => backend.close(r));
      }
    },
  );

  it(
    'ingress (Gateway API): with the upstream CRDs and manifests/gateway, serves a Gateway’s HTTPRoute, writes the statuses and Events, keeps the Gateway’s LoadBalancer Service and EndpointSlice (its address from the pools) and deletes them with the Gateway',
    { timeout: 120_000 },
    async () => {
      const hostIP = hostEndpointAddress();
      const backend: Server = createHttpServer((req, res) => res.end(`gateway backend saw ${req.headers.host}`));
      await new Promise<void>((r) => backend.listen(0, '0.0.0.0', r));
      const backendPort = (backend.address() as { port: number }).port;
      const ingress: Component[] = [];
      try {
        await ensureGatewayCrds();
        // The GatewayClass of the manifests, applied as the installation guide says.
        const { yaml, objects } = await render(join(root, 'manifests/gateway'));
        const applied = await kubectl(
          ['apply', '--server-side', '--field-manager=portico-install', '-f', '-'],
          yaml,
        );
        expect(applied.stderr, 'kubectl apply manifests/gateway').toBe('');
        expect(applied.stdout.trim().split('\n')).toEqual(['gatewayclass.gateway.networking.k8s.io/portico serverside-applied']);
        expect(objects).toHaveLength(1);
        const diff = await kubectl(['diff', '--server-side', '--field-manager=portico-install', '-f', '-'], yaml);
        expect(diff.code, `kubectl diff: ${diff.stdout}${diff.stderr}`).toBe(0);

        await adminApi.createNamespacedService({
          namespace: 'default',
          body: { metadata: { name: 'gw-echo' }, spec: { ports: [{ name: 'http', port: 80 }] } },
        });
        await createEndpointSlice('gw-echo', [{ address: hostIP }], backendPort);
        // The ingress's own Service's endpoints (what kube-controller-manager would write for its
        // pods): the Gateway's EndpointSlice copies them.
        await adminJson('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'ingress-1', labels: { 'kubernetes.io/service-name': 'ingress' } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          endpoints: [{ addresses: [hostIP], conditions: { ready: true } }],
        });
        const listenerPort = await freePort();
        const gatewayPath = `/apis/${GATEWAY_GROUP}/v1/namespaces/default/gateways/web`;
        const gateway = (ports: number[]) => ({
          apiVersion: `${GATEWAY_GROUP}/v1`,
          kind: 'Gateway',
          metadata: { name: 'web', namespace: 'default', annotations: { 'metallb.io/address-pool': 'l2' } },
          spec: {
            gatewayClassName: 'portico',
            listeners: ports.map((port) => ({ name: `http-${port}`, port, protocol: 'HTTP' })),
          },
        });
        await adminJson('POST', `/apis/${GATEWAY_GROUP}/v1/namespaces/default/gateways`, gateway([listenerPort]));
        const route = (name: string, host: string, service: string) => ({
          apiVersion: `${GATEWAY_GROUP}/v1`,
          kind: 'HTTPRoute',
          metadata: { name, namespace: 'default' },
          spec: {
            parentRefs: [{ name: 'web' }],
            hostnames: [host],
            rules: [{ backendRefs: [{ name: service, port: 80 }] }],
          },
        });
        const routes = `/apis/${GATEWAY_GROUP}/v1/namespaces/default/httproutes`;
        await adminJson('POST', routes, route('web', 'gw.rbac.test', 'gw-echo'));
        await adminJson('POST', routes, route('gw-broken', 'broken.gw.rbac.test', 'nope'));
        await startController();

        const http = await freePort();
        const https = await freePort();
        ingress.push(
          run('ingress', localIngressArgs(http, https, 'rbac-ingress-gateway')),
        );
        const get = (port: number, host: string) =>
          new Promise<{ status: number; body: string }>((resolve, reject) => {
            httpGet({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            }).on('error', reject);
          });
        const served = await waitFor('gw.rbac.test served on the listener port', async () => {
          const r = await get(listenerPort, 'gw.rbac.test').catch(() => undefined);
          return r?.status === 200 && r;
        });
        expect(served.body).toBe('gateway backend saw gw.rbac.test');
        expect((await get(listenerPort, 'broken.gw.rbac.test')).status).toBe(500);

        // The Gateway's Service, its address from the pool l2 (the controller, as its ServiceAccount).
        const [ip] = await waitFor('an IP for default/portico-gateway-web', async () => {
          const ips = await serviceIPs('default', 'portico-gateway-web').catch(() => []);
          return ips.length > 0 && ips;
        });
        expect(ip).toMatch(/^198\.51\.100\.(24\d|250)$/);
        const slicePath = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/portico-gateway-web-ipv4';
        const slice = (await waitFor('the Gateway’s EndpointSlice', () =>
          adminJson('GET', slicePath).catch(() => undefined),
        )) as { endpoints: Array<{ addresses: string[] }>; ports: Array<{ port: number }> };
        expect(slice.endpoints.map((e) => e.addresses)).toEqual([[hostIP]]);
        expect(slice.ports.map((p) => p.port)).toEqual([listenerPort]);

        type Conditions = Array<{ type: string; status: string; reason: string }>;
        const condition = (conditions: Conditions | undefined, type: string) =>
          conditions?.find((c) => c.type === type)?.status;
        const status = await waitFor('Gateway web Programmed with its address', async () => {
          const g = (await adminJson('GET', gatewayPath)) as {
            status?: { conditions?: Conditions; addresses?: Array<{ value: string }> };
          };
          return (
            condition(g.status?.conditions, 'Programmed') === 'True' &&
            g.status?.addresses?.some((a) => a.value === ip) &&
            g.status
          );
        });
        expect(condition(status.conditions, 'Accepted')).toBe('True');
        await waitFor('GatewayClass portico Accepted', async () => {
          const c = (await adminJson('GET', `/apis/${GATEWAY_GROUP}/v1/gatewayclasses/portico`)) as {
            status?: { conditions?: Conditions };
          };
          return condition(c.status?.conditions, 'Accepted') === 'True';
        });
        await waitFor('HTTPRoute web Accepted and ResolvedRefs', async () => {
          const r = (await adminJson('GET', `${routes}/web`)) as {
            status?: { parents?: Array<{ conditions?: Conditions }> };
          };
          const parent = r.status?.parents?.[0];
          return condition(parent?.conditions, 'Accepted') === 'True' && condition(parent?.conditions, 'ResolvedRefs') === 'True';
        });
        const warning = await waitFor('Warning BackendNotFound on HTTPRoute gw-broken', async () =>
          (await events('default', 'HTTPRoute', 'gw-broken')).find((e) => e.reason === 'BackendNotFound'),
        );
        expect(warning.source?.component).toBe('portico-gateway');

        // A second listener: the Service and the EndpointSlice are updated, the address stays.
        const second = await freePort();
        const current = (await adminJson('GET', gatewayPath)) as { metadata: { resourceVersion: string } };
        const changed = gateway([listenerPort, second]);
        await adminJson('PUT', gatewayPath, {
          ...changed,
          metadata: { ...changed.metadata, resourceVersion: current.metadata.resourceVersion },
        });
        await waitFor('the Service with both listener ports', async () => {
          const svc = await adminApi.readNamespacedService({ namespace: 'default', name: 'portico-gateway-web' });
          return (svc.spec?.ports ?? []).map((p) => p.port).join(',') === [listenerPort, second].sort((a, b) => a - b).join(',');
        });
        await waitFor('the EndpointSlice with both listener ports', async () => {
          const s = (await adminJson('GET', slicePath)) as { ports: Array<{ port: number }> };
          return s.ports.length === 2;
        });
        expect(await serviceIPs('default', 'portico-gateway-web')).toEqual([ip]);
        const servedOnSecond = await waitFor('gw.rbac.test served on the second listener', async () => {
          const r = await get(second, 'gw.rbac.test').catch(() => undefined);
          return r?.status === 200 && r;
        });
        expect(servedOnSecond.body).toBe('gateway backend saw gw.rbac.test');

        // The Gateway deleted: the leader deletes its Service and EndpointSlice itself (no garbage
        // collector runs here).
        await adminJson('DELETE', gatewayPath);
        await waitFor('the Gateway’s Service deleted', async () =>
          (await apiStatus('/api/v1/namespaces/default/services/portico-gateway-web')) === 404,
        );
        await waitFor('the Gateway’s EndpointSlice deleted', async () => (await apiStatus(slicePath)) === 404);
        expect(refusals('ingress')).toEqual([]);
      } finally {
        for (const c of ingress) await stop(c);
        await new Promise((r) => backend.close(r));
      }
    },
  );

  afterAll(async () => {
    if (controller) await stop(controller);
    expect(refusals()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Allowed exactly what the manifests grant, refused everything else
// ---------------------------------------------------------------------------------------------

describe('what each ServiceAccount is allowed and refused', () => {
  let checks: MatrixCheck[];

  beforeAll(async () => {
    for (const sa of SAS) if (!tokens.has(sa)) tokens.set(sa, await tokenRequest(sa));
    await ensureGatewayCrds();
    checks = matrix(layer2Objects);
    // Every object a named check refers to exists, so an allowed request is answered by the
    // resource (200, 201, 409) and a refused one by the authorizer (403).
    const seen = new Set<string>();
    for (const c of checks) {
      const key = `${c.kind.resource} ${c.namespace} ${c.name}`;
      if (!c.name || seen.has(key)) continue;
      seen.add(key);
      await ensure(c.kind, c.namespace, c.name);
    }
  }, 60_000);

  it('the matrix covers every resource the manifests name', () => {
    const covered = new Set(checks.map((c) => `${c.group} ${c.resource}`));
    for (const sa of SAS)
      for (const g of grantsOf(layer2Objects, sa))
        expect(covered, `${sa}: ${g.resource}`).toContain(`${g.group} ${g.resource}`);
    expect(checks.length).toBeGreaterThan(200);
  });

  /** The request that exercises one check, made with a ServiceAccount's token; mutations are dry runs. */
  async function attempt(token: string, c: MatrixCheck): Promise<Reply> {
    const base = collection(c.kind, c.namespace);
    const item = `${base}/${c.name}${c.sub ? `/${c.sub}` : ''}`;
    switch (c.verb) {
      case 'get':
        return api(token, 'GET', item);
      case 'list':
        return api(token, 'GET', `${base}?limit=1`);
      case 'watch':
        return api(token, 'GET', `${base}?watch=true&timeoutSeconds=1`);
      case 'create':
        if (c.sub === 'token')
          return api(token, 'POST', `${item}?dryRun=All`, {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: {},
          });
        return api(token, 'POST', `${base}?dryRun=All`, {
          apiVersion: c.kind.group ? `${c.kind.group}/${c.kind.version}` : c.kind.version,
          kind: c.kind.kind,
          metadata: { name: 'probe-created', ...(c.namespace ? { namespace: c.namespace } : {}) },
          ...c.kind.spec(c.namespace),
        });
      case 'update': {
        const current = await adminJson('GET', item);
        return api(token, 'PUT', `${item}?dryRun=All`, current);
      }
      case 'patch':
        return api(token, 'PATCH', `${item}?dryRun=All`, {});
      case 'delete':
        return api(token, 'DELETE', `${item}?dryRun=All`);
      case 'deletecollection':
        // Dry run, and a selector that matches nothing, twice safe.
        return api(token, 'DELETE', `${base}?dryRun=All&labelSelector=portico-rbac-probe%3Dnone`);
      default:
        throw new Error(`no request for verb ${c.verb}`);
    }
  }

  const refusedByRbac = (sa: Sa, reply: Reply) =>
    reply.status === 403 &&
    (JSON.parse(reply.body) as { message: string }).message.includes(`User "${username(sa)}" cannot`);

  it.each(SAS)(
    '%s: real requests with its token are refused (403) exactly where the manifests grant nothing',
    async (sa) => {
      const grants = grantsOf(layer2Objects, sa);
      const token = tokens.get(sa)!;
      const wrong: string[] = [];
      let allowed = 0;
      for (let i = 0; i < checks.length; i += 16) {
        await Promise.all(
          checks.slice(i, i + 16).map(async (c) => {
            const expected = allows(grants, c);
            const reply = await attempt(token, c);
            const refused = refusedByRbac(sa, reply);
            if (expected) allowed++;
            // Allowed: answered by the resource (200, 201, or 409 for a Lease renewed meanwhile);
            // refused: by RBAC, naming this ServiceAccount, not by admission or anything else.
            if (expected === refused || (reply.status === 403 && !refused) || reply.status >= 500)
              wrong.push(
                `${describeCheck(c)}: expected ${expected ? 'allowed' : 'refused'}, got ${reply.status} ${reply.body.slice(0, 200)}`,
              );
          }),
        );
      }
      expect(wrong).toEqual([]);
      expect(allowed).toBeGreaterThan(5);
      // Every grant was exercised by at least one allowed request of the matrix.
      for (const g of grants)
        expect(
          checks.some((c) => allows([g], c)),
          `no request exercises ${grantKey(sa, g)}`,
        ).toBe(true);
    },
  );

  /** `kubectl auth can-i --as=<ServiceAccount> ...` for one check: `yes` or `no`. */
  async function canI(sa: Sa, c: Check): Promise<string> {
    const [resource, sub] = c.resource.split('/');
    const type = `${resource}${c.group ? `.${c.group}` : ''}${c.name ? `/${c.name}` : ''}`;
    const namespaced = KINDS.find((k) => k.resource === resource && k.group === c.group)?.namespaced;
    const scope = c.namespace ? ['-n', c.namespace] : namespaced ? ['-A'] : [];
    const args = [
      'auth',
      'can-i',
      `--as=${username(sa)}`,
      c.verb,
      type,
      ...(sub ? [`--subresource=${sub}`] : []),
    ];
    return (await kubectl([...args, ...scope])).stdout.trim();
  }

  /** The rules `kubectl auth can-i --list` reports for a namespace, one `group resource name verb` each. */
  async function listedRules(sa: Sa, namespace: string): Promise<string[]> {
    const out = await kubectl(['auth', 'can-i', '--list', `--as=${username(sa)}`, '-n', namespace]);
    expect(out.code, out.stderr).toBe(0);
    const rules: string[] = [];
    for (const line of out.stdout.split('\n').slice(1)) {
      const row = /^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$/.exec(line);
      if (!row) continue; // non-resource URLs (discovery, health) start with blanks
      const [typed, sub] = row[1]!.split('/');
      const dot = typed!.indexOf('.');
      const resource = (dot < 0 ? typed! : typed!.slice(0, dot)) + (sub ? `/${sub}` : '');
      const group = dot < 0 ? 'core' : typed!.slice(dot + 1);
      const names = row[3]!.trim() ? row[3]!.trim().split(/\s+/) : ['*'];
      for (const name of names)
        for (const verb of row[4]!.trim().split(/\s+/)) rules.push(`${group} ${resource} ${name} ${verb}`);
    }
    return rules.sort();
  }

  // What every authenticated user may do (the bootstrap role system:basic-user).
  const EVERYONE = [
    'authentication.k8s.io selfsubjectreviews * create',
    'authorization.k8s.io selfsubjectaccessreviews * create',
    'authorization.k8s.io selfsubjectrulesreviews * create',
  ];

  it.each(SAS)(
    '%s: kubectl auth can-i --list shows exactly the manifests’ rules, in its namespace and in another',
    async (sa) => {
      const grants = grantsOf(layer2Objects, sa);
      for (const namespace of NAMESPACES) {
        const expected = grants
          .filter((g) => g.scope === 'cluster' || g.scope === namespace)
          .map((g) => `${g.group || 'core'} ${g.resource} ${g.name} ${g.verb}`);
        expect(await listedRules(sa, namespace), `${sa} in ${namespace}`).toEqual(
          [...new Set([...expected, ...EVERYONE])].sort(),
        );
      }
    },
  );

  it.each(SAS)(
    '%s: kubectl auth can-i says yes to each grant and no to what it must never have',
    async (sa) => {
      const grants = grantsOf(layer2Objects, sa);
      // One check per grant: in its namespace, or in `default` (and across namespaces) for a
      // cluster-wide grant of a namespaced resource.
      const yes: Check[] = grants.flatMap((g) => {
        const kind = KINDS.find((k) => k.group === g.group && k.resource === g.resource.split('/')[0])!;
        const name =
          g.name !== '*' ? g.name : NAMED.has(g.verb) || g.resource.includes('/') ? 'probe' : undefined;
        const base = { verb: g.verb, group: g.group, resource: g.resource, name };
        if (!kind.namespaced) return [base];
        if (g.scope !== 'cluster') return [{ ...base, namespace: g.scope }];
        return [
          { ...base, namespace: 'default' },
          ...(g.verb === 'list' || g.verb === 'watch' ? [base] : []),
        ];
      });
      const wrong: string[] = [];
      const all = [...yes.map((c) => [c, 'yes'] as const), ...NEVER[sa].map((c) => [c, 'no'] as const)];
      for (let i = 0; i < all.length; i += 4) {
        await Promise.all(
          all.slice(i, i + 4).map(async ([c, expected]) => {
            const got = await canI(sa, c);
            if (got !== expected)
              wrong.push(`${describeCheck(c)}: expected ${expected}, kubectl says ${got}`);
          }),
        );
      }
      expect(wrong).toEqual([]);
      for (const [c] of all.filter(([, e]) => e === 'yes'))
        expect(allows(grants, c), describeCheck(c)).toBe(true);
    },
  );

  it.each(SAS)(
    '%s: real requests with its token for what it must never have are refused (403)',
    async (sa) => {
      const token = tokens.get(sa)!;
      for (const c of NEVER[sa]) {
        const kind = KINDS.find((k) => k.group === c.group && k.resource === c.resource.split('/')[0])!;
        const sub = c.resource.split('/')[1];
        if (c.name) await ensure(kind, c.namespace, c.name);
        const reply = await attempt(token, { ...c, kind, ...(sub ? { sub } : {}) });
        expect(
          refusedByRbac(sa, reply),
          `${describeCheck(c)}: ${reply.status} ${reply.body.slice(0, 200)}`,
        ).toBe(true);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Recording back-ends for the in-process speaker (the real ones are exercised by the lab)
// ---------------------------------------------------------------------------------------------

class RecordingLayer2 implements Layer2Backend {
  readonly ips = new Set<string>();
  announce(ip: string): Promise<void> {
    this.ips.add(ip);
    return Promise.resolve();
  }
  withdraw(ip: string): void {
    this.ips.delete(ip);
  }
  close(): void {}
}

class RecordingBgp implements BgpBackend {
  readonly peers = new Map<string, PeerOptions>();
  routes: Route[] = [];
  constructor(readonly localAsn: number) {}
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  addPeer(options: PeerOptions): void {
    this.peers.set(options.peerAddress, options);
  }
  removePeer(address: string): void {
    this.peers.delete(address);
  }
  setRoutes(routes: Route[]): void {
    this.routes = routes;
  }
  announce(route: Route): void {
    this.routes = [...this.routes.filter((r) => r.prefix !== route.prefix), route];
  }
  withdraw(prefix: string): void {
    this.routes = this.routes.filter((r) => r.prefix !== prefix);
  }
}

/** The tool is installed (on PATH, or in the sbin directories root's PATH may lack). */
function onPath(tool: string): boolean {
  const dirs = ['/usr/sbin', '/sbin', ...(process.env.PATH ?? '').split(':')];
  return dirs.some((d) => d && existsSync(join(d, tool)));
}
