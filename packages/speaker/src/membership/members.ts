/**
 * Who the speakers are and where their heartbeats go, from the Nodes in the API: the node's
 * InternalIP (ExternalIP if it has none; IPv4 preferred) and the memberlist port all speakers share. A Node may
 * override that with the annotation `portico.dev/speaker-address: HOST[:PORT]` (several speakers
 * on one host in tests, or a dedicated heartbeat network).
 */
import type { V1Node } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { nodeIneligibility, nodeName } from '../nodes.js';
import type { Member } from './detector.js';

export const SPEAKER_ADDRESS_ANNOTATION = 'portico.dev/speaker-address';

export function membersFromNodes(nodes: Iterable<V1Node>, defaultPort: number): Member[] {
  const out: Member[] = [];
  for (const node of nodes) {
    // Only nodes that may announce are expected to answer; the others still get heartbeats so a
    // recovering node is seen at once. A node without a usable address still counts for the
    // quorum: treating it as absent would let every speaker believe it is alone (split brain).
    const target = speakerAddress(node, defaultPort);
    out.push({ name: nodeName(node), ...target, expected: nodeIneligibility(node) === undefined });
  }
  return out;
}

function speakerAddress(node: V1Node, defaultPort: number): { address: string; port: number } | undefined {
  const annotated = node.metadata?.annotations?.[SPEAKER_ADDRESS_ANNOTATION];
  if (annotated) return parseHostPort(annotated, defaultPort);
  // IPv4 first whatever the list order, so every speaker picks the same family for a dual-stack
  // node (an IPv4-bound heartbeat socket cannot reach an IPv6 address).
  const candidates = [
    ...(node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP'),
    ...(node.status?.addresses ?? []).filter((a) => a.type === 'ExternalIP'),
  ].map((a) => a.address);
  const address = candidates.find((a) => isIP(a) === 4) ?? candidates.find((a) => isIP(a) === 6);
  return address && isIP(address) ? { address, port: defaultPort } : undefined;
}

/** `198.51.100.1`, `198.51.100.1:7946`, `2001:db8::1`, `[2001:db8::1]:7946`. */
export function parseHostPort(
  text: string,
  defaultPort: number,
): { address: string; port: number } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return checked(bracketed[1]!, bracketed[2], defaultPort);
  if (isIP(text)) return { address: text, port: defaultPort };
  const i = text.lastIndexOf(':');
  return i > 0 ? checked(text.slice(0, i), text.slice(i + 1), defaultPort) : undefined;
}

function checked(address: string, port: string | undefined, defaultPort: number) {
  const p = port === undefined ? defaultPort : Number(port);
  if (!isIP(address) || !Number.isInteger(p) || p < 1 || p > 65535) return undefined;
  return { address, port: p };
}
