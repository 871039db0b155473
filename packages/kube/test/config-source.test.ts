/**
 * ConfigSource against both API servers: without the metallb.io CRDs it starts, reads nothing
 * from them, says so once per kind and does not retry in a loop; the ConfigMap wins while it
 * exists; CRDs installed later are found at the next look; Secrets named by a BGPPeer's
 * passwordSecret are read by name and a changed password is taken at the next look.
 */
import { Writable } from 'node:stream';
import {
  API_SERVERS,
  installMetallbCrds,
  startTestApiServer,
  type TestApiServer,
} from '@portico/dev-kube-apiserver';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, applyObject, ConfigSource, kubeconfigCredentials } from '../src/index.js';

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    api = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
  });
  afterAll(async () => {
    await api?.close();
    await server?.close();
  });

  it('reads the ConfigMap or the resources, CRDs installed late, and named Secrets', async () => {
    const namespace = 'source-test';
    await applyObject(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    const lines: { event?: string; kind?: string; msg?: string }[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
          done();
        },
      }),
    );
    let changes = 0;
    const source = new ConfigSource({
      api,
      namespace,
      configMapName: 'config',
      logger,
      onChange: () => changes++,
      crdRecheckMs: 200,
    });
    await source.start();
    try {
      // No CRDs, no ConfigMap: nothing to read, and each missing kind said once.
      expect(source.read()).toEqual({ source: 'none' });
      const missing = () => lines.filter((l) => l.event === 'crdMissing').map((l) => l.kind);
      expect(missing().sort()).toEqual(
        [
          'bfdprofiles.metallb.io',
          'bgpadvertisements.metallb.io',
          'bgppeers.metallb.io',
          'communities.metallb.io',
          'ipaddresspools.metallb.io',
          'l2advertisements.metallb.io',
        ].sort(),
      );
      await new Promise((r) => setTimeout(r, 700));
      expect(missing()).toHaveLength(6);
      expect(lines.filter((l) => l.msg === 'configuration watch failed, retrying')).toEqual([]);

      await applyObject(api, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'config', namespace },
        data: { config: 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses: [192.0.2.0/30]\n' },
      });
      const fromConfigMap = await waitFor('the ConfigMap', () => {
        const r = source.read();
        return r.source === 'configmap' ? r : undefined;
      });
      expect(fromConfigMap.result.ok && fromConfigMap.result.config.pools.map((p) => p.name)).toEqual(['cm']);

      // The CRDs come later: found within crdRecheckMs, but the ConfigMap still wins.
      await installMetallbCrds(api);
      await waitFor('every kind found', () => lines.filter((l) => l.event === 'crdFound').length === 6);
      const resource = (
        k: string,
        name: string,
        spec: Record<string, unknown>,
        apiVersion = 'metallb.io/v1beta1',
      ) => applyObject(api, { apiVersion, kind: k, metadata: { name, namespace }, spec } as never);
      await resource('IPAddressPool', 'crs', { addresses: ['198.51.100.0/30'] });
      await resource(
        'BGPPeer',
        'tor',
        {
          myASN: 64500,
          peerASN: 64501,
          peerAddress: '192.0.2.254',
          passwordSecret: { name: 'bgp-password' },
        },
        'metallb.io/v1beta2',
      );
      const before = changes;
      await waitFor('a change', () => changes > before);
      expect(source.read().source).toBe('configmap');

      // Without the ConfigMap the resources are read; the Secret is missing: refused, naming it.
      await api.request('DELETE', `/api/v1/namespaces/${namespace}/configmaps/config`);
      const refused = await waitFor('the resources, refused', () => {
        const r = source.read();
        return r.source === 'resources' && !r.result.ok ? r : undefined;
      });
      expect(refused.result.ok ? [] : refused.result.errors).toEqual([
        expect.stringMatching(/^BGPPeer "tor": spec\.passwordSecret\.name: .*no Secret "bgp-password"/),
      ]);
      expect(refused.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['BGPPeer/tor']);

      const secret = (password: string) =>
        applyObject(api, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'bgp-password', namespace },
          type: 'kubernetes.io/basic-auth',
          data: { password: Buffer.from(password).toString('base64') },
        } as never);
      await secret('first');
      const password = () => {
        const r = source.read();
        return r.source === 'resources' && r.result.ok ? r.result.config.peers[0]?.password : undefined;
      };
      expect(await waitFor('the password', password)).toBe('first');
      await secret('second');
      expect(await waitFor('the new password', () => password() === 'second')).toBe(true);
      const ok = source.read();
      expect(ok.source === 'resources' && ok.result.ok && ok.result.config.pools.map((p) => p.name)).toEqual([
        'crs',
      ]);
    } finally {
      await source.stop();
    }
  });
});
