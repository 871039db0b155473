import { EventEmitter } from 'node:events';
import type { V1Lease } from '@kubernetes/client-node';
import type { ApiClient } from './client/api-client.js';
import { isNotFound } from './errors.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a holder's claim is honoured after its last observed renewal. */
  leaseDurationMs?: number;
  /** A leader that has not renewed within this long steps down. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew. */
  retryPeriodMs?: number;
}

/** A Lease as JSON: its times are MicroTime strings. */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
type LeaseObject = Omit<V1Lease, 'spec'> & { spec?: LeaseSpec };

/**
 * A MicroTime: kube-apiserver accepts exactly six fractional digits and refuses a plain Date's
 * millisecond JSON (400 BadRequest).
 */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews the
 * lease every retry period; a candidate takes it over once the lease record has not changed for a
 * whole lease duration *as measured on the candidate's own clock* (clocks of different nodes are
 * never compared). Updates carry the resourceVersion, so two candidates can never both win.
 *
 * Events: 'started' when this instance becomes leader, 'stopped' when it loses or gives up the
 * lease, 'leader' (identity) whenever the observed holder changes.
 */
export class LeaderElector extends EventEmitter {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { holder: string; version: string; at: number } | undefined;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly api: ApiClient,
    private readonly options: LeaderElectionOptions,
  ) {
    super();
    this.leaseDurationMs = options.leaseDurationMs ?? 4_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 3_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 1_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so a standby can take over at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    await this.release();
  }

  /** Gives the lease up if we hold it. Best effort: otherwise it expires on its own. */
  private async release(): Promise<void> {
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity === this.options.identity) {
        lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 };
        await this.api.request('PUT', this.path, { body: lease });
      }
    } catch {
      // The lease expires on its own.
    }
  }

  private async tick(): Promise<void> {
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) this.lastRenew = Date.now();
      // stop() ran while this acquisition was in flight: hand back what we just took.
      if (ok && !this.running) await this.release();
    } catch (err) {
      // An EventEmitter throws an 'error' nobody listens to, which would end the campaign for good.
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
    if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) this.setLeading(false);
    if (this.running) this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new Date();
    const lease = await this.read();
    if (!lease) {
      await this.api.request('POST', this.collection, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: this.spec(identity, microTime(now), now, 0),
        },
      });
      this.observe(identity, 'created');
      this.setLeading(true);
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    this.observe(holder, lease.metadata?.resourceVersion ?? '');
    const held = holder !== '' && holder !== identity;
    const observedAt = this.observed?.at ?? 0;
    if (held && Date.now() - observedAt < this.leaseDurationMs) {
      this.setLeading(false);
      return false;
    }
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    const acquired = holder === identity && spec.acquireTime ? spec.acquireTime : microTime(now);
    lease.spec = this.spec(identity, acquired, now, transitions);
    const updated = await this.api.request<LeaseObject>('PUT', this.path, { body: lease });
    this.observe(identity, updated.metadata?.resourceVersion ?? '');
    this.setLeading(true);
    return true;
  }

  private spec(identity: string, acquireTime: string, renewTime: Date, leaseTransitions: number): LeaseSpec {
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime,
      renewTime: microTime(renewTime),
      leaseTransitions,
    };
  }

  private get collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`;
  }

  private get path(): string {
    return `${this.collection}/${this.options.name}`;
  }

  private async read(): Promise<LeaseObject | undefined> {
    try {
      return await this.api.request<LeaseObject>('GET', this.path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private observe(holder: string, version: string): void {
    if (this.observed?.holder === holder && this.observed.version === version) return;
    const changedHolder = this.observed?.holder !== holder;
    this.observed = { holder, version, at: Date.now() };
    if (changedHolder) this.emit('leader', holder);
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    // After stop(), never lead again: a renewal in flight would restart what stop() shut down.
    if (leading && !this.running) return;
    this.leading = leading;
    this.emit(leading ? 'started' : 'stopped');
  }
}
