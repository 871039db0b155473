/**
 * The controller run from MetalLB's metallb.io resources (manifests/crds installed), on both API
 * servers: it allocates from IPAddressPools alone; serviceAllocation (priority, namespaces,
 * namespace selectors, service selectors) decides the pool; a bad edit keeps the last good
 * configuration and no IP moves; the ConfigMap wins while it exists; IPAddressPool status counts
 * stay current (and `kubectl get ipaddresspools` shows them); the ConfigurationState says Valid or
 * Invalid with the reasons; and a Service without an address says why in its
 * portico.dev/AddressAllocated condition.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Service } from '@kubernetes/client-node';
import {
  API_SERVERS,
  ensureBinaries,
  installMetallbCrds,
  startTestApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import { applyObject } from '@portico/kube';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, kubeConfigFor, runController, type RunningController, waitFor } from './harness.js';

const v1beta1 = 'metallb.io/v1beta1';
const condition = 'portico.dev/AddressAllocated';

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let cluster: Cluster;
  let running: RunningController | undefined;
  let kubeconfigDir: string;
  let tests = 0;
  /** Namespaces of Services a test made outside its own, to delete after it. */
  let extraServices: { name: string; namespace: string }[] = [];

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    const admin = kubeConfigFor(server);
    await installMetallbCrds(admin.kube);
    await admin.kube.close();
    kubeconfigDir = mkdtempSync(join(tmpdir(), 'portico-resources-'));
    writeFileSync(join(kubeconfigDir, 'kubeconfig'), server.kubeconfig());
  }, 120_000);

  afterAll(async () => {
    rmSync(kubeconfigDir, { recursive: true, force: true });
    await server?.close();
  });

  beforeEach(async () => {
    const namespace = `crs-${tests++}`;
    cluster = new Cluster(kubeConfigFor(server), namespace, namespace);
    await cluster.createNamespace();
  });

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await cluster.deleteServices();
    for (const { name, namespace } of extraServices)
      await cluster.api.deleteNamespacedService({ name, namespace }).catch(() => undefined);
    extraServices = [];
  });

  const apply = (
    kindName: string,
    name: string,
    spec: Record<string, unknown>,
    labels?: Record<string, string>,
  ) =>
    applyObject(cluster.kube, {
      apiVersion: v1beta1,
      kind: kindName,
      metadata: { name, namespace: cluster.namespace, ...(labels && { labels }) },
      spec,
    } as never);
  const pool = (name: string, spec: Record<string, unknown>) => apply('IPAddressPool', name, spec);
  const start = async () => {
    running = await runController(cluster.kube, cluster.namespace);
  };

  const poolStatus = async (name: string) => {
    const obj = await cluster.kube.request<{ status?: Record<string, number> }>(
      'GET',
      `/apis/metallb.io/v1beta1/namespaces/${cluster.namespace}/ipaddresspools/${name}`,
    );
    return obj.status;
  };
  const waitForPoolStatus = (name: string, want: Record<string, number>) =>
    waitFor(`status ${JSON.stringify(want)} on IPAddressPool ${name}`, async () => {
      const status = await poolStatus(name);
      return JSON.stringify(status) === JSON.stringify(want) ? status : undefined;
    });
  const configurationState = () =>
    cluster.kube
      .request<{
        metadata: { labels?: Record<string, string> };
        status?: { result?: string; errorSummary?: string };
      }>('GET', `/apis/metallb.io/v1beta1/namespaces/${cluster.namespace}/configurationstates/controller`)
      .catch(() => undefined);
  const readService = (name: string, namespace = cluster.namespace) =>
    cluster.api.readNamespacedService({ name, namespace });
  const allocatedCondition = (svc: V1Service) => svc.status?.conditions?.find((c) => c.type === condition);

  const createService = async (
    name: string,
    options: {
      namespace?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      spec?: Partial<V1Service['spec']>;
    } = {},
  ) => {
    const namespace = options.namespace ?? cluster.namespace;
    if (namespace !== cluster.namespace) extraServices.push({ name, namespace });
    await cluster.api.createNamespacedService({
      namespace,
      body: {
        metadata: { name, namespace, labels: options.labels, annotations: options.annotations },
        spec: {
          type: 'LoadBalancer',
          ports: [{ port: 80, protocol: 'TCP' }],
          selector: { app: name },
          ...options.spec,
        },
      },
    });
  };

  const kubectl = async (args: string[]) => {
    const binary = (await ensureBinaries()).kubectl;
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(binary, ['--kubeconfig', join(kubeconfigDir, 'kubeconfig'), ...args]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  };

  it('allocates from IPAddressPools alone, keeps their status counts current, and says Valid', async () => {
    await pool('main', { addresses: ['192.0.2.0/30'] });
    await apply('L2Advertisement', 'lan', {});
    await start();
    await createService('a');
    await createService('b');
    expect(await cluster.waitForIPs('a')).toEqual(['192.0.2.0']);
    expect(await cluster.waitForIPs('b')).toEqual(['192.0.2.1']);
    const b = await readService('b');
    expect(b.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBe('main');
    expect(allocatedCondition(b)).toBeUndefined();
    await waitForPoolStatus('main', { assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 0 });

    await cluster.api.deleteNamespacedService({ name: 'a', namespace: cluster.namespace });
    await waitForPoolStatus('main', { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 0 });

    const state = await waitFor('the ConfigurationState controller', configurationState);
    expect(state.status).toEqual({ result: 'Valid', conditions: expect.any(Array) });
    expect(state.metadata.labels).toEqual({ 'metallb.io/component-type': 'controller' });

    const got = await kubectl(['get', 'ipaddresspools', '-n', cluster.namespace]);
    expect(got.code, got.stderr).toBe(0);
    const [header, row] = got.stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s{2,}/));
    expect(header).toEqual([
      'NAME',
      'AUTO ASSIGN',
      'AVOID BUGGY IPS',
      'ADDRESSES',
      'ASSIGNED IPV4',
      'AVAILABLE IPV4',
      'ASSIGNED IPV6',
      'AVAILABLE IPV6',
    ]);
    expect(row).toEqual(['main', 'true', 'false', '["192.0.2.0/30"]', '1', '3', '0', '0']);
  });

  it('pool status writes are coalesced: a burst of Services is a few writes, not one per Service', async () => {
    await pool('big', { addresses: ['10.20.0.0/24'] });
    await start();
    const count = 100;
    const began = Date.now();
    await Promise.all(Array.from({ length: count }, (_, i) => createService(`s${i}`)));
    await waitFor(
      'every Service served',
      async () =>
        (await cluster.api.listNamespacedService({ namespace: cluster.namespace })).items.filter(
          (s) => (s.status?.loadBalancer?.ingress ?? []).length > 0,
        ).length === count,
      60_000,
    );
    await waitForPoolStatus('big', {
      assignedIPv4: count,
      assignedIPv6: 0,
      availableIPv4: 256 - count,
      availableIPv6: 0,
    });
    const elapsedMs = Date.now() - began;
    const writes = (await running!.metric('portico_pool_status_updates_total', { result: 'ok' })) ?? 0;
    console.log(`${kind}: ${count} Services served in ${elapsedMs} ms with ${writes} pool status writes`);
    // At most one write per 500 ms window (and the first), whatever the number of Services.
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(Math.ceil(elapsedMs / 500) + 1);
    expect(writes).toBeLessThan(count / 4);
  });

  it('serviceAllocation picks the pool: namespaces, namespace selectors, service selectors, priority', async () => {
    const team = `${cluster.namespace}-team`;
    const blue = `${cluster.namespace}-blue`;
    await applyObject(cluster.kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: team } });
    await applyObject(cluster.kube, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: blue, labels: { tier: 'blue' } },
    });
    await pool('shared', { addresses: ['192.0.2.0/30'] });
    await pool('team', { addresses: ['198.51.100.0/30'], serviceAllocation: { namespaces: [team] } });
    await pool('blue', {
      addresses: ['203.0.113.0/30'],
      serviceAllocation: { priority: 1, namespaceSelectors: [{ matchLabels: { tier: 'blue' } }] },
    });
    await pool('gold', {
      addresses: ['203.0.113.8/30'],
      serviceAllocation: { priority: 2, serviceSelectors: [{ matchLabels: { app: 'gold' } }] },
    });
    await pool('manual', { addresses: ['203.0.113.16/30'], autoAssign: false });
    await start();
    await createService('plain');
    await createService('in-team', { namespace: team });
    await createService('in-blue', { namespace: blue });
    await createService('gold-in-blue', { namespace: blue, labels: { app: 'gold' } });
    await createService('gold', { labels: { app: 'gold' } });
    await createService('asks-manual', { annotations: { 'metallb.io/address-pool': 'manual' } });
    await createService('asks-team', { annotations: { 'metallb.io/address-pool': 'team' } });
    expect(await cluster.waitForIPs('plain')).toEqual(['192.0.2.0']);
    expect(await cluster.waitForIPs('in-team', 1, team)).toEqual(['198.51.100.0']);
    expect(await cluster.waitForIPs('in-blue', 1, blue)).toEqual(['203.0.113.0']);
    // Both blue (priority 1) and gold (priority 2) match it: the lower number wins.
    expect(await cluster.waitForIPs('gold-in-blue', 1, blue)).toEqual(['203.0.113.1']);
    expect(await cluster.waitForIPs('gold')).toEqual(['203.0.113.8']);
    // A pool asked for by annotation is given whatever its autoAssign and serviceAllocation say.
    expect(await cluster.waitForIPs('asks-manual')).toEqual(['203.0.113.16']);
    expect(await cluster.waitForIPs('asks-team')).toEqual(['198.51.100.1']);
  });

  it('a Service waiting for a pool of its namespace gets one once the namespace is labelled', async () => {
    const later = `${cluster.namespace}-later`;
    await applyObject(cluster.kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: later } });
    await pool('blue', {
      addresses: ['203.0.113.0/30'],
      serviceAllocation: { namespaceSelectors: [{ matchLabels: { tier: 'blue' } }] },
    });
    await start();
    await createService('waits', { namespace: later });
    await waitFor('NoMatchingPool on waits', async () => {
      const c = allocatedCondition(await readService('waits', later));
      return c?.reason === 'NoMatchingPool';
    });
    await applyObject(cluster.kube, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: later, labels: { tier: 'blue' } },
    });
    expect(await cluster.waitForIPs('waits', 1, later)).toEqual(['203.0.113.0']);
    await waitFor(
      'no condition on waits',
      async () => !allocatedCondition(await readService('waits', later)),
    );
  });

  it('a bad edit is refused with the reason: the last good configuration stays and no IP moves', async () => {
    await pool('main', { addresses: ['192.0.2.0/30'] });
    await start();
    await createService('a');
    expect(await cluster.waitForIPs('a')).toEqual(['192.0.2.0']);

    // Overlapping pools: the API server accepts each, Portico refuses the configuration.
    await pool('other', { addresses: ['192.0.2.0/31', '198.51.100.0/30'] });
    const event = await cluster.waitForEvent('IPAddressPool', 'other', 'InvalidConfig');
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('IPAddressPool "other"');
    expect(event.message).toContain('overlaps');
    const state = await waitFor('ConfigurationState Invalid', async () => {
      const s = await configurationState();
      return s?.status?.result === 'Invalid' ? s : undefined;
    });
    expect(state.status?.errorSummary).toContain('overlaps');
    expect(await running!.metric('portico_config_stale_bool')).toBe(1);
    // The old configuration still allocates; the new pool is not in force.
    await createService('b', { annotations: { 'metallb.io/address-pool': 'other' } });
    await createService('c');
    expect(await cluster.waitForIPs('c')).toEqual(['192.0.2.1']);
    expect(allocatedCondition(await readService('b'))).toMatchObject({
      status: 'False',
      reason: 'NoMatchingPool',
    });

    // Deleting the pool that holds the addresses would orphan them: refused as well.
    await cluster.kube.request(
      'DELETE',
      `/apis/metallb.io/v1beta1/namespaces/${cluster.namespace}/ipaddresspools/other`,
    );
    await cluster.kube.request(
      'DELETE',
      `/apis/metallb.io/v1beta1/namespaces/${cluster.namespace}/ipaddresspools/main`,
    );
    await pool('elsewhere', { addresses: ['198.51.100.0/30'] });
    await cluster.waitForEvent('IPAddressPool', 'elsewhere', 'ConfigRejected');
    expect(await cluster.ips('a')).toEqual(['192.0.2.0']);
    expect(await cluster.ips('c')).toEqual(['192.0.2.1']);
    expect(running!.controller.configuration?.pools.map((p) => p.name)).toEqual(['main']);
  });

  it('the ConfigMap wins while it exists; deleting it switches to the resources in one step', async () => {
    await cluster.setConfig('address-pools:\n- name: cm\n  protocol: layer2\n  addresses: [192.0.2.0/30]\n');
    await pool('crs', { addresses: ['192.0.2.0/29'] });
    await start();
    await createService('a');
    expect(await cluster.waitForIPs('a')).toEqual(['192.0.2.0']);
    expect((await readService('a')).metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBe('cm');
    // While the ConfigMap is in force the pool's status is not Portico's to write.
    expect(await poolStatus('crs')).toBeUndefined();

    await cluster.api.deleteNamespacedConfigMap({ name: 'config', namespace: cluster.namespace });
    await waitFor('pool annotation crs on a', async () => {
      const svc = await readService('a');
      return svc.metadata?.annotations?.['metallb.io/ip-allocated-from-pool'] === 'crs';
    });
    expect(await cluster.ips('a')).toEqual(['192.0.2.0']);
    await createService('b');
    expect(await cluster.waitForIPs('b')).toEqual(['192.0.2.1']);
    await waitForPoolStatus('crs', { assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 6, availableIPv6: 0 });
  });

  it('a Service without an address says why in its condition, which goes once it has one', async () => {
    await pool('one', { addresses: ['192.0.2.10/32'] });
    await pool('manual', { addresses: ['192.0.2.20/32'], autoAssign: false });
    await start();
    await createService('holder');
    expect(await cluster.waitForIPs('holder')).toEqual(['192.0.2.10']);
    const cases: [string, Parameters<typeof createService>[1], string][] = [
      ['full', {}, 'PoolExhausted'],
      ['no-pool', { annotations: { 'metallb.io/address-pool': 'nope' } }, 'NoMatchingPool'],
      ['outside', { spec: { loadBalancerIP: '10.9.9.9' } }, 'RequestedIPNotInPool'],
      ['taken', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.10' } }, 'RequestedIPInUse'],
      [
        'sharing',
        { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.10', 'metallb.io/allow-shared-ip': 'k' } },
        'SharingRefused',
      ],
    ];
    for (const [name, options] of cases) await createService(name, options);
    for (const [name, , reason] of cases) {
      const found = await waitFor(`condition ${reason} on ${name}`, async () => {
        const c = allocatedCondition(await readService(name));
        return c?.reason === reason ? c : undefined;
      });
      expect(found.status).toBe('False');
      expect(found.message).not.toBe('');
      expect(await cluster.ips(name)).toEqual([]);
      await cluster.waitForEvent('Service', name, 'AllocationFailed');
    }
    // The address comes free: the waiting Service gets it and its condition goes.
    for (const name of ['taken', 'sharing', 'holder'])
      await cluster.api.deleteNamespacedService({ name, namespace: cluster.namespace });
    expect(await cluster.waitForIPs('full')).toEqual(['192.0.2.10']);
    await waitFor(
      'no condition on full',
      async () => allocatedCondition(await readService('full')) === undefined,
    );
    expect(allocatedCondition(await readService('no-pool'))?.reason).toBe('NoMatchingPool');
  });
});
