import { describe, expect, it } from 'vitest';
import { parseConfig, poolProtocols, type Config } from '@portico/config';

function valid(text: string): Config {
  const result = parseConfig(text);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

describe('parseConfig common path', () => {
  it('parses a layer2 pool and a bgp peer with defaults applied', () => {
    const config = valid(`
peers:
- peer-address: 192.0.2.1
  peer-asn: 64501
  my-asn: 64500
address-pools:
- name: default
  protocol: layer2
  addresses:
  - 198.51.100.0/24
  - 203.0.113.10-203.0.113.20
`);
    expect(config.peers).toEqual([
      {
        myASN: 64500,
        peerASN: 64501,
        peerAddress: '192.0.2.1',
        peerPort: 179,
        holdTime: 90,
        ebgpMultiHop: false,
        enableGracefulRestart: false,
        disableMP: false,
        dualStackAddressFamily: false,
        nodeSelectors: [],
      },
    ]);
    const pool = config.pools[0];
    expect(pool?.name).toBe('default');
    expect(pool && poolProtocols(pool)).toEqual(['layer2']);
    expect(pool?.autoAssign).toBe(true);
    expect(pool?.avoidBuggyIPs).toBe(false);
    expect(pool?.addresses.map((a) => a.text)).toEqual(['198.51.100.0/24', '203.0.113.10-203.0.113.20']);
    expect(pool?.addresses[1]?.cidrs.map((c) => c.text)).toEqual([
      '203.0.113.10/31',
      '203.0.113.12/30',
      '203.0.113.16/30',
      '203.0.113.20/32',
    ]);
  });

  it('an empty document is an empty, valid config', () => {
    expect(valid('')).toEqual({
      pools: [],
      peers: [],
      bfdProfiles: [],
      communities: {},
      largeCommunities: {},
    });
  });
});
