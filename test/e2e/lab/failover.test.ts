/**
 * The lab with real speakers: announcements move when a speaker dies or loses its link, follow
 * the endpoints of a Local-policy workload, and survive a 60-second Kubernetes API outage.
 * Needs root and FRR.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NODES,
  POOLS,
  sleep,
  addNodeRoutes,
  addService,
  startPod,
  stopPod,
  allocatedIps,
} from '@portico/lab';
import {
  clientGet,
  cli,
  eventually,
  labDir,
  nextHops,
  openLab,
  requireLabPrerequisites,
  restartSpeaker,
  routerNeighbourNode,
} from './harness.js';

const dir = labDir();
const ipv4 = (name: string) => allocatedIps(openLab(dir).api, 'default', name).then((ips) => ips[0]!);
const nodeIp = (name: string) => NODES.find((n) => n.name === name)!.ipv4;

beforeAll(() => {
  requireLabPrerequisites();
  cli(['lab', 'down', '--dir', dir]);
  const up = cli(['lab', 'up', '--dir', dir]);
  if (up.code !== 0) throw new Error(`lab up failed:\n${up.stdout}\n${up.stderr}`);
}, 180_000);

afterAll(() => {
  cli(['lab', 'down', '--dir', dir]);
}, 60_000);

/** Sends a request so the router has a neighbour entry, then reads which node it points at. */
async function layer2Owner(ip: string): Promise<string> {
  return eventually(
    () => (clientGet(`http://${ip}/`) ? routerNeighbourNode(ip) : undefined),
    15_000,
    `an owner for ${ip}`,
  );
}

describe('portico lab with speakers', () => {
  it('killing the announcing speaker moves a layer-2 IP to another node; the owner stays when it returns', async () => {
    const lab = openLab(dir);
    const ip = await ipv4('demo');
    const owner = await layer2Owner(ip);
    process.kill(lab.state.pids[`speaker-${owner}`]!, 'SIGKILL');
    let restarted = false;
    try {
      const next = await eventually(
        () => {
          const n = routerNeighbourNode(ip);
          return n && n !== owner ? n : undefined;
        },
        10_000,
        `${ip} to move away from ${owner}`,
      );
      expect(clientGet(`http://${ip}/`)?.pod).toMatch(/^demo-\d$/);
      restartSpeaker(lab, owner);
      restarted = true;
      await sleep(3_000);
      expect(clientGet(`http://${ip}/`)).toBeDefined();
      expect(routerNeighbourNode(ip)).toBe(next); // sticky ownership
    } finally {
      if (!restarted) restartSpeaker(lab, owner);
    }
  }, 40_000);

  it('taking the owner link down restores reachability from the client through another node', async () => {
    const ip = await ipv4('demo');
    const owner = await layer2Owner(ip);
    const link = NODES.find((n) => n.name === owner)!.link;
    execFileSync('ip', ['-n', owner, 'link', 'set', link, 'down']);
    try {
      const answer = await eventually(
        () => clientGet(`http://${ip}/`, undefined, 1),
        15_000,
        `${ip} to answer again`,
      );
      expect(answer.node).not.toBe(owner);
      expect(routerNeighbourNode(ip)).not.toBe(owner);
    } finally {
      execFileSync('ip', ['-n', owner, 'link', 'set', link, 'up']);
      addNodeRoutes(owner); // the kernel removed them with the link
    }
  }, 40_000);

  it('a BGP IP loses the next hop of a dead speaker and gets it back when it restarts', async () => {
    const lab = openLab(dir);
    const ip = await ipv4('demo-bgp');
    const all = NODES.map((n) => n.ipv4).sort();
    await eventually(
      () => (nextHops(lab.state, `${ip}/32`).join() === all.join() ? true : undefined),
      20_000,
      'all next hops',
    );
    const victim = NODES[1]!.name;
    process.kill(lab.state.pids[`speaker-${victim}`]!, 'SIGKILL');
    let restarted = false;
    try {
      const without = all.filter((h) => h !== nodeIp(victim));
      await eventually(
        () => (nextHops(lab.state, `${ip}/32`).join() === without.join() ? true : undefined),
        15_000,
        `${victim} to leave the next hops`,
      );
      expect(clientGet(`http://${ip}/`)).toBeDefined();
      restartSpeaker(lab, victim);
      restarted = true;
      await eventually(
        () => (nextHops(lab.state, `${ip}/32`).join() === all.join() ? true : undefined),
        30_000,
        `${victim} back`,
      );
    } finally {
      if (!restarted) restartSpeaker(lab, victim);
    }
  }, 60_000);

  it('scaling a Local-policy workload moves the announcements to the nodes with its pods', async () => {
    const lab = openLab(dir);
    const spec = {
      namespace: 'default',
      selector: { app: 'local' },
      port: 80,
      targetPort: 8080,
      local: true,
    };
    await addService(lab, { ...spec, name: 'local-bgp', pool: POOLS.bgp.name });
    await addService(lab, { ...spec, name: 'local-l2', pool: POOLS.layer2.name });
    await startPod(lab, {
      namespace: 'default',
      name: 'local-a',
      labels: { app: 'local' },
      node: 'plab-n2',
      port: 8080,
    });
    const bgpIp = await eventually(
      async () => (await ipv4('local-bgp')) || undefined,
      15_000,
      'an IP for local-bgp',
    );
    const l2Ip = await eventually(
      async () => (await ipv4('local-l2')) || undefined,
      15_000,
      'an IP for local-l2',
    );
    const hops = (want: string[]) =>
      eventually(
        () =>
          nextHops(lab.state, `${bgpIp}/32`).join() === want.map(nodeIp).sort().join() ? true : undefined,
        20_000,
        `next hops ${want.join(',')}`,
      );
    await hops(['plab-n2']);
    expect(await layer2Owner(l2Ip)).toBe('plab-n2');

    await startPod(lab, {
      namespace: 'default',
      name: 'local-b',
      labels: { app: 'local' },
      node: 'plab-n3',
      port: 8080,
    });
    await hops(['plab-n2', 'plab-n3']);

    await stopPod(lab, 'default', 'local-a');
    await hops(['plab-n3']);
    expect(await layer2Owner(l2Ip)).toBe('plab-n3');
    const answer = await eventually(() => clientGet(`http://${l2Ip}/`), 10_000, 'local-l2 to answer');
    expect(answer).toMatchObject({ pod: 'local-b', node: 'plab-n3' });
    expect(clientGet(`http://${bgpIp}/`)).toMatchObject({ pod: 'local-b', node: 'plab-n3' });
  }, 120_000);

  it('stopping the Kubernetes API for 60 seconds changes nothing that is announced', async () => {
    const lab = openLab(dir);
    const l2 = await ipv4('demo');
    const bgp = await ipv4('demo-bgp');
    const snapshot = () => ({ owner: routerNeighbourNode(l2), hops: nextHops(lab.state, `${bgp}/32`) });
    await layer2Owner(l2);
    const before = snapshot();
    expect(before.hops.length).toBeGreaterThan(0);
    const api = lab.state.pids.apiserver!;
    process.kill(api, 'SIGSTOP'); // connections stay open but nothing answers: the harshest outage
    try {
      for (let i = 0; i < 12; i++) {
        await sleep(5_000);
        expect(clientGet(`http://${l2}/`)).toBeDefined();
        expect(clientGet(`http://${bgp}/`)).toBeDefined();
        expect(snapshot()).toEqual(before);
      }
    } finally {
      process.kill(api, 'SIGCONT');
    }
    await sleep(3_000);
    expect(snapshot()).toEqual(before);
  }, 120_000);
});
