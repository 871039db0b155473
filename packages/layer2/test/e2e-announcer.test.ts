/**
 * The layer-2 announcer end to end, judged by the client kernel's neighbour table: namespaces
 * pl2-n1 and pl2-n2 run announcers (packages/layer2/bench/announcer-runner.mjs, the built library on Node 24), pl2-c is the client,
 * all on one bridge in pl2-sw (testbed.md §3). Needs root, iproute2, iputils-ping, iputils-arping.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript helper shared with the benchmark
import * as bed from '../bench/segment.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { VIP4, VIP6, CLIENT } = bed;

type Runner = Awaited<ReturnType<typeof bed.startAnnouncer>>;
let n1: Runner;
let n2: Runner;
let mac1: string;
let mac2: string;

const conflictsOf = (r: Runner, ip: string) =>
  r.events.filter((e: { event: string; ip: string }) => e.event === 'conflict' && e.ip === ip);

async function announce(r: Runner, ip: string): Promise<void> {
  r.send({ announce: ip });
  await r.waitEvent((e: { event: string; ip: string }) => e.event === 'announced' && e.ip === ip);
}

async function withdraw(r: Runner, ip: string): Promise<void> {
  r.send({ withdraw: ip });
  await r.waitEvent((e: { event: string; ip: string; t: number }) => e.event === 'withdrawn' && e.ip === ip);
}

/** Resolves `ip` from the client until its entry points at `mac` (bounded), returns the entry. */
async function clientResolvesTo(ip: string, mac: string) {
  bed.flushClientNeighbour(ip);
  bed.clientResolve(ip);
  return bed.waitFor(
    () => {
      const entry = bed.clientNeighbour(ip);
      return entry?.lladdr === mac ? entry : undefined;
    },
    { timeoutMs: 3000 },
  );
}

/** Time from the announce command on `to` until the client's entry for `ip` moves to `mac`. */
async function takeover(from: Runner, to: Runner, ip: string, mac: string): Promise<number> {
  await withdraw(from, ip);
  const watch = bed.watchClientNeighbour(ip, mac, 5000);
  await watch.started;
  await new Promise((r) => setTimeout(r, 100)); // let `ip monitor` subscribe
  to.send({ announce: ip });
  const start = await to.waitEvent(
    (e: { event: string; ip: string }) => e.event === 'announcing' && e.ip === ip,
  );
  const moved = await watch.done;
  if (moved === undefined) throw new Error(`client entry for ${ip} never moved to ${mac}`);
  return moved - start.t;
}

beforeAll(async () => {
  bed.requireTools(['ip', 'ping', 'arping']);
  // The runner imports the built library; build just this package (and the native wrapper).
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/layer2'], {
    cwd: root,
  });
  bed.setup();
  mac1 = bed.macOf('pl2-n1');
  mac2 = bed.macOf('pl2-n2');
  // Default interface selection (no list): pl2-nX-eth1 is picked, lo is not.
  n1 = await bed.startAnnouncer('pl2-n1');
  n2 = await bed.startAnnouncer('pl2-n2');
});

afterAll(async () => {
  await Promise.allSettled([n1?.stop(), n2?.stop()]);
  bed.teardown();
});

describe('layer-2 announcer in network namespaces', () => {
  it('selects the node port by default', () => {
    expect(n1.events[0].interfaces).toEqual(['pl2-n1-eth1']);
  });

  it('the client resolves an announced IPv4 address to our MAC (ARP reply)', async () => {
    await announce(n1, VIP4);
    const entry = await clientResolvesTo(VIP4, mac1);
    expect(entry?.lladdr).toBe(mac1);
    // REACHABLE: confirmed by a reply to the kernel's own request, not just learned from a gratuitous ARP.
    expect(entry?.state).toContain('REACHABLE');
  });

  it('the client resolves an announced IPv6 address to our MAC (solicited NA); MLD joined', async () => {
    await announce(n1, VIP6);
    const entry = await clientResolvesTo(VIP6, mac1);
    expect(entry?.lladdr).toBe(mac1);
    expect(entry?.state).toContain('REACHABLE');
    // The kernel joined the solicited-node group for us and reported it with MLD: the snooping
    // bridge learned it on n1's port (and forwards the client's solicitations there).
    const maddr = bed.sh(['ip', '-n', 'pl2-n1', '-6', 'maddr', 'show', 'dev', 'pl2-n1-eth1']);
    expect(maddr).toContain('ff02::1:ff00:60');
    expect(bed.switchGroups()).toContainEqual(
      expect.objectContaining({ port: 'pl2-n1-sw', grp: 'ff02::1:ff00:60' }),
    );
  });

  it("answers the client's unicast reachability probes (DELAY -> PROBE -> REACHABLE)", async () => {
    // Short neighbour timers on the client so its entries age and get re-probed within seconds.
    for (const family of ['ipv4', 'ipv6']) {
      const conf = `net.${family}.neigh.${bed.port(CLIENT)}`;
      bed.sh(['ip', 'netns', 'exec', CLIENT, 'sysctl', '-qw', `${conf}.base_reachable_time_ms=500`]);
      bed.sh(['ip', 'netns', 'exec', CLIENT, 'sysctl', '-qw', `${conf}.delay_first_probe_time=1`]);
    }
    try {
      for (const ip of [VIP4, VIP6]) {
        expect((await clientResolvesTo(ip, mac1))?.lladdr).toBe(mac1);
        // Once the short reachable time runs out, the kernel re-validates the entry with unicast
        // requests / solicitations sent to our MAC (DELAY, then PROBE).
        const probing = await bed.waitFor(
          () => ['DELAY', 'PROBE'].some((state) => bed.clientNeighbour(ip)?.state.includes(state)),
          { timeoutMs: 5000, intervalMs: 10 },
        );
        expect(probing, `${ip} entry is re-validated`).toBe(true);
        const confirmed = await bed.waitFor(
          () => {
            const entry = bed.clientNeighbour(ip);
            return entry?.state.includes('REACHABLE') && entry.lladdr === mac1;
          },
          { timeoutMs: 5000 },
        );
        expect(confirmed, `${ip} confirmed again by our answer to the unicast probe`).toBe(true);
      }
    } finally {
      for (const family of ['ipv4', 'ipv6']) {
        const conf = `net.${family}.neigh.${bed.port(CLIENT)}`;
        bed.sh(['ip', 'netns', 'exec', CLIENT, 'sysctl', '-qw', `${conf}.base_reachable_time_ms=30000`]);
        bed.sh(['ip', 'netns', 'exec', CLIENT, 'sysctl', '-qw', `${conf}.delay_first_probe_time=5`]);
      }
    }
  });

  it('a second announcer taking over moves the client entry to its MAC within one second (ARP)', async () => {
    expect(bed.clientNeighbour(VIP4)?.lladdr).toBe(mac1);
    const elapsed = await takeover(n1, n2, VIP4, mac2);
    expect(bed.clientNeighbour(VIP4)?.lladdr).toBe(mac2);
    expect(elapsed).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(1000);
  });

  it('a second announcer taking over moves the client entry to its MAC within one second (NDP)', async () => {
    expect(bed.clientNeighbour(VIP6)?.lladdr).toBe(mac1);
    const elapsed = await takeover(n1, n2, VIP6, mac2);
    expect(bed.clientNeighbour(VIP6)?.lladdr).toBe(mac2);
    expect(elapsed).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(1000);
  });

  it('a withdrawn address is no longer answered', async () => {
    await withdraw(n2, VIP4);
    await withdraw(n2, VIP6);
    // arping exits 1 when nobody answers its two requests.
    let answered = true;
    try {
      bed.sh(['ip', 'netns', 'exec', CLIENT, 'arping', '-c2', '-w2', '-I', bed.port(CLIENT), VIP4]);
    } catch {
      answered = false;
    }
    expect(answered).toBe(false);
    for (const ip of [VIP4, VIP6]) {
      bed.flushClientNeighbour(ip);
      bed.clientResolve(ip);
      const entry = await bed.waitFor(
        () => {
          const e = bed.clientNeighbour(ip);
          return e && !e.state.includes('INCOMPLETE') ? e : undefined;
        },
        { timeoutMs: 5000 },
      );
      expect(entry?.lladdr, `${ip} must not resolve`).toBeUndefined();
      expect(entry?.state).toContain('FAILED');
    }
  });

  it('a conflict is reported on both sides, for ARP and NDP', async () => {
    for (const ip of [VIP4, VIP6]) {
      await announce(n1, ip);
      await announce(n2, ip); // n2's probe gets n1's answer; then each sees the other's gratuitous packets
      await n1.waitEvent((e: { event: string; ip: string }) => e.event === 'conflict' && e.ip === ip, 4000);
      await n2.waitEvent((e: { event: string; ip: string }) => e.event === 'conflict' && e.ip === ip, 4000);
      expect(conflictsOf(n1, ip)[0]).toMatchObject({
        mac: mac2,
        interface: 'pl2-n1-eth1',
        protocol: ip === VIP4 ? 'arp' : 'ndp',
      });
      expect(conflictsOf(n2, ip)[0]).toMatchObject({ mac: mac1, phase: 'probing' });
    }
    n1.send({ metrics: true });
    const metrics = await n1.waitEvent((e: { event: string }) => e.event === 'metrics');
    expect(metrics.text).toMatch(
      /portico_layer2_conflicts_total\{ip="203\.0\.113\.60",interface="pl2-n1-eth1"\} [1-9]/,
    );
    expect(metrics.text).toMatch(
      /portico_layer2_conflicts_total\{ip="2001:db8:1::60",interface="pl2-n1-eth1"\} [1-9]/,
    );
    for (const ip of [VIP4, VIP6]) {
      await withdraw(n1, ip);
      await withdraw(n2, ip);
    }
  });

  it('picks up an interface that appears and drops one that goes away, without a restart', async () => {
    await announce(n1, VIP4);
    bed.sh([
      'ip',
      'link',
      'add',
      'pl2-n1-eth2',
      'netns',
      'pl2-n1',
      'type',
      'veth',
      'peer',
      'name',
      'pl2-n1-sw2',
      'netns',
      bed.SWITCH,
    ]);
    bed.sh(['ip', '-n', bed.SWITCH, 'link', 'set', 'pl2-n1-sw2', 'master', 'pl2-br0', 'up']);
    bed.sh(['ip', '-n', 'pl2-n1', 'link', 'set', 'pl2-n1-eth2', 'up']);
    const mac3 = JSON.parse(bed.sh(['ip', '-n', 'pl2-n1', '-j', 'link', 'show', 'pl2-n1-eth2']))[0].address;
    await n1.waitEvent(
      (e: { event: string; interfaces: string[] }) =>
        e.event === 'interfaces' && e.interfaces.includes('pl2-n1-eth2'),
    );
    bed.sh(['ip', '-n', 'pl2-n1', 'link', 'del', 'pl2-n1-eth1']);
    await n1.waitEvent(
      (e: { event: string; interfaces: string[] }) =>
        e.event === 'interfaces' && e.interfaces.join() === 'pl2-n1-eth2',
    );
    const entry = await clientResolvesTo(VIP4, mac3);
    expect(entry?.lladdr).toBe(mac3);
  });
});
