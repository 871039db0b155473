/**
 * The top-of-rack router in plab-r1: FRR (zebra + bgpd, so BGP routes reach the namespace's
 * kernel and the client's packets follow them) or, when FRR is missing, BIRD 2. It peers with
 * every node (IPv4 and IPv6 sessions), accepts their Service routes and installs them with
 * equal-cost multipath, one next hop per announcing node.
 */
import { Bird, birdConfig, birdInstalled, Frr, frrBgpdConfig, frrInstalled } from '@portico/testbed';
import { NODE_ASN, NODES, ROUTER, ROUTER_ASN, SEGMENT } from './plan.js';

export type RouterKind = 'frr' | 'bird';

/** Which routing daemon is installed (FRR preferred), or undefined for a layer-2-only lab. */
export function detectRouter(): RouterKind | undefined {
  if (frrInstalled()) return 'frr';
  if (birdInstalled()) return 'bird';
  return undefined;
}

export const INSTALL_HINT = 'apt-get install frr bird2';

function frrBgpdConf(): string {
  const nodes = (name: string) => ({
    name,
    remoteAs: NODE_ASN,
    timers: { keepalive: 3, hold: 9 },
    connectRetry: 1,
  });
  return frrBgpdConfig({
    hostname: ROUTER,
    logFile: 'bgpd.log',
    asn: ROUTER_ASN,
    routerId: SEGMENT.router4,
    // No graceful-restart helper: a speaker that dies is withdrawn at once instead of its routes
    // being kept as stale for the restart time (see docs/lab.md, "Decisions").
    gracefulRestart: false,
    peerGroups: [nodes('nodes4'), nodes('nodes6')],
    neighbors: NODES.flatMap((n) => [
      { address: n.ipv4, peerGroup: 'nodes4' },
      { address: n.ipv6, peerGroup: 'nodes6' },
    ]),
    addressFamilies: {
      ipv4: { activate: ['nodes4'], maximumPaths: 8 },
      ipv6: { activate: ['nodes6'], maximumPaths: 8 },
    },
  });
}

function birdConf(): string {
  const session = (name: string, local: string, neighbor: string, family: 'ipv4' | 'ipv6') => ({
    name,
    local,
    localAs: ROUTER_ASN,
    neighbor,
    neighborAs: NODE_ASN,
    connectRetry: 1,
    holdTime: 9,
    gracefulRestart: false as const,
    channels: [{ family }],
  });
  return birdConfig({
    routerId: SEGMENT.router4,
    exportToKernel: true,
    sessions: NODES.flatMap((n, i) => [
      session(`node${i + 1}v4`, SEGMENT.router4, n.ipv4, 'ipv4'),
      session(`node${i + 1}v6`, SEGMENT.router6, n.ipv6, 'ipv6'),
    ]),
  });
}

/** Starts the router daemons with config, pid files, sockets and logs under DIR. */
export async function startRouter(kind: RouterKind, dir: string): Promise<void> {
  if (kind === 'frr') {
    const frr = new Frr(ROUTER, dir);
    frr.startDaemon('zebra', `hostname ${ROUTER}\nlog file zebra.log\n`);
    frr.startDaemon('bgpd', frrBgpdConf());
  } else {
    new Bird(ROUTER, dir).start(birdConf());
  }
}

/** Pids of the router daemons started in DIR (from their pid files). */
export function routerPids(dir: string): number[] {
  return [...new Frr(ROUTER, dir).pids(), ...[new Bird(ROUTER, dir).pid() ?? []].flat()];
}

/** Runs a router CLI command (vtysh or birdc) and returns its output. */
export function routerCli(kind: RouterKind, dir: string, command: string): string {
  return kind === 'frr'
    ? new Frr(ROUTER, dir).vtysh(command, { allowFail: true })
    : new Bird(ROUTER, dir).birdc(command);
}

/** The next hops the router's routing table holds for PREFIX (e.g. 192.0.2.1/32), sorted. */
export function routerNextHops(kind: RouterKind, dir: string, prefix: string): string[] {
  const v6 = prefix.includes(':');
  if (kind === 'frr') {
    const out = routerCli(kind, dir, `show ${v6 ? 'ipv6' : 'ip'} route ${prefix} json`);
    let parsed: Record<
      string,
      Array<{ selected?: boolean; nexthops?: Array<{ ip?: string; active?: boolean }> }>
    >;
    try {
      parsed = JSON.parse(out) as typeof parsed;
    } catch {
      return [];
    }
    const routes = (parsed[prefix] ?? []).filter((r) => r.selected);
    return [
      ...new Set(routes.flatMap((r) => (r.nexthops ?? []).filter((h) => h.active && h.ip).map((h) => h.ip!))),
    ].sort();
  }
  const out = routerCli(kind, dir, `show route ${prefix} table master${v6 ? 6 : 4}`);
  return [...new Set([...out.matchAll(/via (\S+) on/g)].map((m) => m[1]!))].sort();
}

/** Number of BGP sessions the router has Established. */
export function establishedSessions(kind: RouterKind, dir: string): number {
  if (kind === 'frr') {
    try {
      const s = JSON.parse(routerCli(kind, dir, 'show bgp summary json')) as Record<
        string,
        { peers?: Record<string, { state?: string }> }
      >;
      const peers = new Set<string>();
      for (const af of Object.values(s))
        for (const [addr, p] of Object.entries(af.peers ?? {}))
          if (p.state === 'Established') peers.add(addr);
      return peers.size;
    } catch {
      return 0;
    }
  }
  return (routerCli(kind, dir, 'show protocols').match(/Established/g) ?? []).length;
}
