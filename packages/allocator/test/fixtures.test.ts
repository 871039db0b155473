import { describe, expect, it } from 'vitest';
import { cidr, rangeCidrs } from './fixtures.js';

describe('test fixtures', () => {
  it('clears host bits and canonicalises', () => {
    expect(cidr('192.0.2.77/24')).toMatchObject({ text: '192.0.2.0/24', prefixLength: 24 });
    expect(cidr('2001:db8:0:0::5/64').text).toBe('2001:db8::/64');
  });
  it('summarises ranges into ascending CIDRs', () => {
    expect(rangeCidrs('192.0.2.1', '192.0.2.6').map((c) => c.text)).toEqual([
      '192.0.2.1/32',
      '192.0.2.2/31',
      '192.0.2.4/31',
      '192.0.2.6/32',
    ]);
    expect(rangeCidrs('192.0.2.0', '192.0.2.255').map((c) => c.text)).toEqual(['192.0.2.0/24']);
  });
});
