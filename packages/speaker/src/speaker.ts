/**
 * The speaker app: watches Services, EndpointSlices, Nodes and the configuration (ConfigSource:
 * the ConfigMap or the metallb.io resources), runs the failure
 * detector with the other speakers, and after every change recomputes what this node announces
 * (decide.ts) and applies the difference to the layer-2 announcer and the BGP speaker.
 *
 * The Kubernetes API is not on the failover path: an API outage freezes the caches (runInformer
 * keeps them and restarts the watches), the detector keeps running, so nothing announced changes
 * unless a speaker dies.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { PeerOptions } from '@portico/bgp';
import type { Config } from '@portico/config';
import {
  type ApiClient,
  ConfigSource,
  ConfigStatus,
  ConfigurationStateWriter,
  createInformer,
  EventRecorder,
  runInformer,
  type RunningInformer,
} from '@portico/kube';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BgpBackend, Layer2Backend, Layer2Conflict } from './backends.js';
import { orphanedIPs } from './config-guard.js';
import { decide, type Decision, type Protocol } from './decide.js';
import { slicesByService, sliceAsRead } from './endpoints.js';
import type { Clock } from './membership/clock.js';
import { FailureDetector, type StepDownReason } from './membership/detector.js';
import { membersFromNodes } from './membership/members.js';
import { nodeAsRead } from './nodes.js';
import { Layer2Ownership } from './membership/ownership.js';
import type { Transport } from './membership/udp-transport.js';
import { peersForNode, samePeer } from './peers.js';
import { serviceAsRead } from './service.js';
import { desiredStatuses } from './announcement-status.js';
import { StatusWriter } from './status-writer.js';
import { BgpTable } from './bgp-table.js';
import { speakerMetrics, type SpeakerMetrics } from './stats.js';

export interface SpeakerOptions {
  /** The process's connection pool to the API server (connectKube). */
  api: ApiClient;
  /** This node's name (NODE_NAME from the downward API in a pod, --node-name outside). */
  nodeName: string;
  /** Namespace and name of the ConfigMap (portico-system/config); the resources are read from the namespace. */
  namespace: string;
  configMapName: string;
  logger: Logger;
  registry: Registry;
  layer2: Layer2Backend;
  /** Builds the BGP speaker when the first peer for this node appears. */
  createBgp: (localAsn: number) => BgpBackend;
  /** The heartbeat socket (bound to the memberlist address and port). */
  transport: Transport;
  /** Port of the other speakers' heartbeat sockets, unless a Node annotation says otherwise. */
  memberlistPort: number;
  heartbeatIntervalMs?: number;
  /** Take-over time (see membership/detector.ts). */
  suspicionMs?: number;
  /** Step-down time; shorter than suspicionMs (default: derived from it). */
  leaseMs?: number;
  secret?: Buffer;
  clock?: Clock;
  /** The speaker's Pod, owner of its ServiceL2Status / ServiceBGPStatus objects (see status-writer.ts). */
  ownerPod?: { name: string; uid: string };
  /** Most status object writes a second (default 20). */
  statusWritesPerSecond?: number;
}

export class Speaker {
  readonly detector: FailureDetector;
  /** This node's ServiceL2Status / ServiceBGPStatus objects. */
  readonly statuses: StatusWriter;
  private readonly ownership: Layer2Ownership;
  private readonly log: Logger;
  private readonly metrics: SpeakerMetrics;
  private readonly recorder: EventRecorder;
  private readonly configStatus: ConfigStatus;
  private readonly services;
  private readonly slices;
  private readonly nodes;
  private readonly configSource: ConfigSource;
  private informers: RunningInformer[] = [];
  private config: Config | undefined;
  /** The configuration input last looked at (ConfigReading.key). */
  private configKey: string | undefined;
  /** The newest configuration, refused because Services still hold addresses it drops. */
  private held: Config | undefined;
  private synced = false;
  private stopped = false;
  private scheduled = false;
  private lastReconcile = -Infinity;
  private retryTimer: NodeJS.Timeout | undefined;
  private bgp: BgpBackend | undefined;
  private readonly peers = new Map<string, PeerOptions>();
  /** The routes given to the BGP speaker, and each session's own (see bgp-table.ts). */
  private readonly bgpTable = new BgpTable();
  /** The interfaces each answered layer-2 IP was given to the announcer with ('' for all). */
  private readonly layer2Told = new Map<string, string>();
  /** Protocols each Service was last announced with from this node (for nodeAssigned Events). */
  private readonly announcedWith = new Map<string, Set<Protocol>>();
  private lastDecision: Decision | undefined;
  private assignmentsQueued = false;
  /** Why each Service is not announced from here, to log changes only. */
  private readonly reasons = new Map<string, string>();
  /** Members already reported as having no address (and this node, if it has no Node object). */
  private readonly unreachable = new Set<string>();
  /** When a conflict Event was last recorded for each IP (at most one a minute per IP). */
  private readonly conflictEventAt = new Map<string, number>();

  constructor(private readonly options: SpeakerOptions) {
    this.log = options.logger;
    this.metrics = speakerMetrics(options.registry);
    this.recorder = new EventRecorder(options.api, {
      component: 'portico-speaker',
      registry: options.registry,
      onError: (err) => this.log.warn({ err: String(err) }, 'event write failed'),
    });
    // Its own ConfigurationState, as MetalLB's speakers write one: `speaker-NODE`.
    const state = new ConfigurationStateWriter({
      api: options.api,
      namespace: options.namespace,
      name: `speaker-${options.nodeName}`,
      labels: { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': options.nodeName },
      logger: this.log,
    });
    this.configStatus = new ConfigStatus(options.registry, this.recorder, this.log, state);
    this.statuses = new StatusWriter({
      api: options.api,
      namespace: options.namespace,
      nodeName: options.nodeName,
      logger: this.log,
      registry: options.registry,
      ...(options.ownerPod ? { ownerPod: options.ownerPod } : {}),
      ...(options.statusWritesPerSecond ? { writesPerSecond: options.statusWritesPerSecond } : {}),
    });
    const api = options.api;
    // Every speaker holds every Service, EndpointSlice and Node: its caches keep only what it reads.
    this.services = createInformer<V1Service>(api, 'services', { project: serviceAsRead });
    this.slices = createInformer<V1EndpointSlice>(api, 'endpointslices', { project: sliceAsRead });
    this.nodes = createInformer<V1Node>(api, 'nodes', { project: nodeAsRead });
    this.configSource = new ConfigSource({
      api,
      namespace: options.namespace,
      configMapName: options.configMapName,
      logger: this.log,
      onChange: () => {
        this.loadConfig();
        this.schedule();
      },
    });
    this.detector = new FailureDetector({
      self: options.nodeName,
      transport: options.transport,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.heartbeatIntervalMs ? { intervalMs: options.heartbeatIntervalMs } : {}),
      ...(options.suspicionMs ? { suspicionMs: options.suspicionMs } : {}),
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
      ...(options.secret ? { secret: options.secret } : {}),
    });
    this.ownership = new Layer2Ownership(this.detector, options.nodeName, {
      announce: (ip, services, takenFrom) => this.announce(ip, services, takenFrom),
      withdraw: (ip, reason, services) => this.withdraw(ip, reason, services),
      retry: () => this.retryLater(),
    });
    // The last line of defence: every ARP/NDP answer checks the lease at the moment it is sent.
    options.layer2.setGate?.((ip) => this.detector.mayAnswer(ip));
  }

  /** Caches synced and a configuration loaded. */
  get ready(): boolean {
    return this.synced && this.config !== undefined;
  }

  /** The layer-2 IPs this node currently answers for. */
  get layer2Addresses(): string[] {
    return [...this.ownership.answering].sort();
  }

  /** The configuration in force. */
  get configuration(): Config | undefined {
    return this.config;
  }

  get decision(): Decision | undefined {
    return this.lastDecision;
  }

  async start(): Promise<void> {
    const onChange = () => this.schedule();
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.services.on(verb, onChange);
      this.slices.on(verb, onChange);
      this.nodes.on(verb, () => {
        this.updateMembers();
        this.schedule();
      });
    }
    this.detector.on('change', onChange);
    this.detector.on('dead', (n) =>
      this.log.warn({ event: 'speakerDead', node: n }, 'speaker stopped answering'),
    );
    this.detector.on('alive', (n) =>
      this.log.info({ event: 'speakerAlive', node: n }, 'speaker is answering'),
    );
    this.detector.on('quorum', (has) => this.quorumChanged(has));
    this.options.layer2.onConflict?.((c) => this.conflict(c));
    const onError = (err: unknown) => {
      if (!this.stopped) this.log.warn({ err: String(err) }, 'watch failed, retrying');
    };
    this.informers = [
      runInformer(this.services, onError),
      runInformer(this.slices, onError),
      runInformer(this.nodes, onError),
    ];
    await Promise.all([...this.informers.map((i) => i.synced), this.configSource.start()]);
    this.synced = true;
    this.updateMembers();
    this.loadConfig();
    this.detector.start();
    this.reconcile();
  }

  /** Withdraws everything (BGP peers get a Cease; layer-2 IPs just stop being answered). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.statuses.stop();
    // Stop answering first, then tell the others: a short gap rather than two answering nodes.
    this.ownership.stop();
    this.detector.leave();
    await Promise.all([...this.informers.map((i) => i.stop()), this.configSource.stop()]);
    this.options.layer2.close();
    await this.bgp?.stop();
  }

  /**
   * Coalesces changes: one decision for a burst of events, and at most one per
   * `minReconcileIntervalMs` (a decision over 10,000 Services takes tens of milliseconds, and the
   * heartbeats share this thread).
   */
  private schedule(): void {
    if (this.scheduled || this.stopped || !this.synced) return;
    this.scheduled = true;
    const wait = Math.max(0, this.lastReconcile + minReconcileIntervalMs - performance.now());
    setTimeout(() => {
      this.scheduled = false;
      if (!this.stopped) this.reconcile();
    }, wait);
  }

  private updateMembers(): void {
    const members = membersFromNodes(this.nodes.list(), this.options.memberlistPort);
    for (const m of members) {
      if (m.address !== undefined || m.name === this.options.nodeName || this.unreachable.has(m.name))
        continue;
      this.unreachable.add(m.name);
      this.log.warn(
        { event: 'memberWithoutAddress', member: m.name },
        'node has no InternalIP (nor portico.dev/speaker-address annotation): its speaker cannot be heard',
      );
    }
    this.detector.setMembers(members);
  }

  private loadConfig(): void {
    if (!this.synced) return;
    const { namespace, configMapName } = this.options;
    const reading = this.configSource.read();
    if (reading.source === 'none') {
      if (this.configKey !== undefined || this.config === undefined)
        this.configStatus.missing(this.config !== undefined, namespace, configMapName);
      this.configKey = undefined;
      this.held = undefined;
      return;
    }
    if (reading.key === this.configKey) return;
    this.configKey = reading.key;
    this.held = undefined;
    if (!reading.result.ok) {
      this.configStatus.invalid(reading.objects, reading.result.errors);
      return;
    }
    const next = reading.result.config;
    const orphans = orphanedIPs(this.config, next, this.services.list());
    if (orphans.length > 0) {
      const shown = `${orphans.slice(0, 5).join(', ')}${orphans.length > 5 ? ', ...' : ''}`;
      this.configStatus.wouldOrphan(reading.objects, `it would orphan addresses in use (${shown})`);
      // Taken once the Services holding those addresses are gone (see reconcile).
      this.held = next;
      return;
    }
    this.accept(next);
  }

  private accept(config: Config): void {
    this.held = undefined;
    this.config = config;
    this.configStatus.loaded(config.pools.map((p) => p.name));
  }

  /** Recomputes what this node announces and applies the difference. */
  private reconcile(): void {
    this.lastReconcile = performance.now();
    this.metrics.membersAlive.set(this.detector.alivePeers().length);
    this.metrics.quorum.set(this.detector.hasQuorum ? 1 : 0);
    if (this.held && orphanedIPs(this.config, this.held, this.services.list()).length === 0)
      this.accept(this.held);
    const config = this.config;
    if (!config) return;
    const self = this.options.nodeName;
    const selfNode = this.nodes.get(self);
    if (!selfNode && !this.unreachable.has(self)) {
      this.unreachable.add(self);
      this.log.warn(
        { event: 'nodeNotFound' },
        `no Node named "${self}" in the API: this speaker announces nothing (check --node-name / NODE_NAME)`,
      );
    } else if (selfNode) this.unreachable.delete(self);
    const peers = peersForNode(config, selfNode?.metadata?.labels ?? {});
    const localAsn = [...peers.values()][0]?.localAsn ?? config.peers[0]?.myASN ?? 0;
    const decision = decide({
      node: self,
      config,
      services: this.services.list(),
      slices: slicesByService(this.slices.list()),
      nodes: this.nodes.list(),
      // This node stays a candidate without quorum: it keeps its claims (not answering) through a
      // partition with no majority anywhere, so the IPs come back to it, not elsewhere, after.
      alive: (n) => n === self || this.detector.isAlive(n),
      claims: (n, ip) => this.detector.claimOf(n, ip),
      localAsn,
    });
    this.lastDecision = decision;
    this.applyLayer2(decision);
    this.applyBgp(peers, decision, localAsn);
    this.recordAssignments(decision);
  }

  private applyLayer2(decision: Decision): void {
    this.ownership.apply(decision.layer2);
    // An IP answered already whose advertisements now list other interfaces.
    for (const ip of this.ownership.answering) {
      const told = this.layer2Told.get(ip);
      const interfaces = decision.layer2Interfaces.get(ip);
      if (told === undefined || told === (interfaces?.join(',') ?? '')) continue;
      this.tellLayer2(ip, interfaces);
    }
    this.metrics.announced.set({ protocol: 'layer2' }, this.ownership.answering.size);
  }

  private tellLayer2(ip: string, interfaces: readonly string[] | undefined): void {
    this.layer2Told.set(ip, interfaces?.join(',') ?? '');
    this.options.layer2
      .announce(ip, interfaces)
      .catch((err: unknown) => this.log.error({ ip, err: String(err) }, 'layer-2 announce failed'));
  }

  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, 50);
  }

  /** A majority granted `ip`: answer for it. */
  private announce(ip: string, services: readonly string[], takenFrom: string | undefined): void {
    this.metrics.takeovers.inc();
    if (takenFrom) this.metrics.failovers.inc();
    this.metrics.announced.set({ protocol: 'layer2' }, this.ownership.answering.size);
    this.log.info(
      { event: 'layer2Announced', ip, services, ...(takenFrom ? { takenFrom } : {}) },
      'answering for IP',
    );
    if (takenFrom)
      this.recordServices(
        services,
        'Normal',
        'Layer2TakeOver',
        `node "${this.options.nodeName}" took ${ip} over from "${takenFrom}" (its speaker went silent)`,
      );
    this.tellLayer2(ip, this.lastDecision?.layer2Interfaces.get(ip));
    this.queueAssignments();
  }

  /** nodeAssigned and the status objects, also when a grant comes or goes between two decisions (once per batch). */
  private queueAssignments(): void {
    if (this.assignmentsQueued) return;
    this.assignmentsQueued = true;
    queueMicrotask(() => {
      this.assignmentsQueued = false;
      if (this.lastDecision && !this.stopped) this.recordAssignments(this.lastDecision);
    });
  }

  /** Stops answering now (called synchronously when a lease runs out, or on a release). */
  private withdraw(ip: string, reason: StepDownReason, services: readonly string[]): void {
    this.options.layer2.withdraw(ip);
    this.layer2Told.delete(ip);
    this.queueAssignments();
    this.metrics.stepDowns.inc({ reason });
    this.metrics.announced.set({ protocol: 'layer2' }, this.ownership.answering.size);
    if (reason !== 'lease') {
      this.log.info({ event: 'layer2Withdrawn', ip, reason }, 'stopped answering for IP');
      return;
    }
    this.log.warn(
      { event: 'layer2Withdrawn', ip, reason },
      'stepped down: the grants of a majority of the speakers ran out (partition, or this speaker was stalled)',
    );
    this.recordServices(
      services,
      'Warning',
      'Layer2StepDown',
      `node "${this.options.nodeName}" stopped answering for ${ip}: it lost the grants of a majority of the speakers (partition, or the speaker was stalled); another node takes over if a majority can`,
    );
  }

  private quorumChanged(has: boolean): void {
    this.metrics.quorum.set(has ? 1 : 0);
    this.metrics.quorumChanges.inc({ state: has ? 'regained' : 'lost' });
    const alive = this.detector.alivePeers().length;
    const message = has
      ? `speaker on node "${this.options.nodeName}" regained quorum: a majority of the speakers acknowledge its heartbeats`
      : `speaker on node "${this.options.nodeName}" lost quorum: fewer than a majority of the speakers acknowledge its heartbeats (${alive} other speakers alive); it answers for no layer-2 IP until it is back`;
    this.log[has ? 'info' : 'warn']({ event: has ? 'quorumRegained' : 'quorumLost', alive }, message);
    const node = this.nodes.get(this.options.nodeName);
    if (node && this.synced)
      void this.recorder.record(
        { ...node, apiVersion: 'v1', kind: 'Node' },
        has ? 'Normal' : 'Warning',
        has ? 'QuorumRegained' : 'QuorumLost',
        message,
      );
  }

  /** Another station answers for an IP we answer for: the alert-worthy symptom of split brain. */
  private conflict(c: Layer2Conflict): void {
    this.metrics.conflicts.inc({ protocol: c.protocol });
    const last = this.conflictEventAt.get(c.ip) ?? -Infinity;
    const now = performance.now();
    if (now - last < conflictEventIntervalMs) return;
    this.conflictEventAt.set(c.ip, now);
    if (this.conflictEventAt.size > 10_000) this.conflictEventAt.clear();
    this.log.warn(
      { event: 'layer2Conflict', ...c },
      'another station answers for an IP this node answers for',
    );
    this.recordServices(
      this.lastDecision?.layer2.get(c.ip) ?? [],
      'Warning',
      'Layer2Conflict',
      `another station (${c.mac}) answers ${c.protocol === 'arp' ? 'ARP' : 'NDP'} for ${c.ip} on ${c.interface} while node "${this.options.nodeName}" does (${c.evidence}); two answering nodes split the traffic`,
    );
  }

  /** One Event per Service behind an IP (bounded: the node's log has them all). */
  private recordServices(
    keys: readonly string[],
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void {
    for (const key of keys.slice(0, 10)) {
      const [namespace = '', name = ''] = key.split('/');
      const svc = this.services.get(name, namespace);
      if (svc)
        void this.recorder.record({ ...svc, apiVersion: 'v1', kind: 'Service' }, type, reason, message);
    }
  }

  private applyBgp(peers: Map<string, PeerOptions>, decision: Decision, localAsn: number): void {
    const routes = decision.bgp;
    if (!this.bgp && peers.size === 0) return;
    if (!this.bgp) {
      this.bgp = this.options.createBgp(localAsn);
      this.bgp
        .start()
        .catch((err: unknown) => this.log.error({ err: String(err) }, 'bgp speaker failed to start'));
    }
    for (const [address, current] of this.peers) {
      const wanted = peers.get(address);
      if (wanted && samePeer(wanted, current)) continue;
      this.bgp.removePeer(address);
      this.peers.delete(address);
      this.log.info({ event: 'peerRemoved', peer: address }, 'bgp peer removed');
    }
    for (const [address, wanted] of peers) {
      if (this.peers.has(address)) continue;
      this.bgp.addPeer({ ...wanted, exportPolicy: this.bgpTable.policyFor(address) });
      this.peers.set(address, wanted);
      this.log.info({ event: 'peerAdded', peer: address, asn: wanted.peerAsn }, 'bgp peer added');
    }
    const change = this.bgpTable.apply(this.bgp, routes, decision.bgpByPeer);
    if (change.initial) this.log.info({ event: 'bgpRoutes', prefixes: routes.length }, 'bgp routes set');
    else if (change.announced + change.withdrawn > 0)
      this.log.info(
        {
          event: 'bgpRoutes',
          prefixes: routes.length,
          announced: change.announced,
          withdrawn: change.withdrawn,
        },
        'bgp routes updated',
      );
    this.metrics.announced.set({ protocol: 'bgp' }, routes.length);
  }

  /** One nodeAssigned Event per transition to announcing, never one per resync. */
  private recordAssignments(decision: Decision): void {
    const self = this.options.nodeName;
    const layer2Answered = this.layer2Answered(decision);
    for (const [key, d] of decision.services) {
      if (d.reason !== this.reasons.get(key)) {
        if (d.reason) this.reasons.set(key, d.reason);
        else this.reasons.delete(key);
        this.log.debug(
          { service: key, reason: d.reason ?? 'announcing', layer2Owner: d.layer2Owner },
          'decision',
        );
      }
      const before = this.announcedWith.get(key) ?? new Set<Protocol>();
      const now = new Set<Protocol>(d.protocols.filter((p) => p === 'bgp' || layer2Answered.has(key)));
      for (const protocol of now) {
        if (before.has(protocol)) continue;
        const [namespace = '', name = ''] = key.split('/');
        const svc = this.services.get(name, namespace);
        if (!svc) continue;
        const message = `announcing from node "${self}" with protocol "${protocol}"`;
        this.log.info({ service: key, event: 'nodeAssigned', protocol }, message);
        void this.recorder.record(
          { ...svc, apiVersion: 'v1', kind: 'Service' },
          'Normal',
          'nodeAssigned',
          message,
        );
      }
      if (now.size > 0) this.announcedWith.set(key, now);
      else this.announcedWith.delete(key);
    }
    for (const key of [...this.announcedWith.keys()])
      if (!decision.services.has(key)) this.announcedWith.delete(key);
    for (const key of [...this.reasons.keys()]) if (!decision.services.has(key)) this.reasons.delete(key);
    this.statuses.update(desiredStatuses(decision, layer2Answered));
  }

  /**
   * The Services with a layer-2 IP really being answered (not deferred until settled), gathered
   * once per decision: asking per Service meant a scan of every IP for each (quadratic; about a
   * second per reconcile at 10,000 layer-2 Services).
   */
  private layer2Answered(decision: Decision): Set<string> {
    const keys = new Set<string>();
    for (const [ip, services] of decision.layer2)
      if (this.ownership.answering.has(ip)) for (const key of services) keys.add(key);
    return keys;
  }
}

const minReconcileIntervalMs = 20;
const conflictEventIntervalMs = 60_000;
