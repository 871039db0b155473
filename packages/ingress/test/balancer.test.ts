import { describe, expect, it } from 'vitest';
import { Balancer, originOf, type RoutedEndpoint } from '@portico/ingress';

const eps: RoutedEndpoint[] = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((address) => {
  const e = { address, port: 80 };
  return { ...e, origin: originOf(e) };
});

function clockedBalancer() {
  let now = 1_000;
  const b = new Balancer({ failures: 2, ejectMs: 500 }, () => now);
  return { b, advance: (ms: number) => (now += ms) };
}

describe('Balancer', () => {
  it('round-robins per backend key', () => {
    const { b } = clockedBalancer();
    const picks = Array.from({ length: 6 }, () => b.pick('k', eps)!.address);
    expect(picks).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(b.pick('other', eps)!.address).toBe('192.0.2.1');
  });

  it('ejects after consecutive failures, for a while', () => {
    const { b, advance } = clockedBalancer();
    b.failed(eps[1]!.origin);
    expect(b.isEjected(eps[1]!.origin)).toBe(false);
    b.failed(eps[1]!.origin);
    expect(b.isEjected(eps[1]!.origin)).toBe(true);
    const picks = new Set(Array.from({ length: 6 }, () => b.pick('k', eps)!.address));
    expect([...picks].sort()).toEqual(['192.0.2.1', '192.0.2.3']);
    advance(501);
    expect(b.isEjected(eps[1]!.origin)).toBe(false);
    expect(new Set(Array.from({ length: 3 }, () => b.pick('k', eps)!.address)).size).toBe(3);
  });

  it('a success resets the failure count', () => {
    const { b } = clockedBalancer();
    b.failed(eps[0]!.origin);
    b.succeeded(eps[0]!.origin);
    b.failed(eps[0]!.origin);
    expect(b.isEjected(eps[0]!.origin)).toBe(false);
  });

  it('still returns an endpoint when all are ejected, and avoids the one that just failed', () => {
    const { b } = clockedBalancer();
    for (const e of eps) for (let i = 0; i < 2; i++) b.failed(e.origin);
    expect(b.pick('k', eps)).toBeDefined();
    expect(b.pick('k', eps, eps[0])!.address).not.toBe('192.0.2.1');
    expect(b.pick('k', [eps[0]!], eps[0])).toBeUndefined();
    expect(b.pick('k', [])).toBeUndefined();
  });

  it('prune forgets ejections of origins that are gone and cursors of removed backends', () => {
    const { b } = clockedBalancer();
    for (let i = 0; i < 2; i++) b.failed(eps[0]!.origin);
    b.pick('k', eps);
    b.prune(new Set(['k']), new Set([eps[1]!.origin]));
    expect(b.isEjected(eps[0]!.origin)).toBe(false);
    expect(b.pick('k', eps)!.address).toBe('192.0.2.3'); // cursor kept (the first pick skipped .1 and took .2)
    b.prune(new Set(), new Set());
    expect(b.pick('k', eps)!.address).toBe('192.0.2.1'); // cursor forgotten
  });
});
