// BGP with BFD end to end: FRR zebra + bfdd + bgpd (`neighbor X bfd`) in pbgp-bfd-r, our speaker with
// `bfd: {}` in pbgp-bfd-s. Each side's BFD loss must take the BGP session down at once, long before
// the 30 s hold time could.
import { frrBgpdConfig } from '@portico/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Frr } from '../bfd/frr.js';
import { FRR_BFDD_CONFIG } from '../bfd/router-config.js';
import { buildLibrary, Driver, requireTools, Topology, waitFor } from './harness.js';

requireTools(['/usr/lib/frr/bgpd', '/usr/lib/frr/bfdd', '/usr/lib/frr/zebra', '/usr/bin/vtysh']);

const BGPD = frrBgpdConfig({
  asn: 65000,
  routerId: '192.0.2.1',
  defaultIpv4Unicast: true,
  neighbors: [
    {
      address: '192.0.2.2',
      remoteAs: 65001,
      timers: { keepalive: 10, hold: 30 },
      connectRetry: 1,
      bfd: 'fast',
    },
  ],
});

const config = {
  localAsn: 65001,
  routerId: '192.0.2.2',
  routes: [{ prefix: '198.51.100.10/32' }],
  peers: [
    {
      peerAddress: '192.0.2.1',
      peerAsn: 65000,
      localAddress: '192.0.2.2',
      holdTime: 30,
      connectRetryTime: 1,
      families: ['ipv4'],
      bfd: { desiredMinTxMs: 300, requiredMinRxMs: 300, detectMultiplier: 3 },
    },
  ],
};

describe('BGP with BFD against FRR', () => {
  const topo = new Topology('pbgp-bfd');
  let frr: Frr;
  let driver: Driver;
  const bgpState = () =>
    (JSON.parse(frr.vtysh('show bgp neighbors 192.0.2.2 json')) as Record<string, { bgpState?: string }>)[
      '192.0.2.2'
    ]?.bgpState;

  beforeAll(async () => {
    buildLibrary();
    topo.create(['192.0.2.1/24'], ['192.0.2.2/24']);
    frr = new Frr(topo.router);
    await frr.start('zebra', 'hostname pbgp-bfd-r\n');
    await frr.start('bfdd', FRR_BFDD_CONFIG);
    await frr.start('bgpd', BGPD);
    driver = new Driver(topo.speaker, config);
  });

  afterAll(async () => {
    try {
      process.kill(driver.pid, 'SIGCONT');
    } catch {
      // gone
    }
    await driver?.stop();
    await frr?.remove();
    topo.cleanup();
  });

  it('comes up: BGP Established, then BFD Up on both sides', async () => {
    await waitFor('BGP Established', () => bgpState() === 'Established', 30_000, 200);
    await frr.waitForBfdPeer('192.0.2.2', (p) => p.status === 'up', 15_000);
  });

  it('our side going silent makes FRR drop BGP within the BFD detection time', async () => {
    process.kill(driver.pid, 'SIGSTOP');
    const started = Date.now();
    try {
      await waitFor('FRR drops BGP', () => bgpState() !== 'Established', 10_000, 50);
    } finally {
      process.kill(driver.pid, 'SIGCONT');
    }
    // 3 x 300 ms detection plus bfdd -> bgpd signalling and polling; the hold time is 30 s.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('the router losing BFD makes us close BGP at once with Cease/BFD Down', async () => {
    await waitFor('BGP Established again', () => bgpState() === 'Established', 30_000, 200);
    await frr.waitForBfdPeer('192.0.2.2', (p) => p.status === 'up', 15_000);
    const before = driver.events.length;
    await frr.stop('bfdd', 'SIGKILL'); // a crash: no AdminDown, our detection timer fires
    const started = Date.now();
    const down = await driver.waitEvent(
      'our BGP down',
      (e) => driver.events.indexOf(e) >= before && e.event === 'down' && e.peer === '192.0.2.1',
      10_000,
    );
    expect(down.reason?.sent).toMatchObject({ code: 6, subcode: 10 });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
