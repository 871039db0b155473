/**
 * JSON Merge Patch, RFC 7386 section 2: objects merge recursively, `null` deletes a member, and
 * anything else (arrays included) replaces the target value.
 */
import { clone, isObject } from './json.js';

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}
