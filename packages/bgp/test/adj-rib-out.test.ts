import { describe, expect, it } from 'vitest';
import { AdjRibOut } from '../src/adj-rib-out.js';
import { formatPrefix } from '../src/prefix.js';
import { compileRoute, exportRoute, type Route } from '../src/route.js';
import { receive } from './helpers.js';

const ebgp = {
  localAsn: 65001,
  peerAsn: 65000,
  localAddress: '192.0.2.2',
  families: [1, 2] as (1 | 2)[],
  ipv4OverIpv6NextHop: false,
};
const send = { maxLength: 4096, fourOctetAs: true };

function decode(messages: Buffer[]) {
  return receive(messages).map((m) => {
    if (m.type !== 'update') throw new Error('not an update');
    return m.update;
  });
}

describe('Adj-RIB-Out', () => {
  it('sends only what changed, grouping equal attributes', () => {
    const rib = new AdjRibOut();
    const routes: Route[] = [
      { prefix: '198.51.100.1/32', communities: ['65001:1'] },
      { prefix: '198.51.100.2/32', communities: ['65001:1'] },
      { prefix: '198.51.100.3/32', communities: ['65001:2'] },
    ];
    const first = rib.sync(routes.map(compileRoute), ebgp, send);
    expect(first.messages).toHaveLength(2); // two attribute sets
    expect(first.announced).toBe(3);
    expect(rib.sync(routes.map(compileRoute), ebgp, send).messages).toHaveLength(0);
    const changed = [routes[0]!, { ...routes[1]!, communities: ['65001:2'] }];
    const diff = rib.sync(changed.map(compileRoute), ebgp, send);
    expect([diff.announced, diff.withdrawn]).toEqual([1, 1]);
    const updates = decode(diff.messages);
    expect(updates.flatMap((u) => u.withdrawn).map(formatPrefix)).toEqual(['198.51.100.3/32']);
    expect(updates.flatMap((u) => u.nlri).map(formatPrefix)).toEqual(['198.51.100.2/32']);
    expect(rib.size).toBe(2);
  });

  it('with changed keys looks only at those prefixes', () => {
    const rib = new AdjRibOut();
    const table = new Map(
      ['198.51.100.1/32', '198.51.100.2/32', '198.51.100.3/32'].map((p) => [p, compileRoute({ prefix: p })]),
    );
    expect(rib.sync(table, ebgp, send).announced).toBe(3);
    table.delete('198.51.100.1/32');
    table.set('198.51.100.4/32', compileRoute({ prefix: '198.51.100.4/32' }));
    table.set('198.51.100.2/32', compileRoute({ prefix: '198.51.100.2/32', med: 7 }));
    // Only .1 and .4 are named: the MED change on .2 is not looked at.
    const diff = rib.sync(table, ebgp, send, ['198.51.100.1/32', '198.51.100.4/32']);
    expect([diff.announced, diff.withdrawn]).toEqual([1, 1]);
    expect(rib.has('198.51.100.1/32')).toBe(false);
    expect(rib.has('198.51.100.4/32')).toBe(true);
    expect(rib.sync(table, ebgp, send, ['198.51.100.2/32']).announced).toBe(1);
  });

  it('skips routes of a family the peer did not negotiate or without a usable next hop', () => {
    const v6 = compileRoute({ prefix: '2001:db8::1/128' });
    expect(exportRoute(v6, { ...ebgp, families: [1] })).toBeUndefined();
    expect(exportRoute(v6, ebgp)).toBeUndefined(); // IPv4 session, no IPv6 next hop configured
    expect(exportRoute(v6, { ...ebgp, nextHopIPv6: '2001:db8::2' })?.nextHops).toEqual(['2001:db8::2']);
    const v4 = compileRoute({ prefix: '198.51.100.1/32' });
    const overV6 = { ...ebgp, localAddress: '2001:db8::2' };
    expect(exportRoute(v4, overV6)).toBeUndefined();
    expect(exportRoute(v4, { ...overV6, ipv4OverIpv6NextHop: true })?.nextHops).toEqual(['2001:db8::2']); // RFC 8950
  });

  it('builds eBGP and iBGP attributes per RFC 4271 §5.1', () => {
    const r = compileRoute({ prefix: '198.51.100.1/32', localPref: 300, med: 5 });
    const e = exportRoute(r, ebgp)!;
    expect(e.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
    expect(e.attributes.localPref).toBeUndefined();
    const i = exportRoute(r, { ...ebgp, peerAsn: 65001 })!;
    expect(i.attributes.asPath).toEqual([]);
    expect(i.attributes.localPref).toBe(300);
    expect(i.attributes.med).toBe(5);
  });

  it('sends a churn tick as one UPDATE: withdrawals ride with the announcements, no prefix in both', () => {
    const rib = new AdjRibOut();
    const key = (i: number) => `198.18.${i >> 8}.${i & 0xff}/32`;
    const table = new Map(Array.from({ length: 1000 }, (_, i) => [key(i), compileRoute({ prefix: key(i) })]));
    rib.sync(table, ebgp, send);
    const changed: string[] = [];
    for (let i = 0; i < 5; i++) {
      table.delete(key(i));
      table.set(key(1000 + i), compileRoute({ prefix: key(1000 + i) }));
      changed.push(key(i), key(1000 + i));
    }
    // An attribute change is an announcement (implicit withdraw, RFC 4271 §3.1), never both.
    table.set(key(500), compileRoute({ prefix: key(500), med: 1 }));
    changed.push(key(500));
    const diff = rib.sync(table, ebgp, send, changed);
    expect([diff.announced, diff.withdrawn]).toEqual([6, 5]);
    const updates = decode(diff.messages);
    expect(updates).toHaveLength(2); // two attribute sets; the withdrawals ride in the first
    expect(updates[0]!.withdrawn.map(formatPrefix)).toEqual([0, 1, 2, 3, 4].map(key));
    expect(updates[0]!.nlri.map(formatPrefix)).toEqual([1000, 1001, 1002, 1003, 1004].map(key));
    expect(updates[1]!.withdrawn).toEqual([]);
    expect(updates[1]!.nlri.map(formatPrefix)).toEqual([key(500)]);
    expect(updates[1]!.attributes.med).toBe(1);
  });

  it('sends an IPv6 churn tick as one UPDATE with MP_UNREACH_NLRI and MP_REACH_NLRI', () => {
    const rib = new AdjRibOut();
    const v6 = { ...ebgp, nextHopIPv6: '2001:db8::2' };
    const key = (i: number) => `2001:db8:5::${(i + 1).toString(16)}/128`;
    const table = new Map(Array.from({ length: 20 }, (_, i) => [key(i), compileRoute({ prefix: key(i) })]));
    rib.sync(table, v6, send);
    table.delete(key(0));
    table.set(key(20), compileRoute({ prefix: key(20) }));
    const diff = rib.sync(table, v6, send, [key(0), key(20)]);
    const updates = decode(diff.messages);
    expect(updates).toHaveLength(1);
    expect(updates[0]!.attributes.mpUnreach!.withdrawn.map(formatPrefix)).toEqual([key(0)]);
    expect(updates[0]!.attributes.mpReach!.nlri.map(formatPrefix)).toEqual([key(20)]);
    expect(updates[0]!.endOfRib).toBeUndefined();
  });

  it('rejects invalid routes with a clear message', () => {
    expect(() => compileRoute({ prefix: '198.51.100.1/33' })).toThrow(/prefix length/);
    expect(() => compileRoute({ prefix: '198.51.100.1/32', nextHop: 'x' })).toThrow(/next hop/);
    expect(() => compileRoute({ prefix: '198.51.100.1/32', med: -1 })).toThrow(/med/);
    expect(() => compileRoute({ prefix: '198.51.100.1/32', communities: ['1:2:3'] })).toThrow(/community/);
  });
});
