/**
 * The top-of-rack router in plab-r1: FRR (zebra + bgpd, so BGP routes reach the namespace's
 * kernel and the client's packets follow them) or, when FRR is missing, BIRD 2. It peers with
 * every node (IPv4 and IPv6 sessions), accepts their Service routes and installs them with
 * equal-cost multipath, one next hop per announcing node.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_ASN, NODES, ROUTER, ROUTER_ASN, SEGMENT } from './plan.js';
import { inNetns, sh, waitFor } from './shell.js';

export type RouterKind = 'frr' | 'bird';

const FRR = '/usr/lib/frr';
const BIRD = '/usr/sbin/bird';

/** Which routing daemon is installed (FRR preferred), or undefined for a layer-2-only lab. */
export function detectRouter(): RouterKind | undefined {
  if (existsSync(`${FRR}/bgpd`) && existsSync(`${FRR}/zebra`) && existsSync('/usr/bin/vtysh')) return 'frr';
  if (existsSync(BIRD) && existsSync('/usr/sbin/birdc')) return 'bird';
  return undefined;
}

export const INSTALL_HINT = 'apt-get install frr bird2';

function frrBgpdConf(): string {
  const lines = [
    'frr defaults traditional',
    `hostname ${ROUTER}`,
    'log file bgpd.log',
    `router bgp ${ROUTER_ASN}`,
    ` bgp router-id ${SEGMENT.router4}`,
    // Without this FRR drops eBGP routes that no policy accepted (testbed.md §1.3).
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    // No graceful-restart helper: a speaker that dies is withdrawn at once instead of its routes
    // being kept as stale for the restart time (see docs/lab.md, "Decisions").
    ' bgp graceful-restart-disable',
    ' neighbor nodes4 peer-group',
    ` neighbor nodes4 remote-as ${NODE_ASN}`,
    ' neighbor nodes4 timers 3 9',
    ' neighbor nodes4 timers connect 1',
    ' neighbor nodes6 peer-group',
    ` neighbor nodes6 remote-as ${NODE_ASN}`,
    ' neighbor nodes6 timers 3 9',
    ' neighbor nodes6 timers connect 1',
    ...NODES.flatMap((n) => [
      ` neighbor ${n.ipv4} peer-group nodes4`,
      ` neighbor ${n.ipv6} peer-group nodes6`,
    ]),
    ' address-family ipv4 unicast',
    '  neighbor nodes4 activate',
    '  maximum-paths 8',
    ' exit-address-family',
    ' address-family ipv6 unicast',
    '  neighbor nodes6 activate',
    '  maximum-paths 8',
    ' exit-address-family',
  ];
  return `${lines.join('\n')}\n`;
}

function birdConf(): string {
  const sessions = NODES.map(
    (n, i) =>
      `protocol bgp node${i + 1}v4 { local ${SEGMENT.router4} as ${ROUTER_ASN}; neighbor ${n.ipv4} as ${NODE_ASN};\n` +
      `  connect retry time 1; hold time 9; graceful restart off; ipv4 { import all; export none; }; }\n` +
      `protocol bgp node${i + 1}v6 { local ${SEGMENT.router6} as ${ROUTER_ASN}; neighbor ${n.ipv6} as ${NODE_ASN};\n` +
      `  connect retry time 1; hold time 9; graceful restart off; ipv6 { import all; export none; }; }\n`,
  ).join('');
  return `router id ${SEGMENT.router4};
protocol device { scan time 10; }
protocol kernel { ipv4 { export all; }; merge paths on; }
protocol kernel { ipv6 { export all; }; merge paths on; }
${sessions}`;
}

/** Starts the router daemons with config, pid files, sockets and logs under DIR. */
export async function startRouter(kind: RouterKind, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (kind === 'frr') {
    writeFileSync(join(dir, 'zebra.conf'), `hostname ${ROUTER}\nlog file zebra.log\n`);
    writeFileSync(join(dir, 'bgpd.conf'), frrBgpdConf());
    // zebra refuses to run as root outside the frrvty group; let the daemons drop to frr (testbed.md §1.4).
    for (const f of ['', 'zebra.conf', 'bgpd.conf']) chownSync(join(dir, f), frrUid(), frrGid());
    for (const daemon of ['zebra', 'bgpd']) {
      const args = ['--vty_socket', dir, '-z', join(dir, 'zserv.api'), '-P', '0'];
      args.push(
        '-f',
        join(dir, `${daemon}.conf`),
        '-i',
        join(dir, `${daemon}.pid`),
        '--log',
        `file:${join(dir, `${daemon}.log`)}`,
        '-d',
      );
      inNetns(ROUTER, `${FRR}/${daemon}`, args);
      await waitFor(() => existsSync(join(dir, `${daemon}.vty`)), 10_000, `FRR ${daemon} to start`);
    }
  } else {
    writeFileSync(join(dir, 'bird.conf'), birdConf());
    inNetns(ROUTER, BIRD, [
      '-c',
      join(dir, 'bird.conf'),
      '-s',
      join(dir, 'bird.ctl'),
      '-P',
      join(dir, 'bird.pid'),
    ]);
    await waitFor(() => existsSync(join(dir, 'bird.ctl')), 10_000, 'BIRD to start');
  }
}

function frrUid(): number {
  return Number(sh('id', ['-u', 'frr']).trim());
}
function frrGid(): number {
  return Number(sh('id', ['-g', 'frr']).trim());
}

/** Pids of the router daemons started in DIR (from their pid files). */
export function routerPids(dir: string): number[] {
  return ['zebra.pid', 'bgpd.pid', 'bird.pid'].flatMap((f) => {
    const file = join(dir, f);
    if (!existsSync(file)) return [];
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? [pid] : [];
  });
}

/** Runs a router CLI command (vtysh or birdc) and returns its output. */
export function routerCli(kind: RouterKind, dir: string, command: string): string {
  return kind === 'frr'
    ? sh('vtysh', ['--vty_socket', dir, '-c', command], { allowFail: true })
    : sh('birdc', ['-s', join(dir, 'bird.ctl'), ...command.split(' ')], { allowFail: true });
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
