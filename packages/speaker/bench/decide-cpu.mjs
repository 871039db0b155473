// CPU time of one decide() over 10,000 layer-2 Services and 5 nodes, for a ConfigMap pool and for
// MetalLB resources with node selectors and interfaces, with and without serviceSelectors (issue 13:
// selectors are matched once per node and advertisement list, not once per Service), and the CPU
// of the status writer's update() that follows each decision.
// Run: npx tsc -b && node_modules/.bin/node packages/speaker/bench/decide-cpu.mjs [DIST_DIR]
import { decodeResources, parseConfig } from '@portico/config';
const which = process.argv[2] ?? 'dist';
const { decide } = await import(`../${which}/index.js`);
const N = 10000,
  NODES = 5;
const nodes = Array.from({ length: NODES }, (_, i) => ({
  metadata: { name: `n${i}`, labels: { zone: i % 2 ? 'a' : 'b' } },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
}));
const services = [],
  slices = new Map();
for (let i = 0; i < N; i++) {
  const ip = `198.18.${i >> 8}.${i & 255}`;
  services.push({
    metadata: { name: `s${i}`, namespace: 'default', labels: { app: i % 3 ? 'web' : 'db' } },
    spec: { type: 'LoadBalancer' },
    status: { loadBalancer: { ingress: [{ ip }] } },
  });
  slices.set(`default/s${i}`, [
    {
      addressType: 'IPv4',
      endpoints: nodes.map((n, j) => ({
        addresses: [`10.0.${j}.1`],
        nodeName: n.metadata.name,
        conditions: { ready: true },
        targetRef: { uid: `${i}-${j}` },
      })),
    },
  ]);
}
const cm = parseConfig(
  'address-pools:\n- name: p\n  protocol: layer2\n  addresses: [198.18.0.0/16]\n',
).config;
const v1 = 'metallb.io/v1beta1';
const cr = (extra) =>
  decodeResources([
    {
      apiVersion: v1,
      kind: 'IPAddressPool',
      metadata: { name: 'p' },
      spec: { addresses: ['198.18.0.0/16'] },
    },
    {
      apiVersion: v1,
      kind: 'L2Advertisement',
      metadata: { name: 'a' },
      spec: {
        ipAddressPools: ['p'],
        nodeSelectors: [{ matchLabels: { zone: 'a' } }],
        interfaces: ['eth0'],
        ...extra,
      },
    },
  ]).config;
const out = [];
for (const [name, config] of [
  ['configmap', cm],
  ['crs-nodeSel', cr({})],
  ['crs-svcSel', cr({ serviceSelectors: [{ matchLabels: { app: 'web' } }] })],
]) {
  const run = () =>
    decide({
      node: 'n1',
      config,
      services,
      slices,
      nodes,
      alive: () => true,
      claims: () => undefined,
      localAsn: 0,
    });
  run();
  run();
  const c = process.cpuUsage();
  for (let k = 0; k < 10; k++) run();
  const d = process.cpuUsage(c);
  out.push(`${name}=${((d.user + d.system) / 10 / 1000).toFixed(0)}ms`);
}
console.log(which, out.join(' '));

// The status writer's update() after every decision, 10,000 + 10,000 unchanged entries (no API
// server: the writes it queues fail in the background and do not count here).
if (which === 'dist') {
  const { pino } = await import('pino');
  const { Registry } = await import('prom-client');
  const { ApiClient } = await import('@portico/kube');
  const { StatusWriter } = await import('../dist/index.js');
  const api = new ApiClient({ server: 'http://127.0.0.1:1', tls: {} });
  const writer = new StatusWriter({
    api,
    namespace: 'ns',
    nodeName: 'n',
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
  });
  const make = () => ({
    ServiceL2Status: new Map(Array.from({ length: N }, (_, i) => [`default/s${i}`, ['eth0']])),
    ServiceBGPStatus: new Map(Array.from({ length: N }, (_, i) => [`default/s${i}`, ['r1', 'r2']])),
  });
  writer.update(make());
  const times = [];
  for (let k = 0; k < 10; k++) {
    const next = make();
    const c = process.cpuUsage();
    writer.update(next);
    const d = process.cpuUsage(c);
    times.push(((d.user + d.system) / 1000).toFixed(1));
  }
  console.log(`status update() CPU ms: ${times.join(' ')}`);
  writer.stop();
  await api.close();
  process.exit(0);
}
