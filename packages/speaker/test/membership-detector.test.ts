/**
 * The failure detector with a simulated clock and network (membership-sim.ts): liveness,
 * acknowledgements and quorum, one-way links, stalls, restarts, claims gossip, membership
 * changes, older speakers. Ownership end to end (grants, leases, step-down) is in
 * membership-ownership.test.ts and the model check.
 */
import { describe, expect, it } from 'vitest';
import { FailureDetector, type Member } from '../src/membership/detector.js';
import { SimWorld } from './membership-sim.js';

function cluster(names: string[], opts: { seed?: number; members?: Member[] } = {}) {
  const world = new SimWorld({ seed: opts.seed ?? 1 });
  const members = opts.members ?? names.map((name) => ({ name, address: name, port: 7946, expected: true }));
  const detectors = new Map<string, FailureDetector>();
  const make = (name: string) => {
    world.crash(name); // a fresh process
    const d = new FailureDetector({
      self: name,
      transport: world.transport(name),
      clock: world.clock(name),
      incarnation: 1e12 + world.time,
    });
    d.setMembers(members);
    detectors.set(name, d);
    return d;
  };
  for (const n of names) make(n);
  return {
    world,
    detectors,
    get: (n: string) => detectors.get(n)!,
    startAll: () => {
      for (const d of detectors.values()) d.start();
    },
    restart: (n: string) => {
      detectors.get(n)!.stop();
      const d = make(n);
      d.start();
      return d;
    },
    run: (ms: number) => world.run(world.time + ms),
    /** Cuts a node off both ways (its heartbeats filtered, or its link down). */
    isolate: (n: string, on = true) => {
      for (const m of names) if (m !== n) world.setLinks(n, m, !on);
    },
  };
}

describe('FailureDetector: liveness and quorum', () => {
  it('sees every member alive once heartbeats went both ways, and is settled after a suspicion period', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    expect(c.get('a').settled).toBe(false);
    c.run(150);
    for (const [name, d] of c.detectors) {
      expect(d.alivePeers().sort()).toEqual(['a', 'b', 'c'].filter((n) => n !== name));
      expect(d.hasQuorum).toBe(true);
    }
    expect(c.get('a').settled).toBe(false);
    c.run(500);
    expect(c.get('a').settled).toBe(true);
  });

  it('declares a crashed member dead a suspicion period after its last acknowledged heartbeat, not before', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(300);
    const dead: string[] = [];
    c.get('a').on('dead', (n) => dead.push(n));
    c.get('c').stop();
    c.world.crash('c');
    c.run(400);
    expect(c.get('a').isAlive('c')).toBe(true);
    c.run(250);
    expect(c.get('a').isAlive('c')).toBe(false);
    expect(c.get('b').isAlive('c')).toBe(false);
    expect(dead).toEqual(['c']);
    // Two of three acknowledge each other: the majority keeps its quorum.
    expect(c.get('a').hasQuorum).toBe(true);
  });

  it('a cut-off member loses its quorum within the lease time; the others keep theirs; it comes back', () => {
    const c = cluster(['a', 'b', 'c', 'd', 'e']);
    c.startAll();
    c.run(300);
    const quorum: boolean[] = [];
    c.get('e').on('quorum', (q) => quorum.push(q));
    c.isolate('e');
    c.run(c.get('e').leaseMs + 10);
    expect(c.get('e').hasQuorum).toBe(false);
    expect(c.get('e').isAlive('e')).toBe(false);
    for (const n of ['a', 'b', 'c', 'd']) expect(c.get(n).hasQuorum).toBe(true);
    c.run(300);
    expect(c.get('a').isAlive('e')).toBe(false);
    c.isolate('e', false);
    c.run(250);
    expect(c.get('e').hasQuorum).toBe(true);
    expect(c.get('a').isAlive('e')).toBe(true);
    expect(quorum).toEqual([false, true]);
  });

  it('a minority side of a partition goes quiet, the majority side keeps its quorum', () => {
    const c = cluster(['a', 'b', 'c', 'd', 'e']);
    c.startAll();
    c.run(300);
    for (const x of ['d', 'e']) for (const y of ['a', 'b', 'c']) c.world.setLinks(x, y, false);
    c.run(700);
    expect(['a', 'b', 'c', 'd', 'e'].map((n) => c.get(n).hasQuorum)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('a member that can send but not receive is released too (its echoes go stale)', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(300);
    // Everything to c is dropped; c's own heartbeats still arrive.
    c.world.setLink('a', 'c', false);
    c.world.setLink('b', 'c', false);
    c.run(c.get('c').leaseMs + 10);
    expect(c.get('c').hasQuorum).toBe(false);
    expect(c.get('a').isAlive('c')).toBe(true); // still heard...
    c.run(c.get('a').hearMs + c.get('a').suspicionMs);
    expect(c.get('a').isAlive('c')).toBe(false); // ...but released: it does not hear us
    expect(c.get('b').isAlive('c')).toBe(false);
  });

  it('a stalled process steps down at once but releases nobody before reading the queued heartbeats', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(300);
    const dead: string[] = [];
    c.get('a').on('dead', (n) => dead.push(n));
    c.world.stall('a', 800);
    c.run(800);
    expect(c.get('a').hasQuorum).toBe(false); // its lease ran out while it could not run
    c.run(300);
    expect(dead).toEqual([]);
    expect(c.get('a').hasQuorum).toBe(true);
  });

  it('without hearing the expected members a new speaker has no quorum', () => {
    const c = cluster(['a', 'b', 'c']);
    c.get('a').start();
    c.run(1000);
    expect(c.get('a').hasQuorum).toBe(false);
  });

  it('a single-node or two-node cluster keeps its quorum alone (documented trade-off)', () => {
    const one = cluster(['solo']);
    one.get('solo').start();
    expect(one.get('solo').hasQuorum).toBe(true);
    const two = cluster(['a', 'b']);
    two.get('a').start();
    two.run(1000);
    expect(two.get('a').hasQuorum).toBe(true);
  });

  it('members the API does not expect (not eligible) neither vote nor count', () => {
    const members = ['a', 'b', 'c', 'x', 'y'].map((name) => ({
      name,
      address: name,
      port: 7946,
      expected: !['x', 'y'].includes(name),
    }));
    const c = cluster(['a', 'b', 'c', 'x', 'y'], { members });
    c.startAll();
    c.run(300);
    // a, b, c are the voters: cut c off, and a and b still make a majority of three.
    c.isolate('c');
    c.run(700);
    expect(c.get('a').hasQuorum).toBe(true);
    expect(c.get('c').hasQuorum).toBe(false);
    // x is heard by everyone, but it does not vote: a alone (with x) has no quorum.
    c.isolate('b');
    c.run(700);
    expect(c.get('a').alivePeers()).toContain('x');
    expect(c.get('a').hasQuorum).toBe(false);
  });
});

describe('FailureDetector: processes come and go', () => {
  it('a member that leaves is dead for the others at once', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(300);
    c.get('c').leave();
    c.run(10);
    expect(c.get('a').isAlive('c')).toBe(false);
    expect(c.get('b').isAlive('c')).toBe(false);
    expect(c.get('a').hasQuorum).toBe(true);
  });

  it('a restarted member is a new process: a late leave notice of the old one does not bury it', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(300);
    c.world.delay = [20, 20]; // the leave notice arrives after the new process's first heartbeats
    c.get('c').leave();
    c.world.delay = [0.05, 1];
    const fresh = c.restart('c');
    c.run(300);
    expect(c.get('a').isAlive('c')).toBe(true);
    expect(fresh.hasQuorum).toBe(true);
  });

  it('a restarted speaker claims and grants nothing for a suspicion period (its old grants may still bind)', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(1000);
    const fresh = c.restart('c');
    c.run(150);
    fresh.setClaims(['198.51.100.1']);
    expect(fresh.claimed()).toEqual([]);
    c.get('a').setClaims(['198.51.100.1']);
    c.run(100);
    // a asked for it; c (restarted 250 ms ago) does not grant yet, b does: a majority of two.
    expect(c.get('a').answering()).toEqual(['198.51.100.1']);
    c.run(400);
    fresh.setClaims(['198.51.100.2']);
    expect(fresh.claimed()).toEqual(['198.51.100.2']);
  });

  it('ignores heartbeats from non-members; a removed member keeps its grants until it is released', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(700);
    c.get('b').setClaims(['198.51.100.1']);
    c.run(50);
    expect(c.get('b').answering()).toEqual(['198.51.100.1']);
    // The API drops b from a's membership: a keeps its promise to b (b may still answer)...
    c.get('a').setMembers([{ name: 'c', address: 'c', port: 7946, expected: true }]);
    expect(c.get('a').alivePeers()).toEqual(['c']);
    c.get('a').setClaims(['198.51.100.1']);
    expect(c.get('a').claimed()).toEqual([]);
    // ...until b is released, a suspicion period after the last heartbeat it acknowledged.
    c.run(600);
    c.get('a').setClaims(['198.51.100.1']);
    expect(c.get('a').claimed()).toEqual(['198.51.100.1']);
  });

  it('an older speaker (version 1) counts as alive with its claims held, and never votes', () => {
    const world = new SimWorld({ seed: 3 });
    const members = ['new1', 'new2', 'old'].map((name) => ({
      name,
      address: name,
      port: 7946,
      expected: true,
    }));
    const d = new FailureDetector({
      self: 'new1',
      transport: world.transport('new1'),
      clock: world.clock('new1'),
    });
    d.setMembers(members);
    d.start();
    const v1 = Buffer.from(
      '5053' +
        '01' +
        '01' +
        '00000005' +
        '00000000' +
        '03' +
        Buffer.from('old').toString('hex') +
        '000000010001' +
        '04c6336401',
      'hex',
    );
    const oldSocket = world.transport('old');
    oldSocket.send(v1, 'new1', 7946);
    world.run(world.time + 10);
    expect(d.isAlive('old')).toBe(true);
    expect(d.claimOf('old', '198.51.100.1')).toBe('held');
    expect(d.hasQuorum).toBe(false); // new2 is silent, old does not vote
    world.run(world.time + 700);
    expect(d.isAlive('old')).toBe(false);
  });
});

describe('FailureDetector: claims gossip', () => {
  it('gossips a claim whose grants ran out as lapsed, one never granted as pending, and gives the latter up with its quorum', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(700);
    const [ip, ip2] = ['198.51.100.1', '198.51.100.2'];
    c.get('a').setClaims([ip]);
    c.run(50);
    expect(c.get('a').claimOf('a', ip)).toBe('held');
    expect(c.get('b').claimOf('a', ip)).toBe('held');
    // a stops receiving: its grants no longer arrive, while its heartbeats still do.
    c.world.setLink('b', 'a', false);
    c.world.setLink('c', 'a', false);
    c.run(10);
    c.get('a').setClaims([ip, ip2]);
    c.run(20); // still in quorum: ip2 waits for grants that cannot reach a
    expect(c.get('a').hasQuorum).toBe(true);
    expect(c.get('a').claimOf('a', ip2)).toBe('pending');
    expect(c.get('b').claimOf('a', ip2)).toBe('pending');
    c.run(520); // its lease ran out (400 ms); the others still count it alive (500 ms suspicion)
    expect(c.get('a').hasQuorum).toBe(false);
    expect(c.get('a').claimOf('a', ip)).toBe('lapsed');
    expect(c.get('b').claimOf('a', ip)).toBe('lapsed');
    // A claim never granted does not outlive the quorum it was made with (issue 17: it could
    // otherwise be granted after a heal before the owner's lapsed claim is heard again).
    expect(c.get('a').claimOf('a', ip2)).toBeUndefined();
    expect(c.get('b').claimOf('a', ip2)).toBeUndefined();
    c.world.setLink('b', 'a', true);
    c.world.setLink('c', 'a', true);
    c.run(300); // heard both ways again, vouched for and granted
    expect(c.get('b').claimOf('a', ip)).toBe('held');
    c.get('a').setClaims([]);
    c.get('a').setClaims([ip]); // claimed anew: no longer the claim that lapsed
    expect(c.get('a').claimOf('a', ip)).toBe('pending');
  });

  it('gossips claims, including changes and whether they are answered yet', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(700);
    let changes = 0;
    c.get('b').on('change', () => changes++);
    c.get('a').setClaims(['198.51.100.1', '2001:db8::5']);
    c.run(20);
    expect([...c.get('b').claimsOf('a')].sort()).toEqual(['198.51.100.1', '2001:db8::5']);
    expect([...c.get('c').claimsOf('a')].sort()).toEqual(['198.51.100.1', '2001:db8::5']);
    expect(c.get('b').claimOf('a', '198.51.100.1')).toBe('held');
    expect(changes).toBeGreaterThan(0);
    c.get('a').setClaims([]);
    c.run(20);
    expect(c.get('b').claimsOf('a').size).toBe(0);
    expect(c.get('b').settled).toBe(true);
  });

  it('large claim sets travel as digests between periodic full lists, and a new member learns them', () => {
    const world = new SimWorld({ seed: 2 });
    const members = ['a', 'b'].map((name) => ({ name, address: name, port: 7946, expected: true }));
    const make = (n: string) => {
      const d = new FailureDetector({ self: n, transport: world.transport(n), clock: world.clock(n) });
      d.setMembers(members);
      return d;
    };
    const run = (ms: number) => world.run(world.time + ms);
    const a = make('a');
    const b = make('b');
    const ips = Array.from({ length: 4500 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    a.start();
    run(600);
    a.setClaims(ips);
    expect(a.answering().length).toBe(ips.length); // two voters: its own grant is a majority
    run(1100);
    const before = world.delivered + world.dropped;
    run(2100);
    // 20 heartbeats to b in two seconds (plus a few urgent ones); about one in ten carries the
    // 3 parts of the list.
    expect(world.delivered + world.dropped - before).toBeLessThan(25 + 2 * 3);
    b.start();
    run(150);
    expect(b.isAlive('a')).toBe(true);
    expect(b.settled).toBe(false);
    run(1200);
    expect(b.claimsOf('a').size).toBe(4500);
    expect(b.settled).toBe(true);
  });

  it('steady state costs nothing per IP: lease renewals and unchanged claim lists resent (issue 12)', () => {
    const c = cluster(['a', 'b', 'c']);
    c.startAll();
    c.run(800); // settled
    const ips = (node: number) => Array.from({ length: 3000 }, (_, i) => `10.${node}.${i >> 8}.${i & 255}`);
    ['a', 'b', 'c'].forEach((n, i) => c.get(n).setClaims(ips(i)));
    c.run(1500);
    for (const n of ['a', 'b', 'c']) expect(c.get(n).answering()).toHaveLength(3000);
    const before = c.get('a').work;
    // The claims rose once: each own IP gained, each peer's list decoded.
    expect(before.leaseIPs).toBeGreaterThanOrEqual(3000);
    expect(before.claimEntries).toBeGreaterThanOrEqual(6000);
    c.run(5000); // 50 heartbeats, 5 full claim lists from each peer, ~200 lease renewals
    expect(c.get('a').work).toEqual(before);
    expect(c.get('a').answering()).toHaveLength(3000);
  });
});
