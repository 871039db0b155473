// The development API server's store keeps every collection in key order (namespace/name, as etcd
// and kubectl list them) through inserts, updates and deletes, without sorting per list.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SortedKeys } from '../src/sorted-keys.js';
import { Store } from '../src/store.js';
import { WatchHub } from '../src/watch-hub.js';
import type { JsonObject } from '../src/json.js';

/** A small deterministic generator (LCG; its high bits, the low ones cycle) so a failure can be replayed. */
function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return Math.floor((state / 2 ** 32) * below);
  };
}

function keyOf(object: JsonObject): string {
  const meta = object.metadata as JsonObject;
  return meta.namespace ? `${String(meta.namespace)}/${String(meta.name)}` : String(meta.name);
}

function service(namespace: string, name: string, spec: JsonObject = {}): JsonObject {
  return { metadata: { namespace, name }, spec };
}

/** Reference order: all keys, sorted like strings. */
function expected(keys: Iterable<string>, namespace?: string): string[] {
  return [...keys].filter((k) => namespace === undefined || k.startsWith(`${namespace}/`)).sort();
}

describe('Store list order', () => {
  afterEach(() => vi.restoreAllMocks());

  it('lists in key order after shuffled inserts, updates and deletes, per namespace too', () => {
    const store = new Store(new WatchHub(100));
    const next = random(7);
    // "a" and "a-b" sort differently as tuples and as keys ('-' < '/'): keys (etcd) order wins.
    const namespaces = ['a', 'a-b', 'kube-system', 'z'];
    const live = new Set<string>();
    for (let step = 0; step < 2000; step++) {
      const namespace = namespaces[next(namespaces.length)]!;
      const name = `svc-${next(300)}`;
      const key = `${namespace}/${name}`;
      const action = next(3);
      if (action === 0) {
        store.remove('services', namespace, name);
        live.delete(key);
      } else {
        store.put('services', service(namespace, name, { step }));
        live.add(key);
      }
      if (step % 97 === 0) expect(store.list('services').map(keyOf)).toEqual(expected(live));
    }
    expect(live.size).toBeGreaterThan(100);
    expect(store.list('services').map(keyOf)).toEqual(expected(live));
    for (const namespace of [...namespaces, 'absent']) {
      expect(store.list('services', namespace).map(keyOf)).toEqual(expected(live, namespace));
    }
    expect(store.list('services', 'a').every((o) => (o.metadata as JsonObject).namespace === 'a')).toBe(true);
  });

  it('returns the latest version of each object once', () => {
    const store = new Store(new WatchHub(100));
    store.put('services', service('ns', 'b'));
    store.put('services', service('ns', 'a'));
    store.put('services', service('ns', 'b', { version: 2 }));
    const items = store.list('services');
    expect(items.map(keyOf)).toEqual(['ns/a', 'ns/b']);
    expect(items[1]!.spec).toEqual({ version: 2 });
  });

  it('keeps cluster-scoped collections in name order and apart from namespaced lookups', () => {
    const store = new Store(new WatchHub(100));
    for (const name of ['node-b', 'node-a', 'node-c']) store.put('nodes', { metadata: { name } });
    store.remove('nodes', undefined, 'node-b');
    expect(store.list('nodes').map(keyOf)).toEqual(['node-a', 'node-c']);
    expect(store.list('nodes', 'node-a')).toEqual([]);
    expect(store.list('absent')).toEqual([]);
  });

  it('hands out a copy that stays valid while the store changes', () => {
    const store = new Store(new WatchHub(100));
    for (const name of ['x', 'y', 'z']) store.put('services', service('ns', name));
    const listed = store.list('services', 'ns');
    for (const object of listed) store.remove('services', 'ns', String((object.metadata as JsonObject).name));
    expect(listed.map(keyOf)).toEqual(['ns/x', 'ns/y', 'ns/z']);
    expect(store.list('services')).toEqual([]);
  });

  it('does not sort the collection on a list', () => {
    const store = new Store(new WatchHub(100));
    for (let i = 999; i >= 0; i--) store.put('services', service(`ns-${i % 5}`, `svc-${i}`));
    const sort = vi.spyOn(Array.prototype, 'sort');
    const all = store.list('services');
    const one = store.list('services', 'ns-3');
    expect(sort).not.toHaveBeenCalled();
    sort.mockRestore();
    expect(all.map(keyOf)).toEqual(all.map(keyOf).sort());
    expect(one).toHaveLength(200);
  });
});

describe('SortedKeys', () => {
  it('matches a sorted set under random adds and deletes, and finds prefixes', () => {
    const keys = new SortedKeys();
    const model = new Set<string>();
    const next = random(42);
    for (let step = 0; step < 3000; step++) {
      const key = `${'abc'[next(3)]}${next(2) ? '/' : '-'}${next(50)}`;
      if (next(4) === 0) expect(keys.delete(key)).toBe(model.delete(key));
      else {
        keys.add(key);
        model.add(key);
      }
    }
    expect(keys.size).toBe(model.size);
    expect(keys.list()).toEqual([...model].sort());
    expect(keys.list('b/')).toEqual([...model].filter((k) => k.startsWith('b/')).sort());
    expect(keys.list('d/')).toEqual([]);
  });
});
