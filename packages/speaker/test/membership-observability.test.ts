/**
 * What operators see of layer-2 ownership (issue 17): metrics and Events for quorum lost and
 * regained, step-down, take-over, and ARP/NDP answers from another station (the announcer's
 * conflict reports). Speakers in-process against the development API server (harness.ts).
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDevApiServer } from '@portico/dev-apiserver';
import type { Layer2Conflict } from '../src/backends.js';
import { openUdpTransport } from '../src/membership/udp-transport.js';
import { Speaker } from '../src/speaker.js';
import { type DevServer, FakeLayer2, Lab, waitFor } from './harness.js';

const CONFIG = `
address-pools:
  - name: l2
    protocol: layer2
    addresses: [198.51.100.0/28]
`;
const IP = '198.51.100.5';
const NODES = ['pobs-a', 'pobs-b', 'pobs-c'];

let server: DevServer;
let lab: Lab;

beforeEach(async () => {
  server = await startDevApiServer({ port: 0 });
  lab = new Lab(server);
  await lab.setConfig(CONFIG);
  for (const n of NODES) await lab.addNode(n);
});

afterEach(async () => {
  await lab.stopAll();
  await server.close();
});

async function events(kind: 'Node' | 'Service', name: string, reason: string) {
  const list = await lab.core.listEventForAllNamespaces();
  return list.items.filter(
    (e) => e.involvedObject.kind === kind && e.involvedObject.name === name && e.reason === reason,
  );
}

describe('layer-2 ownership: metrics and Events', () => {
  it('a cut-off owner counts quorum lost, a lease step-down and says so; the new owner counts a take-over', async () => {
    for (const n of NODES) await lab.startSpeaker(n);
    await lab.createService('web', [IP]);
    await lab.setEndpoints('web', NODES);
    const [first] = await waitFor('one owner', () =>
      lab.owners(IP).length === 1 ? lab.owners(IP) : undefined,
    );
    const owner = lab.speakers.get(first!)!;
    owner.cutLink(true);
    const [second] = await waitFor('another owner', () => {
      const o = lab.owners(IP);
      return o.length === 1 && o[0] !== first ? o : undefined;
    });
    await waitFor(
      'quorum lost counted',
      async () => (await owner.metric('portico_speaker_quorum_bool')) === 0,
    );
    expect(
      await owner.metric('portico_speaker_quorum_changes_total', { state: 'lost' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await owner.metric('portico_speaker_layer2_stepdowns_total', { reason: 'lease' }),
    ).toBeGreaterThanOrEqual(1);
    const next = lab.speakers.get(second!)!;
    expect(await next.metric('portico_speaker_layer2_takeovers_total')).toBeGreaterThanOrEqual(1);
    expect(await next.metric('portico_speaker_failovers_total')).toBe(1);
    await waitFor('QuorumLost Event', async () => (await events('Node', first!, 'QuorumLost')).length > 0);
    await waitFor(
      'Layer2StepDown Event',
      async () => (await events('Service', 'web', 'Layer2StepDown')).length > 0,
    );
    await waitFor(
      'Layer2TakeOver Event',
      async () => (await events('Service', 'web', 'Layer2TakeOver')).length > 0,
    );
    expect((await events('Service', 'web', 'Layer2TakeOver'))[0]!.message).toContain(`from "${first}"`);

    owner.cutLink(false);
    await waitFor('quorum regained', async () => (await owner.metric('portico_speaker_quorum_bool')) === 1);
    expect(
      await owner.metric('portico_speaker_quorum_changes_total', { state: 'regained' }),
    ).toBeGreaterThanOrEqual(1);
    await waitFor(
      'QuorumRegained Event',
      async () => (await events('Node', first!, 'QuorumRegained')).length > 0,
    );
    expect(lab.owners(IP)).toEqual([second]);
  });

  it('another station answering for an owned IP is an alert-worthy counter and a Warning Event', async () => {
    class ConflictingLayer2 extends FakeLayer2 {
      listeners: Array<(c: Layer2Conflict) => void> = [];
      onConflict(l: (c: Layer2Conflict) => void): void {
        this.listeners.push(l);
      }
    }
    const layer2 = new ConflictingLayer2();
    const registry = new Registry();
    // A single-node cluster: its own grant is a majority, so it answers alone.
    await lab.core.deleteNode({ name: 'pobs-b' });
    await lab.core.deleteNode({ name: 'pobs-c' });
    const transport = await openUdpTransport('127.0.0.1', 0);
    const speaker = new Speaker({
      api: lab.kube,
      nodeName: 'pobs-a',
      namespace: 'portico-system',
      configMapName: 'config',
      logger: pino({ level: 'silent' }),
      registry,
      layer2,
      createBgp: () => {
        throw new Error('no bgp here');
      },
      transport,
      memberlistPort: 7946,
    });
    try {
      await speaker.start();
      await lab.createService('web', [IP]);
      await lab.setEndpoints('web', ['pobs-a']);
      await waitFor('answering', () => layer2.ips.has(IP));
      const conflict: Layer2Conflict = {
        ip: IP,
        interface: 'eth0',
        protocol: 'arp',
        mac: '02:00:00:00:00:99',
        phase: 'announced',
        evidence: 'ARP reply',
      };
      for (const l of layer2.listeners) for (let i = 0; i < 2; i++) l(conflict);
      const counter = await registry.getSingleMetric('portico_speaker_layer2_conflicts_total')?.get();
      expect(counter?.values).toEqual([{ labels: { protocol: 'arp' }, value: 2 }]);
      const [event] = await waitFor('Layer2Conflict Event', async () => {
        const e = await events('Service', 'web', 'Layer2Conflict');
        return e.length > 0 ? e : undefined;
      });
      expect(event!.type).toBe('Warning');
      expect(event!.message).toContain('02:00:00:00:00:99');
      // One Event a minute per IP, however many conflicting packets.
      expect((await events('Service', 'web', 'Layer2Conflict')).map((e) => e.count ?? 1)).toEqual([1]);
    } finally {
      await speaker.stop();
      await transport.close();
    }
  });
});
