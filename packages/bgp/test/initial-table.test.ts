import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyCapabilities } from '../src/capabilities.js';
import { encodeKeepalive, encodeMessage } from '../src/message.js';
import { encodeOpenBody } from '../src/open.js';
import { formatPrefix } from '../src/prefix.js';
import { Receiver } from '../src/receiver.js';
import { Speaker } from '../src/speaker.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  // Last in, first out: the speaker stops before its peer's server closes.
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 10 + 1 && Date.now() <= deadline; i++) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * What the peer saw, one line per UPDATE: "-prefix,..." withdrawn, "+prefix,..." announced (both,
 * space-separated, when one UPDATE carries both), "EoR".
 */
type Seen = string[];

/**
 * A peer that answers our OPEN with its own but holds its KEEPALIVE back until `confirm()`, so the
 * test can change the routes while our side waits in OpenConfirm (RFC 4271 §8.2.2).
 */
async function slowConfirmingPeer() {
  const seen: Seen = [];
  let socket: Socket | undefined;
  let ourKeepalive = false;
  const server = createServer((s) => {
    socket = s;
    const r = new Receiver();
    r.context = { fourOctetAs: true, external: true };
    r.maxLength = 65535;
    s.on('error', () => undefined);
    s.on('data', (chunk) => {
      for (const m of r.push(chunk)) {
        if (m.type === 'open') {
          const caps = {
            ...emptyCapabilities(),
            fourOctetAs: 65000,
            extendedMessage: true,
            multiprotocol: [{ afi: 1 as const, safi: 1 }],
          };
          s.write(encodeMessage(1, encodeOpenBody(65000, 30, '192.0.2.1', caps)));
        }
        if (m.type === 'keepalive') ourKeepalive = true;
        if (m.type !== 'update') continue;
        const u = m.update;
        if (u.endOfRib) {
          seen.push('EoR');
          continue;
        }
        const parts: string[] = [];
        if (u.withdrawn.length > 0) parts.push('-' + u.withdrawn.map(formatPrefix).join(','));
        if (u.nlri.length > 0) parts.push('+' + u.nlri.map(formatPrefix).join(','));
        seen.push(parts.join(' '));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    socket?.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    seen,
    /** True once our side confirmed the OPEN (sent its KEEPALIVE): it is in OpenConfirm. */
    inOpenConfirm: () => ourKeepalive,
    confirm: () => socket?.write(encodeKeepalive()),
  };
}

async function speakerInOpenConfirm(prefixes: string[]) {
  const peer = await slowConfirmingPeer();
  const speaker = new Speaker({ localAsn: 65001, routerId: '192.0.2.2' });
  cleanups.push(() => speaker.stop());
  speaker.addPeer({
    peerAddress: '127.0.0.1',
    peerPort: peer.port,
    peerAsn: 65000,
    families: ['ipv4'],
    nextHopIPv4: '192.0.2.2',
  });
  speaker.setRoutes(prefixes.map((prefix) => ({ prefix })));
  await speaker.start();
  await waitFor('OpenConfirm', () => peer.inOpenConfirm());
  expect(speaker.peer('127.0.0.1')?.state).toBe('OpenConfirm');
  return { peer, speaker };
}

/** Lets the speaker flush the changes made in this tick (it coalesces them with setImmediate). */
const nextTurn = () => new Promise((r) => setImmediate(r));

describe('initial table (packed in OpenConfirm, sent on Established)', () => {
  const table = ['198.51.100.1/32', '198.51.100.2/32', '198.51.100.3/32'];

  it('sends the table packed before Established, then only what changed while waiting', async () => {
    const { peer, speaker } = await speakerInOpenConfirm(table);
    speaker.announce({ prefix: '198.51.100.4/32' });
    speaker.withdraw('198.51.100.1/32');
    await nextTurn();
    peer.confirm();
    await waitFor('End-of-RIB', () => peer.seen.includes('EoR'));
    // Had the table been packed after Established, it would be one UPDATE with .2, .3 and .4.
    expect(peer.seen).toEqual([
      '+198.51.100.1/32,198.51.100.2/32,198.51.100.3/32',
      // The withdrawal rides in the UPDATE that announces (RFC 4271 §4.3).
      '-198.51.100.1/32 +198.51.100.4/32',
      'EoR',
    ]);
    expect(speaker.peer('127.0.0.1')?.prefixesAdvertised).toBe(3);
  });

  it('catches up with a whole new route set given while waiting', async () => {
    const { peer, speaker } = await speakerInOpenConfirm(table);
    speaker.setRoutes([{ prefix: '198.51.100.2/32' }, { prefix: '203.0.113.9/32' }]);
    await nextTurn();
    peer.confirm();
    await waitFor('End-of-RIB', () => peer.seen.includes('EoR'));
    expect(peer.seen).toEqual([
      '+198.51.100.1/32,198.51.100.2/32,198.51.100.3/32',
      '-198.51.100.1/32,198.51.100.3/32 +203.0.113.9/32',
      'EoR',
    ]);
    expect(speaker.peer('127.0.0.1')?.prefixesAdvertised).toBe(2);
  });

  it('sends the table and End-of-RIB only when nothing changed while waiting', async () => {
    const { peer } = await speakerInOpenConfirm(table);
    peer.confirm();
    await waitFor('End-of-RIB', () => peer.seen.includes('EoR'));
    expect(peer.seen).toEqual(['+198.51.100.1/32,198.51.100.2/32,198.51.100.3/32', 'EoR']);
  });
});
