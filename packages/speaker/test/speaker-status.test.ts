/**
 * The speaker app writes its announcement status objects (on both API servers, CRDs from
 * manifests/crds): three in-process speakers (harness.ts) with the ConfigMap of speaker.test.ts;
 * the layer-2 owner, and only it, has a ServiceL2Status; every advertising node has a
 * ServiceBGPStatus with the peers its BGPPeers' node selectors give it; after the owner dies the
 * new owner's object replaces its; a deleted Service loses its objects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { applyObject } from '@portico/kube';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, waitFor } from './harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
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
`;
const NODES = ['pst-a', 'pst-b', 'pst-c'];

interface StatusObject {
  metadata: { name: string; labels: Record<string, string> };
  status?: { node?: string; peers?: string[] };
}

describe.each(API_SERVERS)('the speakers’ status objects (%s API server)', (kind) => {
  let server: TestApiServer;
  let lab: Lab;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    lab = await Lab.create(server, 'status');
    for (const file of ['servicel2statuses.yaml', 'servicebgpstatuses.yaml'])
      for (const doc of parseAllDocuments(readFileSync(join(root, 'manifests/crds', file), 'utf8')))
        await applyObject(lab.kube, doc.toJS() as KubernetesObject);
    await waitFor(
      'the status kinds served',
      async () => {
        try {
          await lab.kube.request('GET', '/apis/metallb.io/v1beta1/servicebgpstatuses');
          return true;
        } catch {
          return false;
        }
      },
      60_000,
    );
    await lab.setConfig(CONFIG);
    await lab.addNode('pst-a', { rack: 'r1' });
    await lab.addNode('pst-b');
    await lab.addNode('pst-c');
    for (const n of NODES) await lab.startSpeaker(n);
  }, 120_000);
  afterAll(async () => {
    await lab?.clear();
    await server?.close();
  });

  const list = async (plural: string, service: string) =>
    (
      await lab.kube.request<{ items: StatusObject[] }>(
        'GET',
        `/apis/metallb.io/v1beta1/namespaces/portico-system/${plural}`,
        {
          query: { labelSelector: `metallb.io/service-name=${service},metallb.io/service-namespace=status` },
        },
      )
    ).items;

  it('layer 2: one object, from the node that answers; after it dies, the new owner’s only', async () => {
    await lab.createService('web', ['198.51.100.5']);
    await lab.setEndpoints('web', NODES);
    const [owner] = await waitFor('one owner', () =>
      lab.owners('198.51.100.5').length === 1 ? lab.owners('198.51.100.5') : undefined,
    );
    const first = await waitFor('the owner’s ServiceL2Status', async () => {
      const items = await list('servicel2statuses', 'web');
      return items.length === 1 && items[0]!.status?.node === owner ? items : undefined;
    });
    expect(first[0]!.metadata.labels['metallb.io/node']).toBe(owner);
    await lab.speakers.get(owner!)!.kill();
    const [next] = await waitFor('a new owner', () => {
      const owners = lab.owners('198.51.100.5');
      return owners.length === 1 && owners[0] !== owner ? owners : undefined;
    });
    await waitFor('only the new owner’s ServiceL2Status', async () => {
      const items = await list('servicel2statuses', 'web');
      return items.length === 1 && items[0]!.status?.node === next ? items : undefined;
    });
  }, 30_000);

  it('BGP: one object per advertising node, with the peers its BGPPeers select', async () => {
    await lab.createService('api', ['203.0.113.5']);
    await lab.setEndpoints('api', NODES);
    const running = [...lab.speakers.keys()].sort();
    const items = await waitFor('a ServiceBGPStatus per running node', async () => {
      const got = await list('servicebgpstatuses', 'api');
      // An object is created first, then its status written (the status subresource).
      return got.length === running.length && got.every((o) => o.status?.node) ? got : undefined;
    });
    const peersOf = Object.fromEntries(items.map((o) => [o.status?.node, o.status?.peers]));
    expect(Object.keys(peersOf).sort()).toEqual(running);
    for (const n of running)
      expect(peersOf[n]).toEqual(n === 'pst-a' ? ['192.0.2.1', '192.0.2.2'] : ['192.0.2.1']);
    await lab.core.deleteNamespacedService({ name: 'api', namespace: 'status' });
    await waitFor('the objects of a deleted Service removed', async () =>
      (await list('servicebgpstatuses', 'api')).length === 0 ? true : undefined,
    );
  }, 30_000);
});
