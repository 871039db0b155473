// The development API server over plain HTTP: verbs, conflicts, status subresource, patches,
// selectors and watch semantics, checked against what the real kube-apiserver answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: DevApiServer;
let small: DevApiServer;

beforeAll(async () => {
  server = await startDevApiServer({ bookmarkIntervalMs: 100 });
  small = await startDevApiServer({ historyLimit: 5 });
});
afterAll(async () => {
  await server?.close();
  await small?.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  base = server,
): Promise<{ status: number; body: Json }> {
  const response = await fetch(base.url + path, {
    method,
    headers: { 'content-type': contentType, authorization: 'Bearer anything' },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {} };
}

/** Reads watch events until `count` arrived or `ms` passed. */
async function watchEvents(path: string, count: number, ms = 5000, base = server): Promise<Json[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const events: Json[] = [];
  try {
    const response = await fetch(base.url + path, { signal: controller.signal });
    expect(response.status).toBe(200);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffer.slice(0, newline)) as Json);
        buffer = buffer.slice(newline + 1);
      }
      if (events.length >= count) break;
    }
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}): Json => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data,
});

describe('discovery and health', () => {
  it('serves /version, /api, /apis and resource lists', async () => {
    expect((await call('GET', '/version')).body.major).toBe('1');
    expect((await call('GET', '/api')).body.versions).toEqual(['v1']);
    const groups = (await call('GET', '/apis')).body.groups.map((g: Json) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining(['discovery.k8s.io', 'networking.k8s.io', 'coordination.k8s.io']),
    );
    const core = (await call('GET', '/api/v1')).body.resources as Json[];
    const svc = core.find((r) => r.name === 'services')!;
    expect(svc).toMatchObject({ kind: 'Service', namespaced: true, shortNames: ['svc'] });
    expect(svc.verbs).toEqual(
      expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
    );
    expect(core.some((r) => r.name === 'services/status')).toBe(true);
    const net = (await call('GET', '/apis/networking.k8s.io/v1')).body.resources as Json[];
    expect(net.find((r) => r.name === 'ingresses')).toMatchObject({ shortNames: ['ing'], kind: 'Ingress' });
    for (const path of ['/healthz', '/readyz', '/livez']) {
      const response = await fetch(server.url + path);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ok');
    }
    expect((await call('GET', '/api/v1/widgets')).status).toBe(404);
  });

  it('starts with the namespaces of a fresh cluster', async () => {
    const names = (await call('GET', '/api/v1/namespaces')).body.items.map((n: Json) => n.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining(['default', 'kube-system', 'kube-public', 'portico-system']),
    );
  });
});

describe('server-side printing', () => {
  it('answers Table requests with kubectl columns, and plain JSON otherwise', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const response = await fetch(`${server.url}/api/v1/namespaces/default/services`, { headers: { accept } });
    const table = (await response.json()) as Json;
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c: Json) => c.name)).toEqual([
      'Name',
      'Type',
      'Cluster-IP',
      'External-IP',
      'Port(s)',
      'Age',
      'Selector',
    ]);
    const row = table.rows.find((r: Json) => r.cells[0] === 'kubernetes');
    expect(row.cells.slice(1, 5)).toEqual(['ClusterIP', '10.96.0.1', '<none>', '443/TCP']);
    expect(row.object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'kubernetes' } });
    const plain = (await call('GET', '/api/v1/namespaces/default/services')).body;
    expect(plain.kind).toBe('ServiceList');
  });
});

describe('create, get, update, delete', () => {
  it('fills metadata and answers 409 AlreadyExists for a duplicate', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/configmaps', cm('c1'));
    expect(created.status).toBe(201);
    const meta = created.body.metadata;
    expect(meta.namespace).toBe('default');
    expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number(meta.resourceVersion)).toBeGreaterThan(0);
    const again = await call('POST', '/api/v1/namespaces/default/configmaps', cm('c1'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      kind: 'Status',
      reason: 'AlreadyExists',
      code: 409,
      details: { name: 'c1', kind: 'configmaps' },
    });
    const got = await call('GET', '/api/v1/namespaces/default/configmaps/c1');
    expect(got.body.metadata.uid).toBe(meta.uid);
  });

  it('answers 415 for protobuf it cannot decode', async () => {
    const notK8s = await fetch(`${server.url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
      body: new Uint8Array([1, 2, 3, 4, 5]),
    });
    expect(notK8s.status).toBe(415);
    // "k8s\0" + Unknown{typeMeta{apiVersion "v1", kind "Pod"}, raw ""}: a kind without a protobuf schema here.
    const typeMeta = Buffer.concat([
      Buffer.from([0x0a, 2]),
      Buffer.from('v1'),
      Buffer.from([0x12, 3]),
      Buffer.from('Pod'),
    ]);
    const envelope = Buffer.concat([
      Buffer.from('k8s\0'),
      Buffer.from([0x0a, typeMeta.length]),
      typeMeta,
      Buffer.from([0x12, 0]),
    ]);
    const pod = await fetch(`${server.url}/api/v1/namespaces/default/pods`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
      body: envelope,
    });
    expect(pod.status).toBe(415);
    expect(((await pod.json()) as Json).message).toContain('v1/Pod');
  });

  it('generates names from generateName', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'gen-' },
    });
    expect(created.status).toBe(201);
    expect(created.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('answers 404 NotFound for a missing namespace and a missing object', async () => {
    const created = await call('POST', '/api/v1/namespaces/nowhere/configmaps', cm('x'));
    expect(created.status).toBe(404);
    expect(created.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "nowhere" not found' });
    const got = await call('GET', '/apis/networking.k8s.io/v1/namespaces/default/ingresses/none');
    expect(got.status).toBe(404);
    expect(got.body.message).toBe('ingresses.networking.k8s.io "none" not found');
  });

  it('rejects invalid names with 422 naming the field', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/configmaps', cm('Bad_Name'));
    expect(created.status).toBe(422);
    expect(created.body.reason).toBe('Invalid');
    expect(created.body.details.causes[0].field).toBe('metadata.name');
  });

  it('rejects invalid label keys and values; dry runs store nothing', async () => {
    const bad: Record<string, string>[] = [{ 'bad key': 'x' }, { app: 'has space' }, { app: 'x'.repeat(64) }];
    for (const labels of bad) {
      const created = await call('POST', '/api/v1/namespaces/default/configmaps', cm('labelled', labels));
      expect(created.status).toBe(422);
      expect(created.body.details.causes[0].field).toBe('metadata.labels');
    }
    const dry = await call('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', cm('dry'));
    expect(dry.status).toBe(201);
    expect(dry.body.metadata.uid).toBeTypeOf('string');
    expect(dry.body.metadata.resourceVersion).toBeUndefined();
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/dry')).status).toBe(404);
  });

  it('Secrets: stringData is merged into data, base64 is checked; immutable data stays', async () => {
    const secret = await call('POST', '/api/v1/namespaces/default/secrets', {
      metadata: { name: 'sec' },
      data: { a: Buffer.from('one').toString('base64') },
      stringData: { b: 'two' },
    });
    expect(secret.status).toBe(201);
    expect(secret.body.type).toBe('Opaque');
    expect(secret.body.stringData).toBeUndefined();
    expect(Buffer.from(secret.body.data.b, 'base64').toString()).toBe('two');
    expect(Buffer.from(secret.body.data.a, 'base64').toString()).toBe('one');
    const bad = await call('POST', '/api/v1/namespaces/default/secrets', {
      metadata: { name: 'bad' },
      data: { a: 'not base64!' },
    });
    expect(bad.status).toBe(400);
    const badKey = await call(
      'POST',
      '/api/v1/namespaces/default/configmaps',
      cm('badkey', {}, { 'a/b': 'x' }),
    );
    expect(badKey.status).toBe(422);
    await call('POST', '/api/v1/namespaces/default/configmaps', {
      ...cm('frozen', {}, { a: '1' }),
      immutable: true,
    });
    const changed = await call(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/frozen',
      { data: { a: '2' } },
      'application/merge-patch+json',
    );
    expect(changed.status).toBe(422);
    const relabelled = await call(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/frozen',
      { metadata: { labels: { ok: 'yes' } } },
      'application/merge-patch+json',
    );
    expect(relabelled.status).toBe(200);
  });

  it('PUT with a stale resourceVersion is a 409 Conflict; without one it is unconditional', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/configmaps', cm('c2', {}, { v: '1' })))
      .body;
    const first = await call('PUT', '/api/v1/namespaces/default/configmaps/c2', {
      ...created,
      data: { v: '2' },
    });
    expect(first.status).toBe(200);
    expect(Number(first.body.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.metadata.resourceVersion),
    );
    const stale = await call('PUT', '/api/v1/namespaces/default/configmaps/c2', {
      ...created,
      data: { v: '3' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    expect(stale.body.message).toContain('the object has been modified');
    const unconditional = await call(
      'PUT',
      '/api/v1/namespaces/default/configmaps/c2',
      cm('c2', {}, { v: '4' }),
    );
    expect(unconditional.status).toBe(200);
    expect(unconditional.body.data).toEqual({ v: '4' });
    expect(unconditional.body.metadata.uid).toBe(created.metadata.uid);
  });

  it('an update that changes nothing keeps the resourceVersion', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/configmaps', cm('c3', {}, { v: '1' })))
      .body;
    const same = await call('PUT', '/api/v1/namespaces/default/configmaps/c3', created);
    expect(same.body.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  it('DELETE answers a Status of Success (the object for Services), and it is gone; a second DELETE is 404', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/configmaps', cm('c4'))).body;
    const deleted = await call('DELETE', '/api/v1/namespaces/default/configmaps/c4');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'c4', kind: 'configmaps', uid: created.metadata.uid },
    });
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/c4')).status).toBe(404);
    expect((await call('DELETE', '/api/v1/namespaces/default/configmaps/c4')).status).toBe(404);
  });

  it('DELETE honours resourceVersion preconditions', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/configmaps', cm('c5'))).body;
    const bad = await call('DELETE', '/api/v1/namespaces/default/configmaps/c5', {
      preconditions: { resourceVersion: '1' },
    });
    expect(bad.status).toBe(409);
    const good = await call('DELETE', '/api/v1/namespaces/default/configmaps/c5', {
      preconditions: { resourceVersion: created.metadata.resourceVersion },
    });
    expect(good.status).toBe(200);
  });

  it('deleting a namespace deletes what it holds', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await call('POST', '/api/v1/namespaces/doomed/configmaps', cm('inside'));
    expect((await call('DELETE', '/api/v1/namespaces/doomed')).status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/doomed/configmaps/inside')).status).toBe(404);
    expect((await call('DELETE', '/api/v1/namespaces/default')).status).toBe(403);
  });

  it('PUT creates Leases (AllowCreateOnUpdate) but not ConfigMaps', async () => {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l1' },
      spec: { holderIdentity: 'a' },
    };
    const put = await call('PUT', '/apis/coordination.k8s.io/v1/namespaces/default/leases/l1', lease);
    expect(put.status).toBe(201);
    expect((await call('PUT', '/api/v1/namespaces/default/configmaps/nope', cm('nope'))).status).toBe(404);
  });
});

describe('status subresource', () => {
  const ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'ing1' },
    spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } },
  };
  const base = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';

  it('create drops status; the main resource ignores status; /status changes only status', async () => {
    const created = (await call('POST', base, ingress)).body;
    expect(created.status).toEqual({ loadBalancer: {} });
    expect(created.metadata.generation).toBe(1);

    const mainPut = await call('PUT', `${base}/ing1`, {
      ...created,
      spec: { defaultBackend: { service: { name: 'web', port: { number: 81 } } } },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    });
    expect(mainPut.body.spec.defaultBackend.service.port.number).toBe(81);
    expect(mainPut.body.status).toEqual({ loadBalancer: {} });
    expect(mainPut.body.metadata.generation).toBe(2);

    const statusPut = await call('PUT', `${base}/ing1/status`, {
      ...mainPut.body,
      spec: { defaultBackend: { service: { name: 'other', port: { number: 1 } } } },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } },
    });
    expect(statusPut.status).toBe(200);
    expect(statusPut.body.status.loadBalancer.ingress).toEqual([{ ip: '192.0.2.2' }]);
    expect(statusPut.body.spec.defaultBackend.service.name).toBe('web');
    expect(statusPut.body.metadata.generation).toBe(2);

    const mainPatch = await call(
      'PATCH',
      `${base}/ing1`,
      { status: { loadBalancer: { ingress: [] } } },
      'application/merge-patch+json',
    );
    expect(mainPatch.body.status.loadBalancer.ingress).toEqual([{ ip: '192.0.2.2' }]);
    expect(mainPatch.body.metadata.resourceVersion).toBe(statusPut.body.metadata.resourceVersion);

    const statusPatch = await call(
      'PATCH',
      `${base}/ing1/status`,
      { spec: { defaultBackend: null }, status: { loadBalancer: { ingress: [{ hostname: 'lb.example' }] } } },
      'application/merge-patch+json',
    );
    expect(statusPatch.body.status.loadBalancer.ingress).toEqual([{ hostname: 'lb.example' }]);
    expect(statusPatch.body.spec.defaultBackend.service.name).toBe('web');

    for (const bad of [{ ip: 'lb.example' }, { hostname: '192.0.2.1' }, { hostname: 'Not_A_Name' }]) {
      const rejected = await call(
        'PATCH',
        `${base}/ing1/status`,
        { status: { loadBalancer: { ingress: [bad] } } },
        'application/merge-patch+json',
      );
      expect(rejected.status).toBe(422);
      expect(rejected.body.details.causes[0].field).toMatch(/^status\.loadBalancer\.ingress\[0\]\./);
    }
    const stale = await call('PUT', `${base}/ing1/status`, created);
    expect(stale.status).toBe(409);
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/c1/status')).status).toBe(404);
  });
});

describe('networking validation', () => {
  const backend = { service: { name: 'web', port: { number: 80 } } };
  const withPaths = (paths: Json[]): Json => ({ rules: [{ host: 'app.example', http: { paths } }] });
  it.each([
    [{}, 'spec'],
    [withPaths([{ path: '/', backend }]), 'spec.rules[0].http.paths[0].pathType'],
    [withPaths([{ path: '/', pathType: 'Regex', backend }]), 'spec.rules[0].http.paths[0].pathType'],
    [withPaths([{ path: 'relative', pathType: 'Prefix', backend }]), 'spec.rules[0].http.paths[0].path'],
    [
      withPaths([{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: {} } } }]),
      'spec.rules[0].http.paths[0].backend',
    ],
    [withPaths([{ path: '/', pathType: 'Prefix', backend: {} }]), 'spec.rules[0].http.paths[0].backend'],
    [
      { rules: [{ host: '192.0.2.1', http: { paths: [{ path: '/', pathType: 'Exact', backend }] } }] },
      'spec.rules[0].host',
    ],
    [{ defaultBackend: backend, ingressClassName: 'Not_Valid' }, 'spec.ingressClassName'],
  ])('Ingress spec %j is rejected at %s', async (spec, field) => {
    const result = await call('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', {
      metadata: { name: 'bad-ing' },
      spec,
    });
    expect(result.status).toBe(422);
    expect(result.body.details.causes.map((c: Json) => c.field)).toEqual([field]);
  });

  it('accepts wildcard hosts, and the IngressClass controller is required and immutable', async () => {
    const ok = await call('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', {
      metadata: { name: 'wild' },
      spec: {
        rules: [{ host: '*.app.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }],
      },
    });
    expect(ok.status).toBe(201);
    const base = '/apis/networking.k8s.io/v1/ingressclasses';
    expect((await call('POST', base, { metadata: { name: 'nocontroller' }, spec: {} })).status).toBe(422);
    expect(
      (await call('POST', base, { metadata: { name: 'ours' }, spec: { controller: 'portico.dev/ingress' } }))
        .status,
    ).toBe(201);
    const changed = await call(
      'PATCH',
      `${base}/ours`,
      { spec: { controller: 'example.com/other' } },
      'application/merge-patch+json',
    );
    expect(changed.status).toBe(422);
    expect(changed.body.details.causes[0].field).toBe('spec.controller');
  });
});

describe('endpoints', () => {
  const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
  it('EndpointSlices: protocol defaults to TCP, addresses match addressType, addressType is immutable', async () => {
    const created = await call('POST', slices, {
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['192.0.2.20'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8080 }],
    });
    expect(created.status).toBe(201);
    expect(created.body.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const wrongFamily = await call('POST', slices, {
      metadata: { name: 'v6' },
      addressType: 'IPv6',
      endpoints: [{ addresses: ['192.0.2.1'] }],
    });
    expect(wrongFamily.status).toBe(422);
    expect(wrongFamily.body.details.causes[0].field).toBe('endpoints[0].addresses');
    expect((await call('POST', slices, { metadata: { name: 'notype' }, endpoints: [] })).status).toBe(422);
    const retyped = await call(
      'PATCH',
      `${slices}/web-abc`,
      { addressType: 'FQDN' },
      'application/merge-patch+json',
    );
    expect(retyped.status).toBe(422);
  });

  it('Endpoints: IP addresses only, protocol defaults to TCP', async () => {
    const base = '/api/v1/namespaces/default/endpoints';
    const created = await call('POST', base, {
      metadata: { name: 'ep1' },
      subsets: [{ addresses: [{ ip: '192.0.2.21' }], ports: [{ port: 80 }] }],
    });
    expect(created.body.subsets[0].ports).toEqual([{ port: 80, protocol: 'TCP' }]);
    const bad = await call('POST', base, {
      metadata: { name: 'ep2' },
      subsets: [{ addresses: [{ ip: 'web.example' }] }],
    });
    expect(bad.status).toBe(422);
  });
});

describe('patch', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1', labels: { app: 'a' } },
    spec: {
      containers: [
        { name: 'one', image: 'img:1', ports: [{ containerPort: 80 }] },
        { name: 'two', image: 'img:2' },
      ],
    },
  };
  const path = '/api/v1/namespaces/default/pods/p1';

  const svcPath = '/api/v1/namespaces/default/services/patched';
  const service = {
    metadata: { name: 'patched', labels: { app: 'a' } },
    spec: {
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
    },
  };

  it('merge patch replaces lists and deletes with null', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', pod);
    expect((await call('POST', '/api/v1/namespaces/default/services', service)).status).toBe(201);
    const patched = await call(
      'PATCH',
      svcPath,
      { metadata: { labels: { app: null, tier: 'web' } }, spec: { ports: [{ name: 'only', port: 8080 }] } },
      'application/merge-patch+json',
    );
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.labels).toEqual({ tier: 'web' });
    expect(patched.body.spec.ports).toEqual([
      { name: 'only', port: 8080, protocol: 'TCP', targetPort: 8080 },
    ]);
  });

  it('strategic merge patch merges Service ports by port and conditions by type', async () => {
    await call('PUT', svcPath, service);
    const patched = await call(
      'PATCH',
      svcPath,
      {
        spec: {
          ports: [
            { port: 443, targetPort: 8443 },
            { name: 'admin', port: 9000 },
          ],
        },
      },
      'application/strategic-merge-patch+json',
    );
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.spec.ports.map((p: Json) => `${p.name}:${p.port}->${p.targetPort}`)).toEqual([
      'http:80->80',
      'https:443->8443',
      'admin:9000->9000',
    ]);
    const deleted = await call(
      'PATCH',
      svcPath,
      { spec: { ports: [{ port: 80, $patch: 'delete' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(deleted.body.spec.ports.map((p: Json) => p.name)).toEqual(['https', 'admin']);

    // Pod containers are immutable apart from their images, as on the real server.
    const grown = await call(
      'PATCH',
      path,
      { spec: { containers: [{ name: 'three', image: 'img:4' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(grown.status).toBe(422);
    const image = await call(
      'PATCH',
      path,
      { spec: { containers: [{ name: 'two', image: 'img:3' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(image.body.spec.containers.map((c: Json) => `${c.name}=${c.image}`)).toEqual([
      'one=img:1',
      'two=img:3',
    ]);
    expect(image.body.spec.containers[0].ports).toEqual([{ containerPort: 80 }]);

    await call(
      'PATCH',
      `${path}/status`,
      {
        status: {
          conditions: [
            { type: 'Ready', status: 'False' },
            { type: 'Initialized', status: 'True' },
          ],
        },
      },
      'application/strategic-merge-patch+json',
    );
    const cond = await call(
      'PATCH',
      `${path}/status`,
      { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      'application/strategic-merge-patch+json',
    );
    // Unset times are written as Go writes a zero metav1.Time: null.
    expect(cond.body.status.conditions).toEqual([
      { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: null },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: null },
    ]);
  });

  it('Pods need named containers with images', async () => {
    const bad = await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'bad-pod' },
      spec: { containers: [{ name: 'a' }, { name: 'a', image: 'x' }] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes.map((c: Json) => c.field)).toEqual([
      'spec.containers[0].image',
      'spec.containers[1].name',
    ]);
    const empty = await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'empty-pod' },
      spec: {},
    });
    expect(empty.body.details.causes.map((c: Json) => c.field)).toEqual(['spec.containers']);
  });

  it('JSON patch applies operations in order and rejects a failed test', async () => {
    const patched = await call(
      'PATCH',
      path,
      [
        { op: 'add', path: '/metadata/annotations', value: { 'a/b': '1' } },
        { op: 'replace', path: '/spec/containers/0/image', value: 'img:9' },
        { op: 'copy', from: '/spec/containers/0/image', path: '/metadata/annotations/copied' },
        { op: 'remove', path: '/metadata/labels/app' },
      ],
      'application/json-patch+json',
    );
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.annotations).toEqual({ 'a/b': '1', copied: 'img:9' });
    // The last label removed: no labels at all, as the real server stores it.
    expect(patched.body.metadata.labels).toBeUndefined();
    const failed = await call(
      'PATCH',
      path,
      [{ op: 'test', path: '/spec/containers/0/image', value: 'nope' }],
      'application/json-patch+json',
    );
    expect(failed.status).toBe(422);
    expect((await call('PATCH', path, {}, 'text/plain')).status).toBe(415);
  });

  it('a patch carrying a stale resourceVersion conflicts', async () => {
    const patched = await call(
      'PATCH',
      path,
      { metadata: { resourceVersion: '1', labels: { x: 'y' } } },
      'application/merge-patch+json',
    );
    expect(patched.status).toBe(409);
  });

  it('server-side apply creates, then merges', async () => {
    const applyPath = '/api/v1/namespaces/default/configmaps/applied?fieldManager=test';
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: "1"\n';
    const created = await call('PATCH', applyPath, yaml, 'application/apply-patch+yaml');
    expect(created.status).toBe(201);
    expect(created.body.data).toEqual({ a: '1' });
    const updated = await call(
      'PATCH',
      applyPath,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data: { b: '2' } },
      'application/apply-patch+yaml',
    );
    expect(updated.status).toBe(200);
    // The manager no longer applies `a`: it goes; what it applies now stays.
    expect(updated.body.data).toEqual({ b: '2' });
    // A field written by someone else survives the same manager's next apply.
    await call('PATCH', applyPath, { data: { other: 'x' } }, 'application/merge-patch+json');
    const again = await call(
      'PATCH',
      applyPath,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'applied', labels: { l: '1' } },
        data: { b: '3' },
      },
      'application/apply-patch+yaml',
    );
    expect(again.body.data).toEqual({ b: '3', other: 'x' });
    expect(again.body.metadata.labels).toEqual({ l: '1' });
    // Another manager's apply does not remove the first one's fields.
    const second = await call(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/applied?fieldManager=second',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data: { c: '4' } },
      'application/apply-patch+yaml',
    );
    expect(second.body.data).toEqual({ b: '3', other: 'x', c: '4' });
  });
});

describe('selectors on list', () => {
  beforeAll(async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'sel' } });
    await call('POST', '/api/v1/namespaces/sel/configmaps', cm('s1', { app: 'web', tier: 'front' }));
    await call('POST', '/api/v1/namespaces/sel/configmaps', cm('s2', { app: 'web', tier: 'back' }));
    await call('POST', '/api/v1/namespaces/sel/configmaps', cm('s3', { app: 'db' }));
    await call('POST', '/api/v1/namespaces/sel/configmaps', cm('s4'));
  });
  const names = async (query: string): Promise<string[]> => {
    const result = await call('GET', `/api/v1/namespaces/sel/configmaps?${query}`);
    expect(result.status).toBe(200);
    return result.body.items.map((i: Json) => i.metadata.name);
  };
  const label = (s: string): string => `labelSelector=${encodeURIComponent(s)}`;
  const field = (s: string): string => `fieldSelector=${encodeURIComponent(s)}`;

  it.each([
    ['app=web', ['s1', 's2']],
    ['app==web', ['s1', 's2']],
    ['app!=web', ['s3', 's4']],
    ['app', ['s1', 's2', 's3']],
    ['!app', ['s4']],
    ['app in (web, db),tier', ['s1', 's2']],
    ['tier notin (front)', ['s2', 's3', 's4']],
    ['app=web,tier!=front', ['s2']],
    ['', ['s1', 's2', 's3', 's4']],
  ])('labelSelector %j', async (selector, expected) => {
    expect(await names(label(selector))).toEqual(expected);
  });

  it('field selectors on metadata.name and metadata.namespace', async () => {
    expect(await names(field('metadata.name=s3'))).toEqual(['s3']);
    expect(await names(field('metadata.name!=s3,metadata.namespace=sel'))).toEqual(['s1', 's2', 's4']);
    const all = await call('GET', `/api/v1/configmaps?${field('metadata.namespace=sel')}`);
    expect(all.body.items).toHaveLength(4);
    expect(all.body.items[0].apiVersion).toBeUndefined();
  });

  it('field selectors that name one object', async () => {
    const itemNames = (r: { body: Json }): string[] => r.body.items.map((i: Json) => i.metadata.name);
    const across = await call(
      'GET',
      `/api/v1/configmaps?${field('metadata.namespace=sel,metadata.name=s2')}`,
    );
    expect(itemNames(across)).toEqual(['s2']);
    expect(await names(field('metadata.name=missing'))).toEqual([]);
    expect(await names(field('metadata.name=s2,metadata.name=s3'))).toEqual([]);
    expect(await names(`${field('metadata.name=s2')}&${label('app=db')}`)).toEqual([]);
    const other = await call(
      'GET',
      `/api/v1/namespaces/default/configmaps?${field('metadata.namespace=sel,metadata.name=s2')}`,
    );
    expect(itemNames(other)).toEqual([]);
    const namespace = await call('GET', `/api/v1/namespaces?${field('metadata.name=sel')}`);
    expect(itemNames(namespace)).toEqual(['sel']);
  });

  it('Event field selectors on involvedObject, reason and source', async () => {
    const event = (name: string, object: string, reason: string): Json => ({
      metadata: { name },
      involvedObject: { kind: 'Service', namespace: 'sel', name: object },
      reason,
      type: 'Normal',
      source: { component: name === 'e1' ? 'portico-controller' : 'other' },
    });
    await call('POST', '/api/v1/namespaces/sel/events', event('e1', 'web', 'IPAllocated'));
    await call('POST', '/api/v1/namespaces/sel/events', event('e2', 'db', 'IPAllocated'));
    const list = async (selector: string): Promise<string[]> =>
      (
        await call('GET', `/api/v1/namespaces/sel/events?fieldSelector=${encodeURIComponent(selector)}`)
      ).body.items.map((e: Json) => e.metadata.name);
    expect(await list('involvedObject.name=web,involvedObject.kind=Service')).toEqual(['e1']);
    expect(await list('reason=IPAllocated')).toEqual(['e1', 'e2']);
    expect(await list('source=other')).toEqual(['e2']);
    const elsewhere = await call(
      'POST',
      '/api/v1/namespaces/default/events',
      event('e3', 'web', 'IPAllocated'),
    );
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.details.causes[0].field).toBe('involvedObject.namespace');
  });

  it('bad selectors are 400 BadRequest', async () => {
    expect((await call('GET', `/api/v1/configmaps?${label('app in web')}`)).status).toBe(400);
    const unsupported = await call('GET', `/api/v1/configmaps?${field('data.x=1')}`);
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.message).toBe(
      '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
  });

  it('deletecollection removes only the selected objects', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'dc' } });
    for (const [name, team] of [
      ['d1', 'a'],
      ['d2', 'a'],
      ['d3', 'b'],
    ]) {
      await call('POST', '/api/v1/namespaces/dc/configmaps', cm(name!, { team: team! }));
    }
    const deleted = await call('DELETE', `/api/v1/namespaces/dc/configmaps?${label('team=a')}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.items.map((i: Json) => i.metadata.name)).toEqual(['d1', 'd2']);
    const left = (await call('GET', '/api/v1/namespaces/dc/configmaps')).body.items.map(
      (i: Json) => i.metadata.name,
    );
    expect(left).toEqual(['d3']);
  });

  it('limit and continue page through the list', async () => {
    const first = (await call('GET', '/api/v1/namespaces/sel/configmaps?limit=3')).body;
    expect(first.items).toHaveLength(3);
    expect(first.metadata.remainingItemCount).toBe(1);
    const second = (
      await call('GET', `/api/v1/namespaces/sel/configmaps?limit=3&continue=${first.metadata.continue}`)
    ).body;
    expect(second.items.map((i: Json) => i.metadata.name)).toEqual(['s4']);
    expect(second.metadata.continue).toBeUndefined();
  });
});

describe('watch', () => {
  it('resumes from a resourceVersion with exactly the missed events', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'w1' } });
    const start = (await call('GET', '/api/v1/namespaces/w1/configmaps')).body.metadata.resourceVersion;
    await call('POST', '/api/v1/namespaces/w1/configmaps', cm('a'));
    await call('PUT', '/api/v1/namespaces/w1/configmaps/a', cm('a', {}, { k: 'v' }));
    await call('POST', '/api/v1/namespaces/w1/configmaps', cm('b'));
    await call('DELETE', '/api/v1/namespaces/w1/configmaps/a');
    await call('POST', '/api/v1/namespaces/default/configmaps', cm('elsewhere'));
    const events = await watchEvents(
      `/api/v1/namespaces/w1/configmaps?watch=true&resourceVersion=${start}`,
      4,
    );
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED a',
      'MODIFIED a',
      'ADDED b',
      'DELETED a',
    ]);
    expect(events[1]!.object.data).toEqual({ k: 'v' });
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);

    // Resuming from the second event gives the last two only, via the legacy /watch/ path.
    const later = await watchEvents(`/api/v1/watch/namespaces/w1/configmaps?resourceVersion=${rvs[1]}`, 2);
    expect(later.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED b', 'DELETED a']);
  });

  it('without a resourceVersion starts with ADDED for the current objects, then live events', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'w2' } });
    await call('POST', '/api/v1/namespaces/w2/configmaps', cm('x'));
    const pending = watchEvents('/api/v1/namespaces/w2/configmaps?watch=1', 2);
    await new Promise((r) => setTimeout(r, 200));
    await call('POST', '/api/v1/namespaces/w2/configmaps', cm('y'));
    const events = await pending;
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED x', 'ADDED y']);
    expect(events[0]!.object.kind).toBe('ConfigMap');
  });

  it('answers 410 Gone (Expired) for a resourceVersion older than the history', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'old' } }, 'application/json', small);
    const start = (
      await call('GET', '/api/v1/namespaces/old/configmaps', undefined, 'application/json', small)
    ).body.metadata.resourceVersion;
    for (let i = 0; i < 8; i++)
      await call('POST', '/api/v1/namespaces/old/configmaps', cm(`g${i}`), 'application/json', small);
    const events = await watchEvents(
      `/api/v1/namespaces/old/configmaps?watch=true&resourceVersion=${start}`,
      1,
      5000,
      small,
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe('ERROR');
    expect(events[0]!.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(events[0]!.object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
    // A recent resourceVersion is still served.
    const recent = (
      await call('GET', '/api/v1/namespaces/old/configmaps', undefined, 'application/json', small)
    ).body.metadata.resourceVersion;
    await call('POST', '/api/v1/namespaces/old/configmaps', cm('fresh'), 'application/json', small);
    const ok = await watchEvents(
      `/api/v1/namespaces/old/configmaps?watch=true&resourceVersion=${recent}`,
      1,
      5000,
      small,
    );
    expect(ok.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED fresh']);
  });

  it('a resourceVersion from the future is refused with ResourceVersionTooLarge', async () => {
    const events = await watchEvents(
      '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=999999999',
      1,
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe('ERROR');
    expect(events[0]!.object).toMatchObject({
      code: 504,
      reason: 'Timeout',
      details: { causes: [{ reason: 'ResourceVersionTooLarge' }] },
    });
  });

  it('label selectors turn objects leaving or entering the selection into DELETED and ADDED', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'w3' } });
    const start = (await call('GET', '/api/v1/namespaces/w3/configmaps')).body.metadata.resourceVersion;
    await call('POST', '/api/v1/namespaces/w3/configmaps', cm('m', { app: 'web' }));
    await call('POST', '/api/v1/namespaces/w3/configmaps', cm('n', { app: 'db' }));
    await call(
      'PATCH',
      '/api/v1/namespaces/w3/configmaps/m',
      { data: { z: '1' } },
      'application/merge-patch+json',
    );
    await call(
      'PATCH',
      '/api/v1/namespaces/w3/configmaps/m',
      { metadata: { labels: { app: 'db' } } },
      'application/merge-patch+json',
    );
    await call(
      'PATCH',
      '/api/v1/namespaces/w3/configmaps/n',
      { metadata: { labels: { app: 'web' } } },
      'application/merge-patch+json',
    );
    const selector = encodeURIComponent('app=web');
    const events = await watchEvents(
      `/api/v1/namespaces/w3/configmaps?watch=true&resourceVersion=${start}&labelSelector=${selector}`,
      4,
    );
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED m',
      'MODIFIED m',
      'DELETED m',
      'ADDED n',
    ]);
    const byName = await watchEvents(
      `/api/v1/namespaces/w3/configmaps?watch=true&resourceVersion=${start}&fieldSelector=${encodeURIComponent('metadata.name=n')}`,
      2,
    );
    expect(byName.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED n', 'MODIFIED n']);
  });

  it('sends BOOKMARK events when allowed and ends at timeoutSeconds', async () => {
    const started = Date.now();
    const events = await watchEvents(
      '/api/v1/namespaces/kube-public/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=1',
      100,
      10_000,
    );
    expect(Date.now() - started).toBeLessThan(9000);
    const bookmarks = events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThan(0);
    expect(bookmarks[0]!.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    expect(Number(bookmarks[0]!.object.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('sendInitialEvents ends the initial state with an initial-events-end bookmark', async () => {
    const events = await watchEvents(
      '/api/v1/namespaces/sel/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan',
      5,
    );
    expect(events.slice(0, 4).map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'ADDED', 'ADDED']);
    expect(events[4]!.type).toBe('BOOKMARK');
    expect(events[4]!.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
  });
});
