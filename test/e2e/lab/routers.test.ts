/**
 * The lab's router choices: BIRD 2 as the router (what `lab up` runs when FRR is missing), and
 * no router at all (the layer-2 site alone, with the install hint), here with the pools in MetalLB's
 * v0.12 ConfigMap (`--config-map`) instead of metallb.io resources. Needs root, FRR and BIRD.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NODES } from '@portico/lab';
import { clientGet, cli, eventually, labDir, nextHops, openLab, requireLabPrerequisites } from './harness.js';

interface Status {
  router: string | null;
  configSource: string;
  pools: unknown[];
  services: Array<{ name: string; ips: string[]; url: string | null }>;
}

let dir = '';

beforeAll(() => {
  requireLabPrerequisites();
  if (spawnSync('sh', ['-c', 'command -v bird birdc']).status !== 0)
    throw new Error('this test needs BIRD 2 (apt-get install bird2)');
});

afterEach(() => {
  if (dir) cli(['lab', 'down', '--dir', dir]);
}, 60_000);

function labUp(router: string, ...more: string[]): { stdout: string; status: Status } {
  cli(['lab', 'down', '--dir', dir]);
  const up = cli(['lab', 'up', '--router', router, ...more, '--dir', dir]);
  if (up.code !== 0) throw new Error(`lab up --router ${router} failed:\n${up.stdout}\n${up.stderr}`);
  return {
    stdout: up.stdout,
    status: JSON.parse(cli(['lab', 'status', '--json', '--dir', dir]).stdout) as Status,
  };
}

describe('portico lab up --router', () => {
  it('bird: BIRD learns the BGP Service from every node and the client reaches it', async () => {
    dir = labDir();
    const { stdout, status } = labUp('bird');
    expect(stdout).toMatch(/starting the router in plab-r1 \(BIRD 2\)/);
    expect(status.router).toBe('bird');
    const bgp = status.services.find((s) => s.name === 'demo-bgp')!;
    const lab = openLab(dir);
    const hops = await eventually(
      () => {
        const h = nextHops(lab.state, `${bgp.ips[0]}/32`);
        return h.length === NODES.length ? h : undefined;
      },
      20_000,
      'three next hops in BIRD',
    );
    expect(hops).toEqual(NODES.map((n) => n.ipv4).sort());
    expect(clientGet(bgp.url!)?.pod).toMatch(/^demo-\d$/);
  }, 90_000);

  it('none --config-map: says how to install a router and still runs the layer-2 site, from the ConfigMap', () => {
    dir = labDir();
    const { stdout, status } = labUp('none', '--config-map');
    expect(stdout).toMatch(/==> writing the address pools as the ConfigMap portico-system\/config/);
    expect(status.configSource).toBe('configmap');
    // The CRDs are installed, but no IPAddressPool is written: the ConfigMap is the configuration.
    expect(status.pools).toEqual([]);
    expect(stdout).toMatch(/BGP part of the lab is skipped; for it: apt-get install frr bird2/);
    expect(status.router).toBeNull();
    expect(status.services.map((s) => s.name).sort()).toEqual(['demo', 'ingress']);
    const demo = status.services.find((s) => s.name === 'demo')!;
    expect(clientGet(demo.url!)?.pod).toMatch(/^demo-\d$/);
    expect(spawnSync('ip', ['netns', 'pids', 'plab-r1'], { encoding: 'utf8' }).stdout.trim()).toBe('');
  }, 90_000);
});
