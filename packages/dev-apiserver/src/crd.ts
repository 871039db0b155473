/**
 * apiextensions.k8s.io/v1 CustomResourceDefinitions: what the real server checks in one (name,
 * group, names, scope, versions with exactly one storage version, a schema per version), the
 * defaults it fills in (singular, listKind, conversion None), the status it reports (NamesAccepted
 * and Established, acceptedNames, storedVersions), and the ResourceInfos of its served versions,
 * which the registry puts in its catalog so that discovery, routing and storage serve them.
 * Conversion between versions is `None` only: every version reads and writes the same objects,
 * with their apiVersion rewritten (a Webhook conversion is refused).
 */
import { typeOf } from './crd-schema.js';
import { invalid, type FieldError } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import { timestamp } from './object-meta.js';
import type { JsonSchema, PrinterColumn, ResourceInfo } from './resources.js';
import { SCHEMA } from './schema-data.js';
import { setCustomTypes } from './schema.js';
import { isDNS1123Label, isDNS1123Subdomain } from './validation.js';

const CRD_TYPE = 'portico.dev.apiextensions.v1.CustomResourceDefinition';
SCHEMA.definitions[CRD_TYPE] = {
  fields: {
    kind: { type: 'string', omitempty: true },
    apiVersion: { type: 'string', omitempty: true },
    metadata: { type: { ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }, omitempty: true },
    spec: { type: 'any' },
    status: { type: 'any', omitempty: true },
  },
};
SCHEMA.kinds['apiextensions.k8s.io/v1/CustomResourceDefinition'] = CRD_TYPE;
setCustomTypes((resource) => typeOf(resource.custom?.schema));

const asObject = (value: unknown): JsonObject => (isObject(value) ? value : {});
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asString = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Validates and defaults a CRD being created or replacing OLD (mutates it), then sets its status. */
export function prepareCrd(resource: ResourceInfo, crd: JsonObject, old?: JsonObject): void {
  const spec = isObject(crd.spec) ? crd.spec : (crd.spec = {});
  const names = isObject(spec.names) ? spec.names : (spec.names = {});
  const kind = asString(names.kind);
  if (names.singular === undefined && kind) names.singular = kind.toLowerCase();
  if (names.listKind === undefined && kind) names.listKind = `${kind}List`;
  spec.conversion ??= { strategy: 'None' };
  const name = asString(asObject(crd.metadata).name);
  const errors = crdErrors(crd, name);
  if (old) {
    const oldSpec = asObject(old.spec);
    if (spec.group !== oldSpec.group) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.group',
        value: spec.group,
        detail: 'field is immutable',
      });
    }
  }
  if (errors.length > 0) throw invalid(resource, name, errors);

  const status = asObject(old?.status);
  const now = timestamp();
  const condition = (type: string, reason: string, message: string) => {
    const previous = asList(status.conditions).find((c) => isObject(c) && c.type === type) as
      JsonObject | undefined;
    return {
      type,
      status: 'True',
      lastTransitionTime: previous?.status === 'True' ? previous.lastTransitionTime : now,
      reason,
      message,
    };
  };
  const storage = asString(
    asObject(asList(spec.versions).find((v) => isObject(v) && v.storage === true)).name,
  );
  const stored = asList(status.storedVersions).filter((v): v is string => typeof v === 'string');
  crd.status = {
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    acceptedNames: structuredClone(names),
    storedVersions: stored.includes(storage) ? stored : [...stored, storage],
  };
}

function crdErrors(crd: JsonObject, name: string): FieldError[] {
  const errors: FieldError[] = [];
  const spec = asObject(crd.spec);
  const names = asObject(spec.names);
  const group = asString(spec.group);
  const plural = asString(names.plural);
  const required = (field: string) => errors.push({ type: 'FieldValueRequired', field, detail: '' });
  if (!group) required('spec.group');
  else if (!group.includes('.')) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.group',
      value: group,
      detail: 'should be a domain with at least one dot',
    });
  } else if (isDNS1123Subdomain(group).length > 0) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.group',
      value: group,
      detail: isDNS1123Subdomain(group).join('; '),
    });
  }
  if (!plural) required('spec.names.plural');
  else if (isDNS1123Label(plural).length > 0) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.names.plural',
      value: plural,
      detail: isDNS1123Label(plural).join('; '),
    });
  }
  if (!asString(names.kind)) required('spec.names.kind');
  if (group && plural && name !== `${plural}.${group}`) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'metadata.name',
      value: name,
      detail: 'must be spec.names.plural+"."+spec.group',
    });
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    if (spec.scope === undefined || spec.scope === '') required('spec.scope');
    else
      errors.push({
        type: 'FieldValueNotSupported',
        field: 'spec.scope',
        value: spec.scope,
        detail: 'supported values: "Cluster", "Namespaced"',
      });
  }
  const strategy = asString(asObject(spec.conversion).strategy);
  if (strategy !== 'None') {
    errors.push({
      type: 'FieldValueNotSupported',
      field: 'spec.conversion.strategy',
      value: strategy,
      detail: 'the development API server converts with strategy None only',
    });
  }
  const versions = asList(spec.versions);
  if (versions.length === 0) required('spec.versions');
  const storage = versions.filter((v) => isObject(v) && v.storage === true).length;
  if (versions.length > 0 && storage !== 1) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.versions',
      value: storage,
      detail: 'must have exactly one version marked as storage version',
    });
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const version = asObject(v);
    const vname = asString(version.name);
    if (!vname) required(`spec.versions[${i}].name`);
    else if (seen.has(vname))
      errors.push({
        type: 'FieldValueDuplicate',
        field: `spec.versions[${i}].name`,
        value: vname,
        detail: '',
      });
    seen.add(vname);
    if (typeof version.served !== 'boolean') required(`spec.versions[${i}].served`);
    if (typeof version.storage !== 'boolean') required(`spec.versions[${i}].storage`);
    if (!isObject(asObject(version.schema).openAPIV3Schema)) {
      errors.push({
        type: 'FieldValueRequired',
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        detail: 'schemas are required',
      });
    }
  });
  return errors;
}

/** The ResourceInfos of a CRD's served versions, in the order the CRD lists them. */
export function servedResources(crd: JsonObject): ResourceInfo[] {
  const name = asString(asObject(crd.metadata).name);
  const spec = asObject(crd.spec);
  const names = asObject(spec.names);
  const versions = asList(spec.versions).map(asObject);
  const storageVersion = asString(versions.find((v) => v.storage === true)?.name);
  const shortNames = asList(names.shortNames).filter((s): s is string => typeof s === 'string');
  const categories = asList(names.categories).filter((s): s is string => typeof s === 'string');
  const storageSchema = asObject(asObject(versions.find((v) => v.storage === true)?.schema).openAPIV3Schema);
  return versions
    .filter((v) => v.served === true)
    .map((v) => {
      const schema = asObject(v.schema).openAPIV3Schema;
      const gv = `${asString(spec.group)}/${asString(v.name)}`;
      const deprecationWarning =
        v.deprecated === true
          ? typeof v.deprecationWarning === 'string'
            ? v.deprecationWarning
            : `${gv} ${asString(names.kind)} is deprecated`
          : undefined;
      return {
        group: asString(spec.group),
        version: asString(v.name),
        plural: asString(names.plural),
        singular: asString(names.singular),
        kind: asString(names.kind),
        namespaced: spec.scope === 'Namespaced',
        ...(shortNames.length > 0 ? { shortNames } : {}),
        ...(categories.length > 0 ? { categories } : {}),
        statusSubresource: isObject(asObject(v.subresources).status),
        custom: {
          crd: name,
          storageVersion,
          ...(isObject(schema) ? { schema: schema as JsonSchema } : {}),
          printerColumns: asList(v.additionalPrinterColumns).filter(isObject) as unknown as PrinterColumn[],
          ...(deprecationWarning !== undefined ? { deprecationWarning } : {}),
          ...(Object.keys(storageSchema).length > 0 ? { storageSchema: storageSchema as JsonSchema } : {}),
        },
      };
    });
}
