/**
 * A list-then-watch cache of one resource, on the shared ApiClient. It lists (in pages), then
 * watches from the list's resourceVersion with bookmarks; when that resourceVersion has expired
 * (410 Gone, after an etcd compaction) it lists again and reports only the differences from what
 * it already knew, so a handler never sees an event twice or misses one. Connection failures are
 * retried with capped back-off while the cache keeps its contents. Objects can be projected to
 * the fields the caller reads, so the cache holds plain, small objects.
 */
import type { ApiClient } from './api-client.js';
import { ApiError } from './api-client.js';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
}

export interface Listed {
  metadata?: ObjectMeta;
}

export type ReflectorEvent<T> =
  { type: 'add'; object: T } | { type: 'update'; object: T; old: T } | { type: 'delete'; object: T };

export interface ReflectorOptions<T> {
  /** Collection path, e.g. `/api/v1/services` or `/api/v1/namespaces/ns/configmaps`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Keeps what the caller reads of each object (default: the whole object). */
  project?: (object: Listed) => T;
  onEvent: (event: ReflectorEvent<T>) => void;
  /** Failures (each retried); the cache stays as it was. */
  onError?: (err: unknown) => void;
  pageSize?: number;
  maxBackoffMs?: number;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Listed & { code?: number; reason?: string; message?: string };
}

const keyOf = (meta: ObjectMeta | undefined) => `${meta?.namespace ?? ''}/${meta?.name ?? ''}`;

export class Reflector<T extends Listed> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private backoffMs = 250;
  readonly synced: Promise<void>;
  private markSynced!: () => void;
  /** Completed lists (the first one and every relist after 410 Gone). */
  lists = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly options: ReflectorOptions<T>,
  ) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Starts listing and watching; resolves at once (await `synced` for the first list). */
  start(): void {
    void this.loop();
  }

  stop(): void {
    this.abort.abort();
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** The resourceVersion the next watch resumes from ('' before the first list and after 410 Gone). */
  get latestResourceVersion(): string {
    return this.resourceVersion;
  }

  /** A throwing handler must not end the watch: its error is reported, the stream goes on. */
  private emit(event: ReflectorEvent<T>): void {
    try {
      this.options.onEvent(event);
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.watchOnce();
        this.backoffMs = 250;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof ApiError && err.code === 410) {
          this.resourceVersion = ''; // expired: list again, at once
          continue;
        }
        this.options.onError?.(err);
        await new Promise((r) => setTimeout(r, this.backoffMs));
        this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 5_000);
      }
    }
  }

  private async relist(): Promise<void> {
    const project = this.options.project ?? ((o: Listed) => o as T);
    const seen = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.client.request<{
        metadata: { resourceVersion: string; continue?: string };
        items: Listed[];
      }>('GET', this.options.path, {
        query: {
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          limit: this.options.pageSize ?? 500,
          continue: continueToken,
        },
        signal: this.abort.signal,
      });
      for (const item of page.items) seen.set(keyOf(item.metadata), project(item));
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);

    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit({ type: 'delete', object: old });
      }
    }
    for (const [key, object] of seen) {
      const old = this.cache.get(key);
      this.cache.set(key, object);
      if (!old) this.emit({ type: 'add', object });
      else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion)
        this.emit({ type: 'update', object, old });
    }
    this.resourceVersion = resourceVersion;
    this.lists++;
    this.markSynced();
  }

  private async watchOnce(): Promise<void> {
    const project = this.options.project ?? ((o: Listed) => o as T);
    // The server ends a watch after timeoutSeconds; spread them so informers do not reconnect together.
    const timeoutSeconds = 240 + Math.floor(Math.random() * 120);
    await this.client.watch(
      this.options.path,
      {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (raw) => {
        const event = raw as WatchEvent;
        if (event.type === 'ERROR') {
          const status = event.object;
          throw new ApiError(
            status.code ?? 500,
            status.reason,
            `watch ${this.options.path}: ${status.message ?? ''}`,
          );
        }
        const rv = event.object.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (event.type === 'BOOKMARK') return;
        const key = keyOf(event.object.metadata);
        const object = project(event.object);
        const old = this.cache.get(key);
        if (event.type === 'DELETED') {
          this.cache.delete(key);
          this.emit({ type: 'delete', object: old ?? object });
        } else {
          this.cache.set(key, object);
          this.emit(old ? { type: 'update', object, old } : { type: 'add', object });
        }
      },
      this.abort.signal,
    );
  }
}
