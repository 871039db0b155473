/**
 * Table deltas for the primary -> worker channel. A rule change touches one host; sending the
 * whole 10,000-rule table (about 1 MB) to every worker made structured-clone serialization the
 * largest part of a swap. The primary sends a full table once per worker, then only the hosts,
 * backends and certificates that changed; the worker patches its copy and indexes the result.
 */
import { isDeepStrictEqual } from 'node:util';
import type { BackendEntry, CertEntry, HostTable, PathEntry, RouteTable, Target } from './table.js';

export interface Changes<T> {
  readonly changed: readonly T[];
  readonly removed: string[];
}

export interface TableDelta {
  readonly version: number;
  readonly hosts: Changes<HostTable>;
  readonly backends: Changes<BackendEntry>;
  readonly certs: Changes<CertEntry>;
  readonly catchAll: Target | null;
  readonly tlsHosts: readonly string[];
}

/** The keys of the three patched collections (diff and patch must agree on them). */
const hostKey = (h: HostTable) => h.host;
const backendKey = (b: BackendEntry) => b.key;
const certKey = (c: CertEntry) => c.host;

/** The parts of a table a worker keeps, keyed for patching. */
export class TableState {
  readonly hosts = new Map<string, HostTable>();
  readonly backends = new Map<string, BackendEntry>();
  readonly certs = new Map<string, CertEntry>();
  private catchAll: Target | null = null;
  private tlsHosts: readonly string[] = [];
  private version = 0;

  /** Replaces everything with `table`. */
  reset(table: RouteTable): void {
    this.hosts.clear();
    this.backends.clear();
    this.certs.clear();
    this.apply({
      version: table.version,
      hosts: { changed: table.hosts, removed: [] },
      backends: { changed: table.backends, removed: [] },
      certs: { changed: table.certs, removed: [] },
      catchAll: table.catchAll,
      tlsHosts: table.tlsHosts,
    });
  }

  /** Computes what changed from this state to `next`, and moves this state to `next`. */
  advance(next: RouteTable): TableDelta {
    const delta: TableDelta = {
      version: next.version,
      hosts: diff(this.hosts, next.hosts, hostKey, sameHost),
      backends: diff(this.backends, next.backends, backendKey, sameBackend),
      certs: diff(this.certs, next.certs, certKey, (a, b) => a.id === b.id),
      catchAll: next.catchAll,
      tlsHosts: next.tlsHosts,
    };
    this.apply(delta);
    return delta;
  }

  apply(delta: TableDelta): void {
    patch(this.hosts, delta.hosts, hostKey);
    patch(this.backends, delta.backends, backendKey);
    patch(this.certs, delta.certs, certKey);
    this.catchAll = delta.catchAll;
    this.tlsHosts = delta.tlsHosts;
    this.version = delta.version;
  }

  /** The routing table this state describes (served/problems are the primary's business). */
  table(): RouteTable {
    return {
      version: this.version,
      hosts: [...this.hosts.values()],
      catchAll: this.catchAll,
      backends: [...this.backends.values()],
      certs: [...this.certs.values()],
      tlsHosts: this.tlsHosts,
      served: [],
      problems: [],
    };
  }
}

/** A table without the parts only the primary needs (smaller IPC payload). */
export function forWorkers(table: RouteTable): RouteTable {
  return { ...table, served: [], problems: [] };
}

function diff<T>(
  prev: ReadonlyMap<string, T>,
  next: readonly T[],
  key: (t: T) => string,
  same: (a: T, b: T) => boolean,
): Changes<T> {
  const changed: T[] = [];
  const seen = new Set<string>();
  for (const item of next) {
    const k = key(item);
    seen.add(k);
    const old = prev.get(k);
    if (old === undefined || !same(old, item)) changed.push(item);
  }
  const removed: string[] = [];
  for (const k of prev.keys()) if (!seen.has(k)) removed.push(k);
  return { changed, removed };
}

function patch<T>(map: Map<string, T>, changes: Changes<T>, key: (t: T) => string): void {
  for (const k of changes.removed) map.delete(k);
  for (const item of changes.changed) map.set(key(item), item);
}

function sameTarget(a: Target | null, b: Target | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.ingress !== b.ingress || a.backend !== b.backend) return false;
  return samePolicy(a, b);
}

/**
 * Whether two targets carry the same route policy (every field the annotation families add, in
 * whole: a rotated basic-auth Secret or a changed limit must reach the workers). Most targets carry
 * none: two keys each, compared without allocating.
 */
function samePolicy(a: Target, b: Target): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    keys++;
    if (k !== 'ingress' && k !== 'backend' && x[k] !== y[k] && !isDeepStrictEqual(x[k], y[k])) return false;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

function samePaths(a: readonly PathEntry[], b: readonly PathEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.path !== b[i]!.path || !sameTarget(a[i]!.target, b[i]!.target)) return false;
  }
  return true;
}

function sameHost(a: HostTable, b: HostTable): boolean {
  return sameTarget(a.fallback, b.fallback) && samePaths(a.exact, b.exact) && samePaths(a.prefix, b.prefix);
}

function sameBackend(a: BackendEntry, b: BackendEntry): boolean {
  if (a.endpoints.length !== b.endpoints.length) return false;
  return a.endpoints.every(
    (e, i) => e.address === b.endpoints[i]!.address && e.port === b.endpoints[i]!.port,
  );
}
