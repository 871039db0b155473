/**
 * The BGP sessions this node opens: every configured peer whose node-selectors match the node's
 * labels (all nodes when a peer has none), turned into @portico/bgp peer options.
 */
import type { PeerOptions } from '@portico/bgp';
import { type Config, nodeSelectorsMatch, type Peer } from '@portico/config';
import type { SessionPeer } from './bgp-routes.js';

/** This node's sessions (address and BGPPeer name), as peersForNode opens them. */
export function sessionPeers(config: Config, labels: Readonly<Record<string, string>>): SessionPeer[] {
  const byAddress = new Map<string, SessionPeer>();
  for (const peer of config.peers) {
    if (!nodeSelectorsMatch(peer.nodeSelectors, labels)) continue;
    byAddress.set(peer.peerAddress, {
      address: peer.peerAddress,
      ...(peer.name !== undefined ? { name: peer.name } : {}),
    });
  }
  return [...byAddress.values()];
}

/** Peer options by peer address (a speaker has one session per peer address). */
export function peersForNode(
  config: Config,
  labels: Readonly<Record<string, string>>,
): Map<string, PeerOptions> {
  const out = new Map<string, PeerOptions>();
  for (const peer of config.peers) {
    if (!nodeSelectorsMatch(peer.nodeSelectors, labels)) continue;
    out.set(peer.peerAddress, peerOptions(peer, config));
  }
  return out;
}

function peerOptions(peer: Peer, config: Config): PeerOptions {
  const o: PeerOptions = {
    peerAddress: peer.peerAddress,
    peerAsn: peer.peerASN,
    peerPort: peer.peerPort,
    localAsn: peer.myASN,
    holdTime: peer.holdTime,
  };
  if (peer.keepaliveTime !== undefined) o.keepaliveTime = peer.keepaliveTime;
  if (peer.sourceAddress) o.localAddress = peer.sourceAddress;
  if (peer.password) o.password = peer.password;
  // eBGP multihop: the peer is not on our link, so our packets must survive several hops.
  if (peer.ebgpMultiHop) o.ttl = 255;
  const profile = peer.bfdProfile ? config.bfdProfiles.find((p) => p.name === peer.bfdProfile) : undefined;
  if (profile) {
    o.bfd = {};
    if (profile.transmitInterval !== undefined) o.bfd.desiredMinTxMs = profile.transmitInterval;
    if (profile.receiveInterval !== undefined) o.bfd.requiredMinRxMs = profile.receiveInterval;
    if (profile.detectMultiplier !== undefined) o.bfd.detectMultiplier = profile.detectMultiplier;
  }
  return o;
}

/** Two option sets describe the same session (unchanged peers keep their sessions). */
export function samePeer(a: PeerOptions, b: PeerOptions): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
