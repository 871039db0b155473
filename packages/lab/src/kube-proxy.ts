/**
 * The lab's kube-proxy stand-in (run per node by node-proxy.ts): makes traffic for a LoadBalancer
 * IP:port that arrives at this node reach a ready endpoint of the Service.
 *
 * - Every Service IP is made local to the node (node-proxy.ts routes it to `lo`), so the node
 *   accepts packets for it without answering ARP/NDP for it: announcing is the speaker's job.
 * - A userspace TCP forwarder listens on IP:port and pipes each connection to an endpoint, round
 *   robin: with externalTrafficPolicy Local only this node's ready endpoints, with Cluster every
 *   ready endpoint. No eligible endpoint: the connection is reset (kube-proxy drops the packets).
 * - Services and EndpointSlices come from informers (list once, then watch), like kube-proxy; while
 *   the API is unreachable the caches, and so the rules, stay as they were.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { type ApiClient, createInformer, runInformer, type RunningInformer } from '@portico/kube';
import { forwardingRules, type EndpointSlice, type Rules, type Service } from './proxy-rules.js';

export interface KubeProxyOptions {
  api: ApiClient;
  nodeName: string;
  /** Makes a Service IP local to this node ('replace') or stops doing so ('del'). */
  route: (action: 'replace' | 'del', ip: string) => void;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}

interface Listener {
  server: Server;
  targets: string[];
  next: number;
}

export class KubeProxyStandIn {
  private readonly services;
  private readonly slices;
  private informers: RunningInformer[] = [];
  private readonly listeners = new Map<string, Listener>();
  private readonly localIps = new Set<string>();
  private synced = false;
  private scheduled = false;
  private apiDown = false;

  constructor(private readonly options: KubeProxyOptions) {
    this.services = createInformer<Service>(options.api, 'services');
    this.slices = createInformer<EndpointSlice>(options.api, 'endpointslices');
  }

  /** Resolves once both caches are filled and the first rules are in place. */
  async start(): Promise<void> {
    // A change arriving means the API answers again.
    const onChange = () => {
      if (this.apiDown) this.options.log('API reachable again');
      this.apiDown = false;
      this.schedule();
    };
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.services.on(verb, onChange);
      this.slices.on(verb, onChange);
    }
    const onError = (err: unknown) => {
      // Keep forwarding with what we know, as kube-proxy does when the API is away.
      if (!this.apiDown)
        this.options.log('API unreachable; keeping the current rules', { error: String(err) });
      this.apiDown = true;
    };
    this.informers = [runInformer(this.services, onError), runInformer(this.slices, onError)];
    await Promise.all(this.informers.map((i) => i.synced));
    this.synced = true;
    this.reconcile();
  }

  /** Closes every forwarder, un-routes every Service IP, then stops watching. */
  async stop(): Promise<void> {
    // Local state first: it must go even if the API never answers again.
    this.synced = false;
    for (const listener of this.listeners.values()) listener.server.close();
    this.listeners.clear();
    for (const ip of this.localIps) this.options.route('del', ip);
    this.localIps.clear();
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /** One reconcile per burst of events (a Service update often comes with its slice's). */
  private schedule(): void {
    if (!this.synced || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.synced) this.reconcile();
    });
  }

  private reconcile(): void {
    const want = forwardingRules(this.services.list(), this.slices.list(), this.options.nodeName);
    this.apply(want);
  }

  private apply(want: Rules): void {
    const { log, route } = this.options;
    const wantIps = new Set([...want.values()].map((w) => w.ip));
    for (const ip of wantIps)
      if (!this.localIps.has(ip)) {
        route('replace', ip);
        this.localIps.add(ip);
        log('service IP routed locally', { ip });
      }
    for (const [k, l] of this.listeners)
      if (!want.has(k)) {
        l.server.close();
        this.listeners.delete(k);
        log('stopped forwarding', { listen: k });
      }
    for (const [k, w] of want) {
      const existing = this.listeners.get(k);
      if (existing) {
        if (existing.targets.join() !== w.targets.join())
          log('endpoints changed', { listen: k, targets: w.targets });
        existing.targets = w.targets;
        continue;
      }
      const l: Listener = { server: createServer(), targets: w.targets, next: 0 };
      l.server.on('connection', (s) => forward(l, s));
      l.server.on('error', (err) => log('listen failed', { listen: k, error: err.message }));
      l.server.listen(w.port, w.ip);
      this.listeners.set(k, l);
      log('forwarding', { listen: k, targets: w.targets });
    }
    for (const ip of this.localIps)
      if (!wantIps.has(ip)) {
        route('del', ip);
        this.localIps.delete(ip);
        log('service IP removed', { ip });
      }
  }
}

function forward(listener: Listener, socket: Socket): void {
  if (listener.targets.length === 0) {
    socket.resetAndDestroy();
    return;
  }
  const target = listener.targets[listener.next++ % listener.targets.length]!;
  const colon = target.lastIndexOf(':');
  const upstream = connect({
    host: target.slice(0, colon).replace(/^\[|\]$/g, ''),
    port: Number(target.slice(colon + 1)),
  });
  socket.pipe(upstream).pipe(socket);
  upstream.on('error', () => socket.resetAndDestroy());
  socket.on('error', () => upstream.destroy());
}
