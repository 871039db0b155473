/**
 * ConfigMap and Secret rules of the real server: keys are `[-._a-zA-Z0-9]+` and unique across
 * `data` and `binaryData`; Secret `data` values are base64 (they are bytes on the wire);
 * `stringData` is write-only: merged into `data` (base64-encoded, winning over `data`) and never
 * stored; `immutable: true` objects refuse changes to their data.
 */
import { badRequest, invalid, type FieldError } from './errors.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

const KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkKeys(map: unknown, field: string, errors: FieldError[]): string[] {
  if (map === undefined || map === null) return [];
  if (!isObject(map)) {
    errors.push({ type: 'FieldValueInvalid', field, value: map, detail: 'must be a map' });
    return [];
  }
  for (const key of Object.keys(map)) {
    if (!KEY.test(key) || key.length > 253) {
      errors.push({
        type: 'FieldValueInvalid',
        field,
        value: key,
        detail: "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
      });
    }
  }
  return Object.keys(map);
}

/** Normalises and validates a ConfigMap or Secret before it is stored (mutates `body`). */
export function prepareDataObject(resource: ResourceInfo, body: JsonObject, old?: JsonObject): void {
  if (resource.kind !== 'ConfigMap' && resource.kind !== 'Secret') return;
  const name = String((body.metadata as JsonObject).name);
  const errors: FieldError[] = [];
  if (resource.kind === 'Secret') {
    if (isObject(body.data)) {
      for (const [key, value] of Object.entries(body.data)) {
        if (typeof value !== 'string' || !BASE64.test(value)) {
          throw badRequest(
            `Secret in version "v1" cannot be handled as a Secret: illegal base64 data for key ${key}`,
          );
        }
      }
    }
    if (isObject(body.stringData)) {
      const data = isObject(body.data) ? { ...body.data } : {};
      for (const [key, value] of Object.entries(body.stringData)) {
        data[key] = Buffer.from(String(value), 'utf8').toString('base64');
      }
      body.data = data;
    }
    delete body.stringData;
    checkKeys(body.data, 'data', errors);
  } else {
    const keys = checkKeys(body.data, 'data', errors);
    for (const key of checkKeys(body.binaryData, 'binaryData', errors)) {
      if (keys.includes(key)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: 'data',
          value: key,
          detail: 'duplicate of key present in binaryData',
        });
      }
    }
  }
  if (old && old.immutable === true) {
    const fields = ['data', 'binaryData', 'immutable'] as const;
    for (const f of fields) {
      if (!jsonEqual(body[f], old[f])) {
        errors.push({
          type: 'FieldValueForbidden',
          field: f,
          detail: 'field is immutable when `immutable` is set',
        });
      }
    }
  }
  if (errors.length) throw invalid(resource, name, errors);
}
