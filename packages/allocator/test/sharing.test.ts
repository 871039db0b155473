import { describe, expect, it } from 'vitest';
import { Allocator } from '../src/index.js';
import { pool, service, type ServiceOptions } from './fixtures.js';

describe('sharing matrix', () => {
  // A first service holds 192.0.2.0 (the pool's first address); the second requests it.
  it.each([
    {
      name: 'same key, different ports',
      first: { sharingKey: 'k' },
      second: { sharingKey: 'k', ports: 'TCP/443' },
    },
    {
      name: 'same port number, other protocol',
      first: { sharingKey: 'k', ports: 'TCP/53' },
      second: { sharingKey: 'k', ports: 'UDP/53' },
    },
    {
      name: 'same key and same backend key (Local policy)',
      first: { sharingKey: 'k', backendKey: 'app=web' },
      second: { sharingKey: 'k', backendKey: 'app=web', ports: 'TCP/443' },
    },
    {
      name: 'no ports at all',
      first: { sharingKey: 'k', ports: '' },
      second: { sharingKey: 'k', ports: 'TCP/80' },
    },
  ] satisfies Array<{ name: string; first: ServiceOptions; second: ServiceOptions }>)(
    'shares: $name',
    ({ first, second }) => {
      const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
      expect(alloc.allocate(service('ns/a', first))).toMatchObject({ ips: ['192.0.2.0'] });
      expect(alloc.assign(service('ns/b', second), ['192.0.2.0'])).toEqual({
        ok: true,
        ips: ['192.0.2.0'],
        pool: 'a',
      });
      expect(alloc.usersOf('192.0.2.0')).toEqual(['ns/a', 'ns/b']);
      expect(alloc.poolStats()[0]!.inUse).toBe(1);
    },
  );

  const keyError = `can't change sharing key for "ns/b", address also in use by ns/a`;
  it.each([
    { name: 'no key on either', first: {}, second: { ports: 'TCP/443' }, error: keyError },
    {
      name: 'key only on the first',
      first: { sharingKey: 'k' },
      second: { ports: 'TCP/443' },
      error: keyError,
    },
    {
      name: 'key only on the second',
      first: {},
      second: { sharingKey: 'k', ports: 'TCP/443' },
      error: keyError,
    },
    {
      name: 'different keys',
      first: { sharingKey: 'k' },
      second: { sharingKey: 'j', ports: 'TCP/443' },
      error: keyError,
    },
    {
      name: 'different backend keys (Local policy)',
      first: { sharingKey: 'k', backendKey: 'app=web' },
      second: { sharingKey: 'k', backendKey: 'app=api', ports: 'TCP/443' },
      error: keyError,
    },
    {
      name: 'Local vs Cluster policy',
      first: { sharingKey: 'k', backendKey: 'app=web' },
      second: { sharingKey: 'k', ports: 'TCP/443' },
      error: keyError,
    },
    {
      name: 'port clash',
      first: { sharingKey: 'k', ports: 'TCP/80,TCP/443' },
      second: { sharingKey: 'k', ports: 'UDP/80,TCP/443' },
      error: 'port TCP/443 is already in use on "192.0.2.0"',
    },
  ] satisfies Array<{ name: string; first: ServiceOptions; second: ServiceOptions; error: string }>)(
    'refuses: $name',
    ({ first, second, error }) => {
      const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
      alloc.allocate(service('ns/a', first));
      expect(alloc.assign(service('ns/b', second), ['192.0.2.0'])).toMatchObject({ ok: false, error });
      // Automatic allocation goes elsewhere instead.
      expect(alloc.allocate(service('ns/b', second))).toMatchObject({ ips: ['192.0.2.1'] });
    },
  );

  it('lists every other user in the sharing error, sorted', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.assign(service('ns/z', { sharingKey: 'k', ports: 'TCP/1' }), ['192.0.2.7']);
    alloc.assign(service('ns/y', { sharingKey: 'k', ports: 'TCP/2' }), ['192.0.2.7']);
    expect(alloc.assign(service('ns/x', { sharingKey: 'other' }), ['192.0.2.7'])).toMatchObject({
      ok: false,
      error: `can't change sharing key for "ns/x", address also in use by ns/y,ns/z`,
    });
  });

  it('a sharing service lands next to a compatible tenant before taking a fresh address', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.allocate(service('ns/plain0'));
    alloc.allocate(service('ns/plain1'));
    alloc.assign(service('ns/web', { sharingKey: 'k', ports: 'TCP/80' }), ['192.0.2.9']);
    alloc.release('ns/plain0');
    // 192.0.2.0 is free and lower, but the compatible tenant's address wins.
    expect(alloc.allocate(service('ns/web-tls', { sharingKey: 'k', ports: 'TCP/443' }))).toMatchObject({
      ips: ['192.0.2.9'],
    });
    // A port clash on every shared address: a fresh (lowest) address.
    expect(alloc.allocate(service('ns/web2', { sharingKey: 'k', ports: 'TCP/80' }))).toMatchObject({
      ips: ['192.0.2.0'],
    });
    // Now two addresses share key k; the lowest compatible one is chosen.
    expect(alloc.allocate(service('ns/dns', { sharingKey: 'k', ports: 'UDP/53' }))).toMatchObject({
      ips: ['192.0.2.0'],
    });
  });

  it('pools holding a compatible tenant are tried first', () => {
    const alloc = new Allocator([pool('first', ['192.0.2.0/24']), pool('second', ['198.51.100.0/24'])]);
    alloc.allocate(service('ns/tenant', { pool: 'second', sharingKey: 'k', ports: 'TCP/80' }));
    expect(alloc.allocate(service('ns/next', { sharingKey: 'k', ports: 'TCP/443' }))).toEqual({
      ok: true,
      ips: ['198.51.100.0'],
      pool: 'second',
    });
    expect(alloc.allocate(service('ns/unrelated', { sharingKey: 'other' }))).toMatchObject({ pool: 'first' });
  });

  it('does not join a tenant in a pool the service may not use', () => {
    const alloc = new Allocator([
      pool('auto', ['192.0.2.0/24']),
      pool('manual', ['198.51.100.0/24'], { autoAssign: false }),
    ]);
    alloc.assign(service('ns/tenant', { sharingKey: 'k' }), ['198.51.100.5']);
    expect(alloc.allocate(service('ns/next', { sharingKey: 'k', ports: 'TCP/443' }))).toMatchObject({
      ips: ['192.0.2.0'],
    });
  });

  it('dual-stack sharing joins per family and takes fresh addresses for the rest', () => {
    const alloc = new Allocator([pool('dual', ['192.0.2.0/24', '2001:db8::/64'])]);
    alloc.allocate(service('ns/other'));
    alloc.assign(service('ns/v4', { sharingKey: 'k' }), ['192.0.2.9']);
    expect(
      alloc.allocate(
        service('ns/both', {
          sharingKey: 'k',
          ports: 'TCP/443',
          families: ['IPv4', 'IPv6'],
          policy: 'RequireDualStack',
        }),
      ),
    ).toMatchObject({ ips: ['192.0.2.9', '2001:db8::'] });
  });

  it('the only user may change its own sharing key and ports in place', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.allocate(service('ns/a', { sharingKey: 'k' }));
    expect(alloc.allocate(service('ns/a', { sharingKey: 'j', ports: 'UDP/53' }))).toMatchObject({
      ips: ['192.0.2.0'],
    });
    // The index follows the new key: a j-service joins, a k-service does not.
    expect(alloc.allocate(service('ns/j', { sharingKey: 'j' }))).toMatchObject({ ips: ['192.0.2.0'] });
    expect(alloc.allocate(service('ns/k', { sharingKey: 'k' }))).toMatchObject({ ips: ['192.0.2.1'] });
  });

  it('a tenant that changes ports into a clash loses its address and moves', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24'])]);
    alloc.allocate(service('ns/a', { sharingKey: 'k', ports: 'TCP/80' }));
    alloc.allocate(service('ns/b', { sharingKey: 'k', ports: 'TCP/443' }));
    const moved = service('ns/b', { sharingKey: 'k', ports: 'TCP/80' });
    expect(alloc.ipsAllowed(moved)).toMatchObject({
      ok: false,
      error: 'port TCP/80 is already in use on "192.0.2.0"',
    });
    expect(alloc.allocate(moved)).toMatchObject({ ips: ['192.0.2.1'] });
  });

  it('an address stays in use until its last tenant leaves', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/31'])]);
    alloc.allocate(service('ns/a', { sharingKey: 'k', ports: 'TCP/80' }));
    alloc.allocate(service('ns/b', { sharingKey: 'k', ports: 'TCP/443' }));
    alloc.release('ns/a');
    expect(alloc.allocate(service('ns/c'))).toMatchObject({ ips: ['192.0.2.1'] });
    alloc.release('ns/b');
    expect(alloc.allocate(service('ns/d'))).toMatchObject({ ips: ['192.0.2.0'] });
  });
});
