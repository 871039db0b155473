import { Frr as FrrDaemons, frrBgpdConfig } from '@portico/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLibrary, Driver, requireTools, Topology, waitFor } from './harness.js';
import { PASSWORD, type RouteView, routerScenario, type RouterAdapter } from './scenario.js';

requireTools(['/usr/lib/frr/bgpd', '/usr/bin/vtysh']);

function config(): string {
  const peers: [string, number, string[]][] = [
    ['192.0.2.2', 65001, ['ipv4', 'ipv6']],
    ['192.0.2.3', 65000, ['ipv4']],
    ['192.0.2.4', 65001, ['ipv4']],
    ['192.0.2.5', 65001, ['ipv4']],
    ['2001:db8::2', 65001, ['ipv6']],
  ];
  const activated = (af: string) => peers.filter(([, , fams]) => fams.includes(af)).map(([p]) => p);
  return frrBgpdConfig({
    asn: 65000,
    routerId: '192.0.2.1',
    neighbors: peers.map(([address, remoteAs]) => ({
      address,
      remoteAs,
      connectRetry: 1,
      ...(address === '192.0.2.4' || address === '192.0.2.5' ? { password: PASSWORD } : {}),
    })),
    addressFamilies: { ipv4: { activate: activated('ipv4') }, ipv6: { activate: activated('ipv6') } },
  });
}

class Frr implements RouterAdapter {
  private daemons: FrrDaemons | undefined;
  constructor(private readonly text: string = config()) {}
  start(topo: Topology): void {
    this.daemons = new FrrDaemons(topo.router, topo.dir);
    this.daemons.startBgpd(this.text);
  }
  stop(): void {
    this.daemons?.kill('bgpd');
  }
  pid(): number {
    return this.daemons?.pid('bgpd') ?? -1;
  }
  private vtysh(cmd: string): unknown {
    return this.daemons!.vtyshJson(cmd);
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
    frrBgpdConfig({
      asn: 65000,
      routerId: '192.0.2.1',
      neighbors: [{ address: '2001:db8::2', remoteAs: 65001, connectRetry: 1, extendedNexthop: true }],
      addressFamilies: { ipv4: { activate: ['2001:db8::2'] } },
    }),
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
