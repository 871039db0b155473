/**
 * The change feed behind watch: every write becomes an event stamped with the global
 * resourceVersion, kept in a bounded history (like etcd's compaction window) and fanned out to
 * live subscribers. A watch may resume from any resourceVersion still covered by the history;
 * older ones get 410 Gone (reason Expired), which tells clients to list again.
 */
import { expired } from './errors.js';
import type { JsonObject } from './json.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  resourceVersion: number;
  type: EventType;
  /** Storage key of the resource (see resources.ts). */
  collection: string;
  object: JsonObject;
  /** The object before the change (MODIFIED and DELETED): selectors decide membership on both sides. */
  previous?: JsonObject;
}

export type Subscriber = (event: StoreEvent) => void;

export class WatchHub {
  private readonly ring: (StoreEvent | undefined)[];
  private start = 0;
  private count = 0;
  /** Events up to and including this resourceVersion are gone from the history. */
  private evictedThrough = 0;
  private readonly subscribers = new Set<Subscriber>();

  constructor(readonly historyLimit: number) {
    if (!Number.isInteger(historyLimit) || historyLimit < 1)
      throw new Error('historyLimit must be a positive integer');
    this.ring = new Array<StoreEvent | undefined>(historyLimit);
  }

  publish(event: StoreEvent): void {
    if (this.count === this.historyLimit) {
      this.evictedThrough = this.ring[this.start]!.resourceVersion;
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.historyLimit;
    } else {
      this.ring[(this.start + this.count) % this.historyLimit] = event;
      this.count++;
    }
    for (const subscriber of this.subscribers) subscriber(event);
  }

  private at(i: number): StoreEvent {
    return this.ring[(this.start + i) % this.historyLimit]!;
  }

  /** The events after `resourceVersion`, oldest first; throws 410 Expired when some were evicted. */
  since(resourceVersion: number): StoreEvent[] {
    if (resourceVersion < this.evictedThrough) throw expired(resourceVersion, this.evictedThrough + 1);
    // Binary search for the first event newer than resourceVersion.
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.at(mid).resourceVersion <= resourceVersion) lo = mid + 1;
      else hi = mid;
    }
    const events: StoreEvent[] = [];
    for (let i = lo; i < this.count; i++) events.push(this.at(i));
    return events;
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}
