// The development API server driven by @kubernetes/client-node, as the controller drives it:
// typed API calls, error codes, and informers (ListWatch) that follow changes and survive 410 Gone.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';

let server: DevApiServer;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  server = await startDevApiServer({ historyLimit: 50 });
  kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig());
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'cn' } } });
});
afterAll(async () => {
  await server?.close();
});

/** Polls `check` until it holds; bounded in time. */
async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const lb = (name: string): k8s.V1Service => ({
  metadata: { name, labels: { app: name } },
  spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
});

describe('CoreV1Api', () => {
  it('creates, reads, replaces and deletes Services with defaulting', async () => {
    const created = await core.createNamespacedService({ namespace: 'cn', body: lb('s1') });
    expect(created.spec?.clusterIP).toMatch(/^10\.96\./);
    expect(created.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);
    expect(created.spec?.ports?.[0]?.targetPort).toBe(80);
    const read = await core.readNamespacedService({ namespace: 'cn', name: 's1' });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);
    read.metadata!.labels = { app: 's1', extra: 'yes' };
    const replaced = await core.replaceNamespacedService({ namespace: 'cn', name: 's1', body: read });
    expect(replaced.metadata?.labels?.extra).toBe('yes');
    await expect(
      core.replaceNamespacedService({ namespace: 'cn', name: 's1', body: read }),
    ).rejects.toMatchObject({ code: 409 });
    await expect(core.createNamespacedService({ namespace: 'cn', body: lb('s1') })).rejects.toMatchObject({
      code: 409,
    });
    const list = await core.listNamespacedService({ namespace: 'cn', labelSelector: 'extra' });
    expect(list.items.map((s) => s.metadata?.name)).toEqual(['s1']);
    await core.deleteNamespacedService({ namespace: 'cn', name: 's1' });
    await expect(core.readNamespacedService({ namespace: 'cn', name: 's1' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('writes status through replaceNamespacedServiceStatus only', async () => {
    const created = await core.createNamespacedService({ namespace: 'cn', body: lb('s2') });
    created.status = { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } };
    const written = await core.replaceNamespacedServiceStatus({ namespace: 'cn', name: 's2', body: created });
    // A LoadBalancer Service's ingress IPs get ipMode VIP by default, as on the real server.
    expect(written.status?.loadBalancer?.ingress).toEqual([{ ip: '192.0.2.10', ipMode: 'VIP' }]);
    written.status = { loadBalancer: {} };
    const main = await core.replaceNamespacedService({ namespace: 'cn', name: 's2', body: written });
    expect(main.status?.loadBalancer?.ingress).toEqual([{ ip: '192.0.2.10', ipMode: 'VIP' }]);
  });
});

describe('informers', () => {
  it('follows adds, updates and deletes', async () => {
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/cn/services', () =>
      core.listNamespacedService({ namespace: 'cn' }),
    );
    const seen: string[] = [];
    informer.on('add', (s) => seen.push(`add ${s.metadata?.name}`));
    informer.on('update', (s) =>
      seen.push(`update ${s.metadata?.name} ${s.status?.loadBalancer?.ingress?.[0]?.ip ?? ''}`),
    );
    informer.on('delete', (s) => seen.push(`delete ${s.metadata?.name}`));
    await informer.start();
    try {
      await eventually(() => seen.includes('add s2'));
      const created = await core.createNamespacedService({ namespace: 'cn', body: lb('s3') });
      await eventually(() => seen.includes('add s3'));
      created.status = { loadBalancer: { ingress: [{ ip: '192.0.2.33' }] } };
      await core.replaceNamespacedServiceStatus({ namespace: 'cn', name: 's3', body: created });
      await eventually(() => seen.includes('update s3 192.0.2.33'));
      await core.deleteNamespacedService({ namespace: 'cn', name: 's3' });
      await eventually(() => seen.includes('delete s3'));
      expect(informer.list().map((s) => s.metadata?.name)).toEqual(['s2']);
    } finally {
      await informer.stop();
    }
  });

  it('with a label selector', async () => {
    const informer = k8s.makeInformer(
      kc,
      '/api/v1/namespaces/cn/configmaps',
      () => core.listNamespacedConfigMap({ namespace: 'cn', labelSelector: 'team=a' }),
      'team=a',
    );
    await informer.start();
    try {
      await core.createNamespacedConfigMap({
        namespace: 'cn',
        body: { metadata: { name: 'a1', labels: { team: 'a' } } },
      });
      await core.createNamespacedConfigMap({
        namespace: 'cn',
        body: { metadata: { name: 'b1', labels: { team: 'b' } } },
      });
      await eventually(() => informer.list().some((c) => c.metadata?.name === 'a1'));
      await core.patchNamespacedConfigMap(
        { namespace: 'cn', name: 'a1', body: { metadata: { labels: { team: 'b' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await eventually(() => informer.list().length === 0);
      expect(informer.list().some((c) => c.metadata?.name === 'b1')).toBe(false);
    } finally {
      await informer.stop();
    }
  });

  it('relists after 410 Gone and catches up', async () => {
    // A watch that resumes from a resourceVersion older than the history gets 410 and relists.
    const list = await core.listNamespacedConfigMap({ namespace: 'cn' });
    const staleVersion = list.metadata!.resourceVersion!;
    for (let i = 0; i < 60; i++) {
      await core.createNamespacedConfigMap({ namespace: 'cn', body: { metadata: { name: `bulk-${i}` } } });
    }
    const watch = new k8s.Watch(kc);
    const phases: string[] = [];
    let codes: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('watch did not end')), 10_000);
      void watch.watch(
        '/api/v1/namespaces/cn/configmaps',
        { resourceVersion: staleVersion },
        (phase, object: { code?: number }) => {
          phases.push(phase);
          if (object.code !== undefined) codes = [...codes, object.code];
        },
        () => {
          clearTimeout(timer);
          resolve();
        },
      );
    });
    expect(phases).toEqual(['ERROR']);
    expect(codes).toEqual([410]);

    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/cn/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'cn' }),
    );
    await informer.start();
    try {
      await eventually(
        () => informer.list().filter((c) => c.metadata?.name?.startsWith('bulk-')).length === 60,
      );
    } finally {
      await informer.stop();
    }
  });
});
