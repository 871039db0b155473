// The speaker's decision and its BGP speaker, without the Kubernetes API, for the advertisement
// selector end-to-end test (issue 13): inside the node's network namespace it reads MetalLB
// resources (decodeResources), opens the sessions the BGPPeers' nodeSelectors give this node
// (peersForNode), decides what it advertises (decide: a ready endpoint on this node) and hands
// the routes to the real BGP speaker, each session through its export policy (BgpTable), as the
// speaker app does. A JSON line {"resources": [...]} on stdin replaces the resources; events leave
// as JSON lines on stdout. Uses the built packages: run `npx tsc -b` first.
import { createInterface } from 'node:readline';
import { Speaker } from '@portico/bgp';
import { decodeResources } from '@portico/config';
import { BgpTable, decide, peersForNode, samePeer } from '@portico/speaker';

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const { node, labels, localAsn, routerId, services } = JSON.parse(process.argv[2]);

const bgp = new Speaker({ localAsn, routerId });
await bgp.start();
const table = new BgpTable();
const sessions = new Map();
bgp.on('state', (peer, state) => emit({ event: 'state', peer, state }));
emit({ event: 'ready' });

const nodeObject = {
  metadata: { name: node, labels },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
};
const serviceObjects = services.map((s) => ({
  metadata: { name: s.name, namespace: 'default' },
  spec: { type: 'LoadBalancer' },
  status: { loadBalancer: { ingress: s.ips.map((ip) => ({ ip })) } },
}));
const slices = new Map(
  services.map((s) => [
    `default/${s.name}`,
    [
      {
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.0.1'], nodeName: node, conditions: { ready: true } }],
      },
    ],
  ]),
);

function apply(resources) {
  const result = decodeResources(resources);
  if (!result.ok) return emit({ event: 'error', message: result.errors.join('; ') });
  const config = result.config;
  const wanted = peersForNode(config, labels);
  for (const [address, current] of sessions) {
    const next = wanted.get(address);
    if (next && samePeer(next, current)) continue;
    bgp.removePeer(address);
    sessions.delete(address);
  }
  for (const [address, options] of wanted) {
    if (sessions.has(address)) continue;
    bgp.addPeer({ ...options, connectRetryTime: 1, exportPolicy: table.policyFor(address) });
    sessions.set(address, options);
  }
  const decision = decide({
    node,
    config,
    services: serviceObjects,
    slices,
    nodes: [nodeObject],
    alive: () => true,
    claims: () => undefined,
    localAsn,
  });
  table.apply(bgp, decision.bgp, decision.bgpByPeer);
  emit({
    event: 'applied',
    sessions: [...sessions.keys()].sort(),
    routes: decision.bgp.map((r) => r.prefix),
    byPeer: Object.fromEntries([...decision.bgpByPeer].map(([a, rs]) => [a, rs.map((r) => r.prefix)])),
    peers: Object.fromEntries([...decision.services].map(([k, d]) => [k, d.bgpPeers ?? []])),
  });
}

createInterface({ input: process.stdin }).on('line', (line) => apply(JSON.parse(line).resources));
const stop = async () => {
  await bgp.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
