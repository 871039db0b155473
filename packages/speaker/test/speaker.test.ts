/**
 * Speakers against both API servers (the development one and a real kube-apiserver): three
 * in-process speakers (real informers, real UDP heartbeats on loopback, production timing) with
 * recording layer-2 and BGP fakes. One server per kind serves the scenarios in turn; each test
 * takes a fresh namespace and its own Nodes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyObject } from '@portico/kube';
import {
  API_SERVERS,
  installMetallbCrds,
  startKubeApiServer,
  startTestApiServer,
  type ApiServerKind,
  type KubeApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import { rankNodes } from '../src/election.js';
import { EXCLUDE_LABEL } from '../src/nodes.js';
import { Lab, waitFor } from './harness.js';

const CONFIG = `
peers:
  - peer-address: 192.0.2.1
    peer-asn: 64512
    my-asn: 64512
  - peer-address: 192.0.2.2
    peer-asn: 64600
    my-asn: 64512
    node-selectors:
      - match-labels:
          rack: r1
address-pools:
  - name: l2
    protocol: layer2
    addresses: [198.51.100.0/28, '2001:db8::/124']
  - name: bgp
    protocol: bgp
    addresses: [203.0.113.0/28]
    bgp-advertisements:
      - aggregation-length: 32
        localpref: 150
        communities: ['64512:100']
`;

const NODES = ['pspk-a', 'pspk-b', 'pspk-c'];
const IP = '198.51.100.5';
const IP6 = '2001:db8::5';

let lab: Lab;
let labs = 0;

/** A lab in a fresh namespace on `server`, with the configuration and three Ready Nodes. */
async function newLab(server: { kubeconfig(): string }): Promise<Lab> {
  lab = await Lab.create(server, `speaker-${++labs}`);
  await lab.setConfig(CONFIG);
  await lab.addNode('pspk-a', { rack: 'r1' });
  await lab.addNode('pspk-b');
  await lab.addNode('pspk-c');
  return lab;
}

async function startAll(nodes = NODES, timing: Parameters<Lab['startSpeaker']>[1] = {}) {
  for (const n of nodes) await lab.startSpeaker(n, timing);
}

async function oneOwner(ip: string, not?: string): Promise<string> {
  const [owner] = await waitFor(`exactly one owner of ${ip}${not ? ` other than ${not}` : ''}`, () => {
    const owners = lab.owners(ip);
    return owners.length === 1 && owners[0] !== not ? owners : undefined;
  });
  return owner!;
}

describe.each(API_SERVERS)('speakers against the %s API server', (kind) => {
  let server: TestApiServer;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await newLab(server);
  });
  afterEach(async () => {
    await lab.clear();
  });

  describe('layer2', () => {
    it('a lone speaker that hears none of the expected others stays quiet (no split brain)', async () => {
      await startAll(['pspk-a']);
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', ['pspk-a']);
      await new Promise((r) => setTimeout(r, 1000));
      expect(lab.owners(IP)).toEqual([]);
      expect(await lab.speakers.get('pspk-a')!.metric('portico_speaker_quorum_bool')).toBe(0);
      await lab.startSpeaker('pspk-b');
      await oneOwner(IP);
    });

    it('a Service is announced by exactly one node, the best-ranked, with a nodeAssigned Event', async () => {
      await startAll();
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', ['pspk-b']);
      const owner = await oneOwner(IP);
      expect(owner).toBe(rankNodes(IP, NODES)[0]);
      const events = await waitFor('nodeAssigned', async () => {
        const e = await lab.events('web', 'nodeAssigned');
        return e.length > 0 ? e : undefined;
      });
      expect(events.map((e) => e.message)).toEqual([
        `announcing from node "${owner}" with protocol "layer2"`,
      ]);
      // Stays one owner and one Event over later resyncs.
      await lab.setEndpoints('web', ['pspk-b', 'pspk-c']);
      await new Promise((r) => setTimeout(r, 300));
      expect(lab.owners(IP)).toEqual([owner]);
      expect((await lab.events('web', 'nodeAssigned')).map((e) => e.count ?? 1)).toEqual([1]);
      expect(await lab.speakers.get(owner)!.metric('portico_speaker_announced', { protocol: 'layer2' })).toBe(
        1,
      );
    });

    it('a Service with no ready endpoint is not announced', async () => {
      await startAll();
      await lab.createService('idle', [IP]);
      await lab.setEndpoints('idle', [{ node: 'pspk-a', ready: false }]);
      await new Promise((r) => setTimeout(r, 1000));
      expect(lab.owners(IP)).toEqual([]);
      await lab.setEndpoints('idle', ['pspk-a']);
      await oneOwner(IP);
    });

    it('killing the owner moves the IP within a second; the recovered node does not take it back', async () => {
      await startAll();
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', NODES);
      const first = await oneOwner(IP);
      await new Promise((r) => setTimeout(r, 300));

      const killedAt = performance.now();
      await lab.speakers.get(first)!.kill();
      const second = await oneOwner(IP, first);
      const failoverMs = performance.now() - killedAt;
      expect(failoverMs).toBeLessThan(1000);
      expect(await lab.speakers.get(second)!.metric('portico_speaker_failovers_total')).toBe(1);

      const back = await lab.startSpeaker(first);
      await waitFor('the recovered speaker is settled', () => back.speaker.detector.settled);
      await new Promise((r) => setTimeout(r, 500));
      expect(lab.owners(IP)).toEqual([second]);
      expect(back.layer2.log).toEqual([]);
    });

    it('an owner that loses its link goes quiet and another takes over: never two owners for long', async () => {
      await startAll();
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', NODES);
      const first = await oneOwner(IP);
      await new Promise((r) => setTimeout(r, 300));
      const cutAt = performance.now();
      lab.speakers.get(first)!.cutLink(true);
      const second = await oneOwner(IP, first);
      // Detection is 500 ms on both sides; generous bound for a loaded machine.
      expect(performance.now() - cutAt).toBeLessThan(3000);
      expect(lab.speakers.get(first)!.layer2.ips.size).toBe(0);
      await waitFor(
        'quorum lost',
        async () => (await lab.speakers.get(first)!.metric('portico_speaker_quorum_bool')) === 0,
      );
      // The link comes back: the IP stays where it went.
      lab.speakers.get(first)!.cutLink(false);
      await waitFor(
        'quorum back',
        async () => (await lab.speakers.get(first)!.metric('portico_speaker_quorum_bool')) === 1,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(lab.owners(IP)).toEqual([second]);
    });

    it('a planned stop hands the IP over at once', async () => {
      await startAll();
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', NODES);
      const first = await oneOwner(IP);
      await new Promise((r) => setTimeout(r, 300));
      const stoppedAt = performance.now();
      const stopping = lab.speakers.get(first)!.stop();
      await oneOwner(IP, first);
      const handoverMs = performance.now() - stoppedAt;
      await stopping;
      // Well under the 500 ms suspicion time: the others did not wait for silence.
      expect(handoverMs).toBeLessThan(400);
    });

    it('a dual-stack Service is answered for both families by the node elected for its first IP', async () => {
      await startAll();
      await lab.createService('dual', [IP, IP6]);
      await lab.setEndpoints('dual', NODES);
      const owner = await oneOwner(IP);
      expect(owner).toBe(rankNodes(IP, NODES)[0]);
      expect(await oneOwner(IP6)).toBe(owner);
    });

    it('Local policy follows the endpoints', async () => {
      await startAll();
      await lab.createService('local', [IP], true);
      await lab.setEndpoints('local', ['pspk-c']);
      expect(await oneOwner(IP)).toBe('pspk-c');
      await lab.setEndpoints('local', ['pspk-a', { node: 'pspk-c', terminating: true }]);
      expect(await oneOwner(IP, 'pspk-c')).toBe('pspk-a');
    });

    it('the exclusion label and NotReady nodes are honoured', async () => {
      await startAll();
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', NODES);
      const first = await oneOwner(IP);
      await lab.labelNode(first, { [EXCLUDE_LABEL]: 'true' });
      const second = await oneOwner(IP, first);
      await lab.setNodeReady(second, 'False');
      const third = await oneOwner(IP, second);
      expect(new Set([first, second, third]).size).toBe(3);
    });
  });

  describe('withdrawal', () => {
    it('withdraws everywhere when the last ready endpoint goes, the EndpointSlice goes or the Service goes', async () => {
      await startAll();
      await lab.createService('web', [IP]);
      await lab.createService('api', ['203.0.113.3']);
      await lab.setEndpoints('web', NODES);
      await lab.setEndpoints('api', NODES);
      const routed = () => NODES.filter((n) => (lab.speakers.get(n)!.bgp()?.routes.length ?? 0) > 0);
      await oneOwner(IP);
      await waitFor('bgp routes on every node', () => routed().length === 3);

      await lab.setEndpoints('web', [{ node: 'pspk-a', ready: false }]);
      await lab.setEndpoints('api', [{ node: 'pspk-a', ready: false }]);
      await waitFor('nothing announced', () => lab.owners(IP).length === 0 && routed().length === 0);

      await lab.setEndpoints('web', NODES);
      await lab.setEndpoints('api', NODES);
      await oneOwner(IP);
      await waitFor('bgp routes back', () => routed().length === 3);
      await lab.discovery.deleteNamespacedEndpointSlice({ name: 'api-slice', namespace: lab.namespace });
      await lab.core.deleteNamespacedService({ name: 'web', namespace: lab.namespace });
      await waitFor('nothing announced again', () => lab.owners(IP).length === 0 && routed().length === 0);
    });

    it('leaves a Service of another load-balancer class alone and announces one of ours', async () => {
      await startAll();
      await lab.createService('theirs', ['198.51.100.6'], false, 'example.com/other');
      await lab.createService('ours', [IP], false, 'portico.dev/lb');
      await lab.setEndpoints('theirs', NODES);
      await lab.setEndpoints('ours', NODES);
      await oneOwner(IP);
      await new Promise((r) => setTimeout(r, 300));
      expect(lab.owners('198.51.100.6')).toEqual([]);
      expect(await lab.events('theirs', 'nodeAssigned')).toEqual([]);
    });
  });

  describe('bgp', () => {
    it('every node advertises with the pool attributes to the peers that select it; Local follows endpoints', async () => {
      await startAll();
      await lab.createService('api', ['203.0.113.3']);
      await lab.setEndpoints('api', ['pspk-c']);
      for (const n of NODES) {
        const s = lab.speakers.get(n)!;
        await waitFor(`routes on ${n}`, () => (s.bgp()?.routes.length ?? 0) > 0);
        expect(s.bgp()!.routes).toEqual([
          { prefix: '203.0.113.3/32', localPref: 150, communities: ['64512:100'] },
        ]);
        expect(s.bgp()!.localAsn).toBe(64512);
      }
      expect([...lab.speakers.get('pspk-a')!.bgp()!.peers.keys()].sort()).toEqual(['192.0.2.1', '192.0.2.2']);
      expect([...lab.speakers.get('pspk-b')!.bgp()!.peers.keys()]).toEqual(['192.0.2.1']);

      await lab.createService('local', ['203.0.113.4'], true);
      await lab.setEndpoints('local', ['pspk-b', 'pspk-b']);
      const b = lab.speakers.get('pspk-b')!;
      await waitFor('local route on b', () => b.bgp()!.routes.some((r) => r.prefix === '203.0.113.4/32'));
      expect(b.bgp()!.routes.find((r) => r.prefix === '203.0.113.4/32')?.extendedCommunities).toEqual([
        'lb:64512:250000',
      ]);
      expect(
        lab.speakers
          .get('pspk-a')!
          .bgp()!
          .routes.map((r) => r.prefix),
      ).toEqual(['203.0.113.3/32']);
      await lab.setEndpoints('local', [{ node: 'pspk-b', terminating: true }]);
      await waitFor('withdrawn on b', () => !b.bgp()!.routes.some((r) => r.prefix === '203.0.113.4/32'));
      expect(await b.metric('portico_speaker_announced', { protocol: 'bgp' })).toBe(1);
    });

    it('a change to one Service reaches the BGP speaker as that difference, never the whole table again', async () => {
      await startAll();
      await lab.createService('one', ['203.0.113.3']);
      await lab.setEndpoints('one', NODES);
      await lab.createService('two', ['203.0.113.5']);
      await lab.setEndpoints('two', NODES);
      const c = lab.speakers.get('pspk-c')!;
      await waitFor('both routes on pspk-c', () => c.bgp()?.routes.length === 2);
      const before = c.bgp()!.calls.length;

      await lab.setEndpoints('two', [{ node: 'pspk-a', terminating: true }]);
      await waitFor('two withdrawn', () => c.bgp()!.routes.length === 1);
      await lab.createService('three', ['203.0.113.6']);
      await lab.setEndpoints('three', NODES);
      await waitFor('three announced', () => c.bgp()!.routes.some((r) => r.prefix === '203.0.113.6/32'));
      expect(c.bgp()!.calls.slice(before)).toEqual(['withdraw 203.0.113.5/32', 'announce 203.0.113.6/32']);
      // The whole table went over once: when the speaker first had peers.
      expect(c.bgp()!.calls.filter((call) => call.startsWith('set '))).toHaveLength(1);
    });
  });

  describe('configuration', () => {
    it('an invalid configuration keeps the last good one, with a Warning Event and the stale metric', async () => {
      await startAll();
      const a = lab.speakers.get('pspk-a')!;
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', ['pspk-a']);
      const owner = await oneOwner(IP);
      await lab.setConfig('address-pools: [{name: broken, protocol: nonsense}]');
      await waitFor('stale', async () => (await a.metric('portico_config_stale_bool')) === 1);
      // The recorder writes Events in the background, so the Event may follow the metric.
      await waitFor('the InvalidConfig Warning Event', async () =>
        (await lab.core.listNamespacedEvent({ namespace: 'portico-system' })).items.some(
          (e) => e.reason === 'InvalidConfig' && e.type === 'Warning',
        ),
      );
      // A config dropping the pool that holds a Service's IP is refused too.
      await lab.setConfig('address-pools: [{name: other, protocol: layer2, addresses: [192.0.2.0/28]}]');
      await waitFor(
        'orphan refusal',
        async () => (await a.metric('portico_config_errors_total', { reason: 'orphans-ips' })) === 1,
      );
      expect(lab.owners(IP)).toEqual([owner]);
      // Once the Service holding the address is gone, the held configuration is taken.
      await lab.core.deleteNamespacedService({ name: 'web', namespace: lab.namespace });
      await waitFor('held config taken', async () => (await a.metric('portico_config_stale_bool')) === 0);
      expect(a.speaker.configuration?.pools.map((p) => p.name)).toEqual(['other']);
      await lab.setConfig(CONFIG);
      await waitFor('config back', () => a.speaker.configuration?.pools.length === 2);
      expect(a.speaker.ready).toBe(true);
    });

    it('runs from the metallb.io resources alone; a bad edit there keeps what is announced', async () => {
      await installMetallbCrds(lab.kube);
      const path = (plural: string, name = '') =>
        `/apis/metallb.io/v1beta1/namespaces/portico-system/${plural}${name ? `/${name}` : ''}`;
      const resource = (kind: string, name: string, spec: Record<string, unknown>) =>
        applyObject(lab.kube, {
          apiVersion: 'metallb.io/v1beta1',
          kind,
          metadata: { name, namespace: 'portico-system' },
          spec,
        } as never);
      await lab.core.deleteNamespacedConfigMap({ name: 'config', namespace: 'portico-system' });
      await resource('IPAddressPool', 'crs', { addresses: ['198.51.100.0/28'] });
      await resource('L2Advertisement', 'lan', { ipAddressPools: ['crs'] });
      try {
        await startAll();
        const a = lab.speakers.get('pspk-a')!;
        expect(a.speaker.configuration?.pools.map((p) => [p.name, p.l2Advertisements.length])).toEqual([
          ['crs', 1],
        ]);
        await lab.createService('web', [IP]);
        await lab.setEndpoints('web', ['pspk-a', 'pspk-b', 'pspk-c']);
        const owner = await oneOwner(IP);
        // Overlapping pools are refused (not at admission: by Portico); nothing announced changes.
        await resource('IPAddressPool', 'overlap', { addresses: ['198.51.100.0/30'] });
        await waitFor('stale', async () => (await a.metric('portico_config_stale_bool')) === 1);
        await waitFor('the InvalidConfig Event on the pool', async () =>
          (await lab.core.listNamespacedEvent({ namespace: 'portico-system' })).items.some(
            (e) => e.reason === 'InvalidConfig' && e.involvedObject.name === 'overlap',
          ),
        );
        expect(lab.owners(IP)).toEqual([owner]);
        expect(a.speaker.configuration?.pools.map((p) => p.name)).toEqual(['crs']);
        // Each speaker says so in its own ConfigurationState, as MetalLB's speakers do.
        const state = await waitFor('ConfigurationState speaker-pspk-a Invalid', async () => {
          const got = await lab.kube
            .request<{
              metadata: { labels?: Record<string, string> };
              status?: { result?: string; errorSummary?: string };
            }>('GET', `/apis/metallb.io/v1beta1/namespaces/portico-system/configurationstates/speaker-pspk-a`)
            .catch(() => undefined);
          return got?.status?.result === 'Invalid' ? got : undefined;
        });
        expect(state.metadata.labels).toEqual({
          'metallb.io/component-type': 'speaker',
          'metallb.io/node-name': 'pspk-a',
        });
        expect(state.status?.errorSummary).toContain('IPAddressPool "overlap"');
      } finally {
        for (const [plural, name] of [
          ['ipaddresspools', 'crs'],
          ['ipaddresspools', 'overlap'],
          ['l2advertisements', 'lan'],
        ] as const)
          await lab.kube.request('DELETE', path(plural, name)).catch(() => undefined);
      }
    });
  });
});

/**
 * A server for a test that stops it. kube-apiserver ends its watches one second into a stop, as in
 * a rolling restart; without the flag it holds them until its SIGKILL 10 s later (the same scenario,
 * ten seconds slower).
 */
async function stoppableServer(kind: ApiServerKind): Promise<TestApiServer | KubeApiServer> {
  if (kind === 'development') return startTestApiServer(kind);
  return startKubeApiServer({ extraArgs: ['--shutdown-watch-termination-grace-period=1s'] });
}

describe.each(API_SERVERS)('Kubernetes API outage and restart (%s API server)', (kind) => {
  // These tests stop their server, so each starts its own.
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await lab.stopAll();
    await close?.();
    close = undefined;
  });

  it('an outage changes nothing announced, and failover still works without the API', async () => {
    const server = await stoppableServer(kind);
    close = () => server.close();
    await newLab(server);
    await startAll();
    await lab.createService('web', [IP]);
    await lab.createService('api', ['203.0.113.3']);
    await lab.setEndpoints('web', NODES);
    await lab.setEndpoints('api', NODES);
    const owner = await oneOwner(IP);
    await waitFor('bgp routes', () => NODES.every((n) => lab.speakers.get(n)!.bgp()?.routes.length === 1));
    close = undefined;
    await server.close();
    await new Promise((r) => setTimeout(r, 1500));
    expect(lab.owners(IP)).toEqual([owner]);
    for (const n of NODES)
      expect(
        lab.speakers
          .get(n)!
          .bgp()!
          .routes.map((r) => r.prefix),
      ).toEqual(['203.0.113.3/32']);
    await lab.speakers.get(owner)!.kill();
    await oneOwner(IP, owner);
  });

  // The development API server keeps its objects in the memory of its process: it has no restart
  // that keeps them (closing it is the outage above). kube-apiserver restarts over the same etcd.
  it.skipIf(kind === 'development')(
    'a kube-apiserver restart changes no announcement, and later changes are still followed',
    async () => {
      const kube = (await stoppableServer(kind)) as KubeApiServer;
      close = () => kube.close();
      await newLab(kube);
      // The three speakers share this test's process, which kube-apiserver starves for up to about
      // a second while it restarts. A speaker that cannot run for longer than its lease must step
      // down (docs/speaker.md), so here they get a lease longer than any such stall: this test is
      // about the API server going away, not about membership (membership-model.test.ts and
      // test/e2e/layer2/partition.test.ts test that with production timing).
      await startAll(NODES, { suspicionMs: 5_000 });
      await lab.createService('web', [IP]);
      await lab.createService('api', ['203.0.113.3']);
      await lab.createService('local', ['203.0.113.4'], true);
      await lab.setEndpoints('web', NODES);
      await lab.setEndpoints('api', NODES);
      await lab.setEndpoints('local', ['pspk-b']);
      const owner = await oneOwner(IP);
      const speakers = NODES.map((n) => lab.speakers.get(n)!);
      const routes = (s: (typeof speakers)[number]) => (s.bgp()?.routes ?? []).map((r) => r.prefix).sort();
      await waitFor('bgp routes', () =>
        speakers.every((s) => routes(s).length === (s.node === 'pspk-b' ? 2 : 1)),
      );
      // One nodeAssigned Event per node and protocol for each announced Service, written before the restart.
      const assigned = async () =>
        (await lab.core.listNamespacedEvent({ namespace: lab.namespace })).items
          .filter((e) => e.reason === 'nodeAssigned')
          .map((e) => `${e.involvedObject.name} ${e.count ?? 1} ${e.message}`)
          .sort();
      const eventsBefore = await waitFor('the nodeAssigned Events', async () => {
        const events = await assigned();
        // web: layer2 from the owner; api: bgp from all three; local: bgp from pspk-b.
        return events.length === 5 && events;
      });
      const logs = speakers.map((s) => s.layer2.log.length);
      const calls = speakers.map((s) => s.bgp()!.history.length);

      await kube.restart();

      // The watches resumed: a change made after the restart reaches the speakers.
      await lab.setEndpoints('local', ['pspk-c']);
      const [, b, c] = speakers;
      await waitFor(
        'the Local route moved to pspk-c',
        () => routes(c!).includes('203.0.113.4/32') && !routes(b!).includes('203.0.113.4/32'),
      );
      // Room for a late relist (another informer reconnecting after this one) to show a flap.
      await new Promise((r) => setTimeout(r, 1500));
      // Nothing flapped across the restart: layer 2 never withdrew, each node's BGP routes changed only
      // for the endpoint move (once on pspk-b and pspk-c), and no Event was written twice.
      expect(speakers.map((s) => s.speaker.ready)).toEqual([true, true, true]);
      expect(lab.owners(IP)).toEqual([owner]);
      expect(speakers.map((s, i) => s.layer2.log.slice(logs[i]))).toEqual([[], [], []]);
      expect(speakers.map((s, i) => s.bgp()!.history.slice(calls[i]))).toEqual([
        [],
        [['203.0.113.3/32']],
        [['203.0.113.3/32', '203.0.113.4/32']],
      ]);
      const eventsAfter = await waitFor('the nodeAssigned Event of the move', async () => {
        const events = await assigned();
        return events.length === 6 && events;
      });
      expect(eventsAfter).toEqual(
        [...eventsBefore, 'local 1 announcing from node "pspk-c" with protocol "bgp"'].sort(),
      );
    },
  );
});
