/**
 * Keeps one LoadBalancer Service per Gateway of ours (gateway-service.ts says what it holds), from
 * the leader: creates and updates them, deletes those whose Gateway is gone or no longer wants one
 * (explicitly: neither the development API server nor a cluster without kube-controller-manager
 * collects garbage by ownerReference), and reads the controller's AllocationFailed Events of a
 * Service that has no address yet, so the Gateway's status can say why.
 */
import type { CoreV1Event, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { type ApiClient, isNotFound } from '@portico/kube';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import {
  isGatewayService,
  isGatewaySlice,
  newService,
  serviceMatches,
  sliceMatches,
  updatedService,
} from './gateway-service.js';

const key = (s: V1Service | V1EndpointSlice) =>
  `${s.metadata?.namespace ?? 'default'}/${s.metadata?.name ?? ''}`;

export class GatewayServiceKeeper {
  /** The last AllocationFailed message per Service (`namespace/name`) without an address. */
  private readonly allocationErrors = new Map<string, string>();

  constructor(
    private readonly api: ApiClient,
    private readonly logger: Logger,
    private readonly writes: Counter<'action' | 'result'>,
  ) {}

  allocationError(namespace: string, name: string): string | undefined {
    return this.allocationErrors.get(`${namespace}/${name}`);
  }

  /** Wanted Services that had no address on the last pass (their Events are read again). */
  waiting = 0;

  /**
   * Makes the live Services what is wanted. Returns whether an AllocationFailed message changed
   * (the Gateway statuses must then be computed again). A failed write is logged, counted and
   * retried on the next pass.
   */
  async sync(
    wanted: { services: readonly V1Service[]; slices: readonly V1EndpointSlice[] },
    live: { services: readonly V1Service[]; slices: readonly V1EndpointSlice[] },
  ): Promise<boolean> {
    const changed = await this.syncServices(wanted.services, live.services);
    await this.syncSlices(wanted.slices, live.slices);
    return changed;
  }

  private async syncSlices(
    wanted: readonly V1EndpointSlice[],
    live: readonly V1EndpointSlice[],
  ): Promise<void> {
    const liveByKey = new Map(live.filter(isGatewaySlice).map((s) => [key(s), s]));
    const wantedKeys = new Set(wanted.map(key));
    const collection = (s: V1EndpointSlice) =>
      `/apis/discovery.k8s.io/v1/namespaces/${s.metadata?.namespace ?? 'default'}/endpointslices`;
    for (const want of wanted) {
      const current = liveByKey.get(key(want));
      if (current && sliceMatches(current, want)) continue;
      await this.write(current ? 'updated' : 'created', `EndpointSlice ${key(want)}`, () =>
        current
          ? this.api.request('PUT', `${collection(want)}/${want.metadata?.name}`, {
              body: {
                ...want,
                metadata: { ...want.metadata, resourceVersion: current.metadata?.resourceVersion },
              },
            })
          : this.api.request('POST', collection(want), { body: want }),
      );
    }
    for (const s of liveByKey.values())
      if (!wantedKeys.has(key(s)))
        await this.write('deleted', `EndpointSlice ${key(s)}`, () =>
          this.api.request('DELETE', `${collection(s)}/${s.metadata?.name}`).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          }),
        );
  }

  private async syncServices(wanted: readonly V1Service[], live: readonly V1Service[]): Promise<boolean> {
    const liveByKey = new Map(live.map((s) => [key(s), s]));
    const wantedKeys = new Set(wanted.map(key));
    for (const want of wanted) {
      const current = liveByKey.get(key(want));
      if (current && !isGatewayService(current)) {
        this.writes.inc({ action: 'skipped', result: 'error' });
        this.logger.warn({ service: key(want) }, 'a Service of that name exists and is not ours; left alone');
        continue;
      }
      if (current && serviceMatches(current, want)) continue;
      const action = current ? 'updated' : 'created';
      await this.write(action, `Service ${key(want)}`, () =>
        current
          ? this.api.request('PUT', servicePath(want), { body: updatedService(current, want) })
          : this.api.request('POST', servicePath(want).replace(/\/[^/]+$/, ''), { body: newService(want) }),
      );
    }
    for (const s of live)
      if (isGatewayService(s) && !wantedKeys.has(key(s)))
        await this.write('deleted', `Service ${key(s)}`, async () => {
          try {
            await this.api.request('DELETE', servicePath(s));
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        });
    return this.readAllocationErrors(wanted, liveByKey);
  }

  private async write(action: string, service: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
      this.writes.inc({ action, result: 'ok' });
      this.logger.info({ object: service, action }, 'Gateway Service object written');
    } catch (err) {
      this.writes.inc({ action, result: 'error' });
      this.logger.warn(
        { object: service, action, err: String(err) },
        'Gateway Service object write failed; retrying',
      );
    }
  }

  /** For each wanted Service without an address: the controller's latest AllocationFailed Event. */
  private async readAllocationErrors(
    wanted: readonly V1Service[],
    live: ReadonlyMap<string, V1Service>,
  ): Promise<boolean> {
    let changed = false;
    const seen = new Set<string>();
    for (const want of wanted) {
      const svc = live.get(key(want));
      if (!svc || (svc.status?.loadBalancer?.ingress ?? []).length > 0) continue;
      seen.add(key(want));
      let message: string | undefined;
      try {
        message = await this.latestAllocationFailure(svc);
      } catch (err) {
        this.logger.warn({ service: key(svc), err: String(err) }, 'cannot read the Service Events');
        continue;
      }
      if (message !== this.allocationErrors.get(key(svc))) {
        changed = true;
        if (message === undefined) this.allocationErrors.delete(key(svc));
        else this.allocationErrors.set(key(svc), message);
      }
    }
    this.waiting = seen.size;
    for (const k of [...this.allocationErrors.keys()])
      if (!seen.has(k)) {
        this.allocationErrors.delete(k);
        changed = true;
      }
    return changed;
  }

  private async latestAllocationFailure(svc: V1Service): Promise<string | undefined> {
    const ns = svc.metadata?.namespace ?? 'default';
    const list = await this.api.request<{ items: CoreV1Event[] }>('GET', `/api/v1/namespaces/${ns}/events`, {
      query: { fieldSelector: `involvedObject.kind=Service,involvedObject.name=${svc.metadata?.name}` },
    });
    const time = (e: CoreV1Event) =>
      new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
    const failures = list.items
      .filter((e) => e.reason === 'AllocationFailed' && e.involvedObject?.uid === svc.metadata?.uid)
      .sort((a, b) => time(b) - time(a));
    return failures[0]?.message;
  }
}

function servicePath(s: V1Service): string {
  return `/api/v1/namespaces/${s.metadata?.namespace ?? 'default'}/services/${s.metadata?.name ?? ''}`;
}
