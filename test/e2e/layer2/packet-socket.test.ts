/**
 * The addon's AF_PACKET sockets (packages/native/csrc/packet.c) in a namespace of their own
 * (pl2-p, veth pair pl2-pa/pl2-pb), driven by packet-check.mjs on Node 24. Needs root and iproute2.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoopedNetns, deleteNetns, requireRoot, requireTools } from '@portico/testbed';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const NS = 'pl2-p';
let result: Record<string, unknown>;

function removeNamespace(): void {
  deleteNetns(NS);
}

beforeAll(() => {
  requireRoot('native packet socket tests');
  requireTools('native packet socket tests', [['/usr/sbin/ip', 'iproute2']]);
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/native'], {
    cwd: root,
  });
  createLoopedNetns(NS, { link: 'pl2-pa', addresses: [] }, { link: 'pl2-pb', addresses: [] });
  const output = execFileSync(
    'ip',
    ['netns', 'exec', NS, process.execPath, fileURLToPath(new URL('./packet-check.mjs', import.meta.url))],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 },
  );
  result = JSON.parse(output);
});

afterAll(() => removeNamespace());

describe('native packet sockets', () => {
  it('sends whole frames and receives them on the peer with their packet type', () => {
    const [broadcast, otherHost] = result.frames as string[];
    expect(result.sentBytes).toBe(42);
    expect(result.receivedOnB).toEqual([
      [broadcast, 1], // PACKET_BROADCAST
      [otherHost, 3], // PACKET_OTHERHOST
    ]);
  });

  it('never delivers the frames the socket itself sent (PACKET_OUTGOING)', () => {
    expect(result.receivedOnA).toEqual([]);
  });

  it('applies the BPF filter in the kernel', () => {
    expect(result.filteredNextHeaders).toEqual([58]);
  });

  it('adds and drops link-layer multicast membership', () => {
    expect(result.linkMembershipAdded).toContain('33:33:ff:00:00:60');
    expect(result.linkMembershipDropped).not.toContain('33:33:ff:00:00:60');
  });

  it('joins IPv6 groups through the kernel and leaves them on close', () => {
    expect(result.groupJoined).toContain('ff02::1:ff00:60');
    expect(result.groupClosed).not.toContain('ff02::1:ff00:60');
  });

  it('reports link changes from rtnetlink until closed', () => {
    expect(result.changesAfterAdd).toBeGreaterThan(0);
    expect(result.changesAfterClose).toBe(0);
  });

  it('reports errors instead of crashing', () => {
    expect(result.sendAfterClose).toMatch(/closed/);
    expect(result.badInterface).toMatch(/bind\(AF_PACKET\)/);
    expect(result.badFrame).toMatch(/Buffer/);
  });
});
