import { Gobgp as GobgpDaemon, gobgpConfig } from '@portico/testbed';
import { formatCommunity } from '@portico/net';
import { requireTools, type Topology } from './harness.js';
import { PASSWORD, type RouteView, routerScenario, type RouterAdapter } from './scenario.js';

requireTools(['/usr/bin/gobgpd', '/usr/bin/gobgp']);

const PEERS: [string, number, string[], boolean][] = [
  ['192.0.2.2', 65001, ['ipv4', 'ipv6'], false],
  ['192.0.2.3', 65000, ['ipv4'], false],
  ['192.0.2.4', 65001, ['ipv4'], true],
  ['192.0.2.5', 65001, ['ipv4'], true],
  ['2001:db8::2', 65001, ['ipv6'], false],
];

function config(): string {
  return gobgpConfig({
    asn: 65000,
    routerId: '192.0.2.1',
    neighbors: PEERS.map(([address, peerAs, families, md5]) => ({
      address,
      peerAs,
      ...(md5 ? { password: PASSWORD } : {}),
      connectRetry: 1,
      // Helper mode: keep the routes of a restarting speaker (RFC 4724).
      gracefulRestartHelper: true,
      families: families as Array<'ipv4' | 'ipv6'>,
    })),
  });
}

interface GobgpPath {
  attrs: {
    type: number;
    value?: unknown;
    nexthop?: string;
    metric?: number;
    communities?: number[];
    as_paths?: { asns: number[] }[];
  }[];
  stale?: boolean;
  'neighbor-ip'?: string;
}

class Gobgp implements RouterAdapter {
  private daemon: GobgpDaemon | undefined;
  start(topo: Topology): void {
    this.daemon = new GobgpDaemon(topo.router, topo.dir);
    this.daemon.start(config());
  }
  stop(): void {
    this.daemon?.process?.kill('SIGKILL');
  }
  pid(): number {
    return this.daemon?.pid ?? -1;
  }
  private gobgp(args: string[]): unknown {
    const out = this.daemon!.gobgp([...args, '-j'], { allowFail: true });
    return out.trim() ? JSON.parse(out) : undefined;
  }
  established(peer: string): boolean {
    const n = this.gobgp(['neighbor', peer]) as { state?: { session_state?: number } } | undefined;
    return n?.state?.session_state === 6;
  }
  route(prefix: string, from: string): RouteView | undefined {
    const af = prefix.includes(':') ? 'ipv6' : 'ipv4';
    const table = this.gobgp(['global', 'rib', '-a', af, prefix]) as Record<string, GobgpPath[]> | undefined;
    const p = table?.[prefix]?.find((x) => x['neighbor-ip'] === from);
    if (!p) return undefined;
    const attr = (type: number) => p.attrs.find((a) => a.type === type);
    const large = (attr(32)?.value ?? []) as { ASN: number; LocalData1: number; LocalData2: number }[];
    const view: RouteView = {
      nextHop: attr(3)?.nexthop ?? attr(14)?.nexthop ?? '',
      asPath: (attr(2)?.as_paths ?? []).flatMap((s) => s.asns).join(' '),
      communities: (attr(8)?.communities ?? []).map(formatCommunity),
      largeCommunities: large.map((l) => `${l.ASN}:${l.LocalData1}:${l.LocalData2}`),
      stale: p.stale === true,
    };
    const med = attr(4)?.metric;
    const lp = attr(5)?.value;
    if (med !== undefined) view.med = med;
    if (typeof lp === 'number') view.localPref = lp;
    return view;
  }
}

routerScenario('GoBGP', 'pbgp-gobgp', new Gobgp());
