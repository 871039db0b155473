// End to end against FRR bfdd in network namespaces (prefix pbfd): our BfdSession (in pbfd-n1)
// and bfdd (in pbfd-r1) bring a single-hop session Up, and each side detects the other's loss.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { controlPacket, encodeControlPacket } from '@portico/bgp/testing';
import { Frr } from './frr.js';
import { SessionProcess } from './session-process.js';
import {
  NODE,
  NODE_LINK,
  NODE_LL,
  NODE_V4,
  NODE_V6,
  ROUTER,
  ROUTER_LINK,
  ROUTER_LL,
  ROUTER_V4,
  ROUTER_V6,
  createTopology,
  destroyTopology,
  requireTestbed,
  setLink,
} from './topology.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// 300 ms x 3 on both sides: a detection time of 900 ms.
const BFDD_CONFIG = `bfd
 peer ${NODE_V4} local-address ${ROUTER_V4}
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 !
 peer ${NODE_V6} local-address ${ROUTER_V6}
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 !
 peer ${NODE_LL} interface ${ROUTER_LINK} local-address ${ROUTER_LL}
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 !
!
`;
const TIMERS = { desiredMinTxMs: 300, requiredMinRxMs: 300, detectMultiplier: 3 };
const V4 = { localAddress: NODE_V4, peerAddress: ROUTER_V4, ...TIMERS };

let frr: Frr;
const processes: SessionProcess[] = [];

function session(options: Record<string, unknown> = V4): SessionProcess {
  const p = new SessionProcess(NODE, options);
  processes.push(p);
  return p;
}

async function upWithBfdd(p: SessionProcess, peer = NODE_V4): Promise<void> {
  await p.waitFor('up', (e) => e.event === 'up', 10_000);
  await frr.waitForBfdPeer(peer, (x) => x.status === 'up', 5000);
}

beforeAll(async () => {
  requireTestbed();
  // The driver runs the compiled library.
  execFileSync('npx', ['tsc', '-b', 'packages/bgp'], { cwd: root, stdio: 'pipe' });
  createTopology();
  frr = new Frr(ROUTER);
  // zebra tells bfdd about interfaces; bfdd needs that for interface-bound (link-local) peers.
  await frr.start('zebra', 'hostname pbfd-r1\n');
  await frr.start('bfdd', BFDD_CONFIG);
  await frr.waitForBfdPeer(NODE_V4, (p) => p.status === 'down', 5000);
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill()));
  setLink(ROUTER, ROUTER_LINK, true);
});

afterAll(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill()));
  await frr?.remove();
  destroyTopology();
});

describe('BFD against FRR bfdd', () => {
  test('IPv4: the session comes Up with bfdd and both agree on 300 ms x 3', async () => {
    const p = session();
    const started = await p.waitFor('started', (e) => e.event === 'started', 5000);
    await upWithBfdd(p);
    const peer = frr.bfdPeer(NODE_V4)!;
    expect(peer['remote-id']).toBe(started.discriminator);
    expect(peer['remote-receive-interval']).toBe(300);
    expect(peer['remote-transmit-interval']).toBe(300);
    expect(peer['remote-detect-multiplier']).toBe(3);
    // Our side uses the agreed values once the poll sequences are done.
    const deadline = Date.now() + 3000;
    let status = await p.status();
    while (status.detectionTimeMs !== 900 && Date.now() < deadline) status = await p.status();
    expect(status).toMatchObject({
      state: 'Up',
      remoteState: 'Up',
      detectionTimeMs: 900,
      transmitIntervalMs: 300,
    });
  });

  test('IPv6: the session comes Up with bfdd', async () => {
    const p = session({ localAddress: NODE_V6, peerAddress: ROUTER_V6, ...TIMERS });
    await upWithBfdd(p, NODE_V6);
    expect(frr.bfdPeer(NODE_V6)!['remote-id']).toBeGreaterThan(0);
  });

  test('IPv6 link-local, bound to an interface: the session comes Up with bfdd', async () => {
    const p = session({ localAddress: NODE_LL, peerAddress: ROUTER_LL, interface: NODE_LINK, ...TIMERS });
    await upWithBfdd(p, NODE_LL);
  });

  test('when we go silent, bfdd declares the session down after its detection time', async () => {
    const p = session();
    await upWithBfdd(p);
    await p.stop(true);
    const { peer, elapsedMs } = await frr.waitForBfdPeer(NODE_V4, (x) => x.status !== 'up', 5000);
    expect(peer.diagnostic).toBe('control detection time expired');
    // 900 ms detection time plus the 50 ms polling of vtysh; generous for a loaded machine.
    expect(elapsedMs).toBeLessThan(2000);
  });

  test('stop() sends AdminDown: bfdd goes down at once with the remote diagnostic "administratively down"', async () => {
    const p = session();
    await upWithBfdd(p);
    await p.stop(false);
    const { peer } = await frr.waitForBfdPeer(NODE_V4, (x) => x.status !== 'up', 3000);
    expect(peer['remote-diagnostic']).toBe('administratively down');
  });

  test('when bfdd stops hearing us (link down), our session emits down within the detection time', async () => {
    const p = session();
    await upWithBfdd(p);
    const before = p.events.length;
    const cutStart = Date.now();
    setLink(ROUTER, ROUTER_LINK, false);
    const cutDone = Date.now();
    const down = await p.waitFor('down', (e) => e.event === 'down', 5000, before);
    expect(down.diagnostic).toBe(1); // Control Detection Time Expired
    expect(down.remoteAdminDown).toBe(false);
    // The link went down during `ip link set`, so the last packet from bfdd arrived before cutDone:
    // down comes at most the detection time (900 ms) after it. The upper bound allows for a slow
    // `ip` start on a loaded machine.
    expect(down.t - cutDone).toBeLessThan(1000);
    expect(down.t - cutStart).toBeLessThan(2000);
    // And it recovers when the link comes back.
    const beforeUp = p.events.length;
    setLink(ROUTER, ROUTER_LINK, true);
    await p.waitFor('up again', (e) => e.event === 'up', 15_000, beforeUp);
  });

  test('RFC 5881 section 5: a Down packet from the router with TTL 64 is ignored; with TTL 255 it is obeyed', async () => {
    const p = session();
    await upWithBfdd(p);
    const router = frr.bfdPeer(NODE_V4)!;
    // What bfdd itself would send to end the session: Down, with both discriminators right.
    const down = encodeControlPacket(
      controlPacket({
        myDiscriminator: router.id,
        yourDiscriminator: router['remote-id'],
        requiredMinRxInterval: 300_000,
      }),
    ).toString('hex');
    // A plain Node dgram socket in the router namespace, bound to the router's address.
    const sendFromRouter = (ttl: number | null) =>
      execFileSync('ip', [
        'netns',
        'exec',
        ROUTER,
        process.execPath,
        '-e',
        `const s = require('node:dgram').createSocket('udp4');
         s.bind(0, '${ROUTER_V4}', () => {
           ${ttl === null ? '' : `s.setTTL(${ttl});`}
           s.send(Buffer.from('${down}', 'hex'), 3784, '${NODE_V4}', () => s.close());
         });`,
      ]);
    const before = p.events.length;
    sendFromRouter(null); // the default TTL, 64
    await new Promise((r) => setTimeout(r, 500));
    expect(p.events.slice(before).filter((e) => e.event === 'down')).toEqual([]);
    expect((await p.status()).state).toBe('Up');
    // The control: the very same packet with TTL 255 does take the session down.
    sendFromRouter(255);
    const taken = await p.waitFor('down', (e) => e.event === 'down', 3000, before);
    expect(taken.diagnostic).toBe(3); // Neighbor Signaled Session Down
  });

  test('when bfdd dies, our session emits down within the detection time', async () => {
    const p = session();
    await upWithBfdd(p);
    const before = p.events.length;
    const killedAt = Date.now();
    await frr.stop('bfdd', 'SIGKILL'); // a crash: no AdminDown is sent
    const deadAt = Date.now();
    const down = await p.waitFor('down', (e) => e.event === 'down', 5000, before);
    expect(down.diagnostic).toBe(1);
    // Same reasoning: bfdd's last packet left before it was seen dead.
    expect(down.t - deadAt).toBeLessThan(1000);
    expect(down.t - killedAt).toBeLessThan(2000);
  });
});
