/**
 * Integration harness: an API server on loopback (the development one or a real kube-apiserver),
 * and speakers run in-process with real informers, real UDP heartbeats on 127.0.0.1 and recording
 * fakes for the layer-2 announcer and the BGP speaker (the real ones are exercised by the lab's
 * end-to-end tests).
 */
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import type { PeerOptions, Route } from '@portico/bgp';
import { ApiClient, applyObject, kubeconfigCredentials } from '@portico/kube';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { BgpBackend, Layer2Backend } from '../src/backends.js';
import { SPEAKER_ADDRESS_ANNOTATION } from '../src/membership/members.js';
import { openUdpTransport, type Transport, type UdpTransport } from '../src/membership/udp-transport.js';
import { Speaker, type SpeakerOptions } from '../src/speaker.js';

/** What the harness needs of an API server: either kind's kubeconfig. */
export interface ApiServer {
  kubeconfig(): string;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline || i > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class FakeLayer2 implements Layer2Backend {
  readonly ips = new Set<string>();
  readonly log: string[] = [];
  closed = false;
  announce(ip: string): Promise<void> {
    this.ips.add(ip);
    this.log.push(`+${ip}`);
    return Promise.resolve();
  }
  withdraw(ip: string): void {
    if (this.ips.delete(ip)) this.log.push(`-${ip}`);
  }
  close(): void {
    this.closed = true;
  }
}

export class FakeBgp implements BgpBackend {
  readonly peers = new Map<string, PeerOptions>();
  /** The routes it advertises, sorted by prefix. */
  routes: Route[] = [];
  /** Its table after each change (changes within a tick count once, as the real speaker sends them), as sorted prefixes. */
  readonly history: string[][] = [];
  /** Every call that changed routes: `set N`, `announce PREFIX`, `withdraw PREFIX`. */
  readonly calls: string[] = [];
  private readonly table = new Map<string, Route>();
  private snapshotQueued = false;
  started = false;
  constructor(readonly localAsn: number) {}
  start(): Promise<void> {
    this.started = true;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.started = false;
    return Promise.resolve();
  }
  addPeer(options: PeerOptions): void {
    this.peers.set(options.peerAddress, options);
  }
  removePeer(address: string): void {
    this.peers.delete(address);
  }
  setRoutes(routes: Route[]): void {
    this.calls.push(`set ${routes.length}`);
    this.table.clear();
    for (const r of routes) this.table.set(r.prefix, r);
    this.changed();
  }
  announce(route: Route): void {
    this.calls.push(`announce ${route.prefix}`);
    this.table.set(route.prefix, route);
    this.changed();
  }
  withdraw(prefix: string): void {
    this.calls.push(`withdraw ${prefix}`);
    this.table.delete(prefix);
    this.changed();
  }
  private changed(): void {
    this.routes = [...this.table.values()].sort((a, b) =>
      a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0,
    );
    if (this.snapshotQueued) return;
    this.snapshotQueued = true;
    queueMicrotask(() => {
      this.snapshotQueued = false;
      this.history.push(this.routes.map((r) => r.prefix).sort());
    });
  }
}

export interface RunningSpeaker {
  node: string;
  speaker: Speaker;
  layer2: FakeLayer2;
  bgp(): FakeBgp | undefined;
  registry: Registry;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Stops it as a crash would look to the others: heartbeats end. */
  kill(): Promise<void>;
  /** A planned stop (SIGTERM): withdraws and tells the others. */
  stop(): Promise<void>;
  /** Drops its heartbeats both ways (on: its link is down, or the port is filtered). */
  cutLink(on: boolean): void;
}

export class Lab {
  readonly kc: KubeConfig;
  /** Portico's client, for the harness's own applies (each speaker gets a pool of its own: apiClient()). */
  readonly kube: ApiClient;
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly speakers = new Map<string, RunningSpeaker>();
  /** Each node's heartbeat socket, kept across speaker restarts so its address stays valid. */
  private readonly ports = new Map<string, number>();

  /** Nodes this lab created (cluster-scoped, so removed again by clear()). */
  private readonly nodes = new Set<string>();

  /**
   * `namespace` holds the test's Services, EndpointSlices and their Events. A real kube-apiserver
   * cannot delete a namespace (no controller finalizes it), so each test takes a fresh one.
   */
  constructor(
    readonly server: ApiServer,
    readonly namespace = 'default',
  ) {
    this.kc = new KubeConfig();
    this.kc.loadFromString(server.kubeconfig());
    this.kube = this.apiClient();
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.discovery = this.kc.makeApiClient(DiscoveryV1Api);
  }

  /** A connection pool of its own, as each speaker process has. */
  apiClient(): ApiClient {
    return new ApiClient(kubeconfigCredentials(this.server.kubeconfig()));
  }

  /** A lab whose namespace, and portico-system for the ConfigMap, exist (a real server requires it). */
  static async create(server: ApiServer, namespace: string): Promise<Lab> {
    const lab = new Lab(server, namespace);
    for (const name of [namespace, 'portico-system'])
      await applyObject(lab.kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return lab;
  }

  /**
   * Stops the speakers and removes what the next test's speakers must not see on a shared server:
   * this lab's Services and EndpointSlices (announced IPs) and Nodes (names are reused).
   */
  async clear(): Promise<void> {
    await this.stopAll();
    const namespace = this.namespace;
    for (const svc of (await this.core.listNamespacedService({ namespace })).items)
      if (svc.spec?.type === 'LoadBalancer')
        await this.core.deleteNamespacedService({ name: svc.metadata!.name!, namespace });
    await this.discovery.deleteCollectionNamespacedEndpointSlice({ namespace });
    for (const name of this.nodes) await this.core.deleteNode({ name });
    this.nodes.clear();
  }

  async setConfig(config: string): Promise<void> {
    await applyObject(this.kube, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'portico-system' },
      data: { config },
    });
  }

  /** Creates the Node with a free heartbeat port in its speaker-address annotation. */
  async addNode(name: string, labels: Record<string, string> = {}): Promise<void> {
    const probe = await openUdpTransport('127.0.0.1', 0);
    const port = probe.port;
    await probe.close();
    this.ports.set(name, port);
    this.nodes.add(name);
    await this.core.createNode({
      body: {
        metadata: {
          name,
          labels: { 'kubernetes.io/hostname': name, ...labels },
          annotations: { [SPEAKER_ADDRESS_ANNOTATION]: `127.0.0.1:${port}` },
        },
      },
    });
    await this.setNodeReady(name, 'True');
  }

  async setNodeReady(name: string, status: 'True' | 'False'): Promise<void> {
    const node = await this.core.readNode({ name });
    node.status = {
      ...node.status,
      conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady' }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    };
    await this.core.replaceNodeStatus({ name, body: node });
  }

  async labelNode(name: string, labels: Record<string, string | null>): Promise<void> {
    // A merge patch: null removes a label.
    await this.core.patchNode(
      { name, body: { metadata: { labels } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** `timing` overrides the production membership timing (suspicionMs, leaseMs) for one test. */
  async startSpeaker(
    node: string,
    timing: Pick<SpeakerOptions, 'suspicionMs' | 'leaseMs' | 'servicesPerPass'> = {},
  ): Promise<RunningSpeaker> {
    const registry = new Registry();
    const layer2 = new FakeLayer2();
    let bgp: FakeBgp | undefined;
    const transport: UdpTransport = await openUdpTransport('127.0.0.1', this.ports.get(node)!);
    let cut = false;
    const link: Transport = {
      send: (data, address, port) => {
        if (!cut) transport.send(data, address, port);
      },
      onMessage: (handler) =>
        transport.onMessage((data) => {
          if (!cut) handler(data);
        }),
      close: () => transport.close(),
    };
    const api = this.apiClient();
    const speaker = new Speaker({
      api,
      nodeName: node,
      namespace: 'portico-system',
      configMapName: 'config',
      logger: pino({ level: process.env.SPEAKER_TEST_LOG ?? 'silent' }),
      registry,
      layer2,
      createBgp: (asn) => (bgp = new FakeBgp(asn)),
      transport: link,
      memberlistPort: 7946,
      ...timing,
    });
    await speaker.start();
    const running: RunningSpeaker = {
      node,
      speaker,
      layer2,
      bgp: () => bgp,
      registry,
      async metric(name, labels = {}) {
        const json = await registry.getSingleMetric(name)?.get();
        return json?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
          ?.value;
      },
      cutLink: (on) => (cut = on),
      stop: async () => {
        await speaker.stop();
        await transport.close();
        await api.close();
        this.speakers.delete(node);
      },
      kill: async () => {
        // A crash: nothing more goes out, not even the leave notice of a planned stop.
        cut = true;
        await speaker.stop();
        await transport.close();
        await api.close();
        this.speakers.delete(node);
      },
    };
    this.speakers.set(node, running);
    return running;
  }

  async stopAll(): Promise<void> {
    for (const s of [...this.speakers.values()]) await s.kill();
  }

  async createService(name: string, ips: string[], local = false, loadBalancerClass?: string): Promise<void> {
    const namespace = this.namespace;
    await this.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name, namespace },
        spec: {
          type: 'LoadBalancer',
          ...(loadBalancerClass ? { loadBalancerClass } : {}),
          externalTrafficPolicy: local ? 'Local' : 'Cluster',
          ports: [{ port: 80, protocol: 'TCP' }],
          selector: { app: name },
        },
      },
    });
    // What the controller would write.
    const svc = await this.core.readNamespacedService({ name, namespace });
    svc.status = { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } };
    await this.core.replaceNamespacedServiceStatus({ name, namespace, body: svc });
  }

  /** Sets the Service's one EndpointSlice to ready endpoints on the given nodes (with repeats). */
  async setEndpoints(
    service: string,
    nodes: Array<string | { node: string; ready?: boolean; terminating?: boolean }>,
  ) {
    const name = `${service}-slice`;
    const namespace = this.namespace;
    const body: V1EndpointSlice = {
      metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      endpoints: nodes.map((n, i) => {
        const e = typeof n === 'string' ? { node: n } : n;
        return {
          addresses: [`10.244.0.${i + 1}`],
          nodeName: e.node,
          targetRef: { kind: 'Pod', name: `${service}-${i}`, namespace, uid: `${service}-${i}` },
          conditions: { ready: e.ready ?? true, ...(e.terminating ? { terminating: true } : {}) },
        };
      }),
      ports: [{ port: 8080, protocol: 'TCP' }],
    };
    try {
      const old = await this.discovery.readNamespacedEndpointSlice({ name, namespace });
      body.metadata!.resourceVersion = old.metadata?.resourceVersion;
      await this.discovery.replaceNamespacedEndpointSlice({ name, namespace, body });
    } catch {
      await this.discovery.createNamespacedEndpointSlice({ namespace, body });
    }
  }

  /** Nodes whose speaker currently answers for `ip`. */
  owners(ip: string): string[] {
    return [...this.speakers.values()]
      .filter((s) => s.layer2.ips.has(ip))
      .map((s) => s.node)
      .sort();
  }

  async events(name: string, reason: string) {
    const list = await this.core.listNamespacedEvent({ namespace: this.namespace });
    return list.items.filter((e) => e.involvedObject.name === name && e.reason === reason);
  }
}
