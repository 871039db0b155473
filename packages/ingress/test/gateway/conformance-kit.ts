/**
 * Reads the upstream Gateway API conformance tests (module sigs.k8s.io/gateway-api/conformance,
 * from the Go module proxy) as data: each test's manifests with the shared base manifests, and the
 * HTTP expectations written in its Go file (request host/path/method/headers -> backend or status
 * code). The objects get what the API server would add (creationTimestamp in apply order, generation
 * 1); every Service with a selector gets an EndpointSlice with one ready endpoint, since no pods
 * run here (the EndpointSlices a test applies itself are kept as they are).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import { gatewayApiConformanceDir } from '@portico/dev-kube-apiserver';
import type {
  Gateway,
  GatewayClass,
  GatewayClusterState,
  GRPCRoute,
  HTTPRoute,
  NamespaceObject,
  ReferenceGrant,
  TLSRoute,
} from '../../src/gateway/index.js';
import { GATEWAY_CONTROLLER_NAME } from '../../src/gateway/index.js';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const CLASS_NAME = 'portico';

let dir: string | undefined;
export async function conformanceDir(): Promise<string> {
  return (dir ??= await gatewayApiConformanceDir());
}

/**
 * The base manifests plus the tests' own (`tests/<name>.yaml`), as the suite applies them: every
 * object, in order, with the suite's placeholders filled in (our GatewayClass and controller).
 */
export async function conformanceManifests(...testFiles: string[]): Promise<Json[]> {
  const root = await conformanceDir();
  const docs: Json[] = [];
  for (const file of ['base/manifests.yaml', ...testFiles.map((f) => `tests/${f}.yaml`)]) {
    const text = readFileSync(join(root, file), 'utf8')
      .replaceAll('{GATEWAY_CLASS_NAME}', CLASS_NAME)
      .replaceAll('{GATEWAY_CONTROLLER_NAME}', GATEWAY_CONTROLLER_NAME);
    for (const d of parseAllDocuments(text)) {
      const o = d.toJS() as Json | null;
      if (o?.kind) docs.push(o);
    }
  }
  return docs;
}

/** The base manifests plus the test's own (`tests/<name>.yaml`), as one cluster state. */
export async function conformanceState(...testFiles: string[]): Promise<GatewayClusterState> {
  const docs = await conformanceManifests(...testFiles);
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
    grpcRoutes: of<GRPCRoute>('GRPCRoute'),
    tlsRoutes: of<TLSRoute>('TLSRoute'),
    referenceGrants: of<ReferenceGrant>('ReferenceGrant'),
    namespaces: of<NamespaceObject>('Namespace'),
    services,
    // The EndpointSlice controller's slices for the Services with a selector, and the test's own.
    endpointSlices: [
      ...services.flatMap((s, i) => (s.spec?.selector ? [endpointSliceFor(s, i)] : [])),
      ...of<V1EndpointSlice>('EndpointSlice'),
    ],
    secrets: of<V1Secret>('Secret'),
  };
}

/** One ready endpoint per Service, at 10.0.<i>.1, on each of its ports' targetPort. */
function endpointSliceFor(s: V1Service, i: number): V1EndpointSlice {
  return sliceFor(s, `10.0.${i}.1`);
}

/** An EndpointSlice for the Service with one ready endpoint at `address`, on `port` or each targetPort. */
export function sliceFor(s: V1Service, address: string, port?: number): V1EndpointSlice {
  return {
    metadata: {
      namespace: s.metadata?.namespace,
      name: `${s.metadata?.name}-slice`,
      labels: { 'kubernetes.io/service-name': s.metadata!.name! },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: (s.spec?.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: port ?? (typeof p.targetPort === 'number' ? p.targetPort : p.port),
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

/** What one conformance test case expects (the Go http.ExpectedResponse literal, as data). */
export interface ExpectedCase {
  readonly request: {
    readonly host?: string;
    readonly path: string;
    readonly method?: string;
    readonly headers: Record<string, string>;
  };
  /** What the backend must receive. */
  readonly expectedRequest?: {
    readonly host?: string;
    readonly path?: string;
    readonly headers: Record<string, string>;
    readonly absent: string[];
  };
  readonly redirect?: {
    readonly scheme?: string;
    readonly host?: string;
    readonly port?: string;
    readonly path?: string;
  };
  readonly statusCode: number;
  /** Headers the echo backend must add to its response (the suite sends them in X-Echo-Set-Header). */
  readonly backendSetResponseHeaders: Record<string, string>;
  readonly responseHeaders: Record<string, string>;
  readonly absentResponseHeaders: string[];
  /** `namespace/name` of the Service that must answer. */
  readonly backend?: string;
}

/** The text from `open` (an index of '{') to its matching '}', inclusive. */
function braced(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '"') {
      i = text.indexOf('"', i + 1);
      continue;
    }
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces at ${open}`);
}

/**
 * Removes and returns the braced value after `marker` (e.g. `Response: http.Response{`; any run of
 * spaces in the marker matches any whitespace, as gofmt aligns fields).
 */
function take(text: string, marker: string): [string | undefined, string] {
  const pattern = new RegExp(marker.replace(/[.*+?^${}()|[\]\\&]/g, '\\$&').replace(/ +/g, '\\s*'));
  const m = pattern.exec(text);
  if (!m) return [undefined, text];
  const open = m.index + m[0].length - 1;
  const body = braced(text, open);
  return [body, text.slice(0, m.index) + text.slice(open + body.length)];
}

function field(text: string | undefined, name: string): string | undefined {
  return text === undefined ? undefined : new RegExp(`\\b${name}:\\s*"([^"]*)"`).exec(text)?.[1];
}

function stringMap(text: string | undefined, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  const m =
    text === undefined ? null : new RegExp(`\\b${name}:\\s*map\\[string\\]string\\{([^}]*)\\}`).exec(text);
  if (m) for (const kv of m[1]!.matchAll(/"([^"]+)":\s*"([^"]*)"/g)) out[kv[1]!] = kv[2]!;
  return out;
}

function stringList(text: string | undefined, name: string): string[] {
  const m = text === undefined ? null : new RegExp(`\\b${name}:\\s*\\[\\]string\\{([^}]*)\\}`).exec(text);
  return m ? [...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) : [];
}

/** Every http.ExpectedResponse literal of a conformance Go file, single or in a list, in order. */
export async function expectedCases(testFile: string, defaultNamespace: string): Promise<ExpectedCase[]> {
  const go = readFileSync(join(await conformanceDir(), 'tests', `${testFile}.go`), 'utf8');
  const literals: string[] = [];
  for (
    let at = go.indexOf('http.ExpectedResponse{');
    at >= 0;
    at = go.indexOf('http.ExpectedResponse{', at + 1)
  ) {
    const open = at + 'http.ExpectedResponse'.length;
    const body = braced(go, open);
    if (go.slice(at - 2, at) === '[]') {
      // A list: its elements are the braced values inside.
      for (let i = 1; i < body.length - 1; i++)
        if (body[i] === '{') {
          const element = braced(body, i);
          literals.push(element);
          i += element.length - 1;
        } else if (body[i] === '"') i = body.indexOf('"', i + 1);
    } else literals.push(body);
    at = open + body.length - 1;
  }
  return literals.map((literal) => {
    // The nested literals are taken out in turn, so that each field name is read from its own one.
    const [expected, rest1] = take(literal, 'ExpectedRequest: &http.ExpectedRequest{');
    const [redirect, rest2] = take(rest1, 'RedirectRequest: &roundtripper.RedirectRequest{');
    const [response, rest3] = take(rest2, 'Response: http.Response{');
    const [request, rest] = take(rest3, 'Request: http.Request{');
    const expectedInner = expected === undefined ? undefined : take(expected, 'Request: http.Request{')[0];
    const backend = field(rest, 'Backend');
    const status = response === undefined ? undefined : /StatusCode:\s*(\d+)/.exec(response)?.[1];
    const host = field(request, 'Host');
    const method = field(request, 'Method');
    return {
      request: {
        ...(host ? { host } : {}),
        path: field(request, 'Path') ?? '/',
        ...(method ? { method } : {}),
        headers: stringMap(request, 'Headers'),
      },
      ...(expected !== undefined
        ? {
            expectedRequest: {
              ...(field(expectedInner, 'Host') !== undefined ? { host: field(expectedInner, 'Host') } : {}),
              ...(field(expectedInner, 'Path') !== undefined ? { path: field(expectedInner, 'Path') } : {}),
              headers: stringMap(expectedInner, 'Headers'),
              absent: stringList(expected, 'AbsentHeaders'),
            },
          }
        : {}),
      ...(redirect !== undefined
        ? {
            redirect: {
              ...(field(redirect, 'Scheme') !== undefined ? { scheme: field(redirect, 'Scheme') } : {}),
              ...(field(redirect, 'Host') !== undefined ? { host: field(redirect, 'Host') } : {}),
              ...(field(redirect, 'Port') !== undefined ? { port: field(redirect, 'Port') } : {}),
              ...(field(redirect, 'Path') !== undefined ? { path: field(redirect, 'Path') } : {}),
            },
          }
        : {}),
      statusCode: status ? Number(status) : 200,
      backendSetResponseHeaders: stringMap(rest, 'BackendSetResponseHeaders'),
      responseHeaders: stringMap(response, 'Headers'),
      absentResponseHeaders: stringList(response, 'AbsentHeaders'),
      ...(backend ? { backend: `${field(rest, 'Namespace') ?? defaultNamespace}/${backend}` } : {}),
    };
  });
}

/** What one GRPCRoute conformance case expects (the Go grpc.ExpectedResponse literal, as data). */
export interface GrpcCase {
  /** Echo, EchoTwo or EchoThree of gateway_api_conformance.echo_basic.grpcecho.GrpcEcho. */
  readonly method: 'Echo' | 'EchoTwo' | 'EchoThree';
  readonly authority?: string;
  readonly metadata: Record<string, string>;
  /** `namespace/name` of the Service that must answer, when the call must succeed. */
  readonly backend?: string;
  /** The gRPC status code name (codes.X) when the call must fail; OK otherwise. */
  readonly code: string;
}

/** Every grpc.ExpectedResponse literal of a GRPCRoute conformance Go file, in order. */
export async function expectedGrpcCases(testFile: string, defaultNamespace: string): Promise<GrpcCase[]> {
  const go = readFileSync(join(await conformanceDir(), 'tests', `${testFile}.go`), 'utf8');
  const start = go.indexOf('[]grpc.ExpectedResponse{');
  if (start < 0) throw new Error(`${testFile}.go has no []grpc.ExpectedResponse`);
  const list = braced(go, go.indexOf('{', start));
  const out: GrpcCase[] = [];
  // Each element is a braced literal directly inside the list.
  for (let i = 1; i < list.length - 1; i++) {
    if (list[i] === '"') {
      i = list.indexOf('"', i + 1);
      continue;
    }
    if (list[i] !== '{') continue;
    const item = braced(list, i);
    i += item.length - 1;
    const method = /\b(EchoThreeRequest|EchoTwoRequest|EchoRequest):/.exec(item)?.[1];
    if (!method) throw new Error(`${testFile}.go: a case without an Echo request: ${item}`);
    const backend = field(item, 'Backend');
    const ns = field(item, 'Namespace') ?? defaultNamespace;
    const authority = field(item, 'Authority');
    out.push({
      method: method.replace('Request', '') as GrpcCase['method'],
      ...(authority !== undefined ? { authority } : {}),
      metadata: stringMap(item, 'Metadata'),
      ...(backend ? { backend: `${ns}/${backend}` } : {}),
      code: /Code:\s*codes\.(\w+)/.exec(item)?.[1] ?? 'OK',
    });
  }
  return out;
}

/** The elements of a Go list literal's braced body (`{{…}, {…}}` -> [`{…}`, `{…}`]). */
function elements(list: string): string[] {
  const out: string[] = [];
  for (let i = 1; i < list.length - 1; i++) {
    if (list[i] === '"') i = list.indexOf('"', i + 1);
    else if (list[i] === '{') {
      const element = braced(list, i);
      out.push(element);
      i += element.length - 1;
    }
  }
  return out;
}

/** A listener's status as a conformance test expects it; a condition without reason takes any. */
export interface ExpectedListener {
  readonly name: string;
  readonly supportedKinds: string[];
  readonly conditions: { type: string; status: string; reason?: string }[];
  readonly attachedRoutes: number;
}

/**
 * The `[]v1.ListenerStatus{…}` literals of one conformance test (`var <shortName> =
 * suite.ConformanceTest{…}` in its Go file), in order, with the Gateways it names
 * (`types.NamespacedName{Name: …}`, in order): what the suite's GatewayStatusMustHaveListeners
 * compares (listenerMismatch below).
 */
export async function listenerExpectations(
  testFile: string,
  shortName: string,
): Promise<{ lists: ExpectedListener[][]; gateways: string[] }> {
  const file = readFileSync(join(await conformanceDir(), 'tests', `${testFile}.go`), 'utf8');
  const start = file.indexOf(`var ${shortName} = suite.ConformanceTest{`);
  if (start < 0) throw new Error(`${testFile}.go does not define ${shortName}`);
  const go = braced(file, file.indexOf('{', start));
  const gateways = [...go.matchAll(/NamespacedName\{Name:\s*"([^"]+)",\s*Namespace:\s*"([^"]+)"\}/g)].map(
    (m) => `${m[2]}/${m[1]}`,
  );
  const lists: ExpectedListener[][] = [];
  for (
    let at = go.indexOf('[]v1.ListenerStatus{');
    at >= 0;
    at = go.indexOf('[]v1.ListenerStatus{', at + 1)
  ) {
    const list = braced(go, go.indexOf('{', at));
    lists.push(
      elements(list).map((l) => {
        const conditions = take(l, 'Conditions: []metav1.Condition{')[0];
        return {
          name: /Name:\s*v1\.SectionName\("([^"]+)"\)/.exec(l)?.[1] ?? '',
          supportedKinds: [...l.matchAll(/Kind:\s*v1\.Kind\("(\w+)"\)/g)].map((m) => m[1]!),
          conditions:
            conditions === undefined
              ? []
              : elements(conditions).map((c) => {
                  const reason = /Reason:\s*string\(v1\.ListenerReason(\w+)\)/.exec(c)?.[1];
                  return {
                    type: /Type:\s*string\(v1\.ListenerCondition(\w+)\)/.exec(c)?.[1] ?? '',
                    status: /Status:\s*metav1\.Condition(\w+)/.exec(c)?.[1] ?? '',
                    ...(reason ? { reason } : {}),
                  };
                }),
          attachedRoutes: Number(/AttachedRoutes:\s*(\d+)/.exec(l)?.[1] ?? 0),
        };
      }),
    );
  }
  return { lists, gateways };
}

interface ListenerStatusLike {
  readonly name: string;
  readonly supportedKinds: readonly { kind: string }[];
  readonly attachedRoutes: number;
  readonly conditions: readonly { type: string; status: string; reason: string }[];
}

/**
 * What the suite's gatewayListenersMatch would find wrong (undefined: nothing): as many listeners,
 * each expected one present by name with the expected kinds among its supportedKinds, the same
 * attachedRoutes, and each expected condition (type, status, reason when given).
 */
export function listenerMismatch(
  expected: readonly ExpectedListener[],
  actual: readonly ListenerStatusLike[],
): string | undefined {
  if (expected.length !== actual.length) return `${actual.length} listeners, expected ${expected.length}`;
  for (const e of expected) {
    const a = actual.find((l) => l.name === e.name);
    if (!a) return `no status for listener ${e.name}`;
    if (e.supportedKinds.length === 0 && a.supportedKinds.length !== 0)
      return `${e.name}: supportedKinds ${JSON.stringify(a.supportedKinds)}, expected none`;
    for (const kind of e.supportedKinds)
      if (!a.supportedKinds.some((k) => k.kind === kind)) return `${e.name}: ${kind} not in supportedKinds`;
    if (a.attachedRoutes !== e.attachedRoutes)
      return `${e.name}: attachedRoutes ${a.attachedRoutes}, expected ${e.attachedRoutes}`;
    for (const c of e.conditions) {
      const got = a.conditions.find((k) => k.type === c.type);
      if (!got || got.status !== c.status || (c.reason !== undefined && got.reason !== c.reason))
        return `${e.name}: ${c.type} ${got ? `${got.status}/${got.reason}` : 'missing'}, expected ${c.status}/${c.reason ?? 'any'}`;
    }
  }
  return undefined;
}

/** A self-signed certificate and key for these DNS names, made with openssl as the suite makes them. */
export function selfSignedCertificate(names: string[]): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'portico-conformance-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/O=gateway-api-conformance',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-addext',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A kubernetes.io/tls Secret holding this pair. */
export function tlsSecret(namespace: string, name: string, pair: { cert: string; key: string }): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pair.cert).toString('base64'),
      'tls.key': Buffer.from(pair.key).toString('base64'),
    },
  };
}

/**
 * The certificate Secrets the suite creates before any test (suite.go): `certificate` in the web
 * backend namespace (SAN `*`) and `tls-validity-checks-certificate` in the infra namespace (SANs
 * `*`, `*.org`, `*.wildcard.org`); the second pair is returned too, for clients to check it.
 */
export function suiteSecrets(): { secrets: V1Secret[]; validity: { cert: string; key: string } } {
  const validity = selfSignedCertificate(['*', '*.org', '*.wildcard.org']);
  return {
    secrets: [
      tlsSecret('gateway-conformance-web-backend', 'certificate', selfSignedCertificate(['*'])),
      tlsSecret('gateway-conformance-infra', 'tls-validity-checks-certificate', validity),
    ],
    validity,
  };
}
