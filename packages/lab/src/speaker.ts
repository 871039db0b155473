/**
 * What makes Service IPs reachable: one `portico speaker` per node namespace, talking to the API
 * server over the segment, answering ARP/NDP on the node's segment link only, and peering with
 * the router from the node's address.
 */
import { join } from 'node:path';
import { NODES, PORTS } from './plan.js';
import { nodeInNetns, PORTICO, shippedNodeFlags } from './shell.js';
import type { LabState } from './state.js';

/** Starts the speaker in one node namespace; returns its pid. */
export function startSpeaker(state: LabState, nodeName: string): number {
  const node = NODES.find((n) => n.name === nodeName)!;
  const args = ['speaker', '--kubeconfig', state.kubeconfig, '--node-name', node.name];
  args.push('--bind-address', node.ipv4, '--interfaces', node.link);
  args.push('--metrics-port', String(PORTS.speakerMetrics), '--memberlist-port', String(PORTS.memberlist));
  const log = join(state.dir, `speaker-${node.name}.log`);
  return nodeInNetns(node.name, PORTICO, args, log, shippedNodeFlags('speaker'));
}
