/**
 * `portico lab up | status | down` as a user runs them, and what the lab promises: the demo app
 * reachable from the client by layer 2, by BGP (the router holds every node as a next hop) and
 * through the ingress by Host, and through a Gateway at the address Portico gave it; endpoints
 * that follow the pods; a clean `down`. Needs root + FRR (+ Go, for the Gateway API CRDs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODES } from '../../../packages/cli/src/lab/plan.js';
import { startPod, stopPod } from '../../../packages/cli/src/lab/workloads.js';
import {
  clientGet,
  cli,
  eventually,
  labDir,
  nextHops,
  openLab,
  requireLabPrerequisites,
  root,
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
let up: ReturnType<typeof cli>;
let status: Status;
const svc = (name: string) => status.services.find((s) => s.name === name)!;

beforeAll(() => {
  requireLabPrerequisites();
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
      'portico-system/ingress',
    ]);
    for (const s of status.services) {
      expect(s.ips.length).toBe(2); // dual stack
      expect(s.url).toBe(`http://${s.ips[0]}/`);
    }
  });

  it('the layer-2 Service answers the client on IPv4 and IPv6', () => {
    const demo = svc('demo');
    expect(demo.ips[0]).toMatch(/^203\.0\.113\./);
    for (const url of demo.urls) expect(clientGet(url)?.pod).toMatch(/^demo-\d$/);
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
    spawnSync('ip', ['netns', 'add', 'plab-n2']);
    spawnSync('ip', ['netns', 'add', 'plab-sw']);
    const orphan = spawn('ip', ['netns', 'exec', 'plab-n2', 'sleep', '300'], { stdio: 'ignore' });
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
  });
});
