/**
 * A CustomResourceDefinition's structural schema (openAPIV3Schema) put to the three uses the real
 * server puts it to:
 *
 * - typeOf: the schema as this server's type structure (schema.ts), so pruning of unknown fields,
 *   field ownership (managedFields, server-side apply) and encoding work as for built-in kinds;
 * - applySchemaDefaults: `default` values for absent fields, inside objects that are present;
 * - validateAgainstSchema: type, enum, required, nullable, minimum/maximum (exclusive too),
 *   multipleOf, minLength/maxLength, pattern, minItems/maxItems, uniqueItems,
 *   minProperties/maxProperties, set and map list uniqueness, each error worded as the real
 *   server's. Not evaluated: `format` (other than the integer and string checks the type gives),
 *   allOf/anyOf/oneOf/not, and x-kubernetes-validations (CEL); countRules counts the CEL rules so
 *   the server can say in a warning that it did not check them.
 */
import type { FieldError } from './errors.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import type { JsonSchema } from './resources.js';
import { SCHEMA } from './schema-data.js';
import type { FieldDef, TypeRef } from './schema.js';

let nextTypeId = 0;

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** The root type of objects a schema describes (apiVersion, kind and metadata as for any kind). */
export function typeOf(schema: JsonSchema | undefined): TypeRef {
  const prefix = `portico.dev.crd${nextTypeId++}`;
  const root = schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const type = convert(root, prefix);
  const name = typeof type === 'object' && 'ref' in type ? type.ref : `${prefix}.root`;
  const def = SCHEMA.definitions[name] ?? { fields: {}, unstructured: true, preserveUnknown: true };
  def.fields = {
    ...def.fields,
    apiVersion: { type: 'string', omitempty: true },
    kind: { type: 'string', omitempty: true },
    metadata: { type: { ref: OBJECT_META }, omitempty: true },
  };
  SCHEMA.definitions[name] = def;
  return { ref: name };
}

function convert(schema: JsonSchema, name: string): TypeRef {
  if (schema['x-kubernetes-int-or-string']) return 'int-or-string';
  if (schema['x-kubernetes-embedded-resource']) return 'any';
  switch (schema.type) {
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return schema.type;
    case 'array':
      return {
        list: schema.items ? convert(schema.items, `${name}[]`) : 'any',
        listType: (schema['x-kubernetes-list-type'] as 'atomic' | 'set' | 'map' | undefined) ?? 'atomic',
        ...(schema['x-kubernetes-list-map-keys'] ? { keys: schema['x-kubernetes-list-map-keys'] } : {}),
      };
    case 'object':
    case undefined: {
      const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
      if (schema.properties === undefined && isObject(schema.additionalProperties)) {
        return {
          map: convert(schema.additionalProperties as JsonSchema, `${name}{}`),
          ...(schema['x-kubernetes-map-type'] === 'atomic' ? { atomic: true } : {}),
        };
      }
      if (schema.properties === undefined && (preserve || schema.type === undefined)) return 'any';
      const fields: Record<string, FieldDef> = {};
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        fields[key] = { type: convert(child, `${name}.${key}`), omitempty: true };
      }
      SCHEMA.definitions[name] = {
        fields,
        unstructured: true,
        ...(preserve ? { preserveUnknown: true } : {}),
        ...(schema['x-kubernetes-map-type'] === 'atomic' ? { atomic: true } : {}),
      };
      return { ref: name };
    }
    default:
      return 'any';
  }
}

/** Sets the defaults of absent fields, in place, top down (a default object gets its own defaults). */
export function applySchemaDefaults(value: unknown, schema: JsonSchema | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applySchemaDefaults(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && child.default !== undefined) value[key] = structuredClone(child.default);
    applySchemaDefaults(value[key], child);
  }
  if (isObject(schema.additionalProperties)) {
    for (const child of Object.values(value))
      applySchemaDefaults(child, schema.additionalProperties as JsonSchema);
  }
}

/** How many CEL rules the schema holds (none of which this server evaluates). */
export function countRules(schema: JsonSchema | undefined): number {
  if (!schema) return 0;
  let n = schema['x-kubernetes-validations']?.length ?? 0;
  for (const child of Object.values(schema.properties ?? {})) n += countRules(child);
  if (schema.items) n += countRules(schema.items);
  if (isObject(schema.additionalProperties)) n += countRules(schema.additionalProperties as JsonSchema);
  return n;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, schema: JsonSchema): boolean {
  if (schema['x-kubernetes-int-or-string']) return typeof value === 'string' || Number.isInteger(value);
  switch (schema.type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

/** The errors of an object against its version's schema; apiVersion, kind and metadata are skipped. */
export function validateAgainstSchema(object: JsonObject, schema: JsonSchema | undefined): FieldError[] {
  const errors: FieldError[] = [];
  if (!schema) return errors;
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = object;
  const { apiVersion: _sa, kind: _sk, metadata: _sm, ...properties } = schema.properties ?? {};
  validate(
    rest,
    { ...schema, properties, required: (schema.required ?? []).filter((r) => r !== 'metadata') },
    '',
    errors,
  );
  return errors;
}

function validate(value: unknown, schema: JsonSchema, path: string, errors: FieldError[]): void {
  const field = path || '<root>';
  if (value === null || value === undefined) {
    if (value === null && !schema.nullable && schema.type !== undefined) {
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value: 'null',
        detail: `${field} in body must be of type ${schema.type}: "null"`,
      });
    }
    return;
  }
  if (!hasType(value, schema)) {
    const expected = schema['x-kubernetes-int-or-string'] ? 'integer,string' : schema.type;
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value: typeName(value),
      detail: `${field} in body must be of type ${expected}: "${typeName(value)}"`,
    });
    return;
  }
  if (schema.enum && !schema.enum.some((e) => jsonEqual(e, value))) {
    errors.push({
      type: 'FieldValueNotSupported',
      field,
      value,
      detail: `supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
  if (typeof value === 'string') validateString(value, schema, field, errors);
  else if (typeof value === 'number') validateNumber(value, schema, field, errors);
  else if (Array.isArray(value)) validateArray(value, schema, path, errors);
  else if (isObject(value)) validateObject(value, schema, path, errors);
}

function validateString(value: string, schema: JsonSchema, field: string, errors: FieldError[]): void {
  const length = [...value].length;
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    errors.push({
      type: 'FieldValueTooLong',
      field,
      value,
      detail: `may not be more than ${schema.maxLength} bytes`,
    });
  }
  if (schema.minLength !== undefined && length < schema.minLength) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value,
      detail: `${field} in body should be at least ${schema.minLength} chars long`,
    });
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value,
      detail: `${field} in body should match '${schema.pattern}'`,
    });
  }
}

function validateNumber(value: number, schema: JsonSchema, field: string, errors: FieldError[]): void {
  if (schema.minimum !== undefined) {
    const below = schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum;
    if (below) {
      const how = schema.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value,
        detail: `${field} in body should be ${how} ${schema.minimum}`,
      });
    }
  }
  if (schema.maximum !== undefined) {
    const above = schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum;
    if (above) {
      const how = schema.exclusiveMaximum ? 'less than' : 'less than or equal to';
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value,
        detail: `${field} in body should be ${how} ${schema.maximum}`,
      });
    }
  }
  if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value,
      detail: `${field} in body should be a multiple of ${schema.multipleOf}`,
    });
  }
}

function validateArray(value: unknown[], schema: JsonSchema, path: string, errors: FieldError[]): void {
  const field = path || '<root>';
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    errors.push({
      type: 'FieldValueTooMany',
      field,
      value: value.length,
      detail: `must have at most ${schema.maxItems} items`,
    });
  }
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value: value.length,
      detail: `${field} in body should have at least ${schema.minItems} items`,
    });
  }
  const listType = schema['x-kubernetes-list-type'];
  const keys = schema['x-kubernetes-list-map-keys'] ?? [];
  const identity = (item: unknown): unknown =>
    listType === 'map' && isObject(item) ? Object.fromEntries(keys.map((k) => [k, item[k]])) : item;
  if (listType === 'set' || listType === 'map' || schema.uniqueItems) {
    value.forEach((item, i) => {
      const id = identity(item);
      if (value.slice(0, i).some((other) => jsonEqual(identity(other), id))) {
        errors.push({ type: 'FieldValueDuplicate', field: `${path}[${i}]`, value: id, detail: '' });
      }
    });
  }
  if (schema.items)
    value.forEach((item, i) => validate(item, schema.items as JsonSchema, `${path}[${i}]`, errors));
}

function validateObject(value: JsonObject, schema: JsonSchema, path: string, errors: FieldError[]): void {
  const field = path || '<root>';
  const prefix = path ? `${path}.` : '';
  for (const key of schema.required ?? []) {
    if (value[key] === undefined || value[key] === null) {
      errors.push({ type: 'FieldValueRequired', field: `${prefix}${key}`, detail: '' });
    }
  }
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    errors.push({
      type: 'FieldValueTooMany',
      field,
      value: count,
      detail: `must have at most ${schema.maxProperties} items`,
    });
  }
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value: count,
      detail: `${field} in body should have at least ${schema.minProperties} properties`,
    });
  }
  for (const [key, child] of Object.entries(value)) {
    const childSchema =
      schema.properties?.[key] ??
      (isObject(schema.additionalProperties) ? (schema.additionalProperties as JsonSchema) : undefined);
    if (childSchema) validate(child, childSchema, `${prefix}${key}`, errors);
  }
}
