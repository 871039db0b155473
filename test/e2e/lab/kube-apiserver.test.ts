/**
 * `portico lab up --apiserver kube`: the whole lab on a real kube-apiserver and etcd (the pinned
 * build; vitest's global setup builds it once) instead of the development API server, with the
 * same ending: the client reaches the demo app by layer 2, by BGP and through the ingress.
 * `lab status --json` names the API server, and `lab down` leaves no kube-apiserver, etcd or data
 * behind. Needs root + FRR (and Go for the build). A minute or two.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { metallbCrdFiles, pinnedKubernetesVersion } from '@portico/dev-kube-apiserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODES, stopPod } from '@portico/lab';
import { clientGet, cli, eventually, labDir, nextHops, openLab, requireLabPrerequisites } from './harness.js';

interface Status {
  kubeconfig: string;
  apiServer: { kind: string; version: string; url: string } | null;
  processes: Record<string, { pid: number; running: boolean }>;
  services: Array<{ namespace: string; name: string; ips: string[]; url: string | null; host?: string }>;
}

const dir = labDir();
let up: ReturnType<typeof cli>;
let status: Status;
const svc = (name: string) => status.services.find((s) => s.name === name)!;

/** Processes (pid and program name) with an argument inside DIR, read from /proc. */
function processesIn(path: string): Array<{ pid: number; program: string }> {
  const found: Array<{ pid: number; program: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args.some((a) => a.includes(`${path}/`)))
      found.push({ pid: Number(entry), program: basename(args[0] ?? '') });
  }
  return found;
}

beforeAll(() => {
  requireLabPrerequisites();
  cli(['lab', 'down', '--dir', dir]); // leftovers of an earlier crashed run
  up = cli(['lab', 'up', '--apiserver', 'kube', '--dir', dir], 240_000);
  if (up.code !== 0) throw new Error(`lab up --apiserver kube failed:\n${up.stdout}\n${up.stderr}`);
  status = JSON.parse(cli(['lab', 'status', '--dir', dir, '--json']).stdout) as Status;
}, 300_000);

afterAll(() => {
  cli(['lab', 'down', '--dir', dir]);
}, 60_000);

describe('portico lab up --apiserver kube', () => {
  it('starts kube-apiserver and etcd, and ends with the client reaching the demo app', () => {
    expect(up.stdout).toMatch(/==> starting kube-apiserver v\d+\.\d+\.\d+ and etcd/);
    expect(up.stdout).toMatch(/ip netns exec plab-client curl -H 'Host: demo\.lab\.example'/);
    expect(up.stdout).toMatch(/"pod":"demo-\d"/);
    expect(up.stdout).toContain(`export KUBECONFIG=${dir}/kubeconfig`);
  });

  it('status --json names the API server: kind kube, the pinned version, its URL on the segment', async () => {
    expect(status.apiServer).toEqual({
      kind: 'kube',
      version: pinnedKubernetesVersion(),
      url: expect.stringMatching(/^https:\/\/203\.0\.113\.254:\d+$/) as string,
    });
    expect(status.processes.apiserver?.running).toBe(true);
    // What answers there is that kube-apiserver, with the lab's credentials.
    const { api } = openLab(dir);
    expect(api.server).toBe(status.apiServer!.url);
    expect(await api.version()).toBe(pinnedKubernetesVersion());
    const running = processesIn(`${dir}/kube`).map((p) => p.program);
    expect(running).toEqual(expect.arrayContaining(['etcd', 'kube-apiserver']));
  });

  it('the layer-2 Service answers the client on IPv4 and IPv6', () => {
    const demo = svc('demo');
    expect(demo.ips).toHaveLength(2);
    expect(demo.ips[0]).toMatch(/^203\.0\.113\./);
    for (const ip of demo.ips) {
      const url = `http://${ip.includes(':') ? `[${ip}]` : ip}/`;
      expect(clientGet(url)?.pod).toMatch(/^demo-\d$/);
    }
  });

  it('the BGP Service is routed to every node and answers the client', async () => {
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
    expect(clientGet(`http://${v4}/`)?.pod).toMatch(/^demo-\d$/);
  });

  it('the ingress routes by Host to the demo app', () => {
    const ingress = svc('ingress');
    const answer = clientGet(ingress.url!, ingress.host);
    expect(answer?.pod).toMatch(/^demo-\d$/);
    expect(answer?.host).toBe('demo.lab.example');
  });

  it('the real server holds what the lab wrote, and its kubectl reads it with the lab kubeconfig', () => {
    const kubectl = /export KUBECONFIG=\S+\n\s+(\S+) get services -A/.exec(up.stdout)?.[1];
    expect(kubectl).toMatch(/\/kubectl$/);
    const get = (what: string[]) => {
      const r = spawnSync(kubectl!, ['get', ...what, '-o', 'json'], {
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: status.kubeconfig },
        timeout: 20_000,
      });
      if (r.status !== 0) throw new Error(`kubectl get ${what.join(' ')}: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { items: Array<Record<string, any>> }).items; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const services = get(['services', '-A']);
    const demo = services.find((s) => s.metadata.name === 'demo')!;
    expect(demo.status.loadBalancer.ingress.map((i: { ip: string }) => i.ip).sort()).toEqual(
      [...svc('demo').ips].sort(),
    );
    const pods = get(['pods', '-n', 'default']);
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(['demo-1', 'demo-2', 'demo-3']);
    for (const p of pods) {
      expect(p.status.phase).toBe('Running');
      expect(p.status.containerStatuses[0].ready).toBe(true);
    }
    // EndpointSlices carry the pods' own addresses (a real server refuses loopback ones).
    const slice = get(['endpointslices', '-n', 'default']).find((s) => s.metadata.name === 'demo-lab')!;
    const addresses = (slice.endpoints as Array<{ addresses: string[] }>).flatMap((e) => e.addresses);
    expect(addresses.sort()).toEqual(pods.map((p) => p.status.podIP as string).sort());
    expect(get(['nodes']).map((n) => n.metadata.name)).toEqual(NODES.map((n) => n.name));
    // The lab runs from metallb.io resources: the CRDs are Established, the pools are resources,
    // and there is no ConfigMap for the controller to prefer.
    // By name: every CRD at once (the Gateway API's too) is more than spawnSync buffers.
    const names = metallbCrdFiles().map((f) => basename(f, '.yaml') + '.metallb.io');
    expect(names).toContain('ipaddresspools.metallb.io');
    const crds = get(['customresourcedefinitions', ...names]);
    expect(crds.map((c) => c.metadata.name)).toEqual(names);
    for (const crd of crds)
      expect(crd.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Established', status: 'True' }),
      );
    expect(get(['ipaddresspools', '-n', 'portico-system']).map((p) => p.metadata.name)).toEqual([
      'lab-bgp',
      'lab-layer2',
      'lab-pinned',
    ]);
    expect(get(['configmaps', '-n', 'portico-system']).map((c) => c.metadata.name)).not.toContain('config');
  });

  it('a stopped pod is gone from the server at once, and the traffic follows', async () => {
    const lab = openLab(dir);
    await stopPod(lab, 'default', 'demo-3');
    // Deleted with a grace period of 0, as a kubelet's last delete: no kubelet would finish it.
    expect(await lab.api.get(lab.api.path('v1', 'Pod', 'default', 'demo-3'))).toBeUndefined();
    const url = svc('demo').url!;
    const seen = await eventually(
      () => {
        const pods = new Set(Array.from({ length: 8 }, () => clientGet(url)?.pod));
        return pods.has('demo-3') || pods.has(undefined) ? undefined : pods;
      },
      15_000,
      'only demo-1 and demo-2 to answer',
    );
    expect([...seen].sort()).toEqual(['demo-1', 'demo-2']);
  }, 60_000);

  it('down stops kube-apiserver and etcd and removes their data with everything else', () => {
    const pids = Object.values(openLab(dir).state.pids);
    const controlPlane = processesIn(`${dir}/kube`);
    expect(controlPlane.length).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    expect(cli(['lab', 'down', '--dir', dir]).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(processesIn(dir)).toEqual([]);
    for (const { pid } of controlPlane) expect(() => process.kill(pid, 0)).toThrow();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(dir)).toBe(false);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toMatch(/plab-/);
    expect(spawnSync('ip', ['link', 'show', 'plab-host']).status).not.toBe(0);
    expect(cli(['lab', 'status', '--dir', dir]).code).toBe(1);
  }, 60_000);
});
