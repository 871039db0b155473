import { Bird as BirdDaemon, birdConfig, type BirdSession } from '@portico/testbed';
import { requireTools, type Topology } from './harness.js';
import { PASSWORD, type RouteView, routerScenario, type RouterAdapter } from './scenario.js';

requireTools(['/usr/sbin/bird', '/usr/sbin/birdc']);

/** Speaker address -> BIRD protocol name. */
const PROTOCOLS: Record<string, string> = {
  '192.0.2.2': 'e4',
  '192.0.2.3': 'i4',
  '192.0.2.4': 'm4',
  '192.0.2.5': 'w4',
  '2001:db8::2': 'e6',
};

const session = (
  name: string,
  local: string,
  neighbor: string,
  neighborAs: number,
  more: Partial<BirdSession> = {},
): BirdSession => ({
  name,
  local,
  localAs: 65000,
  neighbor,
  neighborAs,
  connectRetry: 1,
  channels: [{ family: 'ipv4' }],
  ...more,
});

const CONFIG = birdConfig({
  routerId: '192.0.2.1',
  sessions: [
    session('e4', '192.0.2.1', '192.0.2.2', 65001, { channels: [{ family: 'ipv4' }, { family: 'ipv6' }] }),
    session('i4', '192.0.2.11', '192.0.2.3', 65000, {
      direct: true,
      channels: [{ family: 'ipv4', gatewayDirect: true }],
    }),
    session('m4', '192.0.2.12', '192.0.2.4', 65001, { password: PASSWORD }),
    session('w4', '192.0.2.13', '192.0.2.5', 65001, { password: PASSWORD }),
    session('e6', '2001:db8::1', '2001:db8::2', 65001, { channels: [{ family: 'ipv6' }] }),
  ],
});

class Bird implements RouterAdapter {
  private daemon: BirdDaemon | undefined;
  start(topo: Topology): void {
    this.daemon = new BirdDaemon(topo.router, topo.dir);
    this.daemon.start(CONFIG);
  }
  stop(): void {
    this.daemon?.kill('SIGKILL');
  }
  pid(): number {
    return this.daemon?.pid() ?? -1;
  }
  /** birdc exits non-zero for "Network not found"; callers look at the output. */
  private birdc(cmd: string): string {
    return this.daemon!.birdc(cmd);
  }
  established(peer: string): boolean {
    return /Established/.test(this.birdc(`show protocols ${PROTOCOLS[peer]}`));
  }
  route(prefix: string, from: string): RouteView | undefined {
    const out = this.birdc(`show route ${prefix} protocol ${PROTOCOLS[from]} all`);
    if (!out.includes(prefix)) return undefined;
    const attr = (name: string) => new RegExp(`BGP\\.${name}: (.*)`).exec(out)?.[1]?.trim();
    const pairs = (text: string | undefined) =>
      [...(text ?? '').matchAll(/\(([^)]*)\)/g)].map((m) =>
        m[1]!
          .split(',')
          .map((x) => x.trim())
          .join(':'),
      );
    const view: RouteView = {
      nextHop: attr('next_hop')?.split(' ')[0] ?? '',
      asPath: attr('as_path') ?? '',
      communities: pairs(attr('community')),
      largeCommunities: pairs(attr('large_community')),
      // BIRD marks routes kept by graceful restart as stale in the route flags.
      stale: /\bstale\b/i.test(out),
    };
    const med = attr('med');
    const lp = attr('local_pref');
    if (med !== undefined) view.med = Number(med);
    if (lp !== undefined) view.localPref = Number(lp);
    return view;
  }
}

routerScenario('BIRD 2', 'pbgp-bird', new Bird());
