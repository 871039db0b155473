/**
 * A read-only view of a map that remembers the keys asked for. The compiler (compiler.ts) gives a
 * route's compile a view of the Services and keeps the names it read: they are what the compiled
 * route depends on, found or not (a Service created later must compile the route again).
 */
export class RecordingMap<K, V> implements ReadonlyMap<K, V> {
  readonly read = new Set<K>();

  constructor(private readonly inner: ReadonlyMap<K, V>) {}

  get(key: K): V | undefined {
    this.read.add(key);
    return this.inner.get(key);
  }

  has(key: K): boolean {
    this.read.add(key);
    return this.inner.has(key);
  }

  get size(): number {
    return this.inner.size;
  }

  // Iterating reads everything: a compile that does so depends on every key, which we cannot
  // track per key; none does today, so this is refused rather than silently half-tracked.
  forEach(): void {
    throw new Error('RecordingMap: iteration is not tracked');
  }

  entries(): MapIterator<[K, V]> {
    throw new Error('RecordingMap: iteration is not tracked');
  }

  keys(): MapIterator<K> {
    throw new Error('RecordingMap: iteration is not tracked');
  }

  values(): MapIterator<V> {
    throw new Error('RecordingMap: iteration is not tracked');
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    throw new Error('RecordingMap: iteration is not tracked');
  }
}
