/**
 * The speaker's passes are incremental (issue 12): a change to one Service decides that Service
 * again and reaches the BGP speaker as that prefix's difference; a Node refresh that changes
 * nothing the speaker reads decides nothing again; a real Node change decides every Service again
 * but sends no route that did not change. One speaker, real informers, both API servers; the
 * work is counted by portico_speaker_service_decisions_total.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { Lab, type RunningSpeaker, waitFor } from './harness.js';

const CONFIG = `
peers:
  - peer-address: 192.0.2.1
    peer-asn: 64512
    my-asn: 64512
address-pools:
  - name: bgp
    protocol: bgp
    addresses: [203.0.113.0/24]
    bgp-advertisements:
      - aggregation-length: 32
      - aggregation-length: 24
`;

const NODE = 'pinc-a';
const COUNT = 20;
const ipOf = (i: number) => `203.0.113.${10 + i}`;

let labs = 0;

describe.each(API_SERVERS)('incremental passes (%s API server)', (kind) => {
  let server: TestApiServer;
  let lab: Lab;
  let speaker: RunningSpeaker;
  const decided = async () => (await speaker.metric('portico_speaker_service_decisions_total')) ?? 0;
  const prefixes = () => (speaker.bgp()?.routes ?? []).map((r) => r.prefix);

  beforeAll(async () => {
    server = await startTestApiServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    lab = await Lab.create(server, `incremental-${++labs}`);
    await lab.setConfig(CONFIG);
    await lab.addNode(NODE);
    speaker = await lab.startSpeaker(NODE);
    for (let i = 0; i < COUNT; i++) {
      await lab.createService(`s${i}`, [ipOf(i)]);
      await lab.setEndpoints(`s${i}`, [NODE]);
    }
    await waitFor(`${COUNT} routes and the aggregate`, () => prefixes().length === COUNT + 1);
  });
  afterEach(async () => {
    await lab.clear();
  });

  it('one Service changes: that Service is decided again, and BGP gets that one difference', async () => {
    const before = await decided();
    const calls = speaker.bgp()!.calls.length;
    await lab.setEndpoints('s5', [{ node: NODE, ready: false }]);
    await waitFor('s5 withdrawn', () => !prefixes().includes(`${ipOf(5)}/32`));
    // The aggregate stays: the other Services still advertise it, with the same attributes.
    await new Promise((r) => setTimeout(r, 300));
    expect(speaker.bgp()!.calls.slice(calls)).toEqual([`withdraw ${ipOf(5)}/32`]);
    expect((await decided()) - before).toBe(1);

    await lab.setEndpoints('s5', [NODE]);
    await waitFor('s5 back', () => prefixes().includes(`${ipOf(5)}/32`));
    expect(speaker.bgp()!.calls.slice(calls)).toEqual([`withdraw ${ipOf(5)}/32`, `announce ${ipOf(5)}/32`]);
    expect((await decided()) - before).toBe(2);
    expect(speaker.bgp()!.calls.filter((c) => c.startsWith('set '))).toHaveLength(1);
  });

  it('a Node refresh that changes nothing read decides nothing; a Node change decides all and sends nothing', async () => {
    const before = await decided();
    const calls = speaker.bgp()!.calls.length;
    // What the kubelet does every few seconds: the same conditions, a new heartbeat time.
    const node = await lab.core.readNode({ name: NODE });
    node.status!.conditions = node.status!.conditions!.map((c) => ({ ...c, lastHeartbeatTime: new Date() }));
    await lab.core.replaceNodeStatus({ name: NODE, body: node });
    await new Promise((r) => setTimeout(r, 500));
    expect((await decided()) - before).toBe(0);

    // A label no selector reads: every Service in the cluster decided again, no route changes.
    const all = (await lab.core.listServiceForAllNamespaces()).items.length;
    expect(all).toBeGreaterThan(COUNT);
    await lab.labelNode(NODE, { 'example.com/unread': 'yes' });
    await waitFor('every Service decided again', async () => (await decided()) - before >= all);
    await new Promise((r) => setTimeout(r, 300));
    expect((await decided()) - before).toBe(all);
    expect(speaker.bgp()!.calls.slice(calls)).toEqual([]);
    expect(prefixes()).toHaveLength(COUNT + 1);
  });

  it('started against many Services, it decides them in slices and announces each slice as it goes', async () => {
    await speaker.stop();
    const all = (await lab.core.listServiceForAllNamespaces()).items.length;
    speaker = await lab.startSpeaker(NODE, { servicesPerPass: 6 });
    await waitFor(`${COUNT} routes and the aggregate again`, () => prefixes().length === COUNT + 1);
    await new Promise((r) => setTimeout(r, 300));
    // Each Service decided once, in ceil(all / 6) passes rather than one.
    expect(await decided()).toBe(all);
    const sizes = speaker.bgp()!.history.map((table) => table.length);
    expect(sizes.at(-1)).toBe(COUNT + 1);
    // The table grew slice by slice: announced in part before the last slice was decided.
    expect(sizes.filter((n) => n > 0 && n < COUNT + 1).length).toBeGreaterThanOrEqual(2);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
  });
});
