/**
 * Server-side apply, best effort. The real server tracks which field manager owns which field
 * (metadata.managedFields) to merge, prune and detect conflicts. Here each manager's last applied
 * configuration is remembered per object instead: an apply merges the new configuration
 * strategically over the live object, then removes what the same manager applied last time and
 * no longer applies. Fields set by others are kept; conflicts between managers are not detected.
 */
import { clone, isObject, type JsonObject } from './json.js';
import { applyStrategicMergePatch, strategyFor } from './strategic-merge.js';

/** Removes from `live` what `previous` had and `next` lacks, walking maps and keyed lists. */
function prune(live: JsonObject, previous: JsonObject, next: JsonObject, kind: string, path: string): void {
  for (const [key, before] of Object.entries(previous)) {
    const childPath = path ? `${path}.${key}` : key;
    if (!(key in next)) {
      delete live[key];
      continue;
    }
    const after = next[key];
    const current = live[key];
    if (isObject(before) && isObject(after) && isObject(current)) {
      prune(current, before, after, kind, childPath);
    } else if (Array.isArray(before) && Array.isArray(after) && Array.isArray(current)) {
      const strategy = strategyFor(kind, childPath);
      if (typeof strategy !== 'object') continue;
      const keyOf = (e: unknown): unknown => (isObject(e) ? e[strategy.mergeKey] : undefined);
      const kept = new Set(after.map(keyOf));
      const dropped = new Set(before.map(keyOf).filter((k) => !kept.has(k)));
      live[key] = current.filter((e) => !dropped.has(keyOf(e)));
      for (const element of live[key] as unknown[]) {
        const was = before.find((e) => keyOf(e) === keyOf(element));
        const now = after.find((e) => keyOf(e) === keyOf(element));
        if (isObject(element) && isObject(was) && isObject(now)) prune(element, was, now, kind, childPath);
      }
    }
  }
}

export class AppliedConfigurations {
  private readonly byObject = new Map<string, Map<string, JsonObject>>();

  /** The live object after `manager` applies `config` to it. */
  apply(objectKey: string, manager: string, live: JsonObject, config: JsonObject, kind: string): JsonObject {
    const result = applyStrategicMergePatch(live, config, kind) as JsonObject;
    const previous = this.byObject.get(objectKey)?.get(manager);
    if (previous) prune(result, previous, config, kind, '');
    return result;
  }

  /** Remembers what `manager` applied, once the write succeeded. */
  remember(objectKey: string, manager: string, config: JsonObject): void {
    let managers = this.byObject.get(objectKey);
    if (!managers) {
      managers = new Map();
      this.byObject.set(objectKey, managers);
    }
    const remembered = clone(config);
    if (isObject(remembered.metadata)) delete remembered.metadata.resourceVersion;
    managers.set(manager, remembered);
  }

  forget(objectKey: string): void {
    this.byObject.delete(objectKey);
  }
}
