/**
 * Speakers against the development API server: three in-process speakers (real informers, real
 * UDP heartbeats on loopback, production timing) with recording layer-2 and BGP fakes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDevApiServer } from '@portico/dev-apiserver';
import { rankNodes } from '../src/election.js';
import { EXCLUDE_LABEL } from '../src/nodes.js';
import { type DevServer, Lab, waitFor } from './harness.js';

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
    addresses: [198.51.100.0/28]
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

let server: DevServer;
let lab: Lab;

beforeEach(async () => {
  server = await startDevApiServer({ port: 0 });
  lab = new Lab(server);
  await lab.setConfig(CONFIG);
  await lab.addNode('pspk-a', { rack: 'r1' });
  await lab.addNode('pspk-b');
  await lab.addNode('pspk-c');
});

let serverClosed = false;

afterEach(async () => {
  await lab.stopAll();
  if (!serverClosed) await server.close();
  serverClosed = false;
});

async function startAll(nodes = NODES) {
  for (const n of nodes) await lab.startSpeaker(n);
}

async function oneOwner(ip: string, not?: string): Promise<string> {
  const [owner] = await waitFor(`exactly one owner of ${ip}${not ? ` other than ${not}` : ''}`, () => {
    const owners = lab.owners(ip);
    return owners.length === 1 && owners[0] !== not ? owners : undefined;
  });
  return owner!;
}

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
    expect(events.map((e) => e.message)).toEqual([`announcing from node "${owner}" with protocol "layer2"`]);
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

describe('Kubernetes API outage', () => {
  it('changes nothing announced, and failover still works without the API', async () => {
    await startAll();
    await lab.createService('web', [IP]);
    await lab.createService('api', ['203.0.113.3']);
    await lab.setEndpoints('web', NODES);
    await lab.setEndpoints('api', NODES);
    const owner = await oneOwner(IP);
    await waitFor('bgp routes', () => NODES.every((n) => lab.speakers.get(n)!.bgp()?.routes.length === 1));
    await server.close();
    serverClosed = true;
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
    const list = await lab.core.listNamespacedEvent({ namespace: 'portico-system' });
    expect(list.items.some((e) => e.reason === 'InvalidConfig' && e.type === 'Warning')).toBe(true);
    // A config dropping the pool that holds a Service's IP is refused too.
    await lab.setConfig('address-pools: [{name: other, protocol: layer2, addresses: [192.0.2.0/28]}]');
    await waitFor(
      'orphan refusal',
      async () => (await a.metric('portico_config_errors_total', { reason: 'orphans-ips' })) === 1,
    );
    expect(lab.owners(IP)).toEqual([owner]);
    // Once the Service holding the address is gone, the held configuration is taken.
    await lab.core.deleteNamespacedService({ name: 'web', namespace: 'default' });
    await waitFor('held config taken', async () => (await a.metric('portico_config_stale_bool')) === 0);
    expect(a.speaker.configuration?.pools.map((p) => p.name)).toEqual(['other']);
    await lab.setConfig(CONFIG);
    await waitFor('config back', () => a.speaker.configuration?.pools.length === 2);
    expect(a.speaker.ready).toBe(true);
  });
});
