/**
 * Keeps this node's ServiceL2Status and ServiceBGPStatus objects equal to what it announces
 * (announcement-status.ts), as MetalLB's speakers do: named `l2-…` / `bgp-…` by the API server
 * (generateName), in the speaker's namespace, labelled with the node and the Service, owned by the
 * speaker's Pod when it is known (so they go with it).
 *
 * Off the failover path: `update` only records what is wanted and returns; one write at a time
 * goes out in the background, at most `writesPerSecond` (a start-up with 10,000 Services is a
 * steady trickle, not a storm), and only for objects that changed. Failed writes are retried with
 * back-off; an API outage delays the objects, never an announcement.
 */
import { type ApiClient, isNotFound } from '@portico/kube';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  type DesiredStatuses,
  STATUS_NODE_LABEL,
  STATUS_SERVICE_NAME_LABEL,
  STATUS_SERVICE_NAMESPACE_LABEL,
  STATUS_GROUP_VERSION,
  STATUS_KINDS,
  type StatusKind,
  statusBody,
} from './announcement-status.js';

export interface StatusWriterOptions {
  api: ApiClient;
  namespace: string;
  nodeName: string;
  /** The speaker's Pod (POD_NAME, POD_UID from the downward API): owner of the objects. */
  ownerPod?: { name: string; uid: string };
  logger: Logger;
  registry: Registry;
  /** Default 20 (MetalLB's controller-runtime client allows 20 a second). */
  writesPerSecond?: number;
  /** Longest wait before retrying after a failure. Default 30 s. */
  maxBackoffMs?: number;
}

interface Written {
  name: string;
  /** The values the object's status holds, joined (to compare). */
  signature: string;
}

interface KindState {
  wanted: Map<string, readonly string[]>;
  written: Map<string, Written>;
  /** Service keys whose object may differ from what is wanted. */
  dirty: Set<string>;
}

const KINDS: readonly StatusKind[] = ['ServiceL2Status', 'ServiceBGPStatus'];
const signatureOf = (values: readonly string[]) => values.join(',');
const sameValues = (a: readonly string[], b: readonly string[]) =>
  a === b || (a.length === b.length && a.every((v, i) => v === b[i]));

export class StatusWriter {
  private readonly state: Record<StatusKind, KindState> = {
    ServiceL2Status: { wanted: new Map(), written: new Map(), dirty: new Set() },
    ServiceBGPStatus: { wanted: new Map(), written: new Map(), dirty: new Set() },
  };
  private listed = false;
  private missingReported = false;
  private running = false;
  private stopped = false;
  private backoffMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** Token bucket: tokens and when they were counted. */
  private tokens: number;
  private tokensAt = performance.now();
  private readonly rate: number;
  private readonly writes: Counter;
  private readonly pending: Gauge;
  private readonly log: Logger;
  /** Resolves when the background loop has nothing left to do (tests, shutdown). */
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: StatusWriterOptions) {
    this.rate = options.writesPerSecond ?? 20;
    this.tokens = this.rate;
    this.log = options.logger.child({ module: 'status' });
    const registers = [options.registry];
    this.writes = new Counter({
      name: 'portico_speaker_status_writes_total',
      help: 'Writes of ServiceL2Status / ServiceBGPStatus objects, by kind, verb (create, update, delete) and result',
      labelNames: ['kind', 'verb', 'result'],
      registers,
    });
    this.pending = new Gauge({
      name: 'portico_speaker_status_pending',
      help: 'ServiceL2Status / ServiceBGPStatus objects waiting to be written (rate limit, API outage)',
      registers,
      collect: () => this.pending.set(this.dirtyCount()),
    });
  }

  /** Records what this node's objects should say; writes follow in the background. */
  update(desired: DesiredStatuses): void {
    if (this.stopped) return;
    // Called after every decision: one pass, no string building (10,000 Services cost about as
    // much here as a map lookup each).
    for (const kind of KINDS) {
      const s = this.state[kind];
      const next = desired[kind];
      let kept = 0;
      for (const [key, values] of next) {
        const before = s.wanted.get(key);
        if (before) kept++;
        if (!before || !sameValues(before, values)) s.dirty.add(key);
      }
      if (kept < s.wanted.size) for (const key of s.wanted.keys()) if (!next.has(key)) s.dirty.add(key);
      s.wanted = new Map(next);
    }
    this.kick();
  }

  /**
   * Records what one Service's objects should say (a kind left out: no object); writes follow in
   * the background. The speaker calls it for the Services a pass changed, not for every Service.
   */
  updateService(key: string, wanted: Partial<Record<StatusKind, readonly string[]>>): void {
    if (this.stopped) return;
    for (const kind of KINDS) {
      const s = this.state[kind];
      const before = s.wanted.get(key);
      const next = wanted[kind];
      if (next) {
        if (!before || !sameValues(before, next)) s.dirty.add(key);
        s.wanted.set(key, next);
      } else if (before) {
        s.wanted.delete(key);
        s.dirty.add(key);
      }
    }
    if (this.dirtyCount() > 0 || !this.listed) this.kick();
  }

  /** Stops writing (the objects stay; their owner reference removes them with the Pod). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves once everything wanted is written (for tests). */
  idle(): Promise<void> {
    if (!this.running && this.dirtyCount() === 0 && this.listed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private dirtyCount(): number {
    return KINDS.reduce((n, kind) => n + this.state[kind].dirty.size, 0);
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.stopped) return;
      if (this.dirtyCount() > 0 || !this.listed) this.kick();
      else for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.backoffMs > 0) await this.sleep(this.backoffMs);
      if (this.stopped) return;
      try {
        if (!this.listed) await this.list();
        const next = this.nextWork();
        if (!next) return;
        await this.takeToken();
        if (this.stopped) return;
        await this.write(next.kind, next.key);
        this.backoffMs = 0;
      } catch (err) {
        const max = this.options.maxBackoffMs ?? 30_000;
        if (!this.listed && isNotFound(err)) {
          // The CRDs are not installed: say so once, look again now and then.
          this.backoffMs = max;
          if (!this.missingReported)
            this.log.info(
              { event: 'statusKindsMissing' },
              'ServiceL2Status / ServiceBGPStatus are not served (install manifests/crds): per-Service status objects are not written',
            );
          this.missingReported = true;
          continue;
        }
        this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 500), max);
        this.log.warn({ err: String(err), retryInMs: this.backoffMs }, 'announcement status write failed');
      }
    }
  }

  private nextWork(): { kind: StatusKind; key: string } | undefined {
    for (const kind of KINDS) {
      const dirty = this.state[kind].dirty;
      const key = dirty.values().next();
      if (!key.done) {
        dirty.delete(key.value);
        return { kind, key: key.value };
      }
    }
    return undefined;
  }

  private path(kind: StatusKind, name?: string): string {
    const base = `/apis/${STATUS_GROUP_VERSION}/namespaces/${this.options.namespace}/${STATUS_KINDS[kind].plural}`;
    return name === undefined ? base : `${base}/${name}`;
  }

  /** This node's objects (from a previous run of the speaker): adopted, duplicates deleted. */
  private async list(): Promise<void> {
    for (const kind of KINDS) {
      const s = this.state[kind];
      const list = await this.options.api.request<{ items?: StatusObject[] }>('GET', this.path(kind), {
        query: { labelSelector: `${STATUS_NODE_LABEL}=${this.options.nodeName}` },
      });
      s.written.clear();
      for (const item of list.items ?? []) {
        const labels = item.metadata?.labels ?? {};
        const key = `${labels[STATUS_SERVICE_NAMESPACE_LABEL] ?? ''}/${labels[STATUS_SERVICE_NAME_LABEL] ?? ''}`;
        const name = item.metadata?.name ?? '';
        if (s.written.has(key)) {
          // Two objects for one Service (a write retried after a lost answer): keep one.
          s.written.set(`#duplicate/${name}`, { name, signature: '' });
          s.dirty.add(`#duplicate/${name}`);
          continue;
        }
        s.written.set(key, { name, signature: signatureOf(valuesOf(kind, item.status)) });
        if (!s.wanted.has(key)) s.dirty.add(key);
      }
    }
    this.listed = true;
  }

  private async write(kind: StatusKind, key: string): Promise<void> {
    const s = this.state[kind];
    const wanted = s.wanted.get(key);
    const current = s.written.get(key);
    try {
      if (!wanted) {
        if (current) await this.remove(kind, key, current);
        return;
      }
      const signature = signatureOf(wanted);
      if (current?.signature === signature) return;
      if (!current) await this.create(kind, key, wanted);
      else await this.patchStatus(kind, key, current.name, wanted);
    } catch (err) {
      s.dirty.add(key);
      if (current && isNotFound(err)) {
        // Deleted by someone else: forget it, create it again if still wanted.
        s.written.delete(key);
        return;
      }
      // Anything else, a create included (the CRDs removed?): retried after a back-off.
      throw err;
    }
  }

  private async create(kind: StatusKind, key: string, values: readonly string[]): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const owner = this.options.ownerPod;
    const object = {
      apiVersion: STATUS_GROUP_VERSION,
      kind,
      metadata: {
        generateName: STATUS_KINDS[kind].prefix,
        namespace: this.options.namespace,
        labels: {
          [STATUS_NODE_LABEL]: this.options.nodeName,
          [STATUS_SERVICE_NAME_LABEL]: name,
          [STATUS_SERVICE_NAMESPACE_LABEL]: namespace,
        },
        ...(owner
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid }] }
          : {}),
      },
      spec: {},
    };
    const created = await this.counted(kind, 'create', () =>
      this.options.api.request<StatusObject>('POST', this.path(kind), { body: object }),
    );
    const objectName = created.metadata?.name ?? '';
    // The status subresource ignores `status` on create: it is written next.
    this.state[kind].written.set(key, { name: objectName, signature: '' });
    await this.takeToken();
    await this.patchStatus(kind, key, objectName, values);
    if (kind === 'ServiceL2Status') await this.removeOtherNodes(key);
  }

  private async patchStatus(
    kind: StatusKind,
    key: string,
    name: string,
    values: readonly string[],
  ): Promise<void> {
    const status = statusBody(kind, this.options.nodeName, key, values);
    // Merge patch: list fields are replaced whole; `null` removes what is no longer there.
    if (!('interfaces' in status) && kind === 'ServiceL2Status') status.interfaces = null;
    if (!('peers' in status) && kind === 'ServiceBGPStatus') status.peers = null;
    await this.counted(kind, 'update', () =>
      this.options.api.request('PATCH', `${this.path(kind, name)}/status`, {
        body: { status },
        contentType: 'application/merge-patch+json',
      }),
    );
    this.state[kind].written.set(key, { name, signature: signatureOf(values) });
  }

  private async remove(kind: StatusKind, key: string, current: Written): Promise<void> {
    try {
      await this.counted(kind, 'delete', () =>
        this.options.api.request('DELETE', this.path(kind, current.name)),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.state[kind].written.delete(key);
  }

  /**
   * A node that takes a Service's IP over removes the ServiceL2Status the previous owner left
   * (MetalLB's leader does the same): a dead node cannot remove its own.
   */
  private async removeOtherNodes(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    await this.takeToken();
    await this.counted('ServiceL2Status', 'delete', () =>
      this.options.api.request('DELETE', this.path('ServiceL2Status'), {
        query: {
          labelSelector: `${STATUS_SERVICE_NAMESPACE_LABEL}=${namespace},${STATUS_SERVICE_NAME_LABEL}=${name},${STATUS_NODE_LABEL}!=${this.options.nodeName}`,
        },
      }),
    );
  }

  private async counted<T>(kind: StatusKind, verb: string, call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.writes.inc({ kind, verb, result: 'ok' });
      return result;
    } catch (err) {
      this.writes.inc({ kind, verb, result: isNotFound(err) ? 'notFound' : 'error' });
      throw err;
    }
  }

  private async takeToken(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.tokensAt) / 1000) * this.rate);
      this.tokensAt = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(((1 - this.tokens) / this.rate) * 1000);
      if (this.stopped) return;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}

interface StatusObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { interfaces?: { name?: string }[]; peers?: string[] };
}

function valuesOf(kind: StatusKind, status: StatusObject['status']): string[] {
  if (kind === 'ServiceL2Status') return (status?.interfaces ?? []).map((i) => i.name ?? '');
  return status?.peers ?? [];
}
