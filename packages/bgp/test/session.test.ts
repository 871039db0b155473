import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyCapabilities } from '../src/capabilities.js';
import {
  encodeKeepalive,
  encodeMessage,
  encodeRouteRefresh,
  type NotificationMessage,
} from '../src/message.js';
import { encodeOpenBody } from '../src/open.js';
import { Receiver } from '../src/receiver.js';
import { Speaker } from '../src/speaker.js';
import { formatPrefix } from '../src/prefix.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 20 + 1 && Date.now() <= deadline; i++) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A scripted peer on loopback: answers our OPEN with its own, then does what the test says. */
async function fakePeer(
  onOpen: (socket: Socket) => void,
  asn = 65000,
): Promise<{ port: number; notifications: NotificationMessage[]; server: Server }> {
  const notifications: NotificationMessage[] = [];
  const server = createServer((socket) => {
    const r = new Receiver();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const m of r.push(chunk)) {
        if (m.type === 'open') {
          const caps = {
            ...emptyCapabilities(),
            fourOctetAs: asn,
            multiprotocol: [{ afi: 1 as const, safi: 1 }],
          };
          socket.write(encodeMessage(1, encodeOpenBody(asn, 3, '192.0.2.1', caps)));
          socket.write(encodeKeepalive());
          onOpen(socket);
        }
        if (m.type === 'notification') notifications.push(m.notification);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, notifications, server };
}

function speakerTo(port: number, holdTime = 3, peerAsn = 65000): Speaker {
  const s = new Speaker({ localAsn: 65001, routerId: '192.0.2.2' });
  s.addPeer({ peerAddress: '127.0.0.1', peerPort: port, peerAsn, holdTime, connectRetryTime: 5 });
  cleanups.push(() => s.stop());
  return s;
}

describe('session', () => {
  it('enforces the hold timer: a silent peer gets Hold Timer Expired (RFC 4271 §6.5)', async () => {
    const peer = await fakePeer(() => undefined); // never sends another KEEPALIVE
    const speaker = speakerTo(peer.port, 3);
    const downs: unknown[] = [];
    speaker.on('down', (_p, reason) => downs.push(reason));
    await speaker.start();
    await waitFor('Established', () => speaker.peer('127.0.0.1')?.state === 'Established');
    const started = Date.now();
    const n = await waitFor('NOTIFICATION at the peer', () => peer.notifications[0], 8000);
    expect([n.code, n.subcode]).toEqual([4, 0]);
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(downs).toHaveLength(1);
    const flaps = speaker.stats.registry.getSingleMetric('portico_bgp_session_flaps_total');
    expect(flaps).toBeDefined();
    // The metric exists from the start; the hold-timer reset must also have counted as a flap.
    const counted = (await flaps!.get()).values.find((v) => v.labels.peer === '127.0.0.1')?.value;
    expect(counted).toBe(1);
  }, 15_000);

  it('answers a malformed message with Message Header Error / Connection Not Synchronized', async () => {
    const peer = await fakePeer((socket) => {
      const bad = encodeKeepalive();
      bad[0] = 0;
      setTimeout(() => socket.write(bad), 50);
    });
    const speaker = speakerTo(peer.port, 30);
    await speaker.start();
    const n = await waitFor('NOTIFICATION', () => peer.notifications[0]);
    expect([n.code, n.subcode]).toEqual([1, 1]);
  });

  it('refuses a peer with the wrong AS with OPEN Message Error / Bad Peer AS', async () => {
    const peer = await fakePeer(() => undefined, 65099);
    const speaker = speakerTo(peer.port, 30, 65000);
    const closed: unknown[] = [];
    speaker.on('closed', (_p, r) => closed.push(r));
    await speaker.start();
    const n = await waitFor('NOTIFICATION', () => peer.notifications[0]);
    expect([n.code, n.subcode]).toEqual([2, 2]);
    expect(speaker.peer('127.0.0.1')?.state).not.toBe('Established');
    await waitFor('closed event', () => closed[0]);
  });

  it('sends Cease / Administrative Shutdown when stopped', async () => {
    const peer = await fakePeer((socket) => setInterval(() => socket.write(encodeKeepalive()), 500).unref());
    const speaker = speakerTo(peer.port, 30);
    await speaker.start();
    await waitFor('Established', () => speaker.peer('127.0.0.1')?.state === 'Established');
    await speaker.stop();
    const n = await waitFor('NOTIFICATION', () => peer.notifications[0]);
    expect([n.code, n.subcode]).toEqual([6, 2]);
  });
});

describe('route refresh (RFC 2918)', () => {
  it('answers a ROUTE-REFRESH with the full table again', async () => {
    let updates = 0;
    let refreshed = false;
    const peer = await fakePeer((socket) => {
      const r = new Receiver();
      socket.on('data', (chunk) => {
        for (const m of r.push(chunk)) if (m.type === 'update' && m.update.nlri.length > 0) updates++;
      });
      setTimeout(() => {
        refreshed = true;
        socket.write(encodeRouteRefresh(1, 1));
      }, 300);
    });
    const speaker = speakerTo(peer.port, 30);
    speaker.setRoutes([{ prefix: '198.51.100.10/32' }]);
    await speaker.start();
    await waitFor('table sent twice', () => refreshed && updates === 2);
    expect(speaker.peer('127.0.0.1')?.prefixesAdvertised).toBe(1);
  });
});

describe('speaker to speaker on loopback', () => {
  function pair(aListen: boolean) {
    const a = new Speaker({
      localAsn: 65000,
      routerId: '192.0.2.1',
      listen: { address: '127.0.0.1', port: 0 },
    });
    const b = new Speaker({
      localAsn: 65001,
      routerId: '192.0.2.2',
      listen: aListen ? undefined : { address: '127.0.0.1', port: 0 },
    });
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    return { a, b };
  }

  it('converges with few UPDATEs, withdraws, and answers with End-of-RIB', async () => {
    const { a, b } = pair(true);
    a.addPeer({ peerAddress: '127.0.0.1', peerAsn: 65001, passive: true, families: ['ipv4'] });
    await a.start();
    const received: string[] = [];
    const withdrawn: string[] = [];
    let updates = 0;
    let eor = 0;
    a.on('update', (_p, u) => {
      updates++;
      if (u.endOfRib) eor++;
      received.push(...u.nlri.map(formatPrefix));
      withdrawn.push(...u.withdrawn.map(formatPrefix));
    });
    const routes = Array.from({ length: 1000 }, (_, i) => ({
      prefix: `198.18.${i >> 8}.${i & 0xff}/32`,
      communities: ['65001:1'],
    }));
    b.setRoutes(routes);
    b.addPeer({
      peerAddress: '127.0.0.1',
      peerPort: a.listenPort,
      peerAsn: 65000,
      families: ['ipv4'],
      nextHopIPv4: '192.0.2.2',
    });
    await b.start();
    await waitFor('1000 routes', () => received.length === 1000);
    await waitFor('End-of-RIB', () => eor === 1);
    // 1000 /32s with one attribute set fit in one extended (65535-octet) UPDATE.
    expect(updates).toBe(2);
    b.setRoutes(routes.slice(0, 990));
    await waitFor('10 withdrawals', () => withdrawn.length === 10);
    expect(updates).toBe(3);
    expect(b.peer('127.0.0.1')?.prefixesAdvertised).toBe(990);
  });

  it('applies the per-peer export policy and exposes session metrics', async () => {
    const { a, b } = pair(true);
    a.addPeer({ peerAddress: '127.0.0.1', peerAsn: 65001, passive: true, families: ['ipv4'] });
    await a.start();
    const got = new Map<string, number[] | undefined>();
    a.on('update', (_p, u) => u.nlri.forEach((p) => got.set(formatPrefix(p), u.attributes.communities)));
    b.setRoutes([{ prefix: '198.51.100.1/32' }, { prefix: '198.51.100.2/32' }]);
    b.addPeer({
      peerAddress: '127.0.0.1',
      peerPort: a.listenPort,
      peerAsn: 65000,
      families: ['ipv4'],
      nextHopIPv4: '192.0.2.2',
      exportPolicy: (r) => (r.prefix.endsWith('.2/32') ? null : { ...r, communities: ['65001:7'] }),
    });
    await b.start();
    await waitFor('policy applied', () => got.has('198.51.100.1/32'));
    await new Promise((r) => setTimeout(r, 100));
    expect([...got.keys()]).toEqual(['198.51.100.1/32']);
    expect(got.get('198.51.100.1/32')).toEqual([((65001 << 16) | 7) >>> 0]);
    const metrics = await b.stats.registry.getMetricsAsJSON();
    const value = (name: string) => metrics.find((m) => m.name === name)?.values[0]?.value;
    expect(value('portico_bgp_session_up')).toBe(1);
    expect(value('portico_bgp_session_state')).toBe(6);
    expect(value('portico_bgp_prefixes_advertised')).toBe(1);
    expect(value('portico_bgp_updates_sent_total')).toBeGreaterThanOrEqual(1);
  });

  it('asks the export policy again for the routes announced after Established, and only for those', async () => {
    const { a, b } = pair(true);
    a.addPeer({ peerAddress: '127.0.0.1', peerAsn: 65001, passive: true, families: ['ipv4'] });
    await a.start();
    const got = new Map<string, number[] | undefined>();
    const gone: string[] = [];
    a.on('update', (_p, u) => {
      u.nlri.forEach((p) => got.set(formatPrefix(p), u.attributes.communities));
      u.withdrawn.forEach((p) => gone.push(formatPrefix(p)));
    });
    // What the policy lets out changes with this table (as the Portico speaker's per-peer tables).
    const allowed = new Map<string, string[]>([
      ['198.51.100.1/32', ['65001:1']],
      ['198.51.100.3/32', ['65001:3']],
    ]);
    const asked: string[] = [];
    b.setRoutes([
      { prefix: '198.51.100.1/32' },
      { prefix: '198.51.100.2/32' },
      { prefix: '198.51.100.3/32' },
    ]);
    b.addPeer({
      peerAddress: '127.0.0.1',
      peerPort: a.listenPort,
      peerAsn: 65000,
      families: ['ipv4'],
      nextHopIPv4: '192.0.2.2',
      exportPolicy: (r) => {
        asked.push(r.prefix);
        const communities = allowed.get(r.prefix);
        return communities ? { ...r, communities } : null;
      },
    });
    await b.start();
    await waitFor('first route', () => got.has('198.51.100.1/32'));
    asked.length = 0;
    allowed.set('198.51.100.2/32', ['65001:2']);
    allowed.delete('198.51.100.1/32');
    b.announce({ prefix: '198.51.100.2/32' });
    b.announce({ prefix: '198.51.100.1/32' });
    await waitFor('second route', () => got.has('198.51.100.2/32'));
    await waitFor('first withdrawn', () => gone.includes('198.51.100.1/32'));
    expect(got.get('198.51.100.2/32')).toEqual([((65001 << 16) | 2) >>> 0]);
    // The unchanged third route was not asked about again (no walk over the table per change).
    expect(asked.sort()).toEqual(['198.51.100.1/32', '198.51.100.2/32']);
    expect(got.has('198.51.100.3/32')).toBe(true);
  });

  it('resolves a connection collision and ends with one Established session each (RFC 4271 §6.8)', async () => {
    const { a, b } = pair(false);
    await a.start();
    await b.start();
    a.addPeer({ peerAddress: '127.0.0.1', peerPort: b.listenPort, peerAsn: 65001, connectRetryTime: 1 });
    b.addPeer({ peerAddress: '127.0.0.1', peerPort: a.listenPort, peerAsn: 65000, connectRetryTime: 1 });
    await waitFor(
      'both Established',
      () => a.peer('127.0.0.1')?.state === 'Established' && b.peer('127.0.0.1')?.state === 'Established',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(a.peer('127.0.0.1')?.state).toBe('Established');
    expect(b.peer('127.0.0.1')?.state).toBe('Established');
  });
});
