/**
 * What makes Service IPs reachable: one `portico speaker` per node namespace.
 *
 * Until the speaker command is implemented, the lab falls back to stand-ins with the same effect
 * for the demo: `portico l2 announce` on the first node for every layer-2 IP, and one
 * `portico bgp peer` per node announcing every BGP IPv4 address to the router. They are static
 * (no failover, no endpoint awareness) and only there so the lab works end to end meanwhile.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NODE_ASN, NODES, PORTS, ROUTER_ASN, SEGMENT } from './plan.js';
import { nodeInNetns, PORTICO } from './shell.js';
import type { LabState } from './state.js';

/** True when `portico speaker` is the real thing (not the placeholder). */
export function speakerAvailable(): boolean {
  const r = spawnSync(process.execPath, [PORTICO, 'speaker', '--help'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return !/not implemented/.test(`${r.stdout}${r.stderr}`);
}

/** Starts the speaker in one node namespace; returns its pid. */
export function startSpeaker(state: LabState, nodeName: string): number {
  const node = NODES.find((n) => n.name === nodeName)!;
  const args = ['speaker', '--kubeconfig', state.kubeconfig, '--node-name', node.name];
  args.push('--bind-address', node.ipv4, '--interfaces', node.link);
  args.push('--metrics-port', String(PORTS.speakerMetrics), '--memberlist-port', String(PORTS.memberlist));
  return nodeInNetns(node.name, PORTICO, args, join(state.dir, `speaker-${node.name}.log`));
}

/** The interim stand-ins (see above). Returns role -> pid. */
export function startStandIns(
  state: LabState,
  layer2Ips: string[],
  bgpIps: string[],
): Record<string, number> {
  const pids: Record<string, number> = {};
  const first = NODES[0]!;
  if (layer2Ips.length > 0)
    pids[`l2-announce-${first.name}`] = nodeInNetns(
      first.name,
      PORTICO,
      ['l2', 'announce', '--interface', first.link, '--ip', ...layer2Ips],
      join(state.dir, `l2-announce-${first.name}.log`),
    );
  const v4 = bgpIps.filter((ip) => !ip.includes(':'));
  if (v4.length > 0)
    for (const node of NODES) {
      const args = ['bgp', 'peer', '--local-asn', String(NODE_ASN), '--peer', SEGMENT.router4];
      args.push('--peer-asn', String(ROUTER_ASN), '--router-id', node.ipv4, '--source-address', node.ipv4);
      args.push('--announce', v4.map((ip) => `${ip}/32`).join(','), '--next-hop', node.ipv4);
      pids[`bgp-peer-${node.name}`] = nodeInNetns(
        node.name,
        PORTICO,
        args,
        join(state.dir, `bgp-peer-${node.name}.log`),
      );
    }
  return pids;
}
