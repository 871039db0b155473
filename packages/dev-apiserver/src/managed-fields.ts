/**
 * metadata.managedFields and server-side apply, as the real server's field manager does them
 * (k8s.io/apimachinery/pkg/util/managedfields/internal, over structured-merge-diff's Updater):
 *
 * - An update (create, PUT, a non-apply PATCH) gives its manager (the `fieldManager` parameter,
 *   else the User-Agent up to its first `/`) the fields it added or changed; every other manager
 *   loses those and the removed ones. Its entry's time is set when it took any field.
 * - An apply merges the configuration into the live object, owns exactly the configuration's
 *   fields, removes the fields it owned last time and no longer applies unless another manager
 *   owns them, and fails with 409 when it changes a field another manager owns (unless `force`).
 * - The fields reset by the resource's strategy (status through the main resource, spec through
 *   /status) are owned by nobody; apiVersion, kind and the system metadata fields are never owned.
 * - An object without managedFields is left without them by updates (as one stored before
 *   server-side apply); a first apply then records its existing fields for `before-first-apply`.
 * - At most ten update managers are kept; older ones merge into `ancient-changes`.
 */
import { FieldSet, pathString } from './field-set.js';
import { ApiError } from './errors.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { timestamp } from './object-meta.js';
import type { TypeRef } from './schema.js';
import { compare, merge, removeItems, toFieldSet } from './structured-merge.js';
import { encode } from './typed.js';

interface Entry {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
  time?: string;
}

/** Manager identifier (BuildManagerIdentifier) to its entry. */
type Managed = Map<string, Entry>;

export interface FieldManagerContext {
  /** The object's type and group/version (`v1`, `networking.k8s.io/v1`). */
  type: TypeRef;
  apiVersion: string;
  /** `status` for writes through the status subresource. */
  subresource?: string;
  /** Fields the strategy resets for this (sub)resource: nobody owns them. */
  reset?: FieldSet;
}

const STRIP = FieldSet.of(
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ['f:metadata', 'f:name'],
  ['f:metadata', 'f:namespace'],
  ['f:metadata', 'f:creationTimestamp'],
  ['f:metadata', 'f:selfLink'],
  ['f:metadata', 'f:uid'],
  ['f:metadata', 'f:clusterName'],
  ['f:metadata', 'f:generation'],
  ['f:metadata', 'f:managedFields'],
  ['f:metadata', 'f:resourceVersion'],
);
const MAX_UPDATE_MANAGERS = 10;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** BuildManagerIdentifier: the entry's JSON without time and fields (and apiVersion for appliers). */
function identifier(
  manager: string,
  operation: 'Apply' | 'Update',
  apiVersion: string,
  subresource?: string,
): string {
  const entry: JsonObject = { manager: manager || 'unknown', operation };
  if (operation === 'Update') entry.apiVersion = apiVersion;
  if (subresource) entry.subresource = subresource;
  return JSON.stringify(entry);
}

function metadataOf(object: JsonObject): JsonObject {
  return isObject(object.metadata) ? object.metadata : {};
}

/** DecodeManagedFields; undefined when the list is malformed. */
function decodeManaged(list: unknown): Managed | undefined {
  const managed: Managed = new Map();
  if (list === undefined || list === null) return managed;
  if (!Array.isArray(list)) return undefined;
  for (const raw of list) {
    if (!isObject(raw) || (raw.fieldsType !== undefined && raw.fieldsType !== 'FieldsV1')) return undefined;
    const operation = raw.operation === 'Apply' ? 'Apply' : raw.operation === 'Update' ? 'Update' : undefined;
    if (!operation) return undefined;
    const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : '';
    const key = identifier(
      String(raw.manager ?? ''),
      operation,
      apiVersion,
      typeof raw.subresource === 'string' ? raw.subresource : undefined,
    );
    if (managed.has(key)) return undefined;
    managed.set(key, {
      set: FieldSet.fromFieldsV1(raw.fieldsV1),
      apiVersion,
      applied: operation === 'Apply',
      ...(typeof raw.time === 'string' ? { time: raw.time } : {}),
    });
  }
  return managed;
}

/** encodeManagedFields: entries sorted by operation, time (seconds), manager, apiVersion, subresource. */
function encodeManaged(managed: Managed): JsonObject[] | undefined {
  const entries = [...managed].map(([key, entry]) => {
    const id = JSON.parse(key) as JsonObject;
    const out: JsonObject = { manager: id.manager, operation: id.operation, apiVersion: entry.apiVersion };
    if (entry.time) out.time = entry.time;
    out.fieldsType = 'FieldsV1';
    out.fieldsV1 = entry.set.toFieldsV1();
    if (id.subresource) out.subresource = id.subresource;
    return out;
  });
  if (entries.length === 0) return undefined;
  const seconds = (e: JsonObject) => (typeof e.time === 'string' ? Date.parse(e.time) / 1000 : 0);
  entries.sort((p, q) => {
    for (const [a, b] of [
      [p.operation, q.operation],
      [seconds(p), seconds(q)],
      [p.manager, q.manager],
      [p.apiVersion, q.apiVersion],
      [p.subresource ?? '', q.subresource ?? ''],
    ] as [string | number, string | number][]) {
      if (a !== b) return a < b ? -1 : 1;
    }
    return 0;
  });
  return entries;
}

function setManaged(object: JsonObject, managed: Managed): void {
  const meta = isObject(object.metadata) ? object.metadata : (object.metadata = {});
  const encoded = encodeManaged(managed);
  if (encoded) meta.managedFields = encoded;
  else delete meta.managedFields;
}

/** structured-merge-diff's update(): ownership moves on what changed from OLD to NEXT. */
function updateOwnership(
  old: JsonObject,
  next: JsonObject,
  managed: Managed,
  workflow: string,
  ctx: FieldManagerContext,
  force: boolean,
): { managed: Managed; added: FieldSet; modified: FieldSet; removed: FieldSet } {
  // The typed values of the real field manager come from the Go objects: encoded.
  const cmp = compare(encode(old, ctx.type), encode(next, ctx.type), ctx.type);
  const filter = (s: FieldSet) => (ctx.reset ? s.recursiveDifference(ctx.reset) : s);
  const added = filter(cmp.added);
  const modified = filter(cmp.modified);
  const removed = filter(cmp.removed);
  const changed = modified.union(added);
  const conflicts = new Map<string, FieldSet>();
  for (const [manager, entry] of managed) {
    if (manager === workflow) continue;
    const conflict = entry.set.intersection(changed);
    if (!conflict.empty()) conflicts.set(manager, conflict);
  }
  if (!force && conflicts.size > 0) throw conflictError(conflicts);
  const out: Managed = new Map();
  for (const [manager, entry] of managed) {
    let set = entry.set;
    if (manager !== workflow) {
      const conflict = conflicts.get(manager);
      if (conflict) set = set.difference(conflict);
      if (!removed.empty()) set = set.difference(removed);
    }
    if (!set.empty()) out.set(manager, { ...entry, set });
  }
  return { managed: out, added, modified, removed };
}

/** 409 Conflict naming each field and its manager (NewConflictError). */
function conflictError(conflicts: Map<string, FieldSet>): ApiError {
  const list: { manager: string; path: string }[] = [];
  for (const [manager, set] of conflicts)
    for (const p of set.paths()) list.push({ manager, path: pathString(p) });
  const printManager = (key: string): string => {
    const id = JSON.parse(key) as JsonObject;
    let out = JSON.stringify(id.manager);
    if (id.subresource) out += ` with subresource ${JSON.stringify(id.subresource)}`;
    if (id.operation === 'Update') out += ` using ${String(id.apiVersion)}`;
    return out;
  };
  let message: string;
  if (list.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(list[0]!.manager)}: ${list[0]!.path}`;
  } else {
    const lines: string[] = [];
    for (const manager of [...new Set(list.map((c) => c.manager))].sort()) {
      lines.push(`conflicts with ${printManager(manager)}:`);
      for (const c of list) if (c.manager === manager) lines.push(`- ${c.path}`);
    }
    message = `Apply failed with ${list.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, {
    causes: list.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${printManager(c.manager)}`,
      field: c.path,
    })),
  });
}

/** The update chain below skipNonApplied: ownership for an update by MANAGER (a name). */
function trackUpdate(
  live: JsonObject,
  next: JsonObject,
  managed: Managed,
  manager: string,
  ctx: FieldManagerContext,
): Managed {
  const key = identifier(manager, 'Update', ctx.apiVersion, ctx.subresource);
  const self = 'current-operation';
  const result = updateOwnership(live, next, managed, self, ctx, true);
  const out = result.managed;
  let set = (out.get(self)?.set ?? new FieldSet())
    .difference(result.removed)
    .union(result.modified)
    .union(result.added);
  set = set.difference(STRIP);
  out.delete(self);
  if (!set.empty()) {
    const previous = out.get(key);
    out.set(key, {
      set: previous ? set.union(previous.set) : set,
      apiVersion: ctx.apiVersion,
      applied: false,
      time: timestamp(),
    });
  }
  return capUpdateManagers(out);
}

/** capManagersManager: more than ten update managers merge, oldest first, into ancient-changes. */
function capUpdateManagers(managed: Managed): Managed {
  const updaters = [...managed].filter(([, e]) => !e.applied);
  if (updaters.length <= MAX_UPDATE_MANAGERS) return managed;
  const seconds = (e: Entry) => (e.time ? Math.floor(Date.parse(e.time) / 1000) : 0);
  updaters.sort(([ka, a], [kb, b]) => seconds(a) - seconds(b) || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (const [key, entry] of updaters) {
    if (length <= MAX_UPDATE_MANAGERS) break;
    const bucket = identifier('ancient-changes', 'Update', entry.apiVersion);
    const first = firstByVersion.get(entry.apiVersion);
    if (first === undefined) {
      firstByVersion.set(entry.apiVersion, key);
      continue;
    }
    if (!managed.has(bucket)) {
      managed.set(bucket, managed.get(first)!);
      managed.delete(first);
    }
    const into = managed.get(bucket)!;
    managed.set(bucket, {
      ...into,
      set: entry.set.union(into.set),
      ...(entry.time ? { time: entry.time } : {}),
    });
    managed.delete(key);
    length--;
  }
  return managed;
}

/**
 * Sets NEXT's managedFields for an update of LIVE (an empty object `{}` for a create) by
 * MANAGER. The managedFields a client sends are kept as the starting point when they are
 * valid and not empty (the main resource only); `[{}]` resets them.
 */
export function updateManagedFields(
  live: JsonObject,
  next: JsonObject,
  manager: string,
  ctx: FieldManagerContext,
): void {
  const liveManaged = decodeManaged(metadataOf(live).managedFields) ?? new Map();
  let managed: Managed = liveManaged;
  if (!ctx.subresource) {
    const sent = metadataOf(next).managedFields;
    if (Array.isArray(sent) && sent.length === 0) managed = new Map();
    else if (
      Array.isArray(sent) &&
      sent.length === 1 &&
      isObject(sent[0]) &&
      Object.keys(sent[0]).length === 0
    )
      managed = new Map();
    else {
      const decoded = decodeManaged(sent);
      if (decoded && decoded.size > 0) managed = decoded;
    }
  }
  if (isObject(next.metadata)) delete next.metadata.managedFields;
  // An existing object without managed fields stays so (skipNonAppliedManager).
  if (managed.size === 0 && metadataOf(live).uid !== undefined) return;
  setManaged(next, trackUpdate(live, next, managed, manager, ctx));
}

export interface ApplyResult {
  /** The object after the apply, with its managedFields; the live object when nothing changed. */
  object: JsonObject;
  changed: boolean;
}

/**
 * Server-side apply of CONFIG (the request's YAML, already checked for kind and apiVersion) to
 * LIVE (`{}` when the object does not exist yet) by MANAGER.
 */
export function applyConfiguration(
  live: JsonObject,
  config: JsonObject,
  manager: string,
  force: boolean,
  ctx: FieldManagerContext,
): ApplyResult {
  let managed = decodeManaged(metadataOf(live).managedFields) ?? new Map<string, Entry>();
  let base = encode(live, ctx.type) as JsonObject;
  if (managed.size === 0) {
    // skipNonAppliedManager: what the object holds so far belongs to before-first-apply.
    base = structuredClone(base);
    managed = trackUpdate({}, base, managed, 'before-first-apply', ctx);
    setManaged(base, managed);
  }
  const key = identifier(manager, 'Apply', ctx.apiVersion, ctx.subresource);
  const attempt = (forced: boolean) => applyTo(base, config, new Map(managed), key, forced, ctx);
  let result: { object: JsonObject | undefined; managed: Managed };
  try {
    result = attempt(force);
  } catch (error) {
    // lastAppliedManager: kubectl moving from client-side to server-side apply may take over
    // the fields its last-applied-configuration annotation still describes as they are.
    if (!(error instanceof ApiError) || manager !== 'kubectl' || force) throw error;
    const allowed = allowedFromLastApplied(base, ctx);
    const causes = error.details?.causes ?? [];
    if (!allowed || causes.some((c) => !allowed.has(c.field ?? ''))) throw error;
    result = attempt(true);
  }
  let object = result.object;
  if (object) {
    result.managed.get(key)!.time = timestamp();
  }
  object ??= structuredClone(base);
  setManaged(object, result.managed);
  if (manager === 'kubectl') updateLastApplied(object, config);
  return { object, changed: !jsonEqual(object, live) };
}

/** Updater.Apply: merge, own the configuration's fields, prune, move ownership. */
function applyTo(
  live: JsonObject,
  config: JsonObject,
  managed: Managed,
  key: string,
  force: boolean,
  ctx: FieldManagerContext,
): { object: JsonObject | undefined; managed: Managed } {
  let next = merge(live, config, ctx.type) as JsonObject;
  const lastSet = managed.get(key)?.set;
  let set = toFieldSet(config, ctx.type);
  if (ctx.reset) set = set.recursiveDifference(ctx.reset);
  const time = managed.get(key)?.time;
  managed.set(key, { set, apiVersion: ctx.apiVersion, applied: true, ...(time ? { time } : {}) });
  if (lastSet && !lastSet.empty()) next = prune(next, managed, lastSet, ctx.type);
  const result = updateOwnership(live, next, managed, key, ctx, force);
  const mine = result.managed.get(key);
  if (mine) {
    const stripped = mine.set.difference(STRIP);
    if (stripped.empty()) result.managed.delete(key);
    else result.managed.set(key, { ...mine, set: stripped });
  }
  const same = jsonEqual(withoutManaged(live), withoutManaged(next));
  return { object: same ? undefined : next, managed: result.managed };
}

function withoutManaged(object: JsonObject): JsonObject {
  const meta = { ...metadataOf(object) };
  delete meta.managedFields;
  return { ...object, metadata: meta };
}

/** Updater.prune: remove what the applier owned last time and nobody owns now. */
function prune(merged: JsonObject, managed: Managed, lastSet: FieldSet, type: TypeRef): JsonObject {
  const named = (s: FieldSet) => s.ensureNamedFieldsAreMembers(type);
  const asObject = (v: unknown) => (isObject(v) ? v : {});
  let pruned = asObject(removeItems(merged, named(lastSet), type));
  // addBackOwnedItems
  let owned = new FieldSet();
  for (const entry of managed.values()) owned = owned.union(entry.set);
  const mergedSet = named(toFieldSet(merged, type));
  pruned = asObject(
    removeItems(merged, mergedSet.difference(named(toFieldSet(pruned, type)).union(named(owned))), type),
  );
  // addBackDanglingItems
  const prunedSet = named(toFieldSet(pruned, type));
  return asObject(removeItems(merged, mergedSet.difference(prunedSet).intersection(named(lastSet)), type));
}

/** The fields kubectl's last-applied-configuration annotation still describes as they are. */
function allowedFromLastApplied(live: JsonObject, ctx: FieldManagerContext): Set<string> | undefined {
  const annotations = metadataOf(live).annotations;
  const text = isObject(annotations) ? annotations[LAST_APPLIED] : undefined;
  if (typeof text !== 'string' || text === '') return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(last) || last.apiVersion !== ctx.apiVersion) return undefined;
  const cmp = compare(last, live, ctx.type);
  const set = toFieldSet(last, ctx.type)
    .difference(cmp.modified)
    .difference(cmp.added)
    .difference(cmp.removed);
  return new Set(set.paths().map(pathString));
}

/** lastAppliedUpdater: kubectl's server-side apply keeps an existing annotation current. */
function updateLastApplied(object: JsonObject, config: JsonObject): void {
  const annotations = metadataOf(object).annotations;
  if (!isObject(annotations) || typeof annotations[LAST_APPLIED] !== 'string' || !annotations[LAST_APPLIED])
    return;
  const copy = structuredClone(config);
  const meta = isObject(copy.metadata) ? copy.metadata : undefined;
  if (meta && isObject(meta.annotations)) delete meta.annotations[LAST_APPLIED];
  // Encoded as Go encodes a map: keys sorted, then a newline.
  annotations[LAST_APPLIED] = `${JSON.stringify(sortKeys(copy))}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys(value[k])]),
  );
}
