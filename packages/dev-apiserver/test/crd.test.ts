// CustomResourceDefinitions on the development API server, over plain HTTP: a CRD registers its
// group, versions and kind for discovery and REST (namespaced and cluster-scoped), its objects
// are pruned, defaulted and validated from the structural schema, the status subresource splits
// writes, every served version reads the same objects, merge/JSON patch and server-side apply
// work (strategic merge is refused, as on the real server), watches see changes, and deleting
// the CRD takes its objects and its endpoints away. CEL rules are not evaluated: a warning says so.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';
import { gatewayApiCrdFiles } from '@portico/dev-kube-apiserver';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: DevApiServer;

beforeAll(async () => {
  server = await startDevApiServer();
});
afterAll(async () => {
  await server?.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Json; warnings: string }> {
  const response = await fetch(server.url + path, {
    method,
    headers: { 'content-type': contentType },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Json) : {},
    warnings: response.headers.get('warning') ?? '',
  };
}

const widgetSchema = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', minimum: 1, maximum: 10 },
        color: { type: 'string', enum: ['red', 'blue'], default: 'red' },
        name: { type: 'string', maxLength: 5, pattern: '^[a-z]+$' },
        tags: { type: 'array', maxItems: 2, items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['port'],
          items: {
            type: 'object',
            required: ['port'],
            properties: { port: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' } },
          },
        },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        enabled: { type: 'boolean', default: false },
      },
      'x-kubernetes-validations': [{ rule: 'self.size < 100' }],
    },
    status: { type: 'object', properties: { ready: { type: 'boolean' } } },
  },
};

const widgets = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: widgetSchema },
        subresources: { status: {} },
        additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }],
      },
      {
        name: 'v1beta1',
        served: true,
        storage: false,
        deprecated: true,
        deprecationWarning: 'example.com/v1beta1 Widget is deprecated; use example.com/v1',
        schema: { openAPIV3Schema: widgetSchema },
        subresources: { status: {} },
      },
    ],
  },
};

const gizmos = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'gizmos.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'gizmos', kind: 'Gizmo' },
    scope: 'Cluster',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const widgetsPath = '/apis/example.com/v1/namespaces/default/widgets';
const widget = (name: string, spec: Json, apiVersion = 'example.com/v1') => ({
  apiVersion,
  kind: 'Widget',
  metadata: { name },
  spec,
});

describe('CustomResourceDefinitions', () => {
  it('a CRD is created, defaulted and Established, and its group is discovered', async () => {
    const created = await call('POST', crdPath, widgets);
    expect(created.status).toBe(201);
    expect(created.body.spec.names).toMatchObject({ listKind: 'WidgetList', singular: 'widget' });
    expect(created.body.spec.conversion).toEqual({ strategy: 'None' });
    expect(created.body.status.conditions.map((c: Json) => [c.type, c.status])).toEqual([
      ['NamesAccepted', 'True'],
      ['Established', 'True'],
    ]);
    expect(created.body.status.storedVersions).toEqual(['v1']);
    expect((await call('POST', crdPath, gizmos)).status).toBe(201);

    const groups = await call('GET', '/apis');
    const group = groups.body.groups.find((g: Json) => g.name === 'example.com');
    expect(group).toEqual({
      name: 'example.com',
      versions: [
        { groupVersion: 'example.com/v1', version: 'v1' },
        { groupVersion: 'example.com/v1beta1', version: 'v1beta1' },
      ],
      preferredVersion: { groupVersion: 'example.com/v1', version: 'v1' },
    });
    const resources = await call('GET', '/apis/example.com/v1');
    expect(resources.body.resources.map((r: Json) => [r.name, r.kind, r.namespaced])).toEqual([
      ['widgets', 'Widget', true],
      ['widgets/status', 'Widget', true],
      ['gizmos', 'Gizmo', false],
    ]);
    expect(resources.body.resources[0].shortNames).toEqual(['wd']);
  });

  it.each<[string, Json, string]>([
    ['a name other than plural.group', { metadata: { name: 'things.example.com' } }, 'metadata.name'],
    [
      'no storage version',
      { spec: { ...widgets.spec, versions: [{ ...widgets.spec.versions[1], storage: false }] } },
      'spec.versions',
    ],
    [
      'a group without a dot',
      { metadata: { name: 'widgets.example' }, spec: { ...widgets.spec, group: 'example' } },
      'spec.group',
    ],
    [
      'a webhook conversion',
      { spec: { ...widgets.spec, conversion: { strategy: 'Webhook' } } },
      'spec.conversion.strategy',
    ],
  ])('refuses a CRD with %s', async (_what, change, field) => {
    const crd = { ...widgets, metadata: { name: 'widgets.example.com' }, ...change };
    const refused = await call('POST', `${crdPath}?dryRun=All`, crd);
    expect(refused.status).toBe(422);
    expect(refused.body.details.causes.map((c: Json) => c.field)).toContain(field);
  });

  it('creates objects with defaults, prunes unknown fields (with a warning), keeps preserved ones', async () => {
    const created = await call(
      'POST',
      widgetsPath,
      widget('a', { size: 3, ports: [{ port: 80 }], free: { any: { thing: 1 } }, bogus: true }),
    );
    expect(created.status).toBe(201);
    expect(created.body.spec).toEqual({
      size: 3,
      color: 'red',
      enabled: false,
      ports: [{ port: 80, protocol: 'TCP' }],
      free: { any: { thing: 1 } },
    });
    expect(created.body.metadata.generation).toBe(1);
    expect(created.warnings).toContain('unknown field \\"spec.bogus\\"');
    // The CEL rule of the schema is not evaluated, and the client is told.
    expect(created.warnings).toContain(
      'does not evaluate x-kubernetes-validations (CEL): 1 rule(s) of widgets.example.com',
    );
  });

  it.each<[string, Json, string[]]>([
    ['a missing required field', {}, ['spec.size: Required value']],
    [
      'a wrong type',
      { size: 'big' },
      ['spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"'],
    ],
    [
      'a value above the maximum',
      { size: 11 },
      ['spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10'],
    ],
    [
      'a value below the minimum',
      { size: 0 },
      ['spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1'],
    ],
    [
      'a value not in the enum',
      { size: 1, color: 'green' },
      ['spec.color: Unsupported value: "green": supported values: "red", "blue"'],
    ],
    ['a string too long', { size: 1, name: 'abcdef' }, ['spec.name: Too long: may not be more than 5 bytes']],
    [
      'a string not matching the pattern',
      { size: 1, name: 'AB' },
      ['spec.name: Invalid value: "AB": spec.name in body should match \'^[a-z]+$\''],
    ],
    [
      'too many items',
      { size: 1, tags: ['a', 'b', 'c'] },
      ['spec.tags: Too many: 3: must have at most 2 items'],
    ],
    ['a duplicate in a set', { size: 1, tags: ['a', 'a'] }, ['spec.tags[1]: Duplicate value: "a"']],
    [
      'a duplicate key in a map list',
      { size: 1, ports: [{ port: 80 }, { port: 80, protocol: 'UDP' }] },
      ['spec.ports[1]: Duplicate value: {"port":80}'],
    ],
    [
      'a wrong map value type',
      { size: 1, labels: { a: 1 } },
      ['spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"'],
    ],
  ])('refuses %s, every error at once, naming field and value', async (_what, spec, messages) => {
    const refused = await call('POST', widgetsPath, widget('bad', spec));
    expect(refused.status).toBe(422);
    expect(refused.body.reason).toBe('Invalid');
    expect(refused.body.details.causes.map((c: Json) => `${c.field}: ${c.message}`)).toEqual(messages);
    expect(refused.body.message).toMatch(/^Widget\.example\.com "bad" is invalid: /);
  });

  it('serves every version from the same objects, with the deprecation warning', async () => {
    const old = await call(
      'POST',
      widgetsPath.replace('/v1/', '/v1beta1/'),
      widget('b', { size: 2 }, 'example.com/v1beta1'),
    );
    expect(old.status).toBe(201);
    expect(old.body.apiVersion).toBe('example.com/v1beta1');
    expect(old.warnings).toContain('example.com/v1beta1 Widget is deprecated; use example.com/v1');
    const asV1 = await call('GET', `${widgetsPath}/b`);
    expect(asV1.body.apiVersion).toBe('example.com/v1');
    expect(asV1.warnings).toBe('');
    const list = await call('GET', widgetsPath.replace('/v1/', '/v1beta1/'));
    expect(list.body.kind).toBe('WidgetList');
    expect(list.body.metadata.continue).toBe('');
    expect(list.body.items.map((i: Json) => [i.metadata.name, i.apiVersion, i.kind])).toEqual([
      ['a', 'example.com/v1beta1', 'Widget'],
      ['b', 'example.com/v1beta1', 'Widget'],
    ]);
  });

  it('keeps status in the status subresource and advances generation on spec changes only', async () => {
    const status = await call(
      'PATCH',
      `${widgetsPath}/a/status`,
      { status: { ready: true } },
      'application/merge-patch+json',
    );
    expect(status.status).toBe(200);
    expect(status.body.status).toEqual({ ready: true });
    expect(status.body.metadata.generation).toBe(1);
    const main = await call(
      'PATCH',
      `${widgetsPath}/a`,
      { spec: { size: 4 }, status: { ready: false } },
      'application/merge-patch+json',
    );
    expect(main.body.spec.size).toBe(4);
    expect(main.body.status).toEqual({ ready: true });
    expect(main.body.metadata.generation).toBe(2);
    const badStatus = await call(
      'PATCH',
      `${widgetsPath}/a/status`,
      { status: { ready: 'yes' } },
      'application/merge-patch+json',
    );
    expect(badStatus.status).toBe(422);
    expect(badStatus.body.details.causes[0].field).toBe('status.ready');
  });

  it('JSON patch and server-side apply; strategic merge patch is refused with 415', async () => {
    const json = await call(
      'PATCH',
      `${widgetsPath}/a`,
      [{ op: 'replace', path: '/spec/size', value: 5 }],
      'application/json-patch+json',
    );
    expect(json.body.spec.size).toBe(5);
    const applied = await call(
      'PATCH',
      `${widgetsPath}/c?fieldManager=test`,
      {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'c' },
        spec: { size: 6, tags: ['x'] },
      },
      'application/apply-patch+yaml',
    );
    expect(applied.status).toBe(201);
    expect(applied.body.spec).toMatchObject({ size: 6, tags: ['x'], color: 'red' });
    expect(applied.body.metadata.managedFields[0].manager).toBe('test');
    const invalidApply = await call(
      'PATCH',
      `${widgetsPath}/c?fieldManager=test`,
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'c' }, spec: { size: 60 } },
      'application/apply-patch+yaml',
    );
    expect(invalidApply.status).toBe(422);
    const strategic = await call(
      'PATCH',
      `${widgetsPath}/a`,
      { spec: { size: 1 } },
      'application/strategic-merge-patch+json',
    );
    expect(strategic.status).toBe(415);
  });

  it('cluster-scoped kinds with preserved unknown fields', async () => {
    const created = await call('POST', '/apis/example.com/v1/gizmos', {
      apiVersion: 'example.com/v1',
      kind: 'Gizmo',
      metadata: { name: 'g' },
      anything: { at: ['all', 0, false] },
    });
    expect(created.status).toBe(201);
    expect(created.body.anything).toEqual({ at: ['all', 0, false] });
    expect((await call('GET', '/apis/example.com/v1/namespaces/default/gizmos')).status).toBe(404);
  });

  it('watches see changes to custom resources', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}${widgetsPath}?watch=true&resourceVersion=0`, {
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const patch = call('PATCH', `${widgetsPath}/b`, { spec: { size: 9 } }, 'application/merge-patch+json');
    while (!text.includes('"size":9')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    await patch;
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    expect(events.map((e) => [e.type, e.object.metadata.name])).toContainEqual(['MODIFIED', 'b']);
  });

  it('deleting the CRD deletes its objects and stops serving its resources', async () => {
    // An object's delete answers with a Status, as the real server's custom resource storage does.
    const gone = await call('DELETE', '/apis/example.com/v1/gizmos/g');
    expect(gone.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'g', group: 'example.com', kind: 'gizmos' },
    });
    const deleted = await call('DELETE', `${crdPath}/widgets.example.com`);
    expect(deleted.status).toBe(200);
    expect((await call('GET', widgetsPath)).status).toBe(404);
    const resources = await call('GET', '/apis/example.com/v1');
    expect(resources.body.resources.map((r: Json) => r.name)).toEqual(['gizmos']);
    // Created again, it starts empty.
    expect((await call('POST', crdPath, widgets)).status).toBe(201);
    expect((await call('GET', widgetsPath)).body.items).toEqual([]);
  });
});

describe('the Gateway API CRDs (v1.5.1, from the sigs.k8s.io/gateway-api Go module)', () => {
  it(
    'every CRD registers, and a GatewayClass, Gateway and HTTPRoute can be created',
    { timeout: 120_000 },
    async () => {
      const crds = (await gatewayApiCrdFiles())
        .flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as Json))
        .filter((o) => o?.kind === 'CustomResourceDefinition');
      expect(crds.length).toBeGreaterThanOrEqual(8);
      for (const crd of crds) {
        const created = await call('POST', crdPath, crd);
        expect(created.status, `${crd.metadata.name}: ${JSON.stringify(created.body.message)}`).toBe(201);
      }
      const gatewayClass = await call('POST', '/apis/gateway.networking.k8s.io/v1/gatewayclasses', {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: 'portico' },
        spec: { controllerName: 'portico.dev/gateway' },
      });
      expect(gatewayClass.status).toBe(201);
      const gateway = await call('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways', {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'web' },
        spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
      });
      expect(gateway.status, JSON.stringify(gateway.body)).toBe(201);
      // Defaults from the schema, e.g. the listener's allowedRoutes.
      expect(gateway.body.spec.listeners[0].allowedRoutes).toEqual({ namespaces: { from: 'Same' } });
      const route = await call('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes', {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'app' },
        spec: {
          parentRefs: [{ name: 'web' }],
          hostnames: ['app.example.com'],
          rules: [{ backendRefs: [{ name: 'app', port: 8080 }] }],
        },
      });
      expect(route.status, JSON.stringify(route.body)).toBe(201);
      expect(route.body.spec.rules[0].matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
      // OpenAPI validation applies: a listener port out of range is refused.
      const badGateway = await call(
        'POST',
        '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways',
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'bad' },
          spec: { gatewayClassName: 'portico', listeners: [{ name: 'http', protocol: 'HTTP', port: 70000 }] },
        },
      );
      expect(badGateway.status).toBe(422);
      expect(badGateway.body.details.causes.map((c: Json) => c.field)).toContain('spec.listeners[0].port');
    },
  );
});
