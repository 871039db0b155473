import { describe, expect, it } from 'vitest';
import { orphanedIPs } from '../src/config-guard.js';
import { readyEndpointsByNode } from '../src/endpoints.js';
import { membersFromNodes, parseHostPort, SPEAKER_ADDRESS_ANNOTATION } from '../src/membership/members.js';
import { EXCLUDE_LABEL, nodeIneligibility } from '../src/nodes.js';
import { peersForNode } from '../src/peers.js';
import { PoolIndex } from '../src/pools.js';
import { config, node, service, slice } from './fixtures.js';

describe('PoolIndex', () => {
  const index = new PoolIndex(config());
  it.each([
    ['198.51.100.0', 'l2'],
    ['198.51.100.63', 'l2'],
    ['198.51.100.64', undefined],
    ['2001:db8:1::ff', 'l2'],
    ['2001:db8:2::abcd', 'bgp'],
    ['203.0.113.255', 'bgp'],
    ['192.0.2.1', undefined],
    ['not an ip', undefined],
  ])('%s -> %s', (ip, pool) => {
    expect(index.poolOf(ip)?.name).toBe(pool);
  });
});

describe('readyEndpointsByNode', () => {
  it('counts ready, non-terminating endpoints per node, once per pod across slices', () => {
    const s1 = slice('a', [
      { node: 'n1' },
      { node: 'n1' },
      { node: 'n2', ready: false },
      { node: 'n3', terminating: true },
    ]);
    const dual = { ...s1, metadata: { ...s1.metadata, name: 'a-v6' }, addressType: 'IPv6' };
    expect(Object.fromEntries(readyEndpointsByNode([s1, dual]))).toEqual({ n1: 2 });
  });
});

describe('nodeIneligibility', () => {
  it.each([
    [node('n'), undefined],
    [node('n', { ready: 'False' }), 'not-ready'],
    [node('n', { ready: 'Unknown' }), 'not-ready'],
    [node('n', { networkUnavailable: true }), 'network-unavailable'],
    [node('n', { networkUnavailable: false }), undefined],
    [node('n', { labels: { [EXCLUDE_LABEL]: '' } }), 'excluded'],
    [{ metadata: { name: 'bare' } }, undefined],
  ])('%#', (n, reason) => {
    expect(nodeIneligibility(n)).toBe(reason);
  });
});

describe('peersForNode', () => {
  it('selects peers by node labels and maps their options', () => {
    expect([...peersForNode(config(), {}).keys()]).toEqual(['192.0.2.1']);
    const peers = peersForNode(config(), { rack: 'r1' });
    expect([...peers.keys()]).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(peers.get('192.0.2.2')).toMatchObject({
      peerAsn: 64501,
      localAsn: 64500,
      peerPort: 179,
      holdTime: 90,
    });
  });

  it('maps a BFD profile and eBGP multihop', () => {
    const c = config(`
bfd-profiles:
  - name: fast
    receive-interval: 50
    transmit-interval: 60
    detect-multiplier: 4
peers:
  - peer-address: 192.0.2.1
    peer-asn: 64501
    my-asn: 64500
    bfd-profile: fast
    ebgp-multihop: true
    source-address: 192.0.2.10
address-pools: []
`);
    expect(peersForNode(c, {}).get('192.0.2.1')).toMatchObject({
      bfd: { requiredMinRxMs: 50, desiredMinTxMs: 60, detectMultiplier: 4 },
      ttl: 255,
      localAddress: '192.0.2.10',
    });
  });
});

describe('members', () => {
  it.each([
    ['198.51.100.1', { address: '198.51.100.1', port: 7946 }],
    ['198.51.100.1:9000', { address: '198.51.100.1', port: 9000 }],
    ['2001:db8::1', { address: '2001:db8::1', port: 7946 }],
    ['[2001:db8::1]:9000', { address: '2001:db8::1', port: 9000 }],
    ['host:9000', undefined],
    ['198.51.100.1:0', undefined],
  ])('parseHostPort(%s)', (text, expected) => {
    expect(parseHostPort(text, 7946)).toEqual(expected);
  });

  it('prefers an IPv4 InternalIP on a dual-stack node, whatever the order', () => {
    const n = node('a');
    n.status!.addresses = [
      { type: 'InternalIP', address: '2001:db8::a' },
      { type: 'InternalIP', address: '198.51.100.1' },
    ];
    expect(membersFromNodes([n], 7946)).toEqual([
      { name: 'a', address: '198.51.100.1', port: 7946, expected: true },
    ]);
  });

  it('takes the InternalIP, or the annotation; only eligible nodes are expected, with or without address', () => {
    const annotated = node('b', { address: '198.51.100.2' });
    annotated.metadata!.annotations = { [SPEAKER_ADDRESS_ANNOTATION]: '127.0.0.1:9001' };
    expect(
      membersFromNodes(
        [
          node('a', { address: '198.51.100.1' }),
          annotated,
          node('c', { ready: 'False', address: '198.51.100.3' }),
          node('d'),
        ],
        7946,
      ),
    ).toEqual([
      { name: 'a', address: '198.51.100.1', port: 7946, expected: true },
      { name: 'b', address: '127.0.0.1', port: 9001, expected: true },
      { name: 'c', address: '198.51.100.3', port: 7946, expected: false },
      { name: 'd', expected: true },
    ]);
  });
});

describe('orphanedIPs', () => {
  it('lists held IPs the new configuration no longer covers', () => {
    const before = config();
    const after = config('address-pools: [{name: l2, protocol: layer2, addresses: [198.51.100.0/28]}]');
    const services = [
      service('a', ['198.51.100.5']),
      service('b', ['198.51.100.40']),
      service('c', ['192.0.2.9']),
    ];
    expect(orphanedIPs(before, after, services)).toEqual(['default/b 198.51.100.40']);
    expect(orphanedIPs(undefined, after, services)).toEqual([]);
  });
});
