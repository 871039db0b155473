import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/membership/clock.js';
import { FailureDetector, type Member } from '../src/membership/detector.js';
import type { Transport } from '../src/membership/udp-transport.js';

/** A fake clock all detectors share, and an in-memory network between them. */
class FakeWorld {
  time = 0;
  private timers: Array<{ every: number; next: number; fn: () => void; live: boolean }> = [];
  private inboxes = new Map<string, (d: Buffer) => void>();
  /** Nodes whose traffic (both ways) is dropped. */
  readonly cut = new Set<string>();
  sent = 0;

  clock: Clock = {
    now: () => this.time,
    every: (ms, fn) => {
      const t = { every: ms, next: this.time + ms, fn, live: true };
      this.timers.push(t);
      return () => (t.live = false);
    },
  };

  transport(name: string): Transport {
    return {
      send: (data, address) => {
        this.sent++;
        if (this.cut.has(name) || this.cut.has(address)) return;
        const deliver = this.inboxes.get(address);
        if (deliver) queueMicrotask(() => deliver(data));
      },
      onMessage: (h) => this.inboxes.set(name, h),
      close: async () => void this.inboxes.delete(name),
    };
  }

  async advance(ms: number, step = 10): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      this.time += step;
      for (const timer of this.timers.filter((x) => x.live && x.next <= this.time)) {
        timer.next += timer.every;
        timer.fn();
      }
      await new Promise((r) => setImmediate(r));
    }
  }
}

function cluster(names: string[], world = new FakeWorld()) {
  const members: Member[] = names.map((name) => ({ name, address: name, port: 7946, expected: true }));
  const detectors = new Map(
    names.map((name) => {
      const d = new FailureDetector({ self: name, transport: world.transport(name), clock: world.clock });
      d.setMembers(members);
      return [name, d] as const;
    }),
  );
  return { world, detectors, get: (n: string) => detectors.get(n)! };
}

describe('FailureDetector', () => {
  it('sees every member alive after the first heartbeats, and is settled after a suspicion period', async () => {
    const c = cluster(['a', 'b', 'c']);
    for (const d of c.detectors.values()) d.start();
    expect(c.get('a').settled).toBe(false);
    await c.world.advance(50);
    for (const [name, d] of c.detectors) {
      expect(d.alivePeers().sort()).toEqual(['a', 'b', 'c'].filter((n) => n !== name));
      expect(d.hasQuorum).toBe(true);
    }
    await c.world.advance(600);
    expect(c.get('a').settled).toBe(true);
  });

  it('declares a silent member dead after the suspicion time, not before', async () => {
    const c = cluster(['a', 'b', 'c']);
    for (const d of c.detectors.values()) d.start();
    await c.world.advance(200);
    const dead: string[] = [];
    c.get('a').on('dead', (n) => dead.push(n));
    c.get('c').stop();
    await c.world.advance(400);
    expect(c.get('a').isAlive('c')).toBe(true);
    await c.world.advance(300);
    expect(c.get('a').isAlive('c')).toBe(false);
    expect(c.get('b').isAlive('c')).toBe(false);
    expect(dead).toEqual(['c']);
    // Two of three alive: the majority keeps its quorum.
    expect(c.get('a').hasQuorum).toBe(true);
  });

  it('a stalled process does not declare everyone dead before reading their heartbeats', async () => {
    const c = cluster(['a', 'b', 'c']);
    for (const d of c.detectors.values()) d.start();
    await c.world.advance(200);
    const dead: string[] = [];
    c.get('a').on('dead', (n) => dead.push(n));
    // 'a' is frozen for 800 ms: its timers fire late, all at once, while b and c kept beating.
    await c.world.advance(800, 800);
    await c.world.advance(100);
    expect(dead).toEqual([]);
    expect(c.get('a').hasQuorum).toBe(true);
  });

  it('a member that leaves is dead for the others at once', async () => {
    const c = cluster(['a', 'b', 'c']);
    for (const d of c.detectors.values()) d.start();
    await c.world.advance(200);
    c.get('c').leave();
    await c.world.advance(10);
    expect(c.get('a').isAlive('c')).toBe(false);
    expect(c.get('b').isAlive('c')).toBe(false);
    expect(c.get('a').hasQuorum).toBe(true);
  });

  it('a member that is cut off loses its quorum; the others keep theirs', async () => {
    const c = cluster(['a', 'b', 'c', 'd', 'e']);
    for (const d of c.detectors.values()) d.start();
    await c.world.advance(200);
    c.world.cut.add('e');
    await c.world.advance(700);
    expect(c.get('e').hasQuorum).toBe(false);
    expect(c.get('e').isAlive('e')).toBe(false);
    for (const n of ['a', 'b', 'c', 'd']) expect(c.get(n).hasQuorum).toBe(true);
    c.world.cut.delete('e');
    await c.world.advance(200);
    expect(c.get('e').hasQuorum).toBe(true);
    expect(c.get('a').isAlive('e')).toBe(true);
  });

  it('a minority side of a partition goes quiet', async () => {
    const c = cluster(['a', 'b', 'c', 'd', 'e']);
    for (const d of c.detectors.values()) d.start();
    await c.world.advance(200);
    c.world.cut.add('d');
    c.world.cut.add('e');
    await c.world.advance(700);
    expect(['a', 'b', 'c', 'd', 'e'].map((n) => c.get(n).hasQuorum)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('without hearing the expected members a new speaker has no quorum', async () => {
    const c = cluster(['a', 'b', 'c']);
    c.get('a').start();
    await c.world.advance(1000);
    expect(c.get('a').hasQuorum).toBe(false);
  });

  it('a single-node or two-node cluster keeps its quorum alone (documented trade-off)', async () => {
    const one = cluster(['solo']);
    one.get('solo').start();
    expect(one.get('solo').hasQuorum).toBe(true);
    const two = cluster(['a', 'b']);
    two.get('a').start();
    await two.world.advance(1000);
    expect(two.get('a').hasQuorum).toBe(true);
  });

  it('gossips claims, including changes, and reports unsettled while a list is incomplete', async () => {
    const c = cluster(['a', 'b', 'c']);
    for (const d of c.detectors.values()) d.start();
    await c.world.advance(700);
    let changes = 0;
    c.get('b').on('change', () => changes++);
    c.get('a').setClaims(['198.51.100.1', '2001:db8::5']);
    await c.world.advance(20);
    expect([...c.get('b').claimsOf('a')].sort()).toEqual(['198.51.100.1', '2001:db8::5']);
    expect([...c.get('c').claimsOf('a')].sort()).toEqual(['198.51.100.1', '2001:db8::5']);
    expect(changes).toBeGreaterThan(0);
    c.get('a').setClaims([]);
    await c.world.advance(20);
    expect(c.get('b').claimsOf('a').size).toBe(0);
    expect(c.get('b').settled).toBe(true);
  });

  it('large claim sets travel as digests between periodic full lists, and a new member learns them', async () => {
    const world = new FakeWorld();
    const c = cluster(['a', 'b'], world);
    const ips = Array.from({ length: 4500 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    c.get('a').start();
    c.get('a').setClaims(ips);
    await world.advance(500);
    const before = world.sent;
    await world.advance(1000);
    // 10 heartbeats to b in a second; only about one in ten carries the 3 parts of the list.
    expect(world.sent - before).toBeLessThan(10 + 3 * 3);
    c.get('b').start();
    await world.advance(10);
    expect(c.get('b').isAlive('a')).toBe(true);
    expect(c.get('b').settled).toBe(false);
    await world.advance(1200);
    expect(c.get('b').claimsOf('a').size).toBe(4500);
    expect(c.get('b').settled).toBe(true);
  });

  it('ignores heartbeats from non-members and forgets members the API removed', async () => {
    const c = cluster(['a', 'b', 'c']);
    for (const d of c.detectors.values()) d.start();
    await c.world.advance(100);
    c.get('a').setMembers([{ name: 'b', address: 'b', port: 1, expected: true }]);
    await c.world.advance(100);
    expect(c.get('a').alivePeers()).toEqual(['b']);
    expect(c.get('a').isAlive('c')).toBe(false);
  });
});
