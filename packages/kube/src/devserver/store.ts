/**
 * The in-memory object store: one map per resource, keyed by namespace/name, and the single
 * global resourceVersion counter (like etcd's revision) that every write advances. Stored objects
 * are never mutated after they are stored, so readers and watch events can share them.
 */
import type { JsonObject } from './json.js';
import type { WatchHub } from './watch-hub.js';

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function metadataOf(object: JsonObject): JsonObject {
  return object.metadata as JsonObject;
}

export class Store {
  private revision = 0;
  private readonly collections = new Map<string, Map<string, JsonObject>>();

  constructor(private readonly hub: WatchHub) {}

  get resourceVersion(): number {
    return this.revision;
  }

  private collection(name: string): Map<string, JsonObject> {
    let c = this.collections.get(name);
    if (!c) {
      c = new Map();
      this.collections.set(name, c);
    }
    return c;
  }

  get(collection: string, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.collections.get(collection)?.get(keyOf(namespace, name));
  }

  /** Objects of a collection (one namespace or all), sorted by namespace then name like etcd keys. */
  list(collection: string, namespace?: string): JsonObject[] {
    const all = this.collections.get(collection);
    if (!all) return [];
    const items: [string, JsonObject][] = [];
    for (const [key, object] of all) {
      if (namespace === undefined || metadataOf(object).namespace === namespace) items.push([key, object]);
    }
    items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return items.map(([, o]) => o);
  }

  /** Stores a new or changed object, stamping the next resourceVersion; returns the stored object. */
  put(collection: string, object: JsonObject): JsonObject {
    const meta = metadataOf(object);
    const key = keyOf(meta.namespace as string | undefined, meta.name as string);
    const objects = this.collection(collection);
    const previous = objects.get(key);
    this.revision++;
    const stored: JsonObject = { ...object, metadata: { ...meta, resourceVersion: String(this.revision) } };
    objects.set(key, stored);
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
    const objects = this.collections.get(collection);
    const key = keyOf(namespace, name);
    const previous = objects?.get(key);
    if (!objects || !previous) return undefined;
    objects.delete(key);
    this.revision++;
    const removed: JsonObject = {
      ...previous,
      metadata: { ...metadataOf(previous), resourceVersion: String(this.revision) },
    };
    this.hub.publish({ resourceVersion: this.revision, type: 'DELETED', collection, object: removed });
    return removed;
  }
}
