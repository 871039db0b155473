/**
 * JSON text of stored objects, computed once per stored version and shared by every response and
 * watch event that carries it (stored objects are immutable, so the text never goes stale). Lists
 * of thousands of objects, polled by tests and benchmarks, are then a string join.
 */
import type { JsonObject } from './json.js';

const whole = new WeakMap<JsonObject, string>();
const asItem = new WeakMap<JsonObject, string>();

/** The object as stored, with apiVersion and kind (get responses, watch events). */
export function objectJson(object: JsonObject): string {
  let text = whole.get(object);
  if (text === undefined) {
    text = JSON.stringify(object);
    whole.set(object, text);
  }
  return text;
}

/** The object as a list item: typed lists carry no apiVersion/kind per item on the real server. */
export function listItemJson(object: JsonObject): string {
  let text = asItem.get(object);
  if (text === undefined) {
    const { apiVersion: _a, kind: _k, ...rest } = object;
    text = JSON.stringify(rest);
    asItem.set(object, text);
  }
  return text;
}

/** A `<Kind>List` document from its head fields and items. */
export function listJson(
  kind: string,
  apiVersion: string,
  metadata: JsonObject,
  items: JsonObject[],
): string {
  const head = JSON.stringify({ kind, apiVersion, metadata });
  return `${head.slice(0, -1)},"items":[${items.map(listItemJson).join(',')}]}`;
}

/** A list of custom resources: items are unstructured objects, each with apiVersion and kind. */
export function customListJson(
  kind: string,
  apiVersion: string,
  metadata: JsonObject,
  items: JsonObject[],
): string {
  const head = JSON.stringify({ apiVersion, items: [], kind, metadata });
  return head.replace('"items":[]', `"items":[${items.map(objectJson).join(',')}]`);
}
