/**
 * BGPAdvertisement `peers` and several advertisements per pool, and BGPPeer `nodeSelectors`, end
 * to end against two FRR routers (issue 13): the node namespace p13-n has a link to p13-r1 and one
 * to p13-r2; p13-speaker.mjs reads MetalLB resources, opens the sessions its BGPPeers select,
 * decides (decide) and advertises through the real BGP speaker, one export policy per session.
 * What each router received is read with vtysh. Needs root, FRR (bgpd, vtysh), iproute2 and a
 * build (`npx tsc -b`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  addAddress,
  addVeth,
  createNetns,
  deleteNetns,
  Frr as FrrDaemons,
  frrBgpdConfig,
  listNetns,
  loopbackUp,
  setLink,
} from '@portico/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, ROOT, waitFor } from './harness.js';

requireTools(['/usr/lib/frr/bgpd', '/usr/bin/vtysh']);
if (!existsSync(join(ROOT, 'packages/speaker/dist/index.js')))
  throw new Error('advertisements.test.ts runs the built packages: run `npx tsc -b` first');

const SCRIPT = fileURLToPath(new URL('./p13-speaker.mjs', import.meta.url));
const NODE = 'p13-n';
const ROUTERS = {
  r1: { ns: 'p13-r1', address: '192.0.2.1', local: '192.0.2.2' },
  r2: { ns: 'p13-r2', address: '192.0.2.5', local: '192.0.2.6' },
} as const;
type RouterName = keyof typeof ROUTERS;
const VIP = '203.0.113.9';

function teardown(): void {
  for (const ns of [NODE, ROUTERS.r1.ns, ROUTERS.r2.ns]) deleteNetns(ns);
}

function setup(): void {
  teardown();
  createNetns(NODE);
  loopbackUp(NODE);
  for (const [name, r] of Object.entries(ROUTERS)) {
    createNetns(r.ns);
    loopbackUp(r.ns);
    const routerLink = `p13${name}-r`;
    const nodeLink = `p13${name}-n`;
    addVeth({ name: routerLink, netns: r.ns }, { name: nodeLink, netns: NODE });
    addAddress(r.ns, routerLink, `${r.address}/30`);
    addAddress(NODE, nodeLink, `${r.local}/30`);
    setLink(r.ns, routerLink, true);
    setLink(NODE, nodeLink, true);
  }
}

class Frr {
  private readonly daemons: FrrDaemons;
  constructor(private readonly router: RouterName) {
    this.daemons = FrrDaemons.inTempDir(ROUTERS[router].ns, 'p13-frr');
  }
  start(): void {
    const r = ROUTERS[this.router];
    this.daemons.startBgpd(
      frrBgpdConfig({
        asn: 65000,
        routerId: r.address,
        neighbors: [{ address: r.local, remoteAs: 65001, connectRetry: 1 }],
        addressFamilies: { ipv4: { activate: [r.local] } },
      }),
    );
  }
  async stop(): Promise<void> {
    await this.daemons.remove();
  }
  private vtysh(cmd: string): unknown {
    return this.daemons.vtyshJson(cmd);
  }
  established(): boolean {
    const peer = ROUTERS[this.router].local;
    const s = this.vtysh(`show bgp neighbors ${peer} json`) as Record<string, { bgpState?: string }>;
    return s[peer]?.bgpState === 'Established';
  }
  /** The prefixes received, each with its communities. */
  routes(): Record<string, string[]> {
    const table = this.vtysh('show bgp ipv4 unicast json') as { routes?: Record<string, unknown> };
    const out: Record<string, string[]> = {};
    for (const prefix of Object.keys(table.routes ?? {})) {
      const r = this.vtysh(`show bgp ipv4 unicast ${prefix} json`) as {
        paths?: { community?: { list: string[] } }[];
      };
      out[prefix] = r.paths?.[0]?.community?.list ?? [];
    }
    return out;
  }
}

interface Applied {
  sessions: string[];
  routes: string[];
  peers: Record<string, string[]>;
}

class SpeakerProcess {
  readonly child: ChildProcess;
  private readonly events: Record<string, unknown>[] = [];
  constructor(labels: Record<string, string>) {
    const args = {
      node: 'node-1',
      labels,
      localAsn: 65001,
      routerId: '192.0.2.2',
      services: [{ name: 'web', ips: [VIP] }],
    };
    this.child = spawn('ip', ['netns', 'exec', NODE, process.execPath, SCRIPT, JSON.stringify(args)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) =>
      this.events.push(JSON.parse(line) as Record<string, unknown>),
    );
  }
  async apply(resources: unknown[]): Promise<Applied> {
    const before = this.events.filter((e) => e.event === 'applied' || e.event === 'error').length;
    this.child.stdin!.write(`${JSON.stringify({ resources })}\n`);
    const event = await waitFor(
      'the speaker to apply the resources',
      () => this.events.filter((e) => e.event === 'applied' || e.event === 'error')[before],
    );
    if (event.event === 'error') throw new Error(String(event.message));
    return event as unknown as Applied;
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

const meta = (name: string) => ({ name });
const v1 = 'metallb.io/v1beta1';
const pool = {
  apiVersion: v1,
  kind: 'IPAddressPool',
  metadata: meta('wan'),
  spec: { addresses: ['203.0.113.0/24'] },
};
const peer = (name: RouterName, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'metallb.io/v1beta2',
  kind: 'BGPPeer',
  metadata: meta(name),
  spec: { myASN: 65001, peerASN: 65000, peerAddress: ROUTERS[name].address, ...spec },
});
const adv = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: v1,
  kind: 'BGPAdvertisement',
  metadata: meta(name),
  spec: { ipAddressPools: ['wan'], ...spec },
});

describe('BGPAdvertisement peers and BGPPeer nodeSelectors against two FRR routers', () => {
  const frr = { r1: new Frr('r1'), r2: new Frr('r2') };
  let speaker: SpeakerProcess;

  beforeAll(async () => {
    setup();
    frr.r1.start();
    frr.r2.start();
    speaker = new SpeakerProcess({ rack: 'a' });
    await waitFor('the speaker', () => speaker.child.pid);
  }, 60_000);
  afterAll(async () => {
    await speaker?.stop();
    await frr.r1.stop();
    await frr.r2.stop();
    teardown();
    expect(listNetns().filter((ns) => ns.startsWith('p13-'))).toEqual([]);
  });

  it('an advertisement with peers [r1] reaches r1 and not r2', async () => {
    const applied = await speaker.apply([
      pool,
      peer('r1'),
      peer('r2'),
      adv('to-r1', { peers: ['r1'], communities: ['65001:1'] }),
    ]);
    expect(applied.sessions).toEqual(['192.0.2.1', '192.0.2.5']);
    expect(applied.peers).toEqual({ 'default/web': ['r1'] });
    await waitFor('both sessions Established', () => frr.r1.established() && frr.r2.established());
    const r1 = await waitFor('r1 to receive the route', () =>
      frr.r1.routes()[`${VIP}/32`] ? frr.r1.routes() : undefined,
    );
    expect(r1).toEqual({ [`${VIP}/32`]: ['65001:1'] });
    // The session to r2 is up, so a route for it would have arrived by now.
    await new Promise((r) => setTimeout(r, 1000));
    expect(frr.r2.routes()).toEqual({});
  });

  it('several advertisements: each router gets its own, with its own attributes', async () => {
    await speaker.apply([
      pool,
      peer('r1'),
      peer('r2'),
      adv('to-r1', { peers: ['r1'], communities: ['65001:1'] }),
      adv('to-r2', { peers: ['r2'], aggregationLength: 24, communities: ['65001:2'] }),
    ]);
    const r2 = await waitFor('r2 to receive the aggregate', () =>
      frr.r2.routes()['203.0.113.0/24'] ? frr.r2.routes() : undefined,
    );
    expect(r2).toEqual({ '203.0.113.0/24': ['65001:2'] });
    expect(frr.r1.routes()).toEqual({ [`${VIP}/32`]: ['65001:1'] });
  });

  it('moving the advertisement to r2 withdraws it from r1', async () => {
    await speaker.apply([
      pool,
      peer('r1'),
      peer('r2'),
      adv('to-r2', { peers: ['r2'], communities: ['65001:2'] }),
    ]);
    await waitFor('r1 to lose the route', () => Object.keys(frr.r1.routes()).length === 0);
    const r2 = await waitFor('r2 to receive the host route', () =>
      frr.r2.routes()[`${VIP}/32`] ? frr.r2.routes() : undefined,
    );
    expect(r2).toEqual({ [`${VIP}/32`]: ['65001:2'] });
  });

  it('a BGPPeer whose nodeSelectors do not match this node has no session at all', async () => {
    const applied = await speaker.apply([
      pool,
      peer('r1'),
      peer('r2', { nodeSelectors: [{ matchLabels: { rack: 'b' } }] }),
      adv('all', {}),
    ]);
    expect(applied.sessions).toEqual(['192.0.2.1']);
    expect(applied.peers).toEqual({ 'default/web': ['r1'] });
    await waitFor('r2 to drop the session', () => !frr.r2.established());
    await waitFor('r1 to receive the route', () => (frr.r1.routes()[`${VIP}/32`] ? true : undefined));
    expect(frr.r2.routes()).toEqual({});
  });
});
