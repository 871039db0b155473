import { describe, expect, it } from 'vitest';
import { Allocator } from '../src/index.js';
import { pool, service } from './fixtures.js';

const orphan = (svc: string, ip: string) =>
  `new config not compatible with assigned IPs: service "${svc}" cannot own "${ip}" under new config`;

describe('setPools (fail-static)', () => {
  it('refuses to remove a CIDR in use and keeps the old pools', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24', '198.51.100.0/24'])]);
    alloc.assign(service('ns/x'), ['198.51.100.4']);
    expect(alloc.setPools([pool('a', ['192.0.2.0/24'])])).toMatchObject({
      ok: false,
      error: orphan('ns/x', '198.51.100.4'),
    });
    // Old config still in force: the removed CIDR is still allocatable.
    expect(alloc.assign(service('ns/y'), ['198.51.100.5']).ok).toBe(true);
    expect(alloc.poolStats()).toEqual([{ pool: 'a', family: 'IPv4', total: 512n, inUse: 2 }]);
  });

  it('refuses to shrink a CIDR below an address in use', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.assign(service('ns/x'), ['192.0.2.200']);
    expect(alloc.setPools([pool('a', ['192.0.2.0/25'])])).toMatchObject({
      ok: false,
      error: orphan('ns/x', '192.0.2.200'),
    });
  });

  it('accepts removing an unused CIDR', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24', '198.51.100.0/24'])]);
    alloc.allocate(service('ns/x'));
    expect(alloc.setPools([pool('a', ['192.0.2.0/24'])])).toEqual({ ok: true });
    expect(alloc.poolStats()).toEqual([{ pool: 'a', family: 'IPv4', total: 256n, inUse: 1 }]);
  });

  it('accepts a rename that keeps the CIDR and re-homes the assignment', () => {
    const alloc = new Allocator([pool('old', ['192.0.2.0/24'])]);
    alloc.allocate(service('ns/x'));
    expect(alloc.setPools([pool('new', ['192.0.2.0/24'])])).toEqual({ ok: true });
    expect(alloc.assignment('ns/x')).toEqual({ ips: ['192.0.2.0'], pool: 'new' });
    expect(alloc.poolStats()).toEqual([{ pool: 'new', family: 'IPv4', total: 256n, inUse: 1 }]);
    // The used address is still known as used in the new pool's blocks.
    expect(alloc.allocate(service('ns/y'))).toEqual({ ok: true, ips: ['192.0.2.1'], pool: 'new' });
  });

  it('accepts a split and re-homes each service by address', () => {
    const alloc = new Allocator([pool('all', ['192.0.2.0/24'])]);
    alloc.assign(service('ns/low'), ['192.0.2.1']);
    alloc.assign(service('ns/high'), ['192.0.2.200']);
    expect(alloc.setPools([pool('low', ['192.0.2.0/25']), pool('high', ['192.0.2.128/25'])])).toEqual({
      ok: true,
    });
    expect(alloc.assignment('ns/low')?.pool).toBe('low');
    expect(alloc.assignment('ns/high')?.pool).toBe('high');
    expect(alloc.poolStats().map((s) => s.inUse)).toEqual([1, 1]);
  });

  it('refuses to split a dual-stack service across pools', () => {
    const alloc = new Allocator([pool('dual', ['192.0.2.0/24', '2001:db8::/64'])]);
    alloc.allocate(service('ns/x', { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' }));
    expect(alloc.setPools([pool('v4', ['192.0.2.0/24']), pool('v6', ['2001:db8::/64'])])).toMatchObject({
      ok: false,
      error:
        'new config not compatible with assigned IPs: service "ns/x" cannot own ["192.0.2.0" "2001:db8::"] under new config',
    });
  });

  it('refuses to enable avoid-buggy-ips while a .0 is in use', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.allocate(service('ns/x'));
    expect(alloc.assignment('ns/x')?.ips).toEqual(['192.0.2.0']);
    expect(alloc.setPools([pool('a', ['192.0.2.0/24'], { avoidBuggyIPs: true })])).toMatchObject({
      ok: false,
      error: orphan('ns/x', '192.0.2.0'),
    });
  });

  it('accepts enabling avoid-buggy-ips when no buggy address is used, and then skips them', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.assign(service('ns/x'), ['192.0.2.1']);
    expect(alloc.setPools([pool('a', ['192.0.2.0/24'], { avoidBuggyIPs: true })])).toEqual({ ok: true });
    expect(alloc.allocate(service('ns/y'))).toMatchObject({ ips: ['192.0.2.2'] });
  });

  it('names the first offending service in key order', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.assign(service('ns/zeta'), ['192.0.2.1']);
    alloc.assign(service('ns/alpha'), ['192.0.2.2']);
    expect(alloc.setPools([])).toMatchObject({ ok: false, error: orphan('ns/alpha', '192.0.2.2') });
  });

  it('keeps a shared address shared across a reload', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.allocate(service('ns/a', { sharingKey: 'k' }));
    expect(alloc.setPools([pool('b', ['192.0.2.0/24'])]).ok).toBe(true);
    expect(alloc.allocate(service('ns/b', { sharingKey: 'k', ports: 'TCP/443' }))).toEqual({
      ok: true,
      ips: ['192.0.2.0'],
      pool: 'b',
    });
  });

  it('the constructor refuses nothing with no assignments', () => {
    expect(() => new Allocator([pool('a', ['192.0.2.0/24'])])).not.toThrow();
    expect(new Allocator().poolStats()).toEqual([]);
  });
});
