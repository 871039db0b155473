import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLibrary, Driver, requireTools, sh, Topology, waitFor, waitForShell } from './harness.js';
import { PASSWORD, type RouteView, routerScenario, type RouterAdapter } from './scenario.js';

requireTools(['/usr/lib/frr/bgpd', '/usr/bin/vtysh']);

function config(): string {
  const lines = [
    'frr defaults traditional',
    'router bgp 65000',
    ' bgp router-id 192.0.2.1',
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
  ];
  const peers: [string, number, string[]][] = [
    ['192.0.2.2', 65001, ['ipv4', 'ipv6']],
    ['192.0.2.3', 65000, ['ipv4']],
    ['192.0.2.4', 65001, ['ipv4']],
    ['192.0.2.5', 65001, ['ipv4']],
    ['2001:db8::2', 65001, ['ipv6']],
  ];
  for (const [p, asn] of peers) {
    lines.push(` neighbor ${p} remote-as ${asn}`, ` neighbor ${p} timers connect 1`);
    if (p === '192.0.2.4' || p === '192.0.2.5') lines.push(` neighbor ${p} password ${PASSWORD}`);
  }
  for (const af of ['ipv4', 'ipv6']) {
    lines.push(` address-family ${af} unicast`);
    for (const [p, , fams] of peers) if (fams.includes(af)) lines.push(`  neighbor ${p} activate`);
    lines.push(' exit-address-family');
  }
  return lines.join('\n') + '\n';
}

class Frr implements RouterAdapter {
  private dir = '';
  constructor(private readonly text: string = config()) {}
  start(topo: Topology): void {
    this.dir = topo.dir;
    writeFileSync(join(this.dir, 'bgpd.conf'), this.text);
    const args = [
      'netns',
      'exec',
      topo.router,
      '/usr/lib/frr/bgpd',
      '-Z',
      '-n',
      '-S',
      '-P',
      '0',
      '-f',
      join(this.dir, 'bgpd.conf'),
    ];
    args.push(
      '-i',
      join(this.dir, 'bgpd.pid'),
      '--vty_socket',
      this.dir,
      '--log',
      `file:${join(this.dir, 'bgpd.log')}`,
    );
    spawn('ip', args, { stdio: 'ignore', detached: true }).unref();
    waitForShell(`[ -S ${this.dir}/bgpd.vty ]`);
  }
  stop(): void {
    try {
      process.kill(this.pid(), 'SIGKILL');
    } catch {
      // not running
    }
  }
  pid(): number {
    return Number(readFileSync(join(this.dir, 'bgpd.pid'), 'utf8').trim());
  }
  private vtysh(cmd: string): unknown {
    return JSON.parse(sh('vtysh', ['--vty_socket', this.dir, '-c', cmd]) || '{}');
  }
  established(peer: string): boolean {
    const s = this.vtysh(`show bgp neighbors ${peer} json`) as Record<string, { bgpState?: string }>;
    return s[peer]?.bgpState === 'Established';
  }
  route(prefix: string, from: string): RouteView | undefined {
    const af = prefix.includes(':') ? 'ipv6' : 'ipv4';
    const r = this.vtysh(`show bgp ${af} unicast ${prefix} json`) as { paths?: FrrPath[] };
    const p = r.paths?.find((x) => x.peer?.peerId === from);
    if (!p) return undefined;
    const view: RouteView = {
      nextHop: p.nexthops?.[0]?.ip ?? '',
      // FRR prints an empty path as "Local"; the segments say what was received.
      asPath: (p.aspath?.segments ?? []).flatMap((seg) => seg.list).join(' '),
      communities: p.community?.list ?? [],
      largeCommunities: p.largeCommunity?.list ?? [],
      stale: p.stale === true,
    };
    if (p.metric !== undefined) view.med = p.metric;
    if (p.locPrf !== undefined) view.localPref = p.locPrf;
    return view;
  }
}

interface FrrPath {
  aspath?: { string: string; segments?: { list: number[] }[] };
  metric?: number;
  locPrf?: number;
  stale?: boolean;
  community?: { list: string[] };
  largeCommunity?: { list: string[] };
  nexthops?: { ip: string }[];
  peer?: { peerId: string };
}

routerScenario('FRR bgpd', 'pbgp-frr', new Frr());

// RFC 8950: IPv4 routes over an IPv6-only session carry our IPv6 address as next hop.
describe('IPv4 routes with an IPv6 next hop (RFC 8950) against FRR', () => {
  const topo = new Topology('pbgp-enh');
  const frr = new Frr(
    [
      'frr defaults traditional',
      'router bgp 65000',
      ' bgp router-id 192.0.2.1',
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' neighbor 2001:db8::2 remote-as 65001',
      ' neighbor 2001:db8::2 timers connect 1',
      ' neighbor 2001:db8::2 capability extended-nexthop',
      ' address-family ipv4 unicast',
      '  neighbor 2001:db8::2 activate',
      ' exit-address-family',
      '',
    ].join('\n'),
  );
  let driver: Driver;
  beforeAll(() => {
    buildLibrary();
    topo.create(['2001:db8::1/64'], ['2001:db8::2/64']);
    frr.start(topo);
    driver = new Driver(topo.speaker, {
      localAsn: 65001,
      routerId: '192.0.2.2',
      routes: [{ prefix: '198.51.100.20/32' }],
      peers: [
        {
          peerAddress: '2001:db8::1',
          peerAsn: 65000,
          localAddress: '2001:db8::2',
          families: ['ipv4'],
          connectRetryTime: 1,
        },
      ],
    });
  });
  afterAll(async () => {
    await driver?.stop();
    frr.stop();
    topo.cleanup();
  });
  it('delivers 198.51.100.20/32 via 2001:db8::2', async () => {
    const r = await waitFor('IPv4 route over the IPv6 session', () =>
      frr.route('198.51.100.20/32', '2001:db8::2'),
    );
    expect(r.nextHop).toBe('2001:db8::2');
  });
});
