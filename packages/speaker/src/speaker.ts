/**
 * The speaker app: watches Services, EndpointSlices, Nodes and the configuration (ConfigSource:
 * the ConfigMap or the metallb.io resources), runs the failure detector with the other speakers,
 * and after changes runs a pass: the Services that changed are decided again (service-book.ts,
 * decide.ts) and the differences go to the layer-2 controller (layer2-controller.ts: elections,
 * ARP/NDP) and the BGP controller (bgp-controller.ts: sessions, announce/withdraw). A change to
 * one Service costs work for that Service; a change of the configuration or of a Node, everything.
 *
 * The Kubernetes API is not on the failover path: an API outage freezes the caches (runInformer
 * keeps them and restarts the watches), the detector keeps running, so nothing announced changes
 * unless a speaker dies.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
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
import type { BgpBackend, Layer2Backend } from './backends.js';
import { BgpController } from './bgp-controller.js';
import { orphanedIPs } from './config-guard.js';
import { type Decision, serviceDecision, type ServiceDecision, type World, worldOf } from './decide.js';
import { sliceAsRead } from './endpoints.js';
import { Layer2Controller } from './layer2-controller.js';
import type { Clock } from './membership/clock.js';
import { FailureDetector } from './membership/detector.js';
import { membersFromNodes } from './membership/members.js';
import { nodeAsRead } from './nodes.js';
import type { Transport } from './membership/udp-transport.js';
import { peersForNode } from './peers.js';
import { serviceAsRead } from './service.js';
import { ServiceBook } from './service-book.js';
import { StatusWriter } from './status-writer.js';
import { speakerMetrics, type SpeakerMetrics } from './metrics.js';
import type { PeerOptions } from '@portico/bgp';

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
  /** Most Services one pass decides (default servicesPerPass below; tests use fewer). */
  servicesPerPass?: number;
}

export class Speaker {
  readonly detector: FailureDetector;
  /** This node's ServiceL2Status / ServiceBGPStatus objects. */
  readonly statuses: StatusWriter;
  private readonly log: Logger;
  private readonly metrics: SpeakerMetrics;
  private readonly recorder: EventRecorder;
  private readonly configStatus: ConfigStatus;
  private readonly services;
  private readonly slices;
  private readonly nodes;
  private readonly configSource: ConfigSource;
  private readonly book: ServiceBook;
  private readonly layer2: Layer2Controller;
  private readonly bgp: BgpController;
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
  /** What every decision shares; undefined: to be rebuilt on the next pass (configuration or Nodes changed). */
  private world: World | undefined;
  private peers = new Map<string, PeerOptions>();
  /** Each Node as last read (its projection's JSON), to tell real changes from status refreshes. */
  private readonly nodeSeen = new Map<string, string>();
  /** Services whose state (nodeAssigned, status objects) is to be said again after the pass. */
  private readonly unsettled = new Set<string>();
  private settleQueued = false;
  /** Members already reported as having no address (and this node, if it has no Node object). */
  private readonly unreachable = new Set<string>();

  constructor(private readonly options: SpeakerOptions) {
    this.log = options.logger;
    this.metrics = speakerMetrics(options.registry, () => this.detector.work);
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
    this.book = new ServiceBook({
      services: this.services,
      slices: this.slices,
      recorder: this.recorder,
      statuses: this.statuses,
      metrics: this.metrics,
      nodeName: options.nodeName,
      logger: this.log,
    });
    this.layer2 = new Layer2Controller({
      nodeName: options.nodeName,
      detector: this.detector,
      layer2: options.layer2,
      book: this.book,
      metrics: this.metrics,
      logger: this.log,
      retry: () => this.retryLater(),
      answeringChanged: (keys) => this.unsettle(keys),
    });
    this.bgp = new BgpController({
      book: this.book,
      createBgp: options.createBgp,
      metrics: this.metrics,
      logger: this.log,
    });
  }

  /** Caches synced and a configuration loaded. */
  get ready(): boolean {
    return this.synced && this.config !== undefined;
  }

  /** The layer-2 IPs this node currently answers for. */
  get layer2Addresses(): string[] {
    return [...this.layer2.answering].sort();
  }

  /** The configuration in force. */
  get configuration(): Config | undefined {
    return this.config;
  }

  /**
   * What this node announces, as of the last pass, in decide()'s form (built on each call: for
   * tests and debugging, not for the hot path).
   */
  get decision(): Decision | undefined {
    if (!this.world) return undefined;
    const services = new Map<string, ServiceDecision>();
    for (const facts of this.book.allFacts())
      services.set(facts.key, serviceDecision(facts, this.layer2.ownerOf(facts), this.options.nodeName));
    const layer2 = new Map([...this.layer2.elected].map(([ip, keys]) => [ip, [...keys]]));
    const layer2Interfaces = new Map([...this.layer2.interfacesByIP].map(([ip, n]) => [ip, [...n]]));
    const { bgp, byPeer } = this.bgp.routes();
    return { layer2, layer2Interfaces, bgp, bgpByPeer: byPeer, services };
  }

  async start(): Promise<void> {
    const onChange = () => this.schedule();
    this.book.watch(onChange);
    for (const verb of ['add', 'update', 'delete'] as const)
      this.nodes.on(verb, (node) => this.nodeChanged(node, verb === 'delete'));
    this.detector.on('change', () => {
      this.layer2.electAll();
      this.schedule();
    });
    this.detector.on('dead', (n) =>
      this.log.warn({ event: 'speakerDead', node: n }, 'speaker stopped answering'),
    );
    this.detector.on('alive', (n) =>
      this.log.info({ event: 'speakerAlive', node: n }, 'speaker is answering'),
    );
    this.detector.on('quorum', (has) => this.quorumChanged(has));
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
    this.layer2.stop();
    this.detector.leave();
    await Promise.all([...this.informers.map((i) => i.stop()), this.configSource.stop()]);
    this.options.layer2.close();
    await this.bgp.stop();
  }

  /**
   * Coalesces changes: one pass for a burst of events, and at most one per
   * `minReconcileIntervalMs` (the heartbeats share this thread).
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

  /**
   * A Node changed: the members, and every decision (eligibility, selectors, this node's
   * sessions), unless only what the speaker does not read changed (the kubelet's status refreshes).
   */
  private nodeChanged(node: V1Node, deleted: boolean): void {
    const name = node.metadata?.name ?? '';
    // What the speaker reads of a Node: not its resourceVersion, which every refresh changes.
    const seen = deleted
      ? undefined
      : JSON.stringify([node.metadata?.labels, node.metadata?.annotations, node.status]);
    if (seen === this.nodeSeen.get(name)) return;
    if (seen === undefined) this.nodeSeen.delete(name);
    else this.nodeSeen.set(name, seen);
    this.world = undefined;
    if (!this.synced) return;
    this.updateMembers();
    this.schedule();
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
    this.world = undefined;
    this.configStatus.loaded(config.pools.map((p) => p.name));
  }

  /** One pass: decides the changed Services again and applies the differences. */
  private reconcile(): void {
    this.lastReconcile = performance.now();
    this.metrics.membersAlive.set(this.detector.alivePeers().length);
    this.metrics.quorum.set(this.detector.hasQuorum ? 1 : 0);
    if (this.held && orphanedIPs(this.config, this.held, this.services.list()).length === 0)
      this.accept(this.held);
    const config = this.config;
    if (!config) return;
    const self = this.options.nodeName;
    if (!this.world) {
      const selfNode = this.nodes.get(self);
      if (!selfNode && !this.unreachable.has(self)) {
        this.unreachable.add(self);
        this.log.warn(
          { event: 'nodeNotFound' },
          `no Node named "${self}" in the API: this speaker announces nothing (check --node-name / NODE_NAME)`,
        );
      } else if (selfNode) this.unreachable.delete(self);
      this.peers = peersForNode(config, selfNode?.metadata?.labels ?? {});
      const localAsn = [...this.peers.values()][0]?.localAsn ?? config.peers[0]?.myASN ?? 0;
      this.world = worldOf(self, config, this.nodes.list(), localAsn);
      this.book.markAll();
      this.layer2.electAll();
    }
    const world = this.world;
    const changed = this.book.recompute(
      world,
      (key, before, after) => {
        this.layer2.serviceChanged(key, before, after);
        this.bgp.serviceChanged(key, before, after);
      },
      this.options.servicesPerPass ?? servicesPerPass,
    );
    // This node stays a candidate without quorum: it keeps its claims (not answering) through a
    // partition with no majority anywhere, so the IPs come back to it, not elsewhere, after.
    const moved = this.layer2.pass(
      world,
      (n) => n === self || this.detector.isAlive(n),
      (n, ip) => this.detector.claimOf(n, ip),
    );
    this.bgp.pass(world, this.peers);
    for (const key of changed) this.unsettled.add(key);
    for (const key of moved) this.unsettled.add(key);
    this.settle();
    // The rest of a large batch (start-up, a configuration change) in the next passes.
    if (this.book.pending) this.schedule();
  }

  /** Services whose layer-2 answering changed between passes: said once per batch. */
  private unsettle(keys: readonly string[]): void {
    for (const key of keys) this.unsettled.add(key);
    if (this.settleQueued) return;
    this.settleQueued = true;
    queueMicrotask(() => {
      this.settleQueued = false;
      if (!this.stopped) this.settle();
    });
  }

  /** nodeAssigned Events, reasons and status objects of the Services a change touched. */
  private settle(): void {
    for (const key of this.unsettled) {
      const facts = this.book.factsOf(key);
      if (!facts) {
        this.book.settle(key, undefined);
        continue;
      }
      const owner = this.layer2.ownerOf(facts);
      const d = serviceDecision(facts, owner, this.options.nodeName);
      const interfaces = this.layer2.answeredOn(facts);
      this.book.settle(key, {
        ...(facts.bgp ? { bgpPeers: facts.bgpPeers ?? [] } : {}),
        ...(interfaces ? { layer2Interfaces: interfaces } : {}),
        ...(d.reason !== undefined ? { reason: d.reason } : {}),
        ...(owner !== undefined ? { layer2Owner: owner } : {}),
      });
    }
    this.unsettled.clear();
  }

  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, 50);
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
}

const minReconcileIntervalMs = 20;
/**
 * Most Services one pass decides. When everything is decided at once (start-up against 10,000
 * Services, a configuration or Node change) the work goes in slices of this size, a
 * minReconcileIntervalMs apart: the status writes, Events and BGP updates of one slice leave
 * before the next is built, which keeps the speaker's peak memory down (issue 12), and the
 * heartbeats get the thread between slices.
 */
const servicesPerPass = 1000;
