/**
 * Renders a parsed config back into the MetalLB v0.12 ConfigMap format, with every default
 * written out and communities as literals. parseConfig(renderConfig(c)) gives c back, which the
 * tests check; it is also how a normalised config can be shown to a user. Only what the ConfigMap
 * can say is rendered: a pool with L2Advertisements is a layer2 pool, any other a bgp pool.
 */
import { stringify } from 'yaml';
import { formatCommunity } from '@portico/net';
import type { Config } from './model.js';

export function renderConfig(config: Config): string {
  const document: Record<string, unknown> = {};
  if (config.peers.length > 0) {
    document.peers = config.peers.map((p) => ({
      'my-asn': p.myASN,
      'peer-asn': p.peerASN,
      'peer-address': p.peerAddress,
      'peer-port': p.peerPort,
      'hold-time': `${p.holdTime}s`,
      ...(p.keepaliveTime !== undefined && { 'keepalive-time': `${p.keepaliveTime}s` }),
      ...(p.sourceAddress !== undefined && { 'source-address': p.sourceAddress }),
      ...(p.routerID !== undefined && { 'router-id': p.routerID }),
      ...(p.password !== undefined && { password: p.password }),
      ...(p.bfdProfile !== undefined && { 'bfd-profile': p.bfdProfile }),
      'ebgp-multihop': p.ebgpMultiHop,
      ...(p.nodeSelectors.length > 0 && {
        'node-selectors': p.nodeSelectors.map((s) => ({
          'match-labels': s.matchLabels,
          'match-expressions': s.matchExpressions.map((e) => ({
            key: e.key,
            operator: e.operator,
            values: e.values,
          })),
        })),
      }),
    }));
  }
  if (Object.keys(config.communities).length > 0) {
    document['bgp-communities'] = Object.fromEntries(
      Object.entries(config.communities).map(([name, value]) => [name, formatCommunity(value)]),
    );
  }
  if (config.pools.length > 0) {
    document['address-pools'] = config.pools.map((pool) => ({
      name: pool.name,
      protocol: pool.l2Advertisements.length > 0 ? 'layer2' : 'bgp',
      addresses: pool.addresses.map((a) => a.text),
      'auto-assign': pool.autoAssign,
      'avoid-buggy-ips': pool.avoidBuggyIPs,
      ...(pool.l2Advertisements.length === 0 && {
        'bgp-advertisements': pool.bgpAdvertisements.map((ad) => ({
          'aggregation-length': ad.aggregationLength,
          'aggregation-length-v6': ad.aggregationLengthV6,
          localpref: ad.localPref,
          communities: ad.communities.map(formatCommunity),
        })),
      }),
    }));
  }
  if (config.bfdProfiles.length > 0) {
    document['bfd-profiles'] = config.bfdProfiles.map((b) => ({
      name: b.name,
      ...(b.receiveInterval !== undefined && { 'receive-interval': b.receiveInterval }),
      ...(b.transmitInterval !== undefined && { 'transmit-interval': b.transmitInterval }),
      ...(b.detectMultiplier !== undefined && { 'detect-multiplier': b.detectMultiplier }),
      ...(b.echoInterval !== undefined && { 'echo-interval': b.echoInterval }),
      ...(b.minimumTtl !== undefined && { 'minimum-ttl': b.minimumTtl }),
      'echo-mode': b.echoMode,
      'passive-mode': b.passiveMode,
    }));
  }
  return Object.keys(document).length === 0 ? '' : stringify(document, { version: '1.1' });
}
