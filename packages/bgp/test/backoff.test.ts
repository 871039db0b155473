import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';

describe('reconnect back-off', () => {
  const make = (random = () => 1) => new Backoff({ initialMs: 1000, maxMs: 8000, stableMs: 60_000, random });

  it('doubles up to the ceiling', () => {
    const b = make();
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('applies jitter between 0.75 and 1 (RFC 4271 §10)', () => {
    expect(make(() => 0).next()).toBe(750);
    expect(make(() => 0.5).next()).toBe(875);
  });

  it('does not reset when a session comes up and drops at once (OPEN accepted, then NOTIFICATION)', () => {
    const b = make();
    b.next(0);
    b.next(0);
    b.established(1000);
    expect(b.next(2000)).toBe(4000);
  });

  it('resets after the session stayed up long enough', () => {
    const b = make();
    b.next(0);
    b.next(0);
    b.established(1000);
    expect(b.next(61_000)).toBe(1000);
  });
});
