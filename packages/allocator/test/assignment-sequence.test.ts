/**
 * MetalLB's allocator_test "TestAssignment" idea: one allocator, a sequence of claims and
 * releases whose outcome depends on everything before it.
 */
import { describe, expect, it } from 'vitest';
import { Allocator } from '../src/index.js';
import { pool, service, type ServiceOptions } from './fixtures.js';

type Step =
  | { desc: string; svc: string; ip: string; options?: ServiceOptions; error?: string }
  | { desc: string; release: string };

const steps: Step[] = [
  { desc: 's1 takes .0', svc: 's1', ip: '192.0.2.0' },
  { desc: 's1 again (idempotent)', svc: 's1', ip: '192.0.2.0' },
  {
    desc: 's2 cannot take .0 without a key',
    svc: 's2',
    ip: '192.0.2.0',
    error: `can't change sharing key for "s2", address also in use by s1`,
  },
  { desc: 's2 takes .254', svc: 's2', ip: '192.0.2.254' },
  { desc: 's1 moves to .1, freeing .0', svc: 's1', ip: '192.0.2.1' },
  { desc: 's2 moves to .0', svc: 's2', ip: '192.0.2.0' },
  { desc: 'release s1', release: 's1' },
  {
    desc: 's3 outside the pool',
    svc: 's3',
    ip: '198.51.100.1',
    error: '"198.51.100.1" is not allowed in config',
  },
  { desc: 's3 takes .1 with key k, TCP/80', svc: 's3', ip: '192.0.2.1', options: { sharingKey: 'k' } },
  {
    desc: 's4 shares .1 on TCP/443',
    svc: 's4',
    ip: '192.0.2.1',
    options: { sharingKey: 'k', ports: 'TCP/443' },
  },
  {
    desc: 's5 clashes on TCP/443',
    svc: 's5',
    ip: '192.0.2.1',
    options: { sharingKey: 'k', ports: 'UDP/53,TCP/443' },
    error: 'port TCP/443 is already in use on "192.0.2.1"',
  },
  {
    desc: 's5 with another key',
    svc: 's5',
    ip: '192.0.2.1',
    options: { sharingKey: 'j', ports: 'UDP/53' },
    error: `can't change sharing key for "s5", address also in use by s3,s4`,
  },
  { desc: 's5 joins with UDP/53', svc: 's5', ip: '192.0.2.1', options: { sharingKey: 'k', ports: 'UDP/53' } },
  {
    desc: 's4 may not change its key while others share',
    svc: 's4',
    ip: '192.0.2.1',
    options: { sharingKey: 'j', ports: 'TCP/443' },
    error: `can't change sharing key for "s4", address also in use by s3,s5`,
  },
  { desc: 'release s3', release: 's3' },
  { desc: 'release s5', release: 's5' },
  {
    desc: 's4 alone may change its key',
    svc: 's4',
    ip: '192.0.2.1',
    options: { sharingKey: 'j', ports: 'TCP/443' },
  },
  {
    desc: 's6 with the old key is refused',
    svc: 's6',
    ip: '192.0.2.1',
    options: { sharingKey: 'k', ports: 'TCP/80' },
    error: `can't change sharing key for "s6", address also in use by s4`,
  },
  {
    desc: 'Local policy: s7 on .2 with app=a',
    svc: 's7',
    ip: '192.0.2.2',
    options: { sharingKey: 'l', backendKey: 'app=a' },
  },
  {
    desc: 'Local policy: s8 with app=b is refused',
    svc: 's8',
    ip: '192.0.2.2',
    options: { sharingKey: 'l', backendKey: 'app=b', ports: 'TCP/81' },
    error: `can't change sharing key for "s8", address also in use by s7`,
  },
  {
    desc: 'Local policy: s8 with app=a shares',
    svc: 's8',
    ip: '192.0.2.2',
    options: { sharingKey: 'l', backendKey: 'app=a', ports: 'TCP/81' },
  },
  {
    desc: 'IPv6 into an IPv4 service',
    svc: 's9',
    ip: '2001:db8::1',
    error: 'requested loadBalancer IP(s) ["2001:db8::1"] does not match the ipFamily of the service',
  },
  { desc: 'IPv6 service', svc: 's9', ip: '2001:db8::1', options: { families: ['IPv6'] } },
];

describe('assignment sequence (MetalLB TestAssignment)', () => {
  it('follows every step', () => {
    const alloc = new Allocator([pool('a', ['192.0.2.0/24', '2001:db8::/120'])]);
    for (const step of steps) {
      if ('release' in step) {
        alloc.release(step.release);
        expect(alloc.assignment(step.release), step.desc).toBeUndefined();
        continue;
      }
      const before = alloc.assignment(step.svc);
      const result = alloc.assign(service(step.svc, step.options), [step.ip]);
      if (step.error) {
        expect(result, step.desc).toMatchObject({ ok: false, error: step.error });
        expect(alloc.assignment(step.svc), `${step.desc}: unchanged`).toEqual(before);
      } else {
        expect(result, step.desc).toEqual({ ok: true, ips: [step.ip], pool: 'a' });
        expect(alloc.usersOf(step.ip), step.desc).toContain(step.svc);
      }
    }
    expect(alloc.services()).toEqual(['s2', 's4', 's7', 's8', 's9']);
    expect(alloc.usersOf('192.0.2.2')).toEqual(['s7', 's8']);
    expect(alloc.poolStats()).toEqual([
      { pool: 'a', family: 'IPv4', total: 256n, inUse: 3 },
      { pool: 'a', family: 'IPv6', total: 256n, inUse: 1 },
    ]);
  });
});
