import { describe, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  METALLB_ANNOTATIONS,
  METALLB_IO_ANNOTATIONS,
  readAnnotation,
  readAnnotationWithKey,
  splitIPList,
} from '../src/index.js';

describe('annotations', () => {
  it('names the portico.dev annotations and their MetalLB aliases', () => {
    expect(ANNOTATIONS).toEqual({
      addressPool: 'portico.dev/address-pool',
      loadBalancerIPs: 'portico.dev/loadBalancerIPs',
      allowSharedIP: 'portico.dev/allow-shared-ip',
    });
    expect(METALLB_IO_ANNOTATIONS).toEqual({
      addressPool: 'metallb.io/address-pool',
      loadBalancerIPs: 'metallb.io/loadBalancerIPs',
      allowSharedIP: 'metallb.io/allow-shared-ip',
    });
    expect(METALLB_ANNOTATIONS).toEqual({
      addressPool: 'metallb.universe.tf/address-pool',
      loadBalancerIPs: 'metallb.universe.tf/loadBalancerIPs',
      allowSharedIP: 'metallb.universe.tf/allow-shared-ip',
    });
  });

  it.each([
    { annotations: undefined, want: undefined },
    { annotations: {}, want: undefined },
    { annotations: { 'metallb.universe.tf/address-pool': 'old' }, want: 'old' },
    {
      annotations: { 'portico.dev/address-pool': 'new', 'metallb.universe.tf/address-pool': 'old' },
      want: 'new',
    },
    { annotations: { 'portico.dev/address-pool': '', 'metallb.universe.tf/address-pool': 'old' }, want: '' },
    { annotations: { 'portico.dev/allow-shared-ip': 'k' }, want: undefined },
    { annotations: { 'metallb.io/address-pool': 'current' }, want: 'current' },
    {
      annotations: { 'metallb.io/address-pool': 'current', 'metallb.universe.tf/address-pool': 'old' },
      want: 'current',
    },
    {
      annotations: { 'portico.dev/address-pool': 'ours', 'metallb.io/address-pool': 'current' },
      want: 'ours',
    },
    { annotations: { 'metallb.io/address-pool': '', 'metallb.universe.tf/address-pool': 'old' }, want: '' },
  ] as Array<{ annotations?: Record<string, string>; want?: string }>)(
    'address-pool from $annotations is $want',
    ({ annotations, want }) => {
      expect(readAnnotation(annotations, 'addressPool')).toBe(want);
    },
  );

  it('tells which key a value came from', () => {
    expect(readAnnotationWithKey({ 'metallb.universe.tf/allow-shared-ip': 'k' }, 'allowSharedIP')).toEqual({
      value: 'k',
      key: 'metallb.universe.tf/allow-shared-ip',
    });
  });

  it.each(['addressPool', 'loadBalancerIPs', 'allowSharedIP'] as const)(
    'reads %s from its metallb.io name before the deprecated one',
    (name) => {
      const annotations = { [METALLB_ANNOTATIONS[name]]: 'old', [METALLB_IO_ANNOTATIONS[name]]: 'current' };
      expect(readAnnotationWithKey(annotations, name)).toEqual({
        value: 'current',
        key: METALLB_IO_ANNOTATIONS[name],
      });
    },
  );

  it('does not read inherited properties', () => {
    const annotations = Object.create({ 'portico.dev/address-pool': 'proto' }) as Record<string, string>;
    expect(readAnnotation(annotations, 'addressPool')).toBeUndefined();
  });

  it('splits loadBalancerIPs on commas and trims', () => {
    expect(splitIPList(' 192.0.2.1 , 2001:db8::1')).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(splitIPList('192.0.2.1,')).toEqual(['192.0.2.1', '']);
  });
});
