/**
 * The status and event writers against both API servers: Service status through the status
 * subresource (with a retry on 409 when the cached copy is stale), and core/v1 Events that
 * aggregate repeats into a count, also across recorders (a restarted or new leader).
 */
import { CoreV1Api, type CoreV1Event, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  EventRecorder,
  kubeconfigCredentials,
  poolAnnotation,
  ServiceStatusWriter,
} from '../src/index.js';

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;
  let api: CoreV1Api;
  let namespaces = 0;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
    api = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await kube?.close();
    await server?.close();
  });

  /** Each test works in a namespace of its own (kube-apiserver cannot delete one without its controllers). */
  async function freshNamespace(): Promise<string> {
    const namespace = `writers-${namespaces++}`;
    await api.createNamespace({ body: { metadata: { name: namespace } } });
    return namespace;
  }

  const loadBalancer = (namespace: string, name: string) =>
    api.createNamespacedService({
      namespace,
      body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] } },
    });
  const ingressIPs = (svc: V1Service | undefined) => svc?.status?.loadBalancer?.ingress?.map((i) => i.ip);

  describe('ServiceStatusWriter', () => {
    it('writes the ingress IPs through the status subresource, and nothing when they are already there', async () => {
      const namespace = await freshNamespace();
      const created = await loadBalancer(namespace, 'web');
      const writer = new ServiceStatusWriter(kube);
      const written = await writer.setIngress(created, [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }]);
      expect(ingressIPs(written)).toEqual(['192.0.2.1', '2001:db8::1']);
      const read = await api.readNamespacedService({ name: 'web', namespace });
      expect(ingressIPs(read)).toEqual(['192.0.2.1', '2001:db8::1']);
      // The same IPs again: no write, so the resourceVersion stays.
      const again = await writer.setIngress(read, [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }]);
      expect(again?.metadata?.resourceVersion).toBe(read.metadata?.resourceVersion);
      expect((await api.readNamespacedService({ name: 'web', namespace })).metadata?.resourceVersion).toBe(
        read.metadata?.resourceVersion,
      );
    });

    it('re-reads and retries when its cached copy is stale (409), keeping the newer change', async () => {
      const namespace = await freshNamespace();
      const stale = await loadBalancer(namespace, 'web');
      const current = await api.readNamespacedService({ name: 'web', namespace });
      current.metadata!.labels = { changed: 'meanwhile' };
      await api.replaceNamespacedService({ name: 'web', namespace, body: current });
      const written = await new ServiceStatusWriter(kube).setIngress(stale, [{ ip: '192.0.2.7' }]);
      expect(ingressIPs(written)).toEqual(['192.0.2.7']);
      const read = await api.readNamespacedService({ name: 'web', namespace });
      expect(ingressIPs(read)).toEqual(['192.0.2.7']);
      expect(read.metadata?.labels).toEqual({ changed: 'meanwhile' });
    });

    it('writes metallb.io/ip-allocated-from-pool with the addresses, and removes it when they go', async () => {
      const namespace = await freshNamespace();
      const writer = new ServiceStatusWriter(kube);
      const pool = (svc: V1Service | undefined) => svc?.metadata?.annotations?.[poolAnnotation];
      const written = await writer.setIngress(await loadBalancer(namespace, 'web'), [{ ip: '192.0.2.1' }], {
        pool: 'default',
      });
      expect(pool(written)).toBe('default');
      const read = await api.readNamespacedService({ name: 'web', namespace });
      expect(pool(read)).toBe('default');
      expect(ingressIPs(read)).toEqual(['192.0.2.1']);
      // Same addresses, same pool: nothing written. Same addresses, another pool: written.
      const same = await writer.setIngress(read, [{ ip: '192.0.2.1' }], { pool: 'default' });
      expect(same?.metadata?.resourceVersion).toBe(read.metadata?.resourceVersion);
      const moved = await writer.setIngress(read, [{ ip: '192.0.2.1' }], { pool: 'renamed' });
      expect(pool(await api.readNamespacedService({ name: 'web', namespace }))).toBe('renamed');
      const cleared = await writer.setIngress(moved!, [], { pool: 'renamed' });
      expect(cleared?.metadata?.annotations?.[poolAnnotation]).toBeUndefined();
      expect(pool(await api.readNamespacedService({ name: 'web', namespace }))).toBeUndefined();
    });

    it('clears the status, and answers undefined for a Service that is gone', async () => {
      const namespace = await freshNamespace();
      const writer = new ServiceStatusWriter(kube);
      const svc = await writer.setIngress(await loadBalancer(namespace, 'web'), [{ ip: '192.0.2.1' }]);
      const cleared = await writer.setIngress(svc!, []);
      expect(cleared?.status?.loadBalancer?.ingress ?? []).toEqual([]);
      await api.deleteNamespacedService({ name: 'web', namespace });
      expect(await writer.setIngress(cleared!, [{ ip: '192.0.2.2' }])).toBeUndefined();
    });
  });

  describe('EventRecorder', () => {
    // Only ours: the real kube-apiserver's cluster-IP repair loop may post its own Warning on a Service
    // created while it runs (ClusterIPNotAllocated), which is not what these tests are about.
    const events = async (namespace: string) =>
      (await api.listNamespacedEvent({ namespace })).items.filter(
        (e) => e.source?.component === 'portico-test',
      );

    it('records an Event on the object, and a repeat bumps its count instead of adding another', async () => {
      const namespace = await freshNamespace();
      const svc = { ...(await loadBalancer(namespace, 'web')), apiVersion: 'v1', kind: 'Service' };
      const errors: unknown[] = [];
      const recorder = new EventRecorder(kube, { component: 'portico-test', onError: (e) => errors.push(e) });
      await recorder.record(svc, 'Normal', 'IPAllocated', 'Assigned IP ["192.0.2.1"]');
      await recorder.record(svc, 'Normal', 'IPAllocated', 'Assigned IP ["192.0.2.1"]');
      await recorder.record(svc, 'Warning', 'AllocationFailed', 'no available IPs');
      expect(errors).toEqual([]);
      const seen = (await events(namespace)).map((e) => ({
        reason: e.reason,
        type: e.type,
        count: e.count,
        object: `${e.involvedObject.kind} ${e.involvedObject.name} ${e.involvedObject.uid}`,
        source: e.source?.component,
      }));
      const object = `Service web ${svc.metadata?.uid}`;
      expect(seen.sort((a, b) => a.reason!.localeCompare(b.reason!))).toEqual([
        { reason: 'AllocationFailed', type: 'Warning', count: 1, object, source: 'portico-test' },
        { reason: 'IPAllocated', type: 'Normal', count: 2, object, source: 'portico-test' },
      ]);
    });

    it('continues an Event another recorder wrote, once told of it (a new leader)', async () => {
      const namespace = await freshNamespace();
      const svc = { ...(await loadBalancer(namespace, 'web')), apiVersion: 'v1', kind: 'Service' };
      const errors: unknown[] = [];
      const options = { component: 'portico-test', onError: (e: unknown) => errors.push(e) };
      await new EventRecorder(kube, options).record(svc, 'Warning', 'AllocationFailed', 'no available IPs');
      const successor = new EventRecorder(kube, options);
      for (const e of await events(namespace)) successor.remember(e);
      await successor.record(svc, 'Warning', 'AllocationFailed', 'no available IPs');
      expect(errors).toEqual([]);
      const all: CoreV1Event[] = await events(namespace);
      expect(all.map((e) => [e.reason, e.count])).toEqual([['AllocationFailed', 2]]);
    });

    it('puts the Events of a cluster-scoped object in the default namespace', async () => {
      await api.createNode({ body: { metadata: { name: 'node-a' } } });
      const node = { ...(await api.readNode({ name: 'node-a' })), apiVersion: 'v1', kind: 'Node' };
      const errors: unknown[] = [];
      const recorder = new EventRecorder(kube, { component: 'portico-test', onError: (e) => errors.push(e) });
      await recorder.record(node, 'Normal', 'NodeReady', 'node-a announces');
      expect(errors).toEqual([]);
      const onNode = (await events('default')).filter((e) => e.involvedObject.name === 'node-a');
      expect(onNode.map((e) => [e.involvedObject.kind, e.reason, e.count])).toEqual([
        ['Node', 'NodeReady', 1],
      ]);
    });
  });
});
