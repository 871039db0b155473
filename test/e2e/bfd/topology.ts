// Two network namespaces joined by a veth pair: pbfd-r1 (the router, FRR bfdd) and pbfd-n1 (our
// BFD session), with documentation addresses in both families.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const ROUTER = 'pbfd-r1';
export const NODE = 'pbfd-n1';
export const ROUTER_LINK = 'pbfd-r1e';
export const NODE_LINK = 'pbfd-n1e';
export const ROUTER_V4 = '192.0.2.1';
export const NODE_V4 = '192.0.2.2';
export const ROUTER_V6 = '2001:db8::1';
export const NODE_V6 = '2001:db8::2';
// Fixed link-local addresses, for sessions bound to an interface.
export const ROUTER_LL = 'fe80::1';
export const NODE_LL = 'fe80::2';

export function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Fails loudly when the test cannot run here: it needs root, iproute2 and FRR. */
export function requireTestbed(): void {
  if (process.getuid?.() !== 0) throw new Error('BFD e2e tests need root (network namespaces)');
  for (const [path, pkg] of [
    ['/usr/lib/frr/bfdd', 'frr'],
    ['/usr/bin/vtysh', 'frr'],
    ['/usr/sbin/ip', 'iproute2'],
  ] as const) {
    if (!existsSync(path) && !existsSync(path.replace('/usr/sbin/', '/sbin/'))) {
      throw new Error(`${path} is missing: apt-get install -y --no-install-recommends ${pkg}`);
    }
  }
}

export function destroyTopology(): void {
  for (const ns of [ROUTER, NODE]) {
    try {
      run('ip', ['netns', 'del', ns]);
    } catch {
      // not there: nothing to remove
    }
  }
}

export function createTopology(): void {
  destroyTopology();
  run('ip', ['netns', 'add', ROUTER]);
  run('ip', ['netns', 'add', NODE]);
  run('ip', [
    'link',
    'add',
    ROUTER_LINK,
    'netns',
    ROUTER,
    'type',
    'veth',
    'peer',
    'name',
    NODE_LINK,
    'netns',
    NODE,
  ]);
  for (const [ns, link, v4, v6, ll] of [
    [ROUTER, ROUTER_LINK, ROUTER_V4, ROUTER_V6, ROUTER_LL],
    [NODE, NODE_LINK, NODE_V4, NODE_V6, NODE_LL],
  ] as const) {
    run('ip', ['-n', ns, 'addr', 'add', `${v4}/24`, 'dev', link]);
    run('ip', ['-n', ns, 'addr', 'add', `${v6}/64`, 'dev', link, 'nodad']);
    run('ip', ['-n', ns, 'addr', 'add', `${ll}/64`, 'dev', link, 'nodad']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', ns, 'link', 'set', link, 'up']);
  }
}

export function setLink(ns: string, link: string, up: boolean): void {
  run('ip', ['-n', ns, 'link', 'set', link, up ? 'up' : 'down']);
}
