import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCommunity } from '@portico/netaddr';
import { requireTools, sh, type Topology, waitForShell } from './harness.js';
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
  const out = ['[global.config]', '  as = 65000', '  router-id = "192.0.2.1"'];
  for (const [addr, asn, fams, md5] of PEERS) {
    out.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${addr}"`,
      `    peer-as = ${asn}`,
    );
    if (md5) out.push(`    auth-password = "${PASSWORD}"`);
    out.push('  [neighbors.timers.config]', '    connect-retry = 1', '    idle-hold-time-after-reset = 1');
    // Helper mode: keep the routes of a restarting speaker (RFC 4724).
    out.push('  [neighbors.graceful-restart.config]', '    enabled = true', '    helper-only = true');
    for (const f of fams) {
      out.push(
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        `      afi-safi-name = "${f}-unicast"`,
      );
      out.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
    }
  }
  return out.join('\n') + '\n';
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
  private child: ChildProcess | undefined;
  private ns = '';
  start(topo: Topology): void {
    this.ns = topo.router;
    const file = join(topo.dir, 'gobgpd.toml');
    writeFileSync(file, config());
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        topo.router,
        'gobgpd',
        '-f',
        file,
        '--api-hosts',
        '127.0.0.1:50051',
        '-p',
        '--pprof-disable',
      ],
      {
        stdio: 'ignore',
      },
    );
    waitForShell(`ip netns exec ${topo.router} gobgp global >/dev/null 2>&1`);
  }
  stop(): void {
    this.child?.kill('SIGKILL');
  }
  pid(): number {
    return this.child?.pid ?? -1;
  }
  private gobgp(args: string[]): unknown {
    const out = sh('ip', ['netns', 'exec', this.ns, 'gobgp', ...args, '-j'], { allowFail: true });
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
