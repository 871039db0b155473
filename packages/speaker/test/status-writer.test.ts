/**
 * ServiceL2Status / ServiceBGPStatus objects on both API servers (API_SERVERS), with the CRDs from
 * manifests/crds: a speaker's StatusWriter creates one object per Service it announces (MetalLB's
 * names, labels and fields), changes it when the announcement changes, deletes it when it stops,
 * adopts its own objects after a restart, removes another node's layer-2 object when it takes the
 * IP over, keeps to its write rate, and survives an API outage without blocking its caller.
 */
import { readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiClient, applyObject, kubeconfigCredentials } from '@portico/kube';
import type { DesiredStatuses } from '../src/announcement-status.js';
import { desiredStatuses } from '../src/announcement-status.js';
import type { Decision } from '../src/decide.js';
import { StatusWriter } from '../src/status-writer.js';
import { waitFor } from './harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const NS = 'portico-system';
const logger = pino({ level: 'silent' });

interface StatusObject {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string }[];
  };
  status?: Record<string, unknown>;
}

async function installCrds(api: ApiClient): Promise<void> {
  for (const file of ['servicel2statuses.yaml', 'servicebgpstatuses.yaml'])
    for (const doc of parseAllDocuments(readFileSync(join(root, 'manifests/crds', file), 'utf8')))
      await applyObject(api, doc.toJS() as KubernetesObject);
  for (const plural of ['servicel2statuses', 'servicebgpstatuses'])
    await waitFor(
      `${plural} served`,
      async () => {
        try {
          await api.request('GET', `/apis/metallb.io/v1beta1/${plural}`, { query: { limit: 1 } });
          return true;
        } catch {
          return false;
        }
      },
      60_000,
    );
}

const desired = (l2: Record<string, string[]>, bgp: Record<string, string[]> = {}): DesiredStatuses => ({
  ServiceL2Status: new Map(Object.entries(l2)),
  ServiceBGPStatus: new Map(Object.entries(bgp)),
});

describe.each(API_SERVERS)('announcement status objects (%s API server)', (kind) => {
  let server: TestApiServer;
  let api: ApiClient;
  const writers: StatusWriter[] = [];

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    api = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    await installCrds(api);
  }, 120_000);
  afterAll(async () => {
    for (const w of writers) w.stop();
    await api?.close();
    await server?.close();
  });

  const list = async (plural: string): Promise<StatusObject[]> =>
    (
      await api.request<{ items: StatusObject[] }>(
        'GET',
        `/apis/metallb.io/v1beta1/namespaces/${NS}/${plural}`,
      )
    ).items;
  const writer = (nodeName: string, extra: Partial<ConstructorParameters<typeof StatusWriter>[0]> = {}) => {
    const w = new StatusWriter({ api, namespace: NS, nodeName, logger, registry: new Registry(), ...extra });
    writers.push(w);
    return w;
  };

  it('creates, changes and deletes one object per Service, as MetalLB names and labels them', async () => {
    const w = writer('node-a', {
      ownerPod: { name: 'speaker-abc', uid: '5d0c1d7e-0000-4000-8000-000000000001' },
    });
    w.update(desired({ 'default/web': ['eth1'], 'default/db': [] }, { 'default/web': ['r1', 'r2'] }));
    await w.idle();
    const l2 = await list('servicel2statuses');
    expect(l2).toHaveLength(2);
    const web = l2.find((o) => o.metadata.labels?.['metallb.io/service-name'] === 'web')!;
    expect(web.metadata.name).toMatch(/^l2-/);
    expect(web.metadata.labels).toEqual({
      'metallb.io/node': 'node-a',
      'metallb.io/service-name': 'web',
      'metallb.io/service-namespace': 'default',
    });
    expect(web.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Pod', name: 'speaker-abc' });
    expect(web.status).toEqual({
      node: 'node-a',
      serviceName: 'web',
      serviceNamespace: 'default',
      interfaces: [{ name: 'eth1' }],
    });
    // Every interface: MetalLB leaves the field out.
    const db = l2.find((o) => o.metadata.labels?.['metallb.io/service-name'] === 'db')!;
    expect(db.status).toEqual({ node: 'node-a', serviceName: 'db', serviceNamespace: 'default' });
    const [bgp] = await list('servicebgpstatuses');
    expect(bgp?.metadata.name).toMatch(/^bgp-/);
    expect(bgp?.status).toEqual({
      node: 'node-a',
      serviceName: 'web',
      serviceNamespace: 'default',
      peers: ['r1', 'r2'],
    });

    // Changed: the same object, new status. Gone: deleted.
    w.update(desired({ 'default/web': [] }, { 'default/web': ['r2'] }));
    await w.idle();
    const after = await list('servicel2statuses');
    expect(after.map((o) => o.metadata.name)).toEqual([web.metadata.name]);
    expect(after[0]?.status).toEqual({ node: 'node-a', serviceName: 'web', serviceNamespace: 'default' });
    expect((await list('servicebgpstatuses'))[0]?.status?.peers).toEqual(['r2']);
    w.update(desired({}));
    await w.idle();
    expect(await list('servicel2statuses')).toEqual([]);
    expect(await list('servicebgpstatuses')).toEqual([]);
    w.stop();
  });

  it('the node and Service of an object are immutable (CEL, real API server only)', async () => {
    const w = writer('node-c');
    w.update(desired({ 'default/immutable': [] }));
    await w.idle();
    const [object] = await list('servicel2statuses');
    const change = api.request(
      'PATCH',
      `/apis/metallb.io/v1beta1/namespaces/${NS}/servicel2statuses/${object!.metadata.name}/status`,
      { body: { status: { node: 'elsewhere' } }, contentType: 'application/merge-patch+json' },
    );
    if (kind === 'kube-apiserver') await expect(change).rejects.toThrow(/Value is immutable/);
    else await change; // the development API server evaluates no CEL rule
    w.update(desired({}));
    await w.idle();
    w.stop();
  });

  it('writes only what changed, a restarted speaker adopts its objects, and a takeover removes the old owner’s', async () => {
    const registry = new Registry();
    const a = writer('node-a', { registry });
    a.update(desired({ 'default/s1': [], 'default/s2': [] }));
    await a.idle();
    const writes = async () =>
      (await registry.getSingleMetric('portico_speaker_status_writes_total')!.get()).values.reduce(
        (n, v) => n + v.value,
        0,
      );
    const before = await writes();
    a.update(desired({ 'default/s1': [], 'default/s2': [] }));
    await a.idle();
    expect(await writes()).toBe(before);
    a.stop();

    // node-a restarts: it finds its two objects, keeps s1 as it is, deletes s2.
    const objects = await list('servicel2statuses');
    const restarted = writer('node-a');
    restarted.update(desired({ 'default/s1': [] }));
    await restarted.idle();
    const now = await list('servicel2statuses');
    expect(now.map((o) => o.metadata.name)).toEqual(
      objects
        .filter((o) => o.metadata.labels?.['metallb.io/service-name'] === 's1')
        .map((o) => o.metadata.name),
    );

    // node-b takes s1 over (node-a died without cleaning up): node-a's object goes.
    const b = writer('node-b');
    b.update(desired({ 'default/s1': [] }));
    await b.idle();
    const s1 = await list('servicel2statuses');
    expect(s1.map((o) => o.metadata.labels?.['metallb.io/node'])).toEqual(['node-b']);
    b.update(desired({}));
    await b.idle();
    restarted.stop();
    b.stop();
  });

  it('keeps to its write rate: 30 new layer-2 Services (90 writes) at 20 a second take over 3 s', async () => {
    const w = writer('node-r', { writesPerSecond: 20 });
    const l2: Record<string, string[]> = {};
    for (let i = 0; i < 30; i++) l2[`default/rate-${i}`] = [];
    const start = performance.now();
    w.update(desired(l2));
    await w.idle();
    // 30 creates + 30 status writes + 30 deletes of other nodes' objects = 90 writes, at 20/s
    // after a burst of 20.
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThan(3000);
    expect(
      (await list('servicel2statuses')).filter((o) => o.metadata.labels?.['metallb.io/node'] === 'node-r'),
    ).toHaveLength(30);
    w.update(desired({}));
    await w.idle();
    w.stop();
  }, 30_000);

  it('an API outage does not block update(); the objects are written once the API answers', async () => {
    // A TCP proxy in front of the API server that refuses connections while `down`.
    const target = new URL(server.url);
    let down = true;
    const proxy = createServer((socket) => {
      if (down) return socket.destroy();
      const upstream = connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as AddressInfo).port;
    const credentials = kubeconfigCredentials(server.kubeconfig());
    const viaProxy = new ApiClient({ ...credentials, server: `${target.protocol}//127.0.0.1:${port}` });
    const w = new StatusWriter({
      api: viaProxy,
      namespace: NS,
      nodeName: 'node-o',
      logger,
      registry: new Registry(),
      maxBackoffMs: 200,
    });
    const mine = async () =>
      (await list('servicel2statuses')).filter((o) => o.metadata.labels?.['metallb.io/node'] === 'node-o');
    try {
      const start = performance.now();
      for (let i = 0; i < 1000; i++) w.update(desired({ [`default/o-${i % 10}`]: [] }));
      expect(performance.now() - start).toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 600));
      expect(await mine()).toEqual([]);
      down = false;
      await w.idle();
      expect((await mine()).map((o) => o.metadata.labels?.['metallb.io/service-name'])).toEqual(['o-9']);
      w.update(desired({}));
      await w.idle();
    } finally {
      w.stop();
      await viaProxy.close();
      proxy.close();
    }
  }, 30_000);
});

describe('desiredStatuses', () => {
  it('layer 2 only where this node answers; BGP where it advertises to some peer', () => {
    const decision: Decision = {
      layer2: new Map(),
      layer2Interfaces: new Map(),
      bgp: [],
      bgpByPeer: new Map(),
      services: new Map([
        ['ns/answered', { key: 'ns/answered', protocols: ['layer2'], layer2Interfaces: ['eth1'] }],
        ['ns/elected', { key: 'ns/elected', protocols: ['layer2'] }],
        ['ns/bgp', { key: 'ns/bgp', protocols: ['bgp'], bgpPeers: ['r1'] }],
        ['ns/no-peer', { key: 'ns/no-peer', protocols: ['bgp'] }],
        ['ns/none', { key: 'ns/none', protocols: [], reason: 'noEndpoints' }],
      ]),
    };
    const d = desiredStatuses(decision, new Set(['ns/answered']));
    expect([...d.ServiceL2Status]).toEqual([['ns/answered', ['eth1']]]);
    expect([...d.ServiceBGPStatus]).toEqual([['ns/bgp', ['r1']]]);
  });
});

describe('without the CRDs', () => {
  it('says once that the kinds are not served, and writes nothing', async () => {
    const server = await startTestApiServer('development');
    const api = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const w = new StatusWriter({
      api,
      namespace: NS,
      nodeName: 'node-m',
      logger: log,
      registry: new Registry(),
      maxBackoffMs: 50,
    });
    try {
      w.update(desired({ 'default/m': [] }));
      await new Promise((r) => setTimeout(r, 400));
      const missing = lines.filter((l) => l.includes('"event":"statusKindsMissing"'));
      expect(missing, lines.join('\n')).toHaveLength(1);
      expect(lines.filter((l) => l.includes('write failed'))).toEqual([]);
    } finally {
      w.stop();
      await api.close();
      await server.close();
    }
  });
});
