/**
 * A set of strings kept in order (JavaScript's `<` on strings, like etcd's byte-ordered keys), so
 * that a list reads a collection in order instead of sorting all of it on every call. An insert or
 * delete finds its place by binary search and shifts the tail of one array, which costs far less
 * than a sort; keys sharing a prefix (one namespace's `namespace/name` keys) sit next to each
 * other, so a prefix is one binary search and a walk over just those keys.
 */
export class SortedKeys {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key not less than `key` (keys.length when all are less). */
  private lowerBound(key: string): number {
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.keys[middle]! < key) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  add(key: string): void {
    const last = this.keys[this.keys.length - 1];
    // Keys made in order (name-0, name-1, ... or a relist) just append.
    if (last === undefined || last < key) {
      this.keys.push(key);
      return;
    }
    const at = this.lowerBound(key);
    if (this.keys[at] !== key) this.keys.splice(at, 0, key);
  }

  delete(key: string): boolean {
    const at = this.lowerBound(key);
    if (this.keys[at] !== key) return false;
    this.keys.splice(at, 1);
    return true;
  }

  /** All keys in order, or only those starting with `prefix`; a new array the caller may keep. */
  list(prefix?: string): string[] {
    if (prefix === undefined) return this.keys.slice();
    const out: string[] = [];
    for (let i = this.lowerBound(prefix); i < this.keys.length && this.keys[i]!.startsWith(prefix); i++) {
      out.push(this.keys[i]!);
    }
    return out;
  }
}
