/**
 * Gateway table deltas for the primary -> worker channel, like the Ingress ones (../delta.ts): a
 * worker gets every listener once, then only what changed: a listener's head (port, protocol,
 * hostname, certificates), the hostname lists of its entries that changed, and the backends that
 * changed. A route change at 10,000 routes is then one hostname's list, not the 2.8 MB table; the
 * worker patches its copy and hands the proxy listeners whose hostname index is already built.
 *
 * What changed is found by identity first (the compiler returns the same listener, list and entry
 * objects for what it did not touch), then by value, so a table compiled whole each time (a test,
 * `compileGateways`) gives the right, only larger, deltas.
 */
import { samePlain, type Changes } from '../delta.js';
import type { BackendEntry } from '../table.js';
import type { ServedListener } from './compile.js';
import { compareHostKeys, hostIndex, indexedListener, type HostIndex } from './match.js';
import type { RouteEntry } from './precedence.js';
import type { GatewayTable } from './serving.js';

/** A listener without its routes. */
export type ListenerHead = Omit<ServedListener, 'routes'>;

export interface HostRoutesChange {
  /** The listener's key (`gateway namespace/name/listener name`). */
  readonly listener: string;
  /** The hostname ('' for the entries without one). */
  readonly host: string;
  /** The new list in precedence order; null: the hostname has no entries any more. */
  readonly entries: readonly RouteEntry[] | null;
}

export interface GatewayDelta {
  readonly version: number;
  /** Every listener's key, in the table's order (which decides ties between listeners). */
  readonly listeners: readonly string[];
  /** New listeners, and listeners whose head changed. */
  readonly heads: readonly ListenerHead[];
  readonly hosts: readonly HostRoutesChange[];
  readonly backends: Changes<BackendEntry>;
}

interface ListenerState {
  head: ListenerHead;
  /** The served listener these lists came from (the sender's), or that they make (the worker's). */
  listener: ServedListener | undefined;
  /** Never changed: replaced by a changed copy (a listener served until then keeps it as its index). */
  groups: HostIndex;
  order: string[] | undefined;
}

export function keyOfListener(l: { readonly gateway: string; readonly name: string }): string {
  return `${l.gateway}/${l.name}`;
}

/** The Gateway table a worker (or the primary, for what it sent) holds, patched by deltas. */
export class GatewayTableState {
  private listeners = new Map<string, ListenerState>();
  private order: readonly string[] = [];
  private readonly backends = new Map<string, BackendEntry>();
  private version = 0;

  /** What changed from this state to `table`; this state moves to `table`. */
  advance(table: GatewayTable): GatewayDelta {
    const heads: ListenerHead[] = [];
    const hosts: HostRoutesChange[] = [];
    const next = new Map<string, ListenerState>();
    for (const l of table.listeners) {
      const key = keyOfListener(l);
      const old = this.listeners.get(key);
      if (old?.listener === l) {
        next.set(key, old);
        continue;
      }
      const head = headOf(l);
      if (!old || !samePlain(old.head, head)) heads.push(head);
      const index: HostIndex = hostIndex(l);
      const before = old?.groups ?? new Map<string, readonly RouteEntry[]>();
      for (const [host, entries] of index) {
        const was = before.get(host);
        if (was !== entries && (was === undefined || !samePlain(was, entries)))
          hosts.push({ listener: key, host, entries });
      }
      for (const host of before.keys())
        if (!index.has(host)) hosts.push({ listener: key, host, entries: null });
      next.set(key, { head, listener: l, groups: index, order: undefined });
    }
    this.listeners = next;
    this.order = table.listeners.map(keyOfListener);
    const backends: Changes<BackendEntry> = { changed: [], removed: [] };
    const seen = new Set<string>();
    for (const b of table.backends) {
      seen.add(b.key);
      const old = this.backends.get(b.key);
      if (!old || !samePlain(old, b)) (backends.changed as BackendEntry[]).push(b);
      this.backends.set(b.key, b);
    }
    for (const key of [...this.backends.keys()])
      if (!seen.has(key)) {
        this.backends.delete(key);
        backends.removed.push(key);
      }
    this.version = table.version;
    return { version: table.version, listeners: this.order, heads, hosts, backends };
  }

  /** Everything this state holds, as a delta from nothing (for a worker that starts late). */
  full(): GatewayDelta {
    const heads: ListenerHead[] = [];
    const hosts: HostRoutesChange[] = [];
    for (const [key, s] of this.listeners) {
      heads.push(s.head);
      for (const [host, entries] of s.groups) hosts.push({ listener: key, host, entries });
    }
    return {
      version: this.version,
      listeners: this.order,
      heads,
      hosts,
      backends: { changed: [...this.backends.values()], removed: [] },
    };
  }

  /** Worker side: patches this state with `delta` and returns the table it now describes. */
  apply(delta: GatewayDelta): GatewayTable {
    const changed = new Set<string>();
    /** Per listener, the copy of its lists this delta edits. */
    const copies = new Map<string, Map<string, readonly RouteEntry[]>>();
    for (const head of delta.heads) {
      const key = keyOfListener(head);
      const s = this.listeners.get(key);
      if (s) s.head = head;
      else this.listeners.set(key, { head, listener: undefined, groups: new Map(), order: undefined });
      changed.add(key);
    }
    for (const { listener, host, entries } of delta.hosts) {
      const s = this.listeners.get(listener);
      if (!s)
        throw new Error(`gateway delta: hostname ${JSON.stringify(host)} of unknown listener ${listener}`);
      // A new Map: the listener served until now keeps the index it was given.
      let groups = copies.get(listener);
      if (!groups) copies.set(listener, (s.groups = groups = new Map(s.groups)));
      if (entries === null) {
        if (groups.delete(host)) s.order = undefined;
      } else {
        if (!groups.has(host)) s.order = undefined;
        groups.set(host, entries);
      }
      changed.add(listener);
    }
    const wanted = new Set(delta.listeners);
    for (const key of [...this.listeners.keys()]) if (!wanted.has(key)) this.listeners.delete(key);
    for (const key of delta.backends.removed) this.backends.delete(key);
    for (const b of delta.backends.changed) this.backends.set(b.key, b);
    this.order = delta.listeners;
    this.version = delta.version;
    const listeners = delta.listeners.map((key) => {
      const s = this.listeners.get(key);
      if (!s) throw new Error(`gateway delta: listener ${key} has no head`);
      if (!s.listener || changed.has(key)) {
        s.order ??= [...s.groups.keys()].sort(compareHostKeys);
        s.listener = indexedListener(s.head, s.groups, s.order);
      }
      return s.listener;
    });
    return { version: this.version, listeners, backends: [...this.backends.values()] };
  }
}

function headOf(l: ServedListener): ListenerHead {
  return {
    gateway: l.gateway,
    name: l.name,
    port: l.port,
    protocol: l.protocol,
    hostname: l.hostname,
    certificates: l.certificates,
  };
}
