/**
 * Strategic merge patch (the Kubernetes extension of JSON merge patch, see
 * community/contributors/devel/sig-api-machinery/strategic-merge-patch.md). Lists marked
 * `patchStrategy: merge` in the Go types merge element-wise by their `patchMergeKey`, other lists
 * are replaced. The directives `$patch` (replace/delete/merge), `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are honoured.
 *
 * The development server has no OpenAPI schema, so the merge keys of the resources it serves are
 * listed here by field path.
 */
import { badRequest } from './errors.js';
import { clone, isObject, type JsonObject } from './json.js';

export type ListStrategy = { mergeKey: string } | 'primitive-merge' | 'replace';

/** `kind:path` rules (path is the dotted chain of field names, array positions left out). */
const RULES: [RegExp, ListStrategy][] = [
  [/^Service:spec\.ports$/, { mergeKey: 'port' }],
  [/(^|\.)(containers|initContainers|ephemeralContainers)\.ports$/, { mergeKey: 'containerPort' }],
  [/(^|\.)(containers|initContainers|ephemeralContainers|volumes|imagePullSecrets)$/, { mergeKey: 'name' }],
  [/(^|\.)(env)$/, { mergeKey: 'name' }],
  [/(^|\.)volumeMounts$/, { mergeKey: 'mountPath' }],
  [/(^|\.)volumeDevices$/, { mergeKey: 'devicePath' }],
  [/(^|:)status\.conditions$/, { mergeKey: 'type' }],
  [/^Node:status\.addresses$/, { mergeKey: 'type' }],
  [/^Pod:status\.(podIPs|hostIPs)$/, { mergeKey: 'ip' }],
  [/(^|:)metadata\.ownerReferences$/, { mergeKey: 'uid' }],
  [/(^|:)metadata\.finalizers$/, 'primitive-merge'],
  [/^Node:spec\.podCIDRs$/, 'primitive-merge'],
];

export function strategyFor(kind: string, path: string): ListStrategy {
  const subject = `${kind}:${path}`;
  for (const [pattern, strategy] of RULES) if (pattern.test(subject)) return strategy;
  return 'replace';
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/** A patch fragment with every directive removed, for places where it replaces the target. */
function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.filter((e) => !(isObject(e) && e.$patch === 'delete')).map(stripDirectives);
  }
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    if (v !== null) out[k] = stripDirectives(v);
  }
  return out;
}

function mergeMap(original: unknown, patch: JsonObject, kind: string, path: string): unknown {
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive === 'delete') return undefined;
  if (directive !== undefined && directive !== 'merge')
    throw badRequest(`Unknown patch type: ${String(directive)}`);

  const result: JsonObject = isObject(original) ? { ...original } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((x) => !value.includes(x));
      }
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      const merged = mergeMap(result[key], value, kind, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, kind, childPath);
    } else {
      result[key] = value;
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  for (const [key, order] of Object.entries(patch)) {
    if (key.startsWith(SET_ORDER) && Array.isArray(order)) {
      const field = key.slice(SET_ORDER.length);
      const list = result[field];
      if (Array.isArray(list))
        result[field] = reorder(list, order, strategyFor(kind, path ? `${path}.${field}` : field));
    }
  }
  return result;
}

/** `$setElementOrder`: elements named in `order` come first in that order, the rest keep theirs. */
function reorder(list: unknown[], order: unknown[], strategy: ListStrategy): unknown[] {
  const keyOf = (e: unknown): unknown =>
    typeof strategy === 'object' && isObject(e)
      ? e[strategy.mergeKey]
      : strategy === 'replace'
        ? undefined
        : e;
  const rank = new Map<string, number>();
  order.forEach((o, i) => {
    const k = typeof strategy === 'object' && isObject(o) ? o[strategy.mergeKey] : o;
    rank.set(JSON.stringify(k), i);
  });
  if (rank.size === 0) return list;
  return list
    .map((e, i) => ({ e, i, r: rank.get(JSON.stringify(keyOf(e))) ?? order.length + i }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.e);
}

function mergeList(original: unknown, patch: unknown[], kind: string, path: string): unknown[] {
  const replaceAll = patch.some((e) => isObject(e) && e.$patch === 'replace');
  if (replaceAll)
    return stripDirectives(patch.filter((e) => !(isObject(e) && e.$patch === 'replace'))) as unknown[];
  const strategy = strategyFor(kind, path);
  const current = Array.isArray(original) ? original : [];
  if (strategy === 'replace') return stripDirectives(patch) as unknown[];
  if (strategy === 'primitive-merge') {
    const result = [...current];
    for (const v of patch) if (!result.includes(v)) result.push(v);
    return result;
  }
  const { mergeKey } = strategy;
  const result = current.map((e) => clone(e));
  for (const element of patch) {
    if (!isObject(element)) throw badRequest(`${path}: expected a list of objects keyed by ${mergeKey}`);
    const key = element[mergeKey];
    const index = result.findIndex((e) => isObject(e) && e[mergeKey] === key);
    if (element.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = mergeMap(result[index], element, kind, path);
    } else {
      result.push(stripDirectives(element));
    }
  }
  return result;
}

/** Applies a strategic merge patch to `original` (an object of the given kind). */
export function applyStrategicMergePatch(original: unknown, patch: unknown, kind: string): unknown {
  if (!isObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
  return mergeMap(original, patch, kind, '') ?? {};
}
