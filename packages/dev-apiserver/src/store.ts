/**
 * The in-memory object store: one map per resource, keyed by namespace/name, and the single
 * global resourceVersion counter (like etcd's revision) that every write advances. Stored objects
 * are never mutated after they are stored, so readers and watch events can share them. Each
 * collection also keeps its keys sorted as they come and go, so lists come out in key order (as
 * from etcd, and as kubectl shows them) without a sort per list.
 */
import type { JsonObject } from './json.js';
import { SortedKeys } from './sorted-keys.js';
import type { WatchHub } from './watch-hub.js';

interface Collection {
  objects: Map<string, JsonObject>;
  order: SortedKeys;
}

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function metadataOf(object: JsonObject): JsonObject {
  return object.metadata as JsonObject;
}

export class Store {
  private revision = 0;
  private readonly collections = new Map<string, Collection>();

  constructor(private readonly hub: WatchHub) {}

  get resourceVersion(): number {
    return this.revision;
  }

  private collection(name: string): Collection {
    let c = this.collections.get(name);
    if (!c) {
      c = { objects: new Map(), order: new SortedKeys() };
      this.collections.set(name, c);
    }
    return c;
  }

  get(collection: string, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.collections.get(collection)?.objects.get(keyOf(namespace, name));
  }

  /**
   * Objects of a collection (one namespace or all) in key order, namespace/name like etcd keys.
   * A new array: callers may change the store while walking it (deleting a namespace's objects).
   */
  list(collection: string, namespace?: string): JsonObject[] {
    const c = this.collections.get(collection);
    if (!c) return [];
    // Names never contain '/', so "namespace/" prefixes exactly that namespace's keys.
    const keys = c.order.list(namespace === undefined ? undefined : `${namespace}/`);
    return keys.map((key) => c.objects.get(key)!);
  }

  /** Stores a new or changed object, stamping the next resourceVersion; returns the stored object. */
  put(collection: string, object: JsonObject): JsonObject {
    const meta = metadataOf(object);
    const key = keyOf(meta.namespace as string | undefined, meta.name as string);
    const { objects, order } = this.collection(collection);
    const previous = objects.get(key);
    this.revision++;
    const stored: JsonObject = { ...object, metadata: { ...meta, resourceVersion: String(this.revision) } };
    objects.set(key, stored);
    if (!previous) order.add(key);
    this.hub.publish({
      resourceVersion: this.revision,
      type: previous ? 'MODIFIED' : 'ADDED',
      collection,
      object: stored,
      ...(previous ? { previous } : {}),
    });
    return stored;
  }

  /** Removes an object; the DELETED event carries it with a fresh resourceVersion, as the real server. */
  remove(collection: string, namespace: string | undefined, name: string): JsonObject | undefined {
    const c = this.collections.get(collection);
    const key = keyOf(namespace, name);
    const previous = c?.objects.get(key);
    if (!c || !previous) return undefined;
    c.objects.delete(key);
    c.order.delete(key);
    this.revision++;
    const removed: JsonObject = {
      ...previous,
      metadata: { ...metadataOf(previous), resourceVersion: String(this.revision) },
    };
    this.hub.publish({
      resourceVersion: this.revision,
      type: 'DELETED',
      collection,
      object: removed,
      previous,
    });
    return removed;
  }

  /**
   * The objects of a collection as they were at REVISION, in key order: the current ones with
   * the history's later changes undone. Undefined when the history no longer reaches back there.
   */
  snapshot(collection: string, revision: number): JsonObject[] | undefined {
    let events;
    try {
      events = this.hub.since(revision);
    } catch {
      return undefined;
    }
    const state = new Map<string, JsonObject>();
    const c = this.collections.get(collection);
    if (c) for (const [key, object] of c.objects) state.set(key, object);
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]!;
      if (event.collection !== collection) continue;
      const meta = metadataOf(event.object);
      const key = keyOf(meta.namespace as string | undefined, meta.name as string);
      if (event.type === 'ADDED') state.delete(key);
      else state.set(key, event.previous!);
    }
    return [...state.keys()].sort().map((key) => state.get(key)!);
  }
}
