import { describe, expect, it } from 'vitest';
import { gobgpConfig } from '../src/gobgp.js';

describe('gobgpConfig', () => {
  it('writes a neighbour with timers, MD5, graceful-restart helper and families', () => {
    expect(
      gobgpConfig({
        asn: 65000,
        routerId: '192.0.2.1',
        neighbors: [
          {
            address: '192.0.2.4',
            peerAs: 65001,
            password: 's3cret',
            connectRetry: 1,
            gracefulRestartHelper: true,
            families: ['ipv4'],
          },
        ],
      }),
    ).toBe(
      [
        '[global.config]',
        '  as = 65000',
        '  router-id = "192.0.2.1"',
        '[[neighbors]]',
        '  [neighbors.config]',
        '    neighbor-address = "192.0.2.4"',
        '    peer-as = 65001',
        '    auth-password = "s3cret"',
        '  [neighbors.timers.config]',
        '    connect-retry = 1',
        '    idle-hold-time-after-reset = 1',
        '  [neighbors.graceful-restart.config]',
        '    enabled = true',
        '    helper-only = true',
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        '      afi-safi-name = "ipv4-unicast"',
        '    [neighbors.afi-safis.mp-graceful-restart.config]',
        '      enabled = true',
        '',
      ].join('\n'),
    );
  });

  it('writes a passive neighbour bound to a local address', () => {
    const text = gobgpConfig({
      asn: 64512,
      routerId: '192.0.2.1',
      neighbors: [
        { address: '192.0.2.2', peerAs: 64513, passive: { localAddress: '192.0.2.1' }, families: ['ipv4'] },
      ],
    });
    expect(text).toContain(
      '  [neighbors.transport.config]\n    passive-mode = true\n    local-address = "192.0.2.1"\n',
    );
    expect(text).not.toContain('timers');
  });

  it('writes an administratively down neighbour', () => {
    const text = gobgpConfig({
      asn: 65001,
      routerId: '192.0.2.2',
      neighbors: [
        { address: '192.0.2.1', peerAs: 65000, adminDown: true, connectRetry: 1, families: ['ipv4'] },
      ],
    });
    expect(text).toContain('    peer-as = 65000\n    admin-down = true\n  [neighbors.timers.config]\n');
  });
});
