// BGP + BFD end to end: FRR (zebra, bfdd, bgpd with `neighbor X bfd`) in pbfd-r1; in pbfd-n1 a BGP
// speaker (GoBGP for now, Portico's speaker once it drives a BfdSession) and our BfdSession. When
// our BFD goes silent, FRR must tear the BGP session down with Cease/10 "BFD Down" (RFC 9384).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Frr, pollUntil } from './frr.js';
import { FRR_BFDD_CONFIG, FRR_BGPD_CONFIG } from './router-config.js';
import { Gobgp } from './gobgp.js';
import { SessionProcess } from './session-process.js';
import {
  NODE,
  NODE_V4,
  ROUTER,
  ROUTER_V4,
  createTopology,
  destroyTopology,
  requireTestbed,
} from './topology.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface BgpNeighbor {
  bgpState: string;
  lastNotificationReason?: string;
  lastResetDueTo?: string;
}

let frr: Frr;
let gobgp: Gobgp;
let bfd: SessionProcess | undefined;

function neighbor(): BgpNeighbor {
  return (JSON.parse(frr.vtysh(`show bgp neighbors ${NODE_V4} json`)) as Record<string, BgpNeighbor>)[
    NODE_V4
  ]!;
}

async function waitForNeighbor(what: string, predicate: (n: BgpNeighbor) => boolean, timeoutMs: number) {
  const { value, elapsedMs } = await pollUntil(
    neighbor,
    predicate,
    timeoutMs,
    (last) => `BGP neighbor not ${what} after ${timeoutMs} ms: ${JSON.stringify(last)}`,
  );
  return { neighbor: value, elapsedMs };
}

beforeAll(async () => {
  requireTestbed();
  execFileSync('npx', ['tsc', '-b', 'packages/bgp'], { cwd: root, stdio: 'pipe' });
  createTopology();
  frr = new Frr(ROUTER);
  await frr.start('zebra', 'hostname pbfd-r1\n');
  await frr.start('bfdd', FRR_BFDD_CONFIG);
  await frr.start('bgpd', FRR_BGPD_CONFIG);
  gobgp = new Gobgp(NODE, { asn: 65001, routerId: NODE_V4, neighbor: ROUTER_V4, neighborAsn: 65000 });
  gobgp.start();
});

afterAll(async () => {
  await bfd?.kill();
  await gobgp?.stop();
  await frr?.remove();
  destroyTopology();
});

describe('BGP with BFD against FRR', () => {
  test('our BFD going silent makes FRR drop the BGP session with Cease "BFD Down"', async () => {
    await waitForNeighbor('Established', (n) => n.bgpState === 'Established', 30_000);
    bfd = new SessionProcess(NODE, {
      localAddress: NODE_V4,
      peerAddress: ROUTER_V4,
      desiredMinTxMs: 300,
      requiredMinRxMs: 300,
      detectMultiplier: 3,
    });
    await frr.waitForBfdPeer(NODE_V4, (p) => p.status === 'up', 15_000);
    // bgpd may re-register its BFD session once BGP knows the interface: wait for a stable Up.
    await new Promise((r) => setTimeout(r, 1500));
    await frr.waitForBfdPeer(NODE_V4, (p) => p.status === 'up', 15_000);
    const history = () => JSON.stringify({ bfd: bfd?.events, router: frr.bfdPeer(NODE_V4), bgp: neighbor() });
    expect(neighbor().bgpState, history()).toBe('Established');
    // Started after BGP is Established (as Portico's speaker does), BFD comes Up once, no flap.
    const transitions = bfd.events.filter((e) => e.event === 'up' || e.event === 'down').map((e) => e.event);
    expect(transitions, history()).toEqual(['up']);

    await bfd.stop(true);
    const { neighbor: after, elapsedMs } = await waitForNeighbor(
      'torn down',
      (n) => n.bgpState !== 'Established',
      5000,
    );
    expect(after.lastNotificationReason ?? after.lastResetDueTo, JSON.stringify(after)).toMatch(/BFD/i);
    // Detection time 900 ms, plus bfdd -> bgpd signalling and the vtysh polling.
    expect(elapsedMs, JSON.stringify(after)).toBeLessThan(2000);
  });
});
