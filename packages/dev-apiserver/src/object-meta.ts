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
import { isDNS1123Label, isDNS1123Subdomain, isLabelKey, isLabelValue } from './validation.js';

/** The name rule of each kind: Services and Namespaces are DNS-1123 labels, the rest subdomains. */
const NAME_RULES: Record<string, (name: string) => string[]> = {
  Service: isDNS1123Label,
  Namespace: isDNS1123Label,
};
/**
 * Kinds that keep metadata.generation (1 on create) and what advances it: a change of the spec,
 * or for EndpointSlices of anything but the metadata, labels included.
 */
const GENERATION: Record<string, (next: JsonObject, old: JsonObject) => boolean> = {
  Ingress: (next, old) => !jsonEqual(next.spec, old.spec),
  IngressClass: (next, old) => !jsonEqual(next.spec, old.spec),
  Pod: (next, old) => !jsonEqual(next.spec, old.spec),
  CustomResourceDefinition: (next, old) => !jsonEqual(next.spec, old.spec),
  EndpointSlice: (next, old) => {
    const { metadata: newMeta, ...newRest } = next;
    const { metadata: oldMeta, ...oldRest } = old;
    return (
      !jsonEqual(newRest, oldRest) ||
      !jsonEqual((newMeta as JsonObject).labels, (oldMeta as JsonObject).labels)
    );
  },
};
/**
 * Custom resources always keep a generation; it advances when anything but the metadata changes
 * (and the status, when it is a subresource).
 */
function generationRule(
  resource: ResourceInfo,
): ((next: JsonObject, old: JsonObject) => boolean) | undefined {
  if (!resource.custom) return GENERATION[resource.kind];
  return (next, old) => {
    const strip = ({ metadata: _m, ...rest }: JsonObject): JsonObject => {
      if (resource.statusSubresource) delete rest.status;
      return rest;
    };
    return !jsonEqual(strip(next), strip(old));
  };
}

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

/** path.IsValidPathSegmentName: all a core Event's name must be. */
function pathSegmentMessages(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
}

/** Core v1 Events skip ValidateObjectMeta; only the generic path-segment check applies. */
function isCoreEvent(resource: ResourceInfo): boolean {
  return resource.kind === 'Event' && resource.group === '';
}

/** NameIsDNSSubdomain and its kin: a generateName prefix may end in a dash. */
function nameMessages(resource: ResourceInfo, name: string, prefix: boolean): string[] {
  if (isCoreEvent(resource)) return prefix ? [] : pathSegmentMessages(name);
  const rule = NAME_RULES[resource.kind] ?? isDNS1123Subdomain;
  const masked = prefix && name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
  return rule(masked);
}

const invalidAt =
  (field: string, value: unknown) =>
  (detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field,
    value,
    detail,
  });

/** ValidateLabels and ValidateAnnotations. Labels and annotations that are not maps of strings are 400s at decoding. */
function labelErrors(meta: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const labels = isObject(meta.labels) ? meta.labels : {};
  for (const [k, v] of Object.entries(labels)) {
    errors.push(...isLabelKey(k).map(invalidAt('metadata.labels', k)));
    errors.push(...isLabelValue(String(v)).map(invalidAt('metadata.labels', v)));
  }
  const annotations = isObject(meta.annotations) ? meta.annotations : {};
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    errors.push(...isLabelKey(k.toLowerCase()).map(invalidAt('metadata.annotations', k)));
    size += k.length + String(v).length;
  }
  if (size > 262144) {
    errors.push({
      type: 'FieldValueTooLong',
      field: 'metadata.annotations',
      detail: 'may not be more than 262144 bytes',
    });
  }
  return errors;
}

/** ValidateObjectMeta on create: generateName, name, labels, annotations. */
export function createMetaErrors(resource: ResourceInfo, meta: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof meta.generateName === 'string' && meta.generateName !== '') {
    errors.push(
      ...nameMessages(resource, meta.generateName, true).map(
        invalidAt('metadata.generateName', meta.generateName),
      ),
    );
  }
  if (typeof meta.name !== 'string' || meta.name === '') {
    errors.push({
      type: 'FieldValueRequired',
      field: 'metadata.name',
      detail: 'name or generateName is required',
    });
  } else {
    errors.push(...nameMessages(resource, meta.name, false).map(invalidAt('metadata.name', meta.name)));
  }
  errors.push(...labelErrors(meta));
  return errors;
}

/** Checks apiVersion/kind of a request body against the URL's resource and fills them in. */
export function checkTypeMeta(resource: ResourceInfo, body: JsonObject): void {
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

/**
 * Prepares a POSTed object (mutates it): the namespace from the URL, a name from generateName,
 * the system fields. Validation is createMetaErrors'.
 */
export function prepareCreateMeta(
  resource: ResourceInfo,
  body: JsonObject,
  namespace: string | undefined,
): void {
  const meta = isObject(body.metadata) ? body.metadata : (body.metadata = {});
  checkNamespace(resource, meta, namespace);
  if (
    (meta.name === undefined || meta.name === '') &&
    typeof meta.generateName === 'string' &&
    meta.generateName
  ) {
    meta.name = generatedName(meta.generateName);
  }
  for (const f of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'])
    delete meta[f];
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp();
  if (generationRule(resource)) meta.generation = 1;
  else delete meta.generation;
}

/**
 * Prepares a replacement of `old` by `body` (mutates `body`): the namespace must match, the
 * system fields are carried over.
 */
export function prepareUpdateMeta(resource: ResourceInfo, body: JsonObject, old: JsonObject): void {
  const meta = isObject(body.metadata) ? body.metadata : (body.metadata = {});
  const oldMeta = old.metadata as JsonObject;
  checkNamespace(resource, meta, oldMeta.namespace as string | undefined);
  meta.name = oldMeta.name;
  const errors = labelErrors(meta);
  if (errors.length) throw invalid(resource, String(oldMeta.name), errors);
  for (const f of ['uid', 'creationTimestamp', 'generateName']) {
    if (oldMeta[f] !== undefined) meta[f] = oldMeta[f];
    else delete meta[f];
  }
  delete meta.selfLink;
}

/** The generation of NEXT replacing OLD (both as stored): advanced when the kind says so. */
export function nextGeneration(
  resource: ResourceInfo,
  next: JsonObject,
  old: JsonObject,
): number | undefined {
  const changed = generationRule(resource);
  const generation = (old.metadata as JsonObject).generation;
  if (!changed || typeof generation !== 'number') return undefined;
  return changed(next, old) ? generation + 1 : generation;
}
