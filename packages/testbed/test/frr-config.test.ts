import { describe, expect, it } from 'vitest';
import { frrBfddConfig, frrBgpdConfig } from '../src/frr-config.js';

describe('frrBgpdConfig', () => {
  it('writes one eBGP neighbour activated in IPv4 only', () => {
    const text = frrBgpdConfig({
      asn: 64500,
      routerId: '192.0.2.1',
      neighbors: [{ address: '192.0.2.2', remoteAs: 64512, connectRetry: 1 }],
      addressFamilies: { ipv4: { activate: ['192.0.2.2'] } },
    });
    expect(text).toBe(
      [
        'frr defaults traditional',
        'router bgp 64500',
        ' bgp router-id 192.0.2.1',
        ' no bgp ebgp-requires-policy',
        ' no bgp default ipv4-unicast',
        ' neighbor 192.0.2.2 remote-as 64512',
        ' neighbor 192.0.2.2 timers connect 1',
        ' address-family ipv4 unicast',
        '  neighbor 192.0.2.2 activate',
        ' exit-address-family',
        '',
      ].join('\n'),
    );
  });

  it('writes peer groups, graceful-restart off, ECMP and a log file', () => {
    const group = (name: string) => ({
      name,
      remoteAs: 64513,
      timers: { keepalive: 3, hold: 9 },
      connectRetry: 1,
    });
    const text = frrBgpdConfig({
      asn: 64512,
      routerId: '10.0.0.1',
      hostname: 'r1',
      logFile: 'bgpd.log',
      gracefulRestart: false,
      peerGroups: [group('nodes4'), group('nodes6')],
      neighbors: [
        { address: '10.0.0.11', peerGroup: 'nodes4' },
        { address: 'fd00::11', peerGroup: 'nodes6' },
      ],
      addressFamilies: {
        ipv4: { activate: ['nodes4'], maximumPaths: 8 },
        ipv6: { activate: ['nodes6'], maximumPaths: 8 },
      },
    });
    expect(text).toBe(
      [
        'frr defaults traditional',
        'hostname r1',
        'log file bgpd.log',
        'router bgp 64512',
        ' bgp router-id 10.0.0.1',
        ' no bgp ebgp-requires-policy',
        ' no bgp default ipv4-unicast',
        ' bgp graceful-restart-disable',
        ' neighbor nodes4 peer-group',
        ' neighbor nodes4 remote-as 64513',
        ' neighbor nodes4 timers 3 9',
        ' neighbor nodes4 timers connect 1',
        ' neighbor nodes6 peer-group',
        ' neighbor nodes6 remote-as 64513',
        ' neighbor nodes6 timers 3 9',
        ' neighbor nodes6 timers connect 1',
        ' neighbor 10.0.0.11 peer-group nodes4',
        ' neighbor fd00::11 peer-group nodes6',
        ' address-family ipv4 unicast',
        '  neighbor nodes4 activate',
        '  maximum-paths 8',
        ' exit-address-family',
        ' address-family ipv6 unicast',
        '  neighbor nodes6 activate',
        '  maximum-paths 8',
        ' exit-address-family',
        '',
      ].join('\n'),
    );
  });

  it('keeps FRR default IPv4 activation when asked, with BFD, MD5 and extended next hop', () => {
    const text = frrBgpdConfig({
      asn: 65000,
      routerId: '192.0.2.1',
      defaultIpv4Unicast: true,
      neighbors: [
        { address: '192.0.2.2', remoteAs: 65001, timers: { keepalive: 10, hold: 30 }, bfd: 'fast' },
        { address: '192.0.2.4', remoteAs: 65001, password: 's3cret', bfd: true },
        { address: '2001:db8::2', remoteAs: 65001, extendedNexthop: true },
      ],
    });
    expect(text.split('\n').slice(4)).toEqual([
      ' neighbor 192.0.2.2 remote-as 65001',
      ' neighbor 192.0.2.2 timers 10 30',
      ' neighbor 192.0.2.2 bfd',
      ' neighbor 192.0.2.2 bfd profile fast',
      ' neighbor 192.0.2.4 remote-as 65001',
      ' neighbor 192.0.2.4 password s3cret',
      ' neighbor 192.0.2.4 bfd',
      ' neighbor 2001:db8::2 remote-as 65001',
      ' neighbor 2001:db8::2 capability extended-nexthop',
      '',
    ]);
    expect(text).not.toContain('no bgp default ipv4-unicast');
    expect(text).not.toContain('address-family');
  });
});

describe('frrBfddConfig', () => {
  it('writes each profile in a bfd block', () => {
    expect(
      frrBfddConfig([{ name: 'fast', receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 }]),
    ).toBe(
      'bfd\n profile fast\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3\n !\n!\n',
    );
  });
});
