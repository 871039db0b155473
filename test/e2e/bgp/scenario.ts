/**
 * The scenario every router goes through (issue 3, "Done means"): eBGP and iBGP, IPv4 and IPv6
 * (real IPv6 next hop, over an IPv4 and an IPv6 session), communities and large communities,
 * withdrawal, TCP-MD5 right and wrong key, graceful restart, hold timer expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLibrary, Driver, sleep, Topology, waitFor } from './harness.js';

export interface RouteView {
  nextHop: string;
  asPath: string;
  communities: string[];
  largeCommunities: string[];
  med?: number;
  localPref?: number;
  stale: boolean;
}

export interface RouterAdapter {
  start(topo: Topology): void;
  stop(): void;
  pid(): number;
  established(peer: string): boolean;
  route(prefix: string, from: string): RouteView | undefined;
}

export const ROUTER_ADDRS = [
  '192.0.2.1/24',
  '192.0.2.11/24',
  '192.0.2.12/24',
  '192.0.2.13/24',
  '2001:db8::1/64',
];
export const SPEAKER_ADDRS = [
  '192.0.2.2/24',
  '192.0.2.3/24',
  '192.0.2.4/24',
  '192.0.2.5/24',
  '2001:db8::2/64',
];
export const PASSWORD = 's3cret';

const EBGP = '192.0.2.2';
const IBGP = '192.0.2.3';
const MD5 = '192.0.2.4';
const MD5_WRONG = '192.0.2.5';
const V6 = '2001:db8::2';

const routes = [
  {
    prefix: '198.51.100.10/32',
    communities: ['65001:100'],
    largeCommunities: ['65001:1:2'],
    med: 10,
    localPref: 300,
  },
  { prefix: '198.51.100.11/32' },
  { prefix: '2001:db8:100::10/128', communities: ['65001:100', '65001:666'] },
];

const speakerConfig = {
  localAsn: 65001,
  routerId: '192.0.2.2',
  routes,
  peers: [
    {
      peerAddress: '192.0.2.1',
      peerAsn: 65000,
      localAddress: EBGP,
      nextHopIPv6: V6,
      holdTime: 6,
      connectRetryTime: 1,
    },
    {
      peerAddress: '192.0.2.11',
      peerAsn: 65000,
      localAsn: 65000,
      localAddress: IBGP,
      families: ['ipv4'],
      holdTime: 30,
      connectRetryTime: 1,
    },
    {
      peerAddress: '192.0.2.12',
      peerAsn: 65000,
      localAddress: MD5,
      password: PASSWORD,
      families: ['ipv4'],
      holdTime: 30,
      connectRetryTime: 1,
      connectTimeout: 2,
    },
    {
      peerAddress: '192.0.2.13',
      peerAsn: 65000,
      localAddress: MD5_WRONG,
      password: 'wrong-key',
      families: ['ipv4'],
      holdTime: 30,
      connectRetryTime: 1,
      connectTimeout: 2,
    },
    {
      peerAddress: '2001:db8::1',
      peerAsn: 65000,
      localAddress: V6,
      families: ['ipv6'],
      holdTime: 30,
      connectRetryTime: 1,
    },
  ],
};

export function routerScenario(name: string, prefix: string, router: RouterAdapter): void {
  describe(`BGP speaker against ${name}`, () => {
    const topo = new Topology(prefix);
    let driver: Driver;

    beforeAll(() => {
      buildLibrary();
      topo.create(ROUTER_ADDRS, SPEAKER_ADDRS);
      router.start(topo);
      driver = new Driver(topo.speaker, speakerConfig);
    });

    afterAll(async () => {
      await driver?.stop();
      try {
        process.kill(router.pid(), 'SIGCONT');
      } catch {
        // already gone
      }
      router.stop();
      topo.cleanup();
    });

    it('brings up eBGP over IPv4 and IPv6, iBGP, and MD5 with the right key', async () => {
      for (const peer of [EBGP, IBGP, MD5, V6]) {
        await waitFor(`${name} Established with ${peer}`, () => router.established(peer), 30_000, 250);
      }
    });

    it('is refused with a wrong MD5 key', () => {
      expect(router.established(MD5_WRONG)).toBe(false);
      expect(driver.events.some((e) => e.event === 'established' && e.peer === '192.0.2.13')).toBe(false);
    });

    it('delivers an eBGP IPv4 route with MED, communities and large communities', async () => {
      const r = await waitFor('198.51.100.10/32 from eBGP', () => router.route('198.51.100.10/32', EBGP));
      expect(r.nextHop).toBe(EBGP);
      expect(r.asPath).toBe('65001');
      expect(r.med).toBe(10);
      expect(r.communities).toEqual(['65001:100']);
      expect(r.largeCommunities).toEqual(['65001:1:2']);
    });

    it('delivers LOCAL_PREF and an empty AS path over iBGP', async () => {
      const r = await waitFor('198.51.100.10/32 from iBGP', () => router.route('198.51.100.10/32', IBGP));
      expect(r.localPref).toBe(300);
      expect(r.asPath).toBe('');
      expect(r.nextHop).toBe(IBGP);
    });

    it('delivers IPv6 routes with a real IPv6 next hop over IPv4 and IPv6 sessions', async () => {
      for (const from of [EBGP, V6]) {
        const r = await waitFor(`2001:db8:100::10/128 from ${from}`, () =>
          router.route('2001:db8:100::10/128', from),
        );
        expect(r.nextHop).toBe(V6);
        expect(r.communities).toEqual(['65001:100', '65001:666']);
      }
    });

    it('withdraws a route', async () => {
      await waitFor('198.51.100.11/32 present', () => router.route('198.51.100.11/32', EBGP));
      driver.send({ op: 'routes', routes: routes.filter((r) => r.prefix !== '198.51.100.11/32') });
      await waitFor(
        '198.51.100.11/32 withdrawn',
        () => router.route('198.51.100.11/32', EBGP) === undefined || undefined,
      );
      expect(router.route('198.51.100.10/32', EBGP)).toBeDefined();
    });

    it('accepts withdrawals and announcements in one UPDATE (IPv4 and MP_REACH + MP_UNREACH)', async () => {
      // Each sync below withdraws and announces in one family: the speaker packs both into one
      // UPDATE (RFC 4271 §4.3, RFC 4760 §3-4); the router must apply both and keep the session.
      const downs = () => driver.events.filter((e) => e.event === 'down').length;
      const before = downs();
      const base = routes.filter((r) => r.prefix === '198.51.100.10/32');
      const swapped = [...base, { prefix: '198.51.100.12/32' }, { prefix: '2001:db8:100::11/128' }];
      driver.send({ op: 'routes', routes: swapped });
      await waitFor('2001:db8:100::10/128 replaced by ::11', () => {
        const gone = router.route('2001:db8:100::10/128', EBGP) === undefined;
        return (gone && router.route('2001:db8:100::11/128', EBGP)) || undefined;
      });
      driver.send({ op: 'routes', routes });
      for (const from of [EBGP, V6]) {
        await waitFor(`::11 replaced by ::10 from ${from}`, () => {
          const gone = router.route('2001:db8:100::11/128', from) === undefined;
          return (gone && router.route('2001:db8:100::10/128', from)) || undefined;
        });
      }
      await waitFor('198.51.100.12/32 replaced by .11', () => {
        const gone = router.route('198.51.100.12/32', EBGP) === undefined;
        return (gone && router.route('198.51.100.11/32', EBGP)) || undefined;
      });
      expect(router.route('198.51.100.10/32', EBGP)?.communities).toEqual(['65001:100']);
      expect(router.established(EBGP)).toBe(true);
      expect(downs()).toBe(before);
    });

    it('keeps our routes at the router across a graceful restart', async () => {
      await driver.stop(true);
      await sleep(1500);
      const during = router.route('198.51.100.10/32', EBGP);
      expect(during).toBeDefined();
      expect(router.established(EBGP)).toBe(false);
      driver = new Driver(topo.speaker, speakerConfig);
      await waitFor(`${name} Established again`, () => router.established(EBGP), 30_000, 250);
      const after = await waitFor('route refreshed, not stale', () => {
        const r = router.route('198.51.100.10/32', EBGP);
        return r && !r.stale ? r : undefined;
      });
      expect(after.communities).toEqual(['65001:100']);
    });

    it('detects a silent peer with the hold timer and resets the session', async () => {
      await driver.waitEvent('established', (e) => e.event === 'established' && e.peer === '192.0.2.1');
      process.kill(router.pid(), 'SIGSTOP');
      try {
        const down = await driver.waitEvent(
          'hold timer expiry',
          (e) => e.event === 'down' && e.peer === '192.0.2.1',
          15_000,
        );
        expect(down.reason?.sent).toMatchObject({ code: 4, subcode: 0 });
      } finally {
        process.kill(router.pid(), 'SIGCONT');
      }
    });
  });
}
