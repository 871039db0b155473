/**
 * One watch request: a chunked HTTP response of newline-delimited JSON watch events
 * (`{"type":"ADDED","object":{...}}`). It starts with the current state (no or "0"
 * resourceVersion) or the events after the given resourceVersion, then follows the live feed.
 * Selector membership is judged on both sides of a change, so an object that stops matching is
 * sent as DELETED and one that starts matching as ADDED, as the real server does. Bookmarks are
 * sent when asked for; a resourceVersion older than the history gets one ERROR event carrying a
 * 410 Expired Status, then the stream ends.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, invalidResourceVersion, tooLargeResourceVersion } from './errors.js';
import type { JsonObject } from './json.js';
import type { Filter, Registry, Scope } from './registry.js';
import { apiVersionOf, storageKeyOf } from './resources.js';
import { objectJson } from './serialize.js';
import type { StoreEvent, WatchHub } from './watch-hub.js';

export interface WatchQuery {
  resourceVersion?: string | null;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  labelSelector?: string | null;
  fieldSelector?: string | null;
}

export interface WatchOptions {
  bookmarkIntervalMs: number;
  /** Renders an event's object (for Table watches); `first` is true for the first event sent. */
  render?: (object: JsonObject, first: boolean) => string;
}

type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * How an event looks to a watcher with this filter, if at all: an object that stops matching is
 * DELETED, and like the real server's watch the event then carries the object as it was before
 * the change, with the change's resourceVersion.
 */
function translate(
  event: StoreEvent,
  collection: string,
  filter: Filter,
): { type: WatchType; object: JsonObject } | undefined {
  if (event.collection !== collection) return undefined;
  const now = filter.matches(event.object);
  if (event.type !== 'MODIFIED') return now ? { type: event.type, object: event.object } : undefined;
  const before = event.previous !== undefined && filter.matches(event.previous);
  if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: event.object };
  if (!before) return undefined;
  const previous = event.previous!;
  const metadata = { ...(previous.metadata as JsonObject), resourceVersion: String(event.resourceVersion) };
  return { type: 'DELETED', object: { ...previous, metadata } };
}

export function serveWatch(
  registry: Registry,
  hub: WatchHub,
  scope: Scope,
  query: WatchQuery,
  response: ServerResponse,
  options: WatchOptions,
): void {
  const filter = registry.compileFilter(scope, query);
  const collection = storageKeyOf(scope.resource);
  const bookmarkKind = { kind: scope.resource.kind, apiVersion: apiVersionOf(scope.resource) };

  const requested = query.resourceVersion ?? '';
  if (requested !== '' && !/^\d+$/.test(requested)) throw invalidResourceVersion(requested);
  const fromState = requested === '' || requested === '0' || query.sendInitialEvents === true;

  let backlog: StoreEvent[] = [];
  let startError: ApiError | undefined;
  if (!fromState && Number(requested) > registry.store.resourceVersion) {
    // The real watch cache waits a few seconds for a future resourceVersion, then gives up so.
    startError = tooLargeResourceVersion(Number(requested), registry.store.resourceVersion);
  } else if (!fromState) {
    try {
      backlog = hub.since(Number(requested));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      startError = error;
    }
  }

  response.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  response.flushHeaders();

  const write = (type: string, objectText: string): void => {
    if (response.writableEnded) return;
    response.write(`{"type":"${type}","object":${objectText}}\n`);
    // A watcher that does not read is cut off, as the real server drops watchers whose buffer
    // fills up; the client re-watches from the last resourceVersion it saw.
    if (response.writableLength > MAX_BUFFERED_BYTES) response.end();
  };
  let first = true;
  const render = (object: JsonObject): string => {
    const text = options.render ? options.render(object, first) : objectJson(object);
    first = false;
    return text;
  };
  const bookmark = (annotations?: Record<string, string>): void => {
    const metadata: JsonObject = { resourceVersion: String(registry.store.resourceVersion) };
    if (annotations) metadata.annotations = annotations;
    write('BOOKMARK', JSON.stringify({ ...bookmarkKind, metadata }));
  };

  if (startError) {
    write('ERROR', JSON.stringify(startError.toStatus()));
    response.end();
    return;
  }

  // Replay and subscription happen in the same tick: no event can fall between them.
  if (fromState) {
    for (const object of registry.select(scope, filter)) write('ADDED', render(object));
    if (query.sendInitialEvents && query.allowWatchBookmarks)
      bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    for (const event of backlog) {
      const seen = translate(event, collection, filter);
      if (seen) write(seen.type, render(seen.object));
    }
  }
  const unsubscribe = hub.subscribe((event) => {
    const seen = translate(event, collection, filter);
    if (seen) write(seen.type, render(seen.object));
  });

  const timers: NodeJS.Timeout[] = [];
  if (query.allowWatchBookmarks) timers.push(setInterval(() => bookmark(), options.bookmarkIntervalMs));
  if (query.timeoutSeconds !== undefined && query.timeoutSeconds > 0) {
    timers.push(
      setTimeout(() => {
        if (query.allowWatchBookmarks) bookmark();
        response.end();
      }, query.timeoutSeconds * 1000),
    );
  }
  const stop = (): void => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
  };
  response.on('close', stop);
  response.on('finish', stop);
}
