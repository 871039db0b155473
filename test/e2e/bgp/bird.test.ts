import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools, sh, type Topology, waitForShell } from './harness.js';
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

const CONFIG = `router id 192.0.2.1;
protocol device { scan time 10; }
protocol bgp e4 { local 192.0.2.1 as 65000; neighbor 192.0.2.2 as 65001; connect retry time 1;
  ipv4 { import all; export none; }; ipv6 { import all; export none; }; }
protocol bgp i4 { local 192.0.2.11 as 65000; neighbor 192.0.2.3 as 65000; direct; connect retry time 1;
  ipv4 { import all; export none; gateway direct; }; }
protocol bgp m4 { local 192.0.2.12 as 65000; neighbor 192.0.2.4 as 65001; connect retry time 1; password "${PASSWORD}";
  ipv4 { import all; export none; }; }
protocol bgp w4 { local 192.0.2.13 as 65000; neighbor 192.0.2.5 as 65001; connect retry time 1; password "${PASSWORD}";
  ipv4 { import all; export none; }; }
protocol bgp e6 { local 2001:db8::1 as 65000; neighbor 2001:db8::2 as 65001; connect retry time 1;
  ipv6 { import all; export none; }; }
`;

class Bird implements RouterAdapter {
  private dir = '';
  start(topo: Topology): void {
    this.dir = topo.dir;
    writeFileSync(join(this.dir, 'bird.conf'), CONFIG);
    const args = ['netns', 'exec', topo.router, '/usr/sbin/bird', '-f', '-c', join(this.dir, 'bird.conf')];
    args.push('-s', this.sock(), '-P', join(this.dir, 'bird.pid'));
    spawn('ip', args, { stdio: 'ignore', detached: true }).unref();
    waitForShell(`[ -S ${this.sock()} ]`);
  }
  private sock(): string {
    return join(this.dir, 'bird.ctl');
  }
  stop(): void {
    try {
      process.kill(this.pid(), 'SIGKILL');
    } catch {
      // not running
    }
  }
  pid(): number {
    return Number(readFileSync(join(this.dir, 'bird.pid'), 'utf8').trim());
  }
  /** birdc exits non-zero for "Network not found"; callers look at the output. */
  private birdc(cmd: string): string {
    return sh('birdc', ['-s', this.sock(), ...cmd.split(' ')], { allowFail: true });
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
