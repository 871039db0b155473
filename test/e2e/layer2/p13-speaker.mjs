// The speaker's decision and its layer-2 announcer, without the Kubernetes API, for the
// advertisement selector end-to-end test (issue 13): inside a node's network namespace it reads
// MetalLB resources (decodeResources), decides what this node announces (decide, every node alive,
// a ready endpoint on every node) and applies the layer-2 part to the real announcer, with each
// IP's interfaces. A JSON line {"resources": [...]} on stdin replaces the resources and decides
// again; events leave as JSON lines on stdout. Uses the built packages: run `npx tsc -b` first.
import { createInterface } from 'node:readline';
import { decodeResources } from '@portico/config';
import { Announcer } from '@portico/layer2';
import { decide } from '@portico/speaker';

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const { node, nodes, services } = JSON.parse(process.argv[2]);

const announcer = new Announcer({ probe: false, watchLinks: false, rescanIntervalMs: 60_000 });
emit({ event: 'ready', interfaces: announcer.interfaces });

const nodeObjects = nodes.map((n) => ({
  metadata: { name: n.name, labels: n.labels },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
}));
const serviceObjects = services.map((s) => ({
  metadata: { name: s.name, namespace: 'default', labels: s.labels ?? {} },
  spec: { type: 'LoadBalancer' },
  status: { loadBalancer: { ingress: s.ips.map((ip) => ({ ip })) } },
}));
const slices = new Map(
  services.map((s) => [
    `default/${s.name}`,
    [
      {
        addressType: 'IPv4',
        endpoints: nodes.map((n, i) => ({
          addresses: [`10.0.0.${i + 1}`],
          nodeName: n.name,
          conditions: { ready: true },
        })),
      },
    ],
  ]),
);

async function apply(resources) {
  const result = decodeResources(resources);
  if (!result.ok) return emit({ event: 'error', message: result.errors.join('; ') });
  const decision = decide({
    node,
    config: result.config,
    services: serviceObjects,
    slices,
    nodes: nodeObjects,
    alive: () => true,
    claims: () => undefined,
    localAsn: 0,
  });
  for (const ip of announcer.addresses) if (!decision.layer2.has(ip)) announcer.withdraw(ip);
  const layer2 = {};
  for (const ip of decision.layer2.keys()) {
    const interfaces = decision.layer2Interfaces.get(ip);
    await announcer.announce(ip, interfaces);
    layer2[ip] = announcer.interfacesOf(ip);
  }
  emit({ event: 'applied', layer2 });
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const { resources } = JSON.parse(line);
  queue = queue.then(() => apply(resources));
});
const stop = () => {
  announcer.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
