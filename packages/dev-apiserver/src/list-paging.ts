/**
 * `limit` and `continue` for list: pages in key order with an opaque continue token holding the
 * resourceVersion of the first page and the last key served. Unlike the real server (which reads
 * a consistent etcd snapshot at that revision), later pages show the current state.
 */
import { badRequest } from './errors.js';
import type { JsonObject } from './json.js';

interface ContinueToken {
  rv: number;
  start: string;
}

function keyOf(object: JsonObject): string {
  const meta = object.metadata as JsonObject;
  return meta.namespace ? `${String(meta.namespace)}/${String(meta.name)}` : String(meta.name);
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof parsed.rv !== 'number' || typeof parsed.start !== 'string') throw new Error('shape');
    return parsed;
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}

export interface Page {
  items: JsonObject[];
  resourceVersion: number;
  continueToken?: string;
  remainingItemCount?: number;
}

/** Cuts one page out of `items` (already filtered and sorted by key). */
export function paginate(
  items: JsonObject[],
  currentRv: number,
  limit?: number,
  continueToken?: string,
): Page {
  let rest = items;
  let rv = currentRv;
  if (continueToken) {
    const token = decodeContinue(continueToken);
    // -1: continue in the current state (the token an expired one is traded for).
    if (token.rv !== -1) rv = token.rv;
    rest = items.filter((o) => keyOf(o) > token.start);
  }
  if (limit === undefined || limit <= 0 || rest.length <= limit) return { items: rest, resourceVersion: rv };
  const page = rest.slice(0, limit);
  const next: ContinueToken = { rv, start: keyOf(page[page.length - 1]!) };
  return {
    items: page,
    resourceVersion: rv,
    continueToken: encodeContinue(next),
    remainingItemCount: rest.length - limit,
  };
}
