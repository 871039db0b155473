/**
 * What a row of the request table is, and the helpers that keep the table short. A row is one
 * request sent to both servers: a REST call, a kubectl command, a watch (read at once, or opened
 * here and read by a later row, so the writes between them arrive live), or an etcd compaction.
 *
 * Paths, bodies and kubectl arguments may hold placeholders that each server fills from its own
 * earlier answers: `{{rv:ID}}` (metadata.resourceVersion of row ID's answer), `{{uid:ID}}` and
 * `{{continue:ID}}` (a list's continue token, URL-encoded).
 */

export type Body = unknown;

export interface RestStep {
  id: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: Body;
  /** Content-Type; JSON when absent. */
  contentType?: string;
  accept?: string;
}

export interface KubectlStep {
  id: string;
  kubectl: string[];
  stdin?: string;
}

export interface WatchStep {
  id: string;
  /** The watch URL (watch=true is added). */
  watch: string;
  /** Events to wait for before the stream is closed. */
  count: number;
  /** When set, the watch is only opened here and read by the row `readBy`. */
  readBy?: string;
}

export interface WatchReadStep {
  id: string;
  /** The id of the WatchStep that opened the watch. */
  read: string;
}

export interface CompactStep {
  id: string;
  /** Compacts the real server's etcd to its current revision; the development server's history
   *  limit does the same by itself once enough writes passed. */
  compact: true;
}

export interface BurstStep {
  id: string;
  /** Sends the same write COUNT times to each server, uncompared (to move past a history limit). */
  burst: {
    count: number;
    method: 'PUT' | 'PATCH' | 'POST';
    path: string;
    body: (i: number) => Body;
    contentType?: string;
  };
}

export type Step = RestStep | KubectlStep | WatchStep | WatchReadStep | CompactStep | BurstStep;

export const MERGE = 'application/merge-patch+json';
export const STRATEGIC = 'application/strategic-merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const APPLY = 'application/apply-patch+yaml';
export const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export const get = (id: string, path: string, accept?: string): RestStep => ({
  id,
  method: 'GET',
  path,
  ...(accept ? { accept } : {}),
});
export const post = (id: string, path: string, body: Body, contentType?: string): RestStep => ({
  id,
  method: 'POST',
  path,
  body,
  ...(contentType ? { contentType } : {}),
});
export const put = (id: string, path: string, body: Body): RestStep => ({ id, method: 'PUT', path, body });
export const patch = (id: string, path: string, contentType: string, body: Body): RestStep => ({
  id,
  method: 'PATCH',
  path,
  body,
  contentType,
});
/** Server-side apply as FIELD_MANAGER (a query parameter the request must carry). */
export const apply = (id: string, path: string, manager: string, body: Body, force = false): RestStep =>
  patch(
    id,
    `${path}${path.includes('?') ? '&' : '?'}fieldManager=${manager}${force ? '&force=true' : ''}`,
    APPLY,
    body,
  );
export const del = (id: string, path: string, body?: Body): RestStep => ({
  id,
  method: 'DELETE',
  path,
  ...(body !== undefined ? { body } : {}),
});
export const kubectl = (id: string, args: string[], stdin?: string): KubectlStep => ({
  id,
  kubectl: args,
  ...(stdin !== undefined ? { stdin } : {}),
});
export const watch = (id: string, path: string, count: number): WatchStep => ({ id, watch: path, count });
export const watchOpen = (id: string, path: string, count: number, readBy: string): WatchStep => ({
  id,
  watch: path,
  count,
  readBy,
});
export const watchRead = (id: string, opened: string): WatchReadStep => ({ id, read: opened });
export const compact = (id: string): CompactStep => ({ id, compact: true });
export const burst = (id: string, spec: BurstStep['burst']): BurstStep => ({ id, burst: spec });

export function isRest(step: Step): step is RestStep {
  return 'method' in step;
}
