/**
 * The typed-value operations of structured-merge-diff (sigs.k8s.io/structured-merge-diff/v6
 * typed/), on plain JSON values with the schema of schema.ts: the field set of a value
 * (tofieldset.go), the comparison of two values into added, modified and removed paths
 * (compare.go), the merge of an applied configuration into a live object (merge.go) and the
 * removal of a set of paths (remove.go). `undefined` is an absent value, `null` a present null,
 * as Go's nil Value and null Value.
 */
import { FieldSet } from './field-set.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { atomOf, memberType, type Atom, type ListType, type TypeRef } from './schema.js';

export class StructuredMergeError extends Error {}

/** The path element of a list element: `k:{...}` for keyed lists, `v:...` for sets. */
export function listItemElement(list: ListType, item: unknown): string {
  if (list.keys && list.keys.length > 0) {
    if (!isObject(item))
      throw new StructuredMergeError('associative list with keys may not have non-map elements');
    const fields: [string, unknown][] = [];
    for (const key of list.keys) {
      if (item[key] !== undefined) fields.push([key, item[key]]);
      else if (list.keyDefaults && key in list.keyDefaults) fields.push([key, list.keyDefaults[key]]);
    }
    if (fields.length === 0) {
      throw new StructuredMergeError(
        `associative list with keys has an element that omits all key fields ${JSON.stringify(list.keys)} (and doesn't have default values for any key fields)`,
      );
    }
    fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `k:${JSON.stringify(Object.fromEntries(fields))}`;
  }
  if (isObject(item))
    throw new StructuredMergeError("associative list without keys has an element that's a map type");
  return `v:${JSON.stringify(item)}`;
}

const field = (name: string) => `f:${name}`;
const asList = (v: unknown): unknown[] | null => (Array.isArray(v) ? v : null);
const asMap = (v: unknown): JsonObject | null => (isObject(v) ? v : null);
const isAtomic = (atom: Atom): boolean =>
  (atom.kind === 'list' && atom.list.listType === 'atomic') ||
  (atom.kind === 'map' && atom.atomic) ||
  (atom.kind === 'struct' && atom.def.atomic === true);

/** The field set of VALUE (tofieldset.go). */
export function toFieldSet(value: unknown, type: TypeRef): FieldSet {
  const set = new FieldSet();
  const walk = (v: unknown, t: TypeRef, path: string[]): void => {
    const atom = atomOf(t, v);
    if (atom.kind === 'scalar') {
      set.insert(path);
      return;
    }
    if (atom.kind === 'list') {
      if (atom.list.listType === 'atomic') {
        set.insert(path);
        return;
      }
      const list = asList(v);
      if (!list) return;
      const seen = new Set<string>();
      const duplicates = new Set<string>();
      const elements = list.map((item) => listItemElement(atom.list, item));
      for (const pe of elements) {
        if (seen.has(pe) && !duplicates.has(pe)) {
          set.insert([...path, pe]);
          duplicates.add(pe);
        }
        seen.add(pe);
      }
      list.forEach((item, i) => {
        const pe = elements[i]!;
        if (duplicates.has(pe)) return;
        walk(item, atom.list.list, [...path, pe]);
        set.insert([...path, pe]);
      });
      return;
    }
    if (isAtomic(atom)) {
      set.insert(path);
      return;
    }
    const map = asMap(v);
    if (!map) return;
    for (const [key, child] of Object.entries(map)) {
      if (child === undefined) continue;
      const declared = atom.kind === 'struct' ? atom.def.fields[key] : undefined;
      const childPath = [...path, field(key)];
      walk(child, memberType(atom, key) ?? 'any', childPath);
      if (child === null || (isObject(child) && Object.keys(child).length === 0) || !declared) {
        set.insert(childPath);
      }
    }
  };
  walk(value, type, []);
  return set;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** What changed from LHS to RHS (compare.go). */
export function compare(lhs: unknown, rhs: unknown, type: TypeRef): Comparison {
  const result: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  compareNode(lhs, rhs, type, [], result);
  return result;
}

function compareNode(lhs: unknown, rhs: unknown, type: TypeRef, path: string[], c: Comparison): void {
  let inLeaf = false;
  const leaf = (): void => {
    if (inLeaf) return;
    inLeaf = true;
    if (lhs === undefined && rhs === undefined) return;
    if (lhs === undefined) c.added.insert(path);
    else if (rhs === undefined) c.removed.insert(path);
    else if (!jsonEqual(lhs, rhs)) c.modified.insert(path);
  };
  const atom = atomOf(type, rhs === undefined ? lhs : rhs);
  const other = atomOf(type, lhs === undefined ? rhs : lhs);
  if (atom.kind !== other.kind) {
    // A deduced value that changed shape (object to list): a leaf that was modified.
    leaf();
  } else if (atom.kind === 'scalar') {
    leaf();
  } else if (atom.kind === 'list') {
    const l = asList(lhs);
    const r = asList(rhs);
    if (atom.list.listType === 'atomic' || ((!l || l.length === 0) && (!r || r.length === 0))) leaf();
    else compareListItems(atom.list, l ?? [], r ?? [], path, c);
  } else {
    const l = asMap(lhs);
    const r = asMap(rhs);
    const emptyL = !l || Object.keys(l).length === 0;
    const emptyR = !r || Object.keys(r).length === 0;
    if (isAtomic(atom) || (emptyL && emptyR)) {
      leaf();
    } else {
      const keys = new Set([...Object.keys(l ?? {}), ...Object.keys(r ?? {})]);
      for (const key of keys) {
        const lv = l?.[key];
        const rv = r?.[key];
        if (lv === undefined && rv === undefined) continue;
        compareNode(lv, rv, memberType(atom, key) ?? 'any', [...path, field(key)], c);
      }
    }
  }
  if (!inLeaf) {
    if (lhs === undefined) c.added.insert(path);
    else if (rhs === undefined) c.removed.insert(path);
  }
}

function groupByElement(list: ListType, items: unknown[]): Map<string, unknown[]> {
  const groups = new Map<string, unknown[]>();
  for (const item of items) {
    const pe = listItemElement(list, item);
    const group = groups.get(pe);
    if (group) group.push(item);
    else groups.set(pe, [item]);
  }
  return groups;
}

function compareListItems(
  list: ListType,
  lhs: unknown[],
  rhs: unknown[],
  path: string[],
  c: Comparison,
): void {
  const left = groupByElement(list, lhs);
  const right = groupByElement(list, rhs);
  for (const pe of new Set([...left.keys(), ...right.keys()])) {
    const l = left.get(pe) ?? [];
    const r = right.get(pe) ?? [];
    const itemPath = [...path, pe];
    if (l.length <= 1 && r.length <= 1) {
      compareNode(l[0], r[0], list.list, itemPath, c);
    } else if (l.length >= 2 && r.length >= 2) {
      if (!jsonEqual(l, r)) c.modified.insert(itemPath);
    } else if (l.length >= 2) {
      if (r.length) compareNode(undefined, r[0], list.list, itemPath, c);
      c.removed.insert(itemPath);
    } else {
      if (l.length) compareNode(l[0], undefined, list.list, itemPath, c);
      c.added.insert(itemPath);
    }
  }
}

/** LIVE with CONFIG merged over it, the right-hand side winning at every leaf (merge.go). */
export function merge(live: unknown, config: unknown, type: TypeRef): unknown {
  return mergeNode(live, config, type);
}

function mergeNode(lhs: unknown, rhs: unknown, type: TypeRef): unknown {
  const leaf = () => (rhs !== undefined ? rhs : lhs);
  const atom = atomOf(type, rhs === undefined ? lhs : rhs);
  const other = atomOf(type, lhs === undefined ? rhs : lhs);
  if (atom.kind !== other.kind || atom.kind === 'scalar') return leaf();
  if (atom.kind === 'list') {
    const l = asList(lhs);
    const r = asList(rhs);
    if (atom.list.listType === 'atomic' || ((!l || l.length === 0) && (!r || r.length === 0))) return leaf();
    if (!l && !r) return undefined;
    const out = mergeListItems(atom.list, l ?? [], r ?? []);
    return out.length > 0 ? out : undefined;
  }
  const l = asMap(lhs);
  const r = asMap(rhs);
  const emptyL = !l || Object.keys(l).length === 0;
  const emptyR = !r || Object.keys(r).length === 0;
  if (isAtomic(atom) || (emptyL && emptyR)) return leaf();
  if (!l && !r) return undefined;
  const out: JsonObject = {};
  for (const key of new Set([...Object.keys(l ?? {}), ...Object.keys(r ?? {})])) {
    const lv = l?.[key];
    const rv = r?.[key];
    if (lv === undefined && rv === undefined) continue;
    const merged = mergeNode(lv, rv, memberType(atom, key) ?? 'any');
    if (merged !== undefined) out[key] = merged;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The merged list: the live order, with the configuration's elements in the configuration's order
 * where both have them and new ones where the configuration puts them (merge.go visitListItems).
 */
function mergeListItems(list: ListType, lhs: unknown[], rhs: unknown[]): unknown[] {
  const index = (items: unknown[], allowDuplicates: boolean) => {
    const pes: string[] = [];
    const observed = new Map<string, unknown>();
    for (const item of items) {
      const pe = listItemElement(list, item);
      if (observed.has(pe)) {
        if (!allowDuplicates) throw new StructuredMergeError(`duplicate entries for key ${pe}`);
        observed.set(pe, null);
      } else {
        observed.set(pe, item);
      }
      pes.push(pe);
    }
    return { pes, observed };
  };
  const right = index(rhs, false);
  const left = index(lhs, true);
  const out: unknown[] = [];
  const sharedOrder = right.pes.filter((pe) => left.observed.has(pe));
  let nextShared = sharedOrder.shift();
  const mergedRHS = new Set<string>();
  const item = (pe: string, l: unknown, r: unknown) => {
    const merged = mergeNode(l, r, list.list);
    if (merged !== undefined) out.push(merged);
  };
  for (let li = 0, ri = 0; li < left.pes.length || ri < right.pes.length;) {
    if (li < left.pes.length && ri < right.pes.length) {
      const pe = left.pes[li]!;
      if (pe === right.pes[ri]) {
        mergedRHS.add(pe);
        item(pe, left.observed.get(pe) ?? undefined, right.observed.get(pe));
        li++;
        ri++;
        nextShared = sharedOrder.shift();
        continue;
      }
      if (right.observed.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++;
        continue;
      }
    }
    if (li < left.pes.length) {
      const pe = left.pes[li]!;
      if (!right.observed.has(pe)) {
        item(pe, lhs[li], undefined);
        li++;
        continue;
      } else if (mergedRHS.has(pe)) {
        li++;
      }
    }
    if (ri < right.pes.length) {
      const pe = right.pes[ri]!;
      mergedRHS.add(pe);
      item(pe, left.observed.get(pe) ?? undefined, right.observed.get(pe));
      ri++;
      if (nextShared !== undefined && nextShared === pe) nextShared = sharedOrder.shift();
    }
  }
  return out;
}

/**
 * VALUE without the paths in TO_REMOVE (remove.go, without extraction). Where the Go walker
 * leaves its output unset (an emptied map or list, an atomic one below a removed path) the
 * result is null, as there.
 */
export function removeItems(value: unknown, toRemove: FieldSet, type: TypeRef): unknown {
  const atom = atomOf(type, value);
  if (atom.kind === 'scalar') return value;
  if (atom.kind === 'list') {
    if (!Array.isArray(value) || value.length === 0 || atom.list.listType === 'atomic') return null;
    const items: unknown[] = [];
    for (const item of value) {
      const pe = listItemElement(atom.list, item);
      if (toRemove.has([pe])) continue;
      const below = toRemove.withPrefix(pe);
      items.push(below.empty() ? item : removeItems(item, below, atom.list.list));
    }
    return items.length > 0 ? items : null;
  }
  if (!isObject(value) || Object.keys(value).length === 0 || isAtomic(atom)) return null;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    const pe = field(key);
    if (toRemove.has([pe])) continue;
    const below = toRemove.withPrefix(pe);
    out[key] = below.empty() ? child : removeItems(child, below, memberType(atom, key) ?? 'any');
  }
  return Object.keys(out).length > 0 ? out : null;
}
