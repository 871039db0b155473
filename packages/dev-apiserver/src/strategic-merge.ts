/**
 * Strategic merge patch, ported from k8s.io/apimachinery/pkg/util/strategicpatch (patch.go,
 * StrategicMergeMapPatch with MergeParallelList and IgnoreUnmatchedNulls). Lists whose field has
 * `patchStrategy: merge` merge element-wise by their `patchMergeKey` (or as sets of scalars),
 * other lists and the maps of `patchStrategy: replace` are replaced; the merged list keeps the
 * real server's order (the patch's elements in the patch's order, placed among the elements only
 * the live object has as normalizeElementOrder does). The directives `$patch`
 * (replace/delete/merge), `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
 * `$setElementOrder/<field>` are honoured. The patch strategies and merge keys come from the
 * schema (schema.ts), as the real server takes them from the Go types.
 */
import { badRequest } from './errors.js';
import { clone, isObject, jsonEqual, type JsonObject } from './json.js';
import { resolve, type FieldDef, type TypeRef } from './schema.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

/** The patch metadata of a map's member: its type, strategy and merge key. */
interface Meta {
  type: TypeRef;
  strategy: string;
  mergeKey: string;
}

function memberMeta(type: TypeRef | undefined, key: string): Meta {
  if (type === undefined || type === 'any' || typeof type === 'string')
    return { type: 'any', strategy: '', mergeKey: '' };
  const atom = resolve(type);
  if (atom.kind === 'struct') {
    const field: FieldDef | undefined = atom.def.fields[key];
    if (!field) return { type: 'any', strategy: '', mergeKey: '' };
    // `merge,retainKeys`: the retainKeys part is the directive's business.
    const strategy = (field.patchStrategy ?? '').split(',').find((s) => s !== 'retainKeys') ?? '';
    return { type: field.type, strategy, mergeKey: field.mergeKey ?? '' };
  }
  if (atom.kind === 'map') return { type: atom.elem, strategy: '', mergeKey: '' };
  return { type: 'any', strategy: '', mergeKey: '' };
}

/** The element type of a list type. */
function elementType(type: TypeRef): TypeRef {
  if (type === 'any' || typeof type === 'string') return 'any';
  const atom = resolve(type);
  return atom.kind === 'list' ? atom.list.list : 'any';
}

type Kind = 'map' | 'slice' | 'null' | 'string' | 'number' | 'boolean';
function kindOf(value: unknown): Kind {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'slice';
  if (isObject(value)) return 'map';
  return typeof value as Kind;
}

/** removeDirectives: a map carrying `$patch` disappears; nested ones are dropped too. */
function removeDirectives(value: unknown): { value: unknown; keep: boolean } {
  if (isObject(value)) {
    if (DIRECTIVE in value) return { value: undefined, keep: false };
    for (const [k, v] of Object.entries(value)) {
      const r = removeDirectives(v);
      if (r.keep) value[k] = r.value;
      else delete value[k];
    }
    return { value, keep: true };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const r = removeDirectives(v);
      if (r.keep) out.push(r.value);
    }
    return { value: out, keep: true };
  }
  return { value, keep: true };
}

function discardNulls(value: unknown): void {
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (v === null) delete value[k];
      else discardNulls(v);
    }
  } else if (Array.isArray(value)) {
    for (const v of value) discardNulls(v);
  }
}

function mergeKeyOf(item: unknown, mergeKey: string): unknown {
  if (!isObject(item))
    throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
  if (!(mergeKey in item))
    throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
  return item[mergeKey];
}

function indexIn(list: unknown[], value: unknown, mergeKey: string, maps: boolean): number {
  const key = (v: unknown) => (maps ? (isObject(v) ? v[mergeKey] : undefined) : v);
  const wanted = key(value);
  return list.findIndex((v) => jsonEqual(key(v), wanted));
}

function normalizeSliceOrder(
  toSort: unknown[],
  order: unknown[],
  mergeKey: string,
  maps: boolean,
): unknown[] {
  let items = toSort;
  let toDelete: unknown[] = [];
  if (maps) {
    items = toSort.filter((v) => !(isObject(v) && v[DIRECTIVE] === 'delete'));
    toDelete = toSort.filter((v) => isObject(v) && v[DIRECTIVE] === 'delete');
  }
  // sort.SliceStable with a comparator that is not a strict weak order: mirror it with an
  // insertion sort, which is what a stable sort does on these small lists.
  const sorted = [...items];
  for (let i = 1; i < sorted.length; i++) {
    for (let j = i; j > 0; j--) {
      const a = sorted[j]!;
      const b = sorted[j - 1]!;
      const ia = indexIn(order, a, mergeKey, maps);
      const ib = indexIn(order, b, mergeKey, maps);
      const less = ia >= 0 && ib >= 0 ? ia < ib : true;
      if (!less) break;
      sorted[j] = b;
      sorted[j - 1] = a;
    }
  }
  return [...sorted, ...toDelete];
}

/** mergeSortedSlice: server-only items go before the patch's only where the live order says so. */
function mergeSorted(
  left: unknown[],
  right: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  maps: boolean,
): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, maps);
      const ri = indexIn(serverOrder, right[j], mergeKey, maps);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function normalizeElementOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  maps: boolean,
): unknown[] {
  const patch = normalizeSliceOrder(patchItems, patchOrder, mergeKey, maps);
  const server = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, maps);
  return mergeSorted(server, patch, serverOrder, mergeKey, maps);
}

function partition(merged: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    const found = mergeKey
      ? by.some((p) => isObject(p) && jsonEqual(p[mergeKey], mergeKeyOf(v, mergeKey)))
      : by.some((p) => jsonEqual(p, v));
    (found ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

function sliceOfMaps(original: unknown[], patch: unknown[]): boolean {
  const all = [...original, ...patch];
  const kinds = new Set(all.map(kindOf));
  if (kinds.has('null')) throw badRequest('unable to determine element type: slice contains a nil');
  if (kinds.size > 1)
    throw badRequest('unable to determine element type: slice contains elements of different types');
  return kinds.has('map');
}

function mergeSlice(
  original: unknown[],
  patch: unknown[],
  type: TypeRef,
  mergeKey: string,
  isDeleteList: boolean,
): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const maps = sliceOfMaps(original, patch);
  let merged: unknown[];
  let base = original;
  let items = patch;
  if (!maps) {
    if (isDeleteList) return original.filter((v) => !patch.some((p) => jsonEqual(p, v)));
    merged = [];
    for (const v of [...original, ...patch]) if (!merged.some((m) => jsonEqual(m, v))) merged.push(v);
  } else {
    if (!mergeKey) throw badRequest('cannot merge lists without merge key');
    // mergeSliceWithSpecialElements: deletions, and a replacing `$patch: replace`.
    const plain: unknown[] = [];
    let replace = false;
    for (const v of patch) {
      const item = v as JsonObject;
      const directive = item[DIRECTIVE];
      if (directive === undefined) plain.push(v);
      else if (directive === 'delete') {
        const key = mergeKeyOf(item, mergeKey);
        base = base.filter((o) => !(isObject(o) && jsonEqual(o[mergeKey], key)));
      } else if (directive === 'replace') replace = true;
      else if (directive === 'merge') throw badRequest('merging lists cannot yet be specified in the patch');
      else throw badRequest(`Unknown patch type: ${String(directive)} in map: ${JSON.stringify(item)}`);
    }
    if (replace) {
      base = plain;
      items = [];
    } else {
      items = plain;
    }
    merged = [...base];
    for (const v of items) {
      const key = mergeKeyOf(v, mergeKey);
      const at = merged.findIndex((o) => isObject(o) && jsonEqual(o[mergeKey], key));
      if (at >= 0) merged[at] = mergeMap(merged[at] as JsonObject, v as JsonObject, elementType(type));
      else merged.push(v);
    }
  }
  const [patchItems, serverOnly] = partition(merged, mergeKey ? items : patch, mergeKey);
  return normalizeElementOrder(patchItems, serverOnly, mergeKey ? items : patch, base, mergeKey, maps);
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!(RETAIN_KEYS in patch)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw badRequest('invalid patch: the $retainKeys directive must be a list');
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM) || k.startsWith(SET_ORDER)) continue;
    if (!retain.includes(k))
      throw badRequest('invalid patch: all fields must be present in the $retainKeys list');
  }
  for (const k of Object.keys(original)) if (!retain.includes(k)) delete original[k];
}

/** mergePatchIntoOriginal: the `$setElementOrder/<field>` directives. */
function applySetElementOrder(original: JsonObject, patch: JsonObject, type: TypeRef): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw badRequest('invalid patch: $setElementOrder must be a list');
    const field = key.slice(SET_ORDER.length);
    const meta = memberMeta(type, field);
    const originalList = Array.isArray(original[field]) ? (original[field] as unknown[]) : undefined;
    const patchList = Array.isArray(patch[field]) ? (patch[field] as unknown[]) : undefined;
    let merged: unknown[];
    if (originalList && !patchList) merged = originalList;
    else if (!originalList && patchList) {
      const r = removeDirectives(patchList);
      if (!r.keep) continue;
      merged = r.value as unknown[];
    } else if (originalList && patchList) {
      merged =
        meta.strategy === 'merge'
          ? mergeSlice(originalList, patchList, meta.type, meta.mergeKey, false)
          : patchList;
    } else continue;
    const [patchItems, serverOnly] = partition(merged, order, meta.mergeKey);
    const maps = merged.some(isObject) || (patchList ?? []).some(isObject);
    original[field] = normalizeElementOrder(
      patchItems,
      serverOnly,
      order,
      originalList ?? [],
      meta.mergeKey,
      maps,
    );
    delete patch[field];
  }
}

function mergeMap(originalIn: JsonObject | undefined, patch: JsonObject, type: TypeRef): JsonObject {
  if (DIRECTIVE in patch) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      delete patch[DIRECTIVE];
      return patch;
    }
    if (directive === 'delete') return {};
    throw badRequest(`Unknown patch type: ${String(directive)} in map: ${JSON.stringify(patch)}`);
  }
  const original = originalIn ?? {};
  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, type);
  for (const [rawKey, patchV] of Object.entries(patch)) {
    let key = rawKey;
    let isDeleteList = false;
    if (rawKey.startsWith(DELETE_FROM)) {
      key = rawKey.slice(DELETE_FROM.length);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete original[key];
      continue;
    }
    if (!(key in original)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const r = removeDirectives(patchV);
        if (r.keep) original[key] = r.value;
      }
      continue;
    }
    const kind = kindOf(original[key]);
    if (kind !== kindOf(patchV)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const r = removeDirectives(patchV);
        if (r.keep) original[key] = r.value;
        else delete original[key];
      }
      continue;
    }
    const meta = memberMeta(type, key);
    if (kind === 'map') {
      original[key] =
        meta.strategy === 'replace'
          ? patchV
          : mergeMap(original[key] as JsonObject, patchV as JsonObject, meta.type);
    } else if (kind === 'slice') {
      original[key] =
        meta.strategy === 'merge' || isDeleteList
          ? mergeSlice(
              original[key] as unknown[],
              patchV as unknown[],
              meta.type,
              meta.mergeKey,
              isDeleteList,
            )
          : patchV;
    } else {
      const r = removeDirectives(patchV);
      if (r.keep) original[key] = r.value;
      else delete original[key];
    }
  }
  return original;
}

/** Applies a strategic merge patch to `original` (an object of TYPE). */
export function applyStrategicMergePatch(original: unknown, patch: unknown, type: TypeRef): unknown {
  if (!isObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
  return mergeMap(isObject(original) ? clone(original) : {}, clone(patch), type);
}
