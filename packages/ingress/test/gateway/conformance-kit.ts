/**
 * Reads the upstream Gateway API conformance tests (module sigs.k8s.io/gateway-api/conformance,
 * from the Go module proxy) as data: each test's manifests with the shared base manifests, and the
 * HTTP expectations written in its Go file (request host/path/method/headers -> backend or status
 * code). The objects get what the API server would add (creationTimestamp in apply order, generation
 * 1); every Service gets an EndpointSlice with one ready endpoint, since no pods run here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import { gatewayApiConformanceDir } from '@portico/dev-kube-apiserver';
import type {
  Gateway,
  GatewayClass,
  GatewayClusterState,
  HTTPRoute,
  NamespaceObject,
  ReferenceGrant,
} from '../../src/gateway/index.js';
import { GATEWAY_CONTROLLER_NAME } from '../../src/gateway/index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const CLASS_NAME = 'portico';

let dir: string | undefined;
export async function conformanceDir(): Promise<string> {
  return (dir ??= await gatewayApiConformanceDir());
}

/** The base manifests plus the test's own (`tests/<name>.yaml`), as one cluster state. */
export async function conformanceState(...testFiles: string[]): Promise<GatewayClusterState> {
  const root = await conformanceDir();
  const docs: Json[] = [];
  for (const file of ['base/manifests.yaml', ...testFiles.map((f) => `tests/${f}.yaml`)]) {
    const text = readFileSync(join(root, file), 'utf8').replaceAll('{GATEWAY_CLASS_NAME}', CLASS_NAME);
    for (const d of parseAllDocuments(text)) {
      const o = d.toJS() as Json | null;
      if (o?.kind) docs.push(o);
    }
  }
  docs.forEach((o, i) => {
    o.metadata ??= {};
    o.metadata.namespace ??= o.kind === 'Namespace' || o.kind === 'GatewayClass' ? undefined : 'default';
    o.metadata.creationTimestamp = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    o.metadata.generation = 1;
    o.metadata.uid = `uid-${i}`;
    // The API server labels every Namespace with its name (Kubernetes 1.22+); selectors use it.
    if (o.kind === 'Namespace')
      o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
  });
  const of = <T>(kind: string): T[] => docs.filter((o) => o.kind === kind) as T[];
  const services = of<V1Service>('Service');
  return {
    gatewayClasses: [
      { metadata: { name: CLASS_NAME, generation: 1 }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } },
      ...of<GatewayClass>('GatewayClass'),
    ],
    gateways: of<Gateway>('Gateway'),
    httpRoutes: of<HTTPRoute>('HTTPRoute'),
    referenceGrants: of<ReferenceGrant>('ReferenceGrant'),
    namespaces: of<NamespaceObject>('Namespace'),
    services,
    endpointSlices: services.map((s, i) => endpointSliceFor(s, i)),
    secrets: of<V1Secret>('Secret'),
  };
}

/** One ready endpoint per Service, at 10.0.<i>.1, on each of its ports' targetPort. */
function endpointSliceFor(s: V1Service, i: number): V1EndpointSlice {
  return {
    metadata: {
      namespace: s.metadata?.namespace,
      name: `${s.metadata?.name}-slice`,
      labels: { 'kubernetes.io/service-name': s.metadata!.name! },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [`10.0.${i}.1`], conditions: { ready: true } }],
    ports: (s.spec?.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
    })),
  };
}

export interface ExpectedResponse {
  readonly host?: string;
  readonly path: string;
  readonly method?: string;
  readonly headers: Record<string, string>;
  /** The Service that must answer (`namespace/name`), or undefined when a status is expected. */
  readonly backend?: string;
  readonly statusCode?: number;
}

/**
 * The http.ExpectedResponse literals of a conformance Go file: `Request: http.Request{...}` with the
 * Backend / Namespace / StatusCode that follow it. Only what routing decides is read.
 */
export async function expectedResponses(
  testFile: string,
  defaultNamespace: string,
): Promise<ExpectedResponse[]> {
  const go = readFileSync(join(await conformanceDir(), 'tests', `${testFile}.go`), 'utf8');
  const requestRe = /Request:\s*http\.Request\{((?:[^{}]|\{[^{}]*\})*)\}/g;
  const found: { at: number; end: number; body: string }[] = [];
  for (const m of go.matchAll(requestRe))
    found.push({ at: m.index, end: m.index + m[0].length, body: m[1]! });
  return found.map((r, i) => {
    const tail = go.slice(r.end, found[i + 1]?.at ?? go.length);
    const str = (name: string, text: string): string | undefined =>
      new RegExp(`\\b${name}:\\s*"([^"]*)"`).exec(text)?.[1];
    const headers: Record<string, string> = {};
    const h = /Headers:\s*map\[string\]string\{([^}]*)\}/.exec(r.body);
    if (h) for (const kv of h[1]!.matchAll(/"([^"]+)":\s*"([^"]*)"/g)) headers[kv[1]!.toLowerCase()] = kv[2]!;
    const backend = str('Backend', tail);
    const ns = str('Namespace', tail) ?? defaultNamespace;
    const status = /StatusCode:\s*(\d+)/.exec(tail)?.[1];
    const host = str('Host', r.body);
    const method = str('Method', r.body);
    return {
      ...(host ? { host } : {}),
      path: str('Path', r.body) ?? '/',
      ...(method ? { method } : {}),
      headers,
      ...(backend ? { backend: `${ns}/${backend}` } : {}),
      ...(status ? { statusCode: Number(status) } : {}),
    };
  });
}
