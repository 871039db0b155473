/**
 * The speaker's Service bookkeeping, shared by the layer-2 and the BGP controllers: each Service's
 * facts (decide.ts: what it asks of this node), which Services changed since the last pass, which
 * EndpointSlices belong to which Service, and what was last said about each Service (nodeAssigned
 * Events, the reason it is not announced, its status objects).
 *
 * A change to one Service or one of its EndpointSlices marks that Service only; the next pass
 * recomputes the marked Services and nothing else. A change of the configuration or of a Node
 * (what every decision shares) marks them all. Per Service it keeps the facts object, a number
 * (protocols announced with) and, only while there is one, a reason string.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { EventRecorder, Informer } from '@portico/kube';
import type { Logger } from 'pino';
import { serviceFacts, type ServiceFacts, type World } from './decide.js';
import { SERVICE_NAME_LABEL } from './endpoints.js';
import type { SpeakerMetrics } from './metrics.js';
import type { StatusWriter } from './status-writer.js';

/** What one Service is announced with from this node, as the controllers see it now. */
export interface ServiceState {
  /** Advertised by BGP to these sessions (BGPPeer names or addresses); undefined: not by BGP. */
  bgpPeers?: readonly string[];
  /** Really answered by layer 2 here (elected and granted): its interfaces (empty: every one). */
  layer2Interfaces?: readonly string[];
  /** Why it is not announced from here, if it is not. */
  reason?: string;
  /** The layer-2 owner, for the log. */
  layer2Owner?: string;
}

const LAYER2 = 1;
const BGP = 2;

export class ServiceBook {
  private readonly facts = new Map<string, ServiceFacts>();
  private readonly dirty = new Set<string>();
  private everything = true;
  /** EndpointSlice (`namespace/name`) -> the Service key it belongs to. */
  private readonly sliceOwner = new Map<string, string>();
  /** Service key -> the names of its EndpointSlices (in the Service's namespace). */
  private readonly slicesOf = new Map<string, string[]>();
  /** Protocols each Service was last announced with from this node (LAYER2 | BGP bits). */
  private readonly announcedWith = new Map<string, number>();
  /** Why each Service is not announced from here, to log changes only. */
  private readonly reasons = new Map<string, string>();

  constructor(
    private readonly options: {
      services: Informer<V1Service>;
      slices: Informer<V1EndpointSlice>;
      recorder: EventRecorder;
      statuses: StatusWriter;
      metrics: SpeakerMetrics;
      nodeName: string;
      logger: Logger;
    },
  ) {}

  /** Follows the informers: every add, update and delete marks the Service it concerns. */
  watch(onChange: () => void): void {
    const { services, slices } = this.options;
    for (const verb of ['add', 'update', 'delete'] as const) {
      services.on(verb, (svc) => {
        this.dirty.add(keyOf(svc.metadata?.namespace, svc.metadata?.name));
        onChange();
      });
      slices.on(verb, (slice) => {
        this.sliceChanged(slice, verb === 'delete');
        onChange();
      });
    }
  }

  /** Every Service is recomputed on the next pass (configuration or Nodes changed). */
  markAll(): void {
    this.everything = true;
  }

  /** Marks one Service (tests). */
  mark(key: string): void {
    this.dirty.add(key);
  }

  /** Something is marked. */
  get pending(): boolean {
    return this.everything || this.dirty.size > 0;
  }

  /** The facts of a Service, as of the last pass. */
  factsOf(key: string): ServiceFacts | undefined {
    return this.facts.get(key);
  }

  /** Every Service with facts (the Services this node may announce). */
  allFacts(): IterableIterator<ServiceFacts> {
    return this.facts.values();
  }

  /**
   * Recomputes the marked Services' facts, at most `limit` of them (the rest stay marked, and
   * `pending` says so); `changed` hears each one (before, after; undefined: none). Returns the
   * keys looked at.
   */
  recompute(
    world: World,
    changed: (key: string, before: ServiceFacts | undefined, after: ServiceFacts | undefined) => void,
    limit = Infinity,
  ): string[] {
    if (this.everything) {
      for (const key of this.facts.keys()) this.dirty.add(key);
      for (const svc of this.options.services.list())
        this.dirty.add(keyOf(svc.metadata?.namespace, svc.metadata?.name));
      this.everything = false;
    }
    const keys: string[] = [];
    for (const key of this.dirty) {
      if (keys.length >= limit) break;
      keys.push(key);
    }
    for (const key of keys) this.dirty.delete(key);
    if (keys.length > 0) this.options.metrics.decided.inc(keys.length);
    for (const key of keys) {
      const before = this.facts.get(key);
      const svc = this.service(key);
      const after = svc ? serviceFacts(svc, this.slices(key), world) : undefined;
      if (after) this.facts.set(key, after);
      else this.facts.delete(key);
      if (before || after) changed(key, before, after);
    }
    return keys;
  }

  /** The Service of a key from the informer's cache. */
  service(key: string): V1Service | undefined {
    const slash = key.indexOf('/');
    return this.options.services.get(key.slice(slash + 1), key.slice(0, slash));
  }

  /** A Service's EndpointSlices from the informer's cache. */
  slices(key: string): V1EndpointSlice[] {
    const names = this.slicesOf.get(key);
    if (!names) return [];
    const namespace = key.slice(0, key.indexOf('/'));
    const out: V1EndpointSlice[] = [];
    for (const name of names) {
      const slice = this.options.slices.get(name, namespace);
      if (slice) out.push(slice);
    }
    return out;
  }

  /** One Event per Service (the first ten: the node's log has them all). */
  record(keys: readonly string[], type: 'Normal' | 'Warning', reason: string, message: string): void {
    for (const key of keys.slice(0, 10)) {
      const svc = this.service(key);
      if (svc)
        void this.options.recorder.record(
          { ...svc, apiVersion: 'v1', kind: 'Service' },
          type,
          reason,
          message,
        );
    }
  }

  /**
   * Says what changed about a Service: a nodeAssigned Event per transition to announcing with a
   * protocol (never one per resync), the reason in the log when it changes, and its status objects.
   */
  settle(key: string, state: ServiceState | undefined): void {
    const reason = state?.reason;
    if (state && reason !== this.reasons.get(key)) {
      this.options.logger.debug(
        { service: key, reason: reason ?? 'announcing', layer2Owner: state.layer2Owner },
        'decision',
      );
    }
    if (reason !== undefined) this.reasons.set(key, reason);
    else this.reasons.delete(key);
    const before = this.announcedWith.get(key) ?? 0;
    const now = (state?.bgpPeers ? BGP : 0) | (state?.layer2Interfaces ? LAYER2 : 0);
    for (const [bit, protocol] of [
      [BGP, 'bgp'],
      [LAYER2, 'layer2'],
    ] as const) {
      if (!(now & bit) || before & bit) continue;
      const svc = this.service(key);
      if (!svc) continue;
      const message = `announcing from node "${this.options.nodeName}" with protocol "${protocol}"`;
      this.options.logger.info({ service: key, event: 'nodeAssigned', protocol }, message);
      void this.options.recorder.record(
        { ...svc, apiVersion: 'v1', kind: 'Service' },
        'Normal',
        'nodeAssigned',
        message,
      );
    }
    if (now !== 0) this.announcedWith.set(key, now);
    else this.announcedWith.delete(key);
    const bgpPeers = state?.bgpPeers;
    this.options.statuses.updateService(key, {
      ...(state?.layer2Interfaces ? { ServiceL2Status: state.layer2Interfaces } : {}),
      ...(bgpPeers && bgpPeers.length > 0 ? { ServiceBGPStatus: bgpPeers } : {}),
    });
  }

  private sliceChanged(slice: V1EndpointSlice, deleted: boolean): void {
    const namespace = slice.metadata?.namespace ?? '';
    const name = slice.metadata?.name ?? '';
    const id = `${namespace}/${name}`;
    const before = this.sliceOwner.get(id);
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const after = deleted || !service ? undefined : `${namespace}/${service}`;
    if (before !== after) {
      if (before !== undefined) {
        this.sliceOwner.delete(id);
        const names = this.slicesOf.get(before)?.filter((n) => n !== name) ?? [];
        if (names.length > 0) this.slicesOf.set(before, names);
        else this.slicesOf.delete(before);
        this.dirty.add(before);
      }
      if (after !== undefined) {
        this.sliceOwner.set(id, after);
        const names = this.slicesOf.get(after);
        if (names) names.push(name);
        else this.slicesOf.set(after, [name]);
      }
    }
    if (after !== undefined) this.dirty.add(after);
  }
}

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}
