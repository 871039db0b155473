/**
 * The lab's kube-proxy stand-in, one per node namespace: makes traffic for a LoadBalancer IP:port
 * that arrives at this node reach a ready endpoint of the Service.
 *
 * - Every Service IP is routed to `lo` as a local address (`ip route replace local IP dev lo`),
 *   so the node accepts packets for it. The node does not answer ARP/NDP for it: arp_ignore=1
 *   (the address is on no interface) and NDP only answers for configured addresses; announcing is
 *   the speaker's job.
 * - A userspace TCP forwarder listens on IP:port and pipes each connection to an endpoint, round
 *   robin: with externalTrafficPolicy Local only this node's ready endpoints, with Cluster every
 *   ready endpoint. No eligible endpoint: the connection is reset (kube-proxy drops the packets).
 * - It polls the API every half second and keeps its last state while the API is unreachable.
 *
 *   node node-proxy.js API_SERVER_URL NODE_NAME
 */
import { spawnSync } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { forwardingRules, type EndpointSlice, type Rules, type Service } from './proxy-rules.js';

const [apiServer, nodeName] = process.argv.slice(2);
if (!apiServer || !nodeName) {
  console.error('usage: node-proxy.js API_SERVER_URL NODE_NAME');
  process.exit(2);
}

interface Listener {
  server: Server;
  targets: string[];
  next: number;
}

const listeners = new Map<string, Listener>();
const localIps = new Set<string>();
let apiDown = false;

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), node: nodeName, msg, ...extra }));

function route(action: 'replace' | 'del', ip: string): void {
  const family = ip.includes(':') ? '-6' : '-4';
  const len = ip.includes(':') ? 128 : 32;
  spawnSync('ip', [family, 'route', action, 'local', `${ip}/${len}`, 'dev', 'lo', 'table', 'local'], {
    stdio: 'ignore',
  });
}

async function list<T>(path: string): Promise<T[]> {
  const res = await fetch(apiServer + path, { signal: AbortSignal.timeout(3_000) });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return ((await res.json()) as { items: T[] }).items;
}

function forward(listener: Listener, socket: import('node:net').Socket): void {
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

function reconcile(want: Rules): void {
  const wantIps = new Set([...want.values()].map((w) => w.ip));
  for (const ip of wantIps)
    if (!localIps.has(ip)) {
      route('replace', ip);
      localIps.add(ip);
      log('service IP routed locally', { ip });
    }
  for (const [k, l] of listeners)
    if (!want.has(k)) {
      l.server.close();
      listeners.delete(k);
      log('stopped forwarding', { listen: k });
    }
  for (const [k, w] of want) {
    const existing = listeners.get(k);
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
    listeners.set(k, l);
    log('forwarding', { listen: k, targets: w.targets });
  }
  for (const ip of localIps)
    if (!wantIps.has(ip)) {
      route('del', ip);
      localIps.delete(ip);
      log('service IP removed', { ip });
    }
}

async function tick(): Promise<void> {
  try {
    const [services, slices] = await Promise.all([
      list<Service>('/api/v1/services'),
      list<EndpointSlice>('/apis/discovery.k8s.io/v1/endpointslices'),
    ]);
    if (apiDown) log('API reachable again');
    apiDown = false;
    reconcile(forwardingRules(services, slices, nodeName!));
  } catch (err) {
    // Keep forwarding with what we know, as kube-proxy does when the API is away.
    if (!apiDown) log('API unreachable; keeping the current rules', { error: (err as Error).message });
    apiDown = true;
  }
}

let timer: NodeJS.Timeout | undefined;
async function loop(): Promise<void> {
  await tick();
  timer = setTimeout(() => void loop(), 500);
}
void loop();

const stop = () => {
  clearTimeout(timer);
  for (const ip of localIps) route('del', ip);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
