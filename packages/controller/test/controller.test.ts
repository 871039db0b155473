import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, kubeConfigFor, runController, type RunningController, waitFor } from './harness.js';

const pools = `
address-pools:
  - name: main
    protocol: layer2
    addresses: [192.0.2.0/30, 2001:db8::/126]
  - name: reserved
    protocol: layer2
    auto-assign: false
    addresses: [198.51.100.10-198.51.100.12]
`;

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let cluster: Cluster;
  let running: RunningController | undefined;
  let tests = 0;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
  });

  afterAll(() => server?.close());

  // One server for the whole suite; each test gets a namespace of its own for its Services, its
  // ConfigMap and their Events, and a controller of its own that reads that ConfigMap.
  beforeEach(async () => {
    const namespace = `test-${tests++}`;
    cluster = new Cluster(kubeConfigFor(server), namespace, namespace);
    await cluster.createNamespace();
    await cluster.setConfig(pools);
    running = await runController(cluster.kube, namespace);
  });

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    // The next test's controller watches every namespace: it must not find these holding addresses.
    await cluster.deleteServices();
  });

  describe('allocation', () => {
    it('gives a LoadBalancer Service the lowest free address and says so in an Event', async () => {
      await cluster.createService('web');
      expect(await cluster.waitForIPs('web')).toEqual(['192.0.2.0']);
      const event = await cluster.waitForEvent('Service', 'web', 'IPAllocated');
      expect(event.type).toBe('Normal');
      expect(event.message).toBe('Assigned IP ["192.0.2.0"]');
      expect(await running!.metric('portico_controller_leader_bool')).toBe(1);
      await cluster.createService('api');
      expect(await cluster.waitForIPs('api')).toEqual(['192.0.2.1']);
    });

    it('honours the pool annotation, its metallb alias, and requested IPs in auto-assign:false pools', async () => {
      await cluster.createService('a', {}, { 'portico.dev/address-pool': 'reserved' });
      await cluster.createService('b', {}, { 'metallb.universe.tf/address-pool': 'reserved' });
      await cluster.createService('c', { loadBalancerIP: '198.51.100.12' });
      expect(await cluster.waitForIPs('a')).toEqual(['198.51.100.10']);
      expect(await cluster.waitForIPs('b')).toEqual(['198.51.100.11']);
      expect(await cluster.waitForIPs('c')).toEqual(['198.51.100.12']);
      // Each Service says which pool its address comes from, as MetalLB writes it.
      for (const name of ['a', 'b', 'c']) {
        const svc = await cluster.api.readNamespacedService({ name, namespace: cluster.namespace });
        expect(svc.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBe('reserved');
      }
    });

    it('leaves Services of another load-balancer class and other types alone', async () => {
      await cluster.createService('foreign', { loadBalancerClass: 'example.com/other' });
      await cluster.createService('plain', { type: 'ClusterIP' });
      await cluster.createService('ours', { loadBalancerClass: 'portico.dev/lb' });
      expect(await cluster.waitForIPs('ours')).toEqual(['192.0.2.0']);
      expect(await cluster.ips('foreign')).toEqual([]);
      expect(await cluster.ips('plain')).toEqual([]);
      expect(await cluster.events('Service', 'foreign')).toEqual([]);
    });

    it('shares an IP between Services with the same sharing key and no port clash', async () => {
      const shared = { 'portico.dev/allow-shared-ip': 'team-a' };
      await cluster.createService('dns-udp', { ports: [{ port: 53, protocol: 'UDP' }] }, shared);
      await cluster.createService(
        'dns-tcp',
        { ports: [{ port: 53, protocol: 'TCP' }] },
        { 'metallb.universe.tf/allow-shared-ip': 'team-a' },
      );
      await cluster.createService('dns-clash', { ports: [{ port: 53, protocol: 'TCP' }] }, shared);
      const [udp] = await cluster.waitForIPs('dns-udp');
      expect(await cluster.waitForIPs('dns-tcp')).toEqual([udp]);
      const [clash] = await cluster.waitForIPs('dns-clash');
      expect(clash).not.toBe(udp);
    });

    it('allocates both families for RequireDualStack and PreferDualStack, one for SingleStack', async () => {
      await cluster.createService('dual', {
        ipFamilyPolicy: 'RequireDualStack',
        ipFamilies: ['IPv4', 'IPv6'],
      });
      await cluster.createService('prefer', {
        ipFamilyPolicy: 'PreferDualStack',
        ipFamilies: ['IPv6', 'IPv4'],
      });
      await cluster.createService('v6', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] });
      expect((await cluster.waitForIPs('dual', 2)).sort()).toEqual(['192.0.2.0', '2001:db8::'].sort());
      expect(await cluster.waitForIPs('prefer', 2)).toContain('2001:db8::1');
      expect(await cluster.waitForIPs('v6')).toEqual(['2001:db8::2']);
    });
  });

  describe('exhaustion and release', () => {
    it('reports exhaustion, then hands a released address to the waiting Service at once', async () => {
      for (const name of ['s0', 's1', 's2', 's3']) await cluster.createService(name);
      for (const name of ['s0', 's1', 's2', 's3']) await cluster.waitForIPs(name);
      await cluster.createService('late');
      const failed = await cluster.waitForEvent('Service', 'late', 'AllocationFailed');
      expect(failed.type).toBe('Warning');
      expect(failed.message).toContain('no available IPs');
      expect(await running!.metric('portico_allocation_errors_total')).toBeGreaterThanOrEqual(1);
      expect(
        await running!.metric('portico_allocator_addresses_in_use_total', { pool: 'main', family: 'IPv4' }),
      ).toBe(4);

      const [freed] = await cluster.ips('s2');
      await cluster.api.deleteNamespacedService({ name: 's2', namespace: cluster.namespace });
      expect(await cluster.waitForIPs('late')).toEqual([freed]);
    });

    it('releases the address of a Service that stops being a LoadBalancer and clears its status', async () => {
      for (const name of ['s0', 's1', 's2', 's3', 'late']) await cluster.createService(name);
      await cluster.waitForEvent('Service', 'late', 'AllocationFailed');
      const [freed] = await cluster.waitForIPs('s1');
      const svc = await cluster.api.readNamespacedService({ name: 's1', namespace: cluster.namespace });
      svc.spec!.type = 'ClusterIP';
      svc.spec!.ports = [{ port: 80, protocol: 'TCP' }];
      await cluster.api.replaceNamespacedService({ name: 's1', namespace: cluster.namespace, body: svc });
      expect(await cluster.waitForIPs('late')).toEqual([freed]);
      await waitFor('s1 status cleared', async () => (await cluster.ips('s1')).length === 0);
      // The pool annotation goes with the address, as MetalLB removes it.
      const cleared = await cluster.api.readNamespacedService({ name: 's1', namespace: cluster.namespace });
      expect(cleared.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBeUndefined();
      const late = await cluster.api.readNamespacedService({ name: 'late', namespace: cluster.namespace });
      expect(late.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBe('main');
    });
  });

  describe('configuration', () => {
    it('refuses an invalid configuration, keeps the last good one and says why', async () => {
      await cluster.setConfig(
        'address-pools:\n  - name: main\n    protocol: layer3\n    addresses: [192.0.2.0/30]\n',
      );
      const event = await cluster.waitForEvent(
        'ConfigMap',
        'config',
        'InvalidConfig',
        cluster.configNamespace,
      );
      expect(event.type).toBe('Warning');
      expect(event.message).toContain('layer3');
      expect(await running!.metric('portico_config_stale_bool')).toBe(1);
      expect(await running!.metric('portico_config_errors_total', { reason: 'invalid' })).toBe(1);
      await cluster.createService('after');
      expect(await cluster.waitForIPs('after')).toEqual(['192.0.2.0']);
    });

    it('refuses a configuration that would orphan an assigned IP (fail-static)', async () => {
      await cluster.createService('web', {}, { 'portico.dev/address-pool': 'reserved' });
      expect(await cluster.waitForIPs('web')).toEqual(['198.51.100.10']);
      await cluster.setConfig(
        'address-pools:\n  - name: main\n    protocol: layer2\n    addresses: [192.0.2.0/30]\n',
      );
      const event = await cluster.waitForEvent(
        'ConfigMap',
        'config',
        'ConfigRejected',
        cluster.configNamespace,
      );
      expect(event.message).toContain('198.51.100.10');
      expect(await running!.metric('portico_config_stale_bool')).toBe(1);
      expect(await cluster.ips('web')).toEqual(['198.51.100.10']);
      // The old pools are still in force: the reserved pool still serves requests.
      await cluster.createService('next', {}, { 'portico.dev/address-pool': 'reserved' });
      expect(await cluster.waitForIPs('next')).toEqual(['198.51.100.11']);
      // A fixed configuration clears the stale flag.
      await cluster.setConfig(pools);
      await waitFor(
        'config no longer stale',
        async () => (await running!.metric('portico_config_stale_bool')) === 0,
      );
    });

    it('takes a configuration refused for orphaning once no Service holds the address any more', async () => {
      await cluster.createService('web', {}, { 'portico.dev/address-pool': 'reserved' });
      expect(await cluster.waitForIPs('web')).toEqual(['198.51.100.10']);
      await cluster.setConfig(
        'address-pools:\n  - name: main\n    protocol: layer2\n    addresses: [192.0.2.0/30]\n',
      );
      await cluster.waitForEvent('ConfigMap', 'config', 'ConfigRejected', cluster.configNamespace);
      await cluster.api.deleteNamespacedService({ name: 'web', namespace: cluster.namespace });
      await waitFor(
        'the refused configuration to load',
        async () => (await running!.metric('portico_config_stale_bool')) === 0,
      );
      expect(running!.controller.configuration?.pools.map((p) => p.name)).toEqual(['main']);
    });

    it('keeps the last configuration when the ConfigMap is deleted', async () => {
      await cluster.api.deleteNamespacedConfigMap({ name: 'config', namespace: cluster.configNamespace });
      await waitFor('stale flag', async () => (await running!.metric('portico_config_stale_bool')) === 1);
      await cluster.createService('after');
      expect(await cluster.waitForIPs('after')).toEqual(['192.0.2.0']);
    });
  });

  describe('restart', () => {
    it('re-claims every assigned IP before allocating anything new', async () => {
      for (const name of ['s0', 's1', 's2']) {
        await cluster.createService(name);
        await cluster.waitForIPs(name);
      }
      const before = { s0: await cluster.ips('s0'), s2: await cluster.ips('s2') };
      await running!.stop();
      running = undefined;
      // While no controller runs: s1 goes away and a new Service arrives.
      await cluster.api.deleteNamespacedService({ name: 's1', namespace: cluster.namespace });
      await cluster.createService('new');
      running = await runController(cluster.kube, cluster.namespace);
      // The new Service gets s1's old address, the lowest free one; nobody else moves.
      expect(await cluster.waitForIPs('new')).toEqual(['192.0.2.1']);
      expect(await cluster.ips('s0')).toEqual(before.s0);
      expect(await cluster.ips('s2')).toEqual(before.s2);
    });
  });
});
