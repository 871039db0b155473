/**
 * `portico lab up | status | down` as a user runs them, and what the lab promises: the demo app
 * reachable from the client by layer 2, by BGP (the router holds every node as a next hop) and
 * through the ingress by Host, and through a Gateway at the address Portico gave it; endpoints
 * that follow the pods; a clean `down`. The pools come from metallb.io resources (the default):
 * kubectl lists the IPAddressPools with the counts the controller writes. Needs root + FRR + kubectl
 * (+ Go, for the Gateway API CRDs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createNetns, spawnInNetns } from '@portico/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODES, PINNED_POOL, ROUTER, startPod, stopPod } from '@portico/lab';
import {
  clientGet,
  cli,
  eventually,
  labDir,
  nextHops,
  nodeMacs,
  openLab,
  requireLabPrerequisites,
  root,
  routerNeighbourNode,
} from './harness.js';

interface Status {
  clientNamespace: string;
  routerNamespace: string;
  nodeNamespaces: string[];
  kubeconfig: string;
  apiServer: { kind: string; version: string; url: string } | null;
  services: Array<{
    namespace: string;
    name: string;
    ips: string[];
    url: string | null;
    urls: string[];
    host?: string;
  }>;
  configSource: string;
  pools: Array<{
    name: string;
    addresses: string[];
    assignedIPv4: number | null;
    availableIPv4: number | null;
    assignedIPv6: number | null;
    availableIPv6: number | null;
  }>;
  configurationStates: Array<{ name: string; result: string | null; errorSummary: string }>;
  gateways: Array<{
    namespace: string;
    name: string;
    pool: string;
    ips: string[];
    url: string | null;
    programmed: string | null;
  }>;
}

const dir = labDir();
const kubectl = (args: string[]) =>
  spawnSync('kubectl', ['--kubeconfig', `${dir}/kubeconfig`, ...args], { encoding: 'utf8' });
let up: ReturnType<typeof cli>;
let status: Status;
const svc = (name: string) => status.services.find((s) => s.name === name)!;

beforeAll(() => {
  requireLabPrerequisites();
  if (spawnSync('sh', ['-c', 'command -v kubectl']).status !== 0)
    throw new Error('this test needs kubectl (it lists the IPAddressPools as a user would)');
  if (spawnSync('sh', ['-c', 'command -v arping']).status !== 0)
    throw new Error(
      'this test needs arping (apt-get install iputils-arping): it asks who answers a pinned IP',
    );
  cli(['lab', 'down', '--dir', dir]); // leftovers of an earlier crashed run
  up = cli(['lab', 'up', '--dir', dir]);
  if (up.code !== 0) throw new Error(`lab up failed:\n${up.stdout}\n${up.stderr}`);
  const s = cli(['lab', 'status', '--dir', dir, '--json']);
  status = JSON.parse(s.stdout) as Status;
}, 180_000);

afterAll(() => {
  cli(['lab', 'down', '--dir', dir]);
}, 60_000);

describe('portico lab', () => {
  it('prints its progress, a request from the client, and how to use kubectl', () => {
    expect(up.stdout).toMatch(/==> creating network namespaces/);
    expect(up.stdout).toMatch(/==> starting the router in plab-r1/);
    expect(up.stdout).toMatch(/ip netns exec plab-client curl -H 'Host: demo\.lab\.example'/);
    expect(up.stdout).toMatch(/"pod":"demo-\d"/);
    expect(up.stdout).toContain(`export KUBECONFIG=${dir}/kubeconfig`);
  });

  it('status --json names the namespaces, the kubeconfig and every demo Service with its IPs and URL', () => {
    expect(status.clientNamespace).toBe('plab-client');
    expect(status.routerNamespace).toBe('plab-r1');
    expect(status.nodeNamespaces).toEqual(['plab-n1', 'plab-n2', 'plab-n3']);
    expect(existsSync(status.kubeconfig)).toBe(true);
    // The default API server: the embedded development one, on the segment, plain HTTP.
    expect(status.apiServer).toEqual({
      kind: 'dev',
      version: expect.stringMatching(/^v\d+\.\d+\.\d+-portico-dev$/) as string,
      url: expect.stringMatching(/^http:\/\/203\.0\.113\.254:\d+$/) as string,
    });
    expect(status.services.map((s) => `${s.namespace}/${s.name}`).sort()).toEqual([
      'default/demo',
      'default/demo-bgp',
      'default/demo-pinned',
      'portico-system/ingress',
    ]);
    for (const s of status.services) {
      expect(s.ips.length).toBe(2); // dual stack
      expect(s.url).toBe(`http://${s.ips[0]}/`);
    }
  });

  it('runs from metallb.io resources: kubectl lists the IPAddressPools with the counts of what was allocated', async () => {
    expect(up.stdout).toMatch(/==> installing the metallb\.io CRDs from manifests\/crds/);
    expect(up.stdout).toMatch(/==> writing the address pools as metallb\.io resources in portico-system/);
    for (const line of [
      'IPAddressPool lab-layer2',
      'IPAddressPool lab-bgp',
      'IPAddressPool lab-pinned',
      'L2Advertisement lab-pinned',
      'L2Advertisement',
      'BGPAdvertisement',
      'BGPPeer peer1',
      'BGPPeer peer2',
    ])
      expect(up.stdout).toContain(`    ${line}`);
    expect(status.configSource).toBe('resources');
    // No ConfigMap: the controller and the speakers can only have read the resources.
    const configMap = kubectl(['get', 'configmap', 'config', '-n', 'portico-system']);
    expect(configMap.status).not.toBe(0);
    expect(configMap.stderr).toMatch(/NotFound/);

    const v4 = (ips: string[]) => ips.filter((ip) => !ip.includes(':')).length;
    const v6 = (ips: string[]) => ips.filter((ip) => ip.includes(':')).length;
    // layer 2: demo and ingress dual stack, the Gateway's Service IPv4 only; BGP: demo-bgp.
    const layer2Ips = [...svc('demo').ips, ...svc('ingress').ips, ...status.gateways[0]!.ips];
    const bgpIps = svc('demo-bgp').ips;
    expect([v4(layer2Ips), v6(layer2Ips), v4(bgpIps), v6(bgpIps)]).toEqual([3, 2, 1, 1]);
    // Usable addresses: the /28 and /124 all 16; the /26 with avoid-buggy-ips all but 192.0.2.0; the /120 256.
    const want = {
      'lab-layer2': { assignedIPv4: 3, availableIPv4: 16 - 3, assignedIPv6: 2, availableIPv6: 16 - 2 },
      'lab-bgp': { assignedIPv4: 1, availableIPv4: 63 - 1, assignedIPv6: 1, availableIPv6: 256 - 1 },
      // The /30 and /126 all 4 (no avoid-buggy-ips); demo-pinned holds one of each.
      'lab-pinned': { assignedIPv4: 1, availableIPv4: 4 - 1, assignedIPv6: 1, availableIPv6: 4 - 1 },
    };
    // The controller writes the counts a moment after the allocations (coalesced).
    const pools = await eventually(
      () => {
        const r = kubectl(['get', 'ipaddresspools', '-n', 'portico-system', '-o', 'json']);
        if (r.status !== 0) throw new Error(`kubectl get ipaddresspools: ${r.stderr}`);
        const items = (
          JSON.parse(r.stdout) as { items: Array<{ metadata: { name: string }; status?: object }> }
        ).items;
        const got = Object.fromEntries(items.map((i) => [i.metadata.name, i.status ?? {}]));
        return Object.entries(want).every(([name, counts]) =>
          Object.entries(counts).every(([k, n]) => (got[name] as Record<string, number>)?.[k] === n),
        )
          ? got
          : undefined;
      },
      20_000,
      `IPAddressPool status ${JSON.stringify(want)}`,
    );
    expect(Object.keys(pools).sort()).toEqual(['lab-bgp', 'lab-layer2', 'lab-pinned']);
    // `lab status` shows the same counts, and the controller's ConfigurationState says Valid.
    const again = JSON.parse(cli(['lab', 'status', '--dir', dir, '--json']).stdout) as Status;
    expect(
      Object.fromEntries(again.pools.map(({ name, addresses: _a, ...counts }) => [name, counts])),
    ).toEqual(want);
    expect(again.configurationStates).toContainEqual({
      name: 'controller',
      result: 'Valid',
      errorSummary: '',
    });
    const text = cli(['lab', 'status', '--dir', dir]).stdout;
    expect(text).toContain('configuration:     metallb.io resources in portico-system');
    expect(text).toMatch(
      /lab-layer2 \(203\.0\.113\.32\/28, 2001:db8:203::100\/124\): IPv4 3 assigned, 13 available; IPv6 2 assigned, 14 available/,
    );
    expect(text).toMatch(/configuration states:\n(.*\n)* {2}controller: Valid/);
  });

  it('the layer-2 Service answers the client on IPv4 and IPv6', () => {
    const demo = svc('demo');
    expect(demo.ips[0]).toMatch(/^203\.0\.113\./);
    for (const url of demo.urls) expect(clientGet(url)?.pod).toMatch(/^demo-\d$/);
  });

  it('the pinned layer-2 Service is announced by the selected node alone, on the selected interface', async () => {
    const pinned = svc('demo-pinned');
    const node = PINNED_POOL.node; // plab-n2, selected by kubernetes.io/hostname, interface plab-n2-eth0
    // From lab-pinned: 203.0.113.64/30 and 2001:db8:203::200/126.
    expect(pinned.ips).toHaveLength(2);
    expect(pinned.ips[0]).toMatch(/^203\.0\.113\.6[4-7]$/);
    expect(pinned.ips[1]).toMatch(/^2001:db8:203::20[0-3]$/);
    const macs = nodeMacs(); // MAC -> node
    const nodeMac = [...macs].find(([, name]) => name === node.name)![0];
    // The client sits behind plab-r1: the kernel that resolves the Service IP on the segment, by
    // ARP (IPv4) and NDP (IPv6), is the router's. Forget its entry, have the client request the
    // Service, and read which MAC the kernel learnt; three times per family.
    for (const ip of pinned.ips)
      for (let round = 0; round < 3; round++) {
        spawnSync('ip', ['-n', ROUTER, 'neigh', 'flush', 'to', ip]);
        expect(routerNeighbourNode(ip)).toBeUndefined();
        const answer = clientGet(`http://${ip.includes(':') ? `[${ip}]` : ip}/`);
        expect(answer?.pod).toMatch(/^demo-\d$/);
        expect(routerNeighbourNode(ip)).toBe(node.name);
      }
    // Who answers ARP for the IPv4 address: every reply carries the selected node's MAC, none
    // another node's (a speaker of a node the advertisement does not select would answer too).
    const arp = spawnSync(
      'ip',
      ['netns', 'exec', ROUTER, 'arping', '-c', '3', '-w', '4', '-I', `${ROUTER}-eth0`, pinned.ips[0]!],
      { encoding: 'utf8' },
    );
    const repliers = [...arp.stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)].map((m) =>
      m[1]!.toLowerCase(),
    );
    expect(repliers.length).toBeGreaterThanOrEqual(3);
    expect(new Set(repliers)).toEqual(new Set([nodeMac]));

    // The speakers' ServiceL2Status objects: one for demo-pinned, naming the node and the interface.
    const statuses = await eventually(
      () => {
        const r = kubectl(['get', 'servicel2statuses', '-n', 'portico-system', '-o', 'json']);
        if (r.status !== 0) throw new Error(`kubectl get servicel2statuses: ${r.stderr}`);
        const items = (
          JSON.parse(r.stdout) as {
            items: Array<{ status?: { node?: string; serviceName?: string; interfaces?: unknown } }>;
          }
        ).items.filter((i) => i.status?.serviceName === 'demo-pinned');
        return items.length > 0 ? items : undefined;
      },
      20_000,
      'a ServiceL2Status for default/demo-pinned',
    );
    expect(statuses.map((s) => s.status)).toEqual([
      {
        node: node.name,
        serviceName: 'demo-pinned',
        serviceNamespace: 'default',
        interfaces: [{ name: node.link }],
      },
    ]);
  });

  it('the BGP Service is in the router table with every node as a next hop, and answers the client', async () => {
    const lab = openLab(dir);
    const [v4] = svc('demo-bgp').ips;
    expect(v4).toMatch(/^192\.0\.2\./);
    const hops = await eventually(
      () => {
        const h = nextHops(lab.state, `${v4}/32`);
        return h.length === NODES.length ? h : undefined;
      },
      20_000,
      `three next hops for ${v4}/32`,
    );
    expect(hops).toEqual(NODES.map((n) => n.ipv4).sort());
    // The router's kernel holds the multipath route too (zebra installed it).
    const kernel = spawnSync('ip', ['-n', 'plab-r1', 'route', 'show', `${v4}/32`], {
      encoding: 'utf8',
    }).stdout;
    for (const n of NODES) expect(kernel).toContain(`via ${n.ipv4}`);
    expect(clientGet(`http://${v4}/`)?.pod).toMatch(/^demo-\d$/);
  });

  it('the ingress routes by Host to the demo app', () => {
    const ingress = svc('ingress');
    expect(ingress.host).toBe('demo.lab.example');
    const answer = clientGet(ingress.url!, ingress.host);
    expect(answer?.pod).toMatch(/^demo-\d$/);
    expect(answer?.host).toBe('demo.lab.example');
    // No rule for another host: the ingress answers, but not with the demo app.
    expect(clientGet(ingress.url!, 'other.example')).toBeUndefined();
  });

  it('the Gateway answers the client at the address allocated from the layer-2 pool', () => {
    expect(up.stdout).toMatch(/==> the Gateway default\/demo got 203\.0\.113\./);
    expect(status.gateways).toHaveLength(1);
    const gw = status.gateways[0]!;
    expect(gw).toMatchObject({ namespace: 'default', name: 'demo', programmed: 'True Programmed' });
    expect(gw.ips).toHaveLength(1);
    // An address of the layer-2 pool (203.0.113.32/28), announced by a speaker like any other.
    expect(gw.ips[0]).toMatch(/^203\.0\.113\.(3[2-9]|4[0-7])$/);
    // The address is the Service's the ingress keeps for the Gateway, not the ingress's own.
    expect(gw.ips[0]).not.toBe(svc('ingress').ips[0]);
    expect(svc('demo').ips).not.toContain(gw.ips[0]);
    // Any host: the HTTPRoute has no hostnames. The answer is the demo app's, through the ingress pod.
    const answer = clientGet(gw.url!, 'anything.example');
    expect(answer?.pod).toMatch(/^demo-\d$/);
    expect(answer?.host).toBe('anything.example');
  });

  it('traffic follows the endpoints: a stopped pod gets none, a new pod on another node gets some', async () => {
    const lab = openLab(dir);
    const url = svc('demo').url!;
    await stopPod(lab, 'default', 'demo-2');
    await stopPod(lab, 'default', 'demo-3');
    // Cluster policy: the node the IP arrives at forwards to the one ready pod left, wherever it is.
    await eventually(
      () => {
        const pods = new Set(Array.from({ length: 6 }, () => clientGet(url)?.pod));
        return pods.size === 1 && pods.has('demo-1') ? true : undefined;
      },
      15_000,
      'only demo-1 to answer',
    );
    await startPod(lab, {
      namespace: 'default',
      name: 'demo-4',
      labels: { app: 'demo' },
      node: 'plab-n3',
      port: 8080,
    });
    const seen = await eventually(
      () => {
        const pods = new Set(Array.from({ length: 8 }, () => clientGet(url)?.pod));
        return pods.has('demo-4') ? pods : undefined;
      },
      15_000,
      'demo-4 to get traffic',
    );
    expect([...seen].sort()).toEqual(['demo-1', 'demo-4']);
    const answer = clientGet(url);
    expect(['plab-n1', 'plab-n3']).toContain(answer?.node);
  }, 60_000);

  it('down removes every namespace, process and file, and is idempotent', () => {
    const pids = Object.values(openLab(dir).state.pids);
    expect(cli(['lab', 'down', '--dir', dir]).code).toBe(0);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(left).not.toMatch(/plab-/);
    expect(spawnSync('ip', ['link', 'show', 'plab-host']).status).not.toBe(0);
    expect(existsSync(dir)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const again = cli(['lab', 'down', '--dir', dir]);
    expect(again.code).toBe(0);
    expect(cli(['lab', 'status', '--dir', dir]).code).toBe(1);
  });

  it('down cleans up after a crashed up that left namespaces and processes but no state', async () => {
    const other = labDir();
    createNetns('plab-n2');
    createNetns('plab-sw');
    const orphan = spawnInNetns('plab-n2', 'sleep', ['300'], { stdio: 'ignore' });
    await eventually(
      () =>
        spawnSync('ip', ['netns', 'pids', 'plab-n2'], { encoding: 'utf8' }).stdout.trim() ? true : undefined,
      5_000,
      'the orphan to run',
    );
    const down = cli(['lab', 'down', '--dir', other]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/removed network namespaces plab-sw, plab-n2/);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toMatch(/plab-/);
    await eventually(
      () => (orphan.exitCode !== null || orphan.signalCode !== null ? true : undefined),
      5_000,
      'the orphan to be killed',
    );
  });

  it('up refuses to run without root, saying why', () => {
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        `${root}packages/cli/bin/portico.js`,
        'lab',
        'up',
        '--dir',
        '/tmp/plab-never-made',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/needs root/);
    expect(existsSync('/tmp/plab-never-made')).toBe(false);
  });

  it('usage: --help exits 0, bad options exit 2 with the usage text', () => {
    expect(cli(['lab', 'status', '--help']).code).toBe(0);
    const bad = cli(['lab', 'up', '--router', 'quagga', '--dir', '/tmp/plab-never-made']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--router must be one of auto, frr, bird, none\nusage: portico lab up/);
    expect(cli(['lab', 'down', '--bogus']).code).toBe(2);
    const kind = cli(['lab', 'up', '--apiserver', 'kind', '--dir', '/tmp/plab-never-made']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/--apiserver must be one of dev, kube\nusage: portico lab up/);
    expect(cli(['lab', 'up', '--help']).stdout).toMatch(
      /--config-map +write the pools as MetalLB's v0\.12 ConfigMap/,
    );
  });
});
