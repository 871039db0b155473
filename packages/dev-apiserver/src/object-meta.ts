/**
 * ObjectMeta handling shared by every resource, as the real server's generic registry does it:
 * system fields (uid, creationTimestamp, resourceVersion, generation) are set by the server and
 * kept across updates, names come from generateName when missing, the namespace comes from the
 * URL, and names are validated.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest, invalid, type FieldError } from './errors.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { apiVersionOf, type ResourceInfo } from './resources.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Label and annotation keys: an optional DNS subdomain prefix and a name part. */
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** Kinds whose names must be DNS-1035/1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['Service', 'Namespace']);
/** Kinds whose spec changes bump metadata.generation. */
const GENERATION_KINDS = new Set(['Service', 'Ingress', 'Pod', 'IngressClass']);
/** The alphabet of names.SimpleNameGenerator: no vowels, no confusable characters. */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Seconds precision, like metav1.Time's RFC 3339 encoding. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function generatedName(prefix: string): string {
  const bytes = randomBytes(5);
  let suffix = '';
  for (const b of bytes) suffix += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length];
  return `${prefix.slice(0, 58)}${suffix}`;
}

function nameErrors(resource: ResourceInfo, name: string): FieldError[] {
  const asLabel = LABEL_NAMED.has(resource.kind);
  const ok = asLabel
    ? DNS_LABEL.test(name) && name.length <= 63
    : DNS_SUBDOMAIN.test(name) && name.length <= 253;
  if (ok) return [];
  const detail = asLabel
    ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  return [{ type: 'FieldValueInvalid', field: 'metadata.name', value: name, detail }];
}

function checkStringMap(meta: JsonObject, field: 'labels' | 'annotations', errors: FieldError[]): void {
  const map = meta[field];
  if (map === undefined || map === null) {
    delete meta[field];
    return;
  }
  if (!isObject(map)) {
    errors.push({
      type: 'FieldValueInvalid',
      field: `metadata.${field}`,
      value: map,
      detail: 'must be a map of strings',
    });
    return;
  }
  for (const [k, v] of Object.entries(map)) {
    if (!QUALIFIED_NAME.test(k) || k.length > 317 || (k.split('/').pop() ?? '').length > 63) {
      errors.push({
        type: 'FieldValueInvalid',
        field: `metadata.${field}`,
        value: k,
        detail:
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      });
    }
    if (typeof v !== 'string') {
      errors.push({
        type: 'FieldValueInvalid',
        field: `metadata.${field}.${k}`,
        value: v,
        detail: 'must be a string',
      });
    } else if (field === 'labels' && (!LABEL_VALUE.test(v) || v.length > 63)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'metadata.labels',
        value: v,
        detail:
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      });
    }
  }
}

/** Checks apiVersion/kind of a request body against the URL's resource and fills them in. */
function checkTypeMeta(resource: ResourceInfo, body: JsonObject): void {
  const apiVersion = apiVersionOf(resource);
  if (body.kind !== undefined && body.kind !== resource.kind) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  body.apiVersion = apiVersion;
  body.kind = resource.kind;
}

function checkNamespace(resource: ResourceInfo, meta: JsonObject, namespace: string | undefined): void {
  if (!resource.namespaced) {
    delete meta.namespace;
    return;
  }
  if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  meta.namespace = namespace;
}

/** Prepares a POSTed object (mutates it); `namespace` is the one from the URL. */
export function prepareCreateMeta(
  resource: ResourceInfo,
  body: JsonObject,
  namespace: string | undefined,
): void {
  checkTypeMeta(resource, body);
  const meta = isObject(body.metadata) ? body.metadata : (body.metadata = {});
  checkNamespace(resource, meta, namespace);
  const errors: FieldError[] = [];
  if (
    (meta.name === undefined || meta.name === '') &&
    typeof meta.generateName === 'string' &&
    meta.generateName
  ) {
    meta.name = generatedName(meta.generateName);
  }
  if (typeof meta.name !== 'string' || meta.name === '') {
    errors.push({
      type: 'FieldValueRequired',
      field: 'metadata.name',
      detail: 'name or generateName is required',
    });
  } else {
    errors.push(...nameErrors(resource, meta.name));
  }
  checkStringMap(meta, 'labels', errors);
  checkStringMap(meta, 'annotations', errors);
  if (errors.length) throw invalid(resource, typeof meta.name === 'string' ? meta.name : '', errors);
  for (const f of [
    'resourceVersion',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'selfLink',
    'managedFields',
  ]) {
    delete meta[f];
  }
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp();
  if (GENERATION_KINDS.has(resource.kind)) meta.generation = 1;
}

/** The part of an object whose change bumps generation: everything but metadata and status. */
function specPart(object: JsonObject): JsonObject {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

/**
 * Prepares a replacement of `old` by `body` (mutates `body`): name and namespace must match,
 * server-owned fields are carried over, generation advances when the spec changed.
 */
export function prepareUpdateMeta(resource: ResourceInfo, body: JsonObject, old: JsonObject): void {
  checkTypeMeta(resource, body);
  const meta = isObject(body.metadata) ? body.metadata : (body.metadata = {});
  const oldMeta = old.metadata as JsonObject;
  checkNamespace(resource, meta, oldMeta.namespace as string | undefined);
  if (meta.name !== undefined && meta.name !== oldMeta.name) {
    throw badRequest(
      `the name of the object (${String(meta.name)}) does not match the name on the URL (${String(oldMeta.name)})`,
    );
  }
  meta.name = oldMeta.name;
  const errors: FieldError[] = [];
  checkStringMap(meta, 'labels', errors);
  checkStringMap(meta, 'annotations', errors);
  if (errors.length) throw invalid(resource, String(oldMeta.name), errors);
  for (const f of ['uid', 'creationTimestamp', 'generateName']) {
    if (oldMeta[f] !== undefined) meta[f] = oldMeta[f];
    else delete meta[f];
  }
  delete meta.managedFields;
  delete meta.selfLink;
  if (oldMeta.generation !== undefined) {
    const changed = !jsonEqual(specPart(body), specPart(old));
    meta.generation = (oldMeta.generation as number) + (changed ? 1 : 0);
  } else {
    delete meta.generation;
  }
}
