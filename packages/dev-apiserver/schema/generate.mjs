/**
 * Generates src/schema-data.ts: the structure of the served types, as the development API server
 * needs it to behave like the real one (field sets for managedFields, server-side apply and
 * strategic merge, pruning of unknown fields, Go's JSON encoding of empty values).
 *
 * The real kube-apiserver (built by @portico/dev-kube-apiserver) is the source: its OpenAPI v3
 * documents give field names, types and the list and map semantics (x-kubernetes-list-type,
 * list-map-keys, map-type, patch strategy and merge key); the Go program in go/ reads what those
 * documents leave out from the k8s.io/api types (pointer fields, omitempty). Run it after
 * changing the pinned Kubernetes version:
 *
 *     node packages/dev-apiserver/schema/generate.mjs
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { URL } from 'node:url';
import { startKubeApiServer } from '@portico/dev-kube-apiserver';

const here = new URL('.', import.meta.url).pathname;
const GROUP_VERSIONS = [
  'api/v1',
  'apis/discovery.k8s.io/v1',
  'apis/networking.k8s.io/v1',
  'apis/coordination.k8s.io/v1',
  'apis/events.k8s.io/v1',
];
/** The served kinds, by group/version/kind. */
const ROOTS = [
  ['', 'v1', 'Namespace'],
  ['', 'v1', 'Service'],
  ['', 'v1', 'Endpoints'],
  ['', 'v1', 'ConfigMap'],
  ['', 'v1', 'Secret'],
  ['', 'v1', 'Node'],
  ['', 'v1', 'Pod'],
  ['', 'v1', 'Event'],
  ['discovery.k8s.io', 'v1', 'EndpointSlice'],
  ['networking.k8s.io', 'v1', 'Ingress'],
  ['networking.k8s.io', 'v1', 'IngressClass'],
  ['coordination.k8s.io', 'v1', 'Lease'],
  ['events.k8s.io', 'v1', 'Event'],
];
const SPECIAL = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': 'time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': 'micro-time',
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': 'int-or-string',
  'io.k8s.apimachinery.pkg.api.resource.Quantity': 'quantity',
  'io.k8s.apimachinery.pkg.runtime.RawExtension': 'any',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1': 'any',
};

function get(server, path) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    request(url, { ca: server.caCert, headers: { authorization: `Bearer ${server.adminToken}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${path}: ${res.statusCode}`)),
      );
    })
      .on('error', reject)
      .end();
  });
}

const server = await startKubeApiServer();
let schemas = {};
try {
  for (const gv of GROUP_VERSIONS)
    Object.assign(schemas, (await get(server, `/openapi/v3/${gv}`)).components.schemas);
} finally {
  await server.close();
}
const layout = JSON.parse(
  execFileSync('go', ['run', '.'], {
    cwd: `${here}go`,
    env: { ...process.env, GOWORK: 'off' },
    maxBuffer: 1 << 26,
  }),
);

const defs = {};
const kinds = {};
const refName = (ref) => ref.replace('#/components/schemas/', '');

function typeOf(schema) {
  const ref = schema.$ref ?? schema.allOf?.[0]?.$ref;
  if (ref) {
    const name = refName(ref);
    if (SPECIAL[name]) return SPECIAL[name];
    define(name);
    return { ref: name };
  }
  if (schema.type === 'array') {
    const list = { list: typeOf(schema.items), listType: schema['x-kubernetes-list-type'] ?? 'atomic' };
    const keys = schema['x-kubernetes-list-map-keys'];
    if (keys) {
      list.keys = keys;
      // A key field an element leaves out takes its schema default (a Service port's protocol).
      const item = schemas[refName(schema.items.$ref ?? schema.items.allOf[0].$ref)];
      for (const key of keys) {
        const def = item.properties[key]?.default;
        if (def !== undefined) (list.keyDefaults ??= {})[key] = def;
      }
    }
    return list;
  }
  if (schema.type === 'object' && schema.additionalProperties) {
    const map = { map: typeOf(schema.additionalProperties) };
    if (schema['x-kubernetes-map-type'] === 'atomic') map.atomic = true;
    return map;
  }
  if (schema.type === 'string' && schema.format === 'byte') return 'bytes';
  if (['string', 'integer', 'number', 'boolean'].includes(schema.type)) return schema.type;
  if (schema.type === 'object' || schema['x-kubernetes-preserve-unknown-fields']) return 'any';
  throw new Error(`unknown schema ${JSON.stringify(schema)}`);
}

function define(name) {
  if (defs[name]) return;
  const schema = schemas[name];
  if (!schema) throw new Error(`no OpenAPI definition ${name}`);
  const go = layout[name];
  if (!go) throw new Error(`no Go layout for ${name}`);
  const def = (defs[name] = { fields: {} });
  if (schema['x-kubernetes-map-type'] === 'atomic') def.atomic = true;
  const properties = schema.properties ?? {};
  for (const field of Object.keys(properties)) {
    if (!go.some((g) => g.name === field)) throw new Error(`${name}.${field}: not in the Go type`);
  }
  // In Go's order: the order of the fields in what the real server writes.
  for (const g of go) {
    const field = g.name;
    const property = properties[field];
    if (!property) throw new Error(`${name}.${field}: not in the OpenAPI definition`);
    const f = { type: typeOf(property) };
    if (g.pointer) f.pointer = true;
    if (g.omitempty) f.omitempty = true;
    if (g.omitzero) f.omitzero = true;
    if (property['x-kubernetes-patch-strategy']) f.patchStrategy = property['x-kubernetes-patch-strategy'];
    if (property['x-kubernetes-patch-merge-key']) f.mergeKey = property['x-kubernetes-patch-merge-key'];
    def.fields[field] = f;
  }
}

for (const [group, version, kind] of ROOTS) {
  const name = Object.keys(schemas).find((n) =>
    (schemas[n]['x-kubernetes-group-version-kind'] ?? []).some(
      (gvk) => gvk.group === group && gvk.version === version && gvk.kind === kind,
    ),
  );
  if (!name) throw new Error(`no definition for ${group}/${version} ${kind}`);
  define(name);
  kinds[`${group ? `${group}/` : ''}${version}/${kind}`] = name;
}
define('io.k8s.apimachinery.pkg.apis.meta.v1.Status');

const sorted = Object.fromEntries(
  Object.keys(defs)
    .sort()
    .map((k) => [k, defs[k]]),
);
const out = `${here}../src/schema-data.ts`;
writeFileSync(
  out,
  `// Generated by schema/generate.mjs from the OpenAPI v3 documents of kube-apiserver ${server.version}
// and the k8s.io/api Go types. Do not edit.
import type { SchemaData } from './schema.js';

export const SCHEMA: SchemaData = ${JSON.stringify({ kinds, definitions: sorted })};
`,
);
execFileSync('npx', ['prettier', '--write', out], { stdio: 'inherit' });
console.log(`wrote ${out}: ${Object.keys(defs).length} definitions`);
