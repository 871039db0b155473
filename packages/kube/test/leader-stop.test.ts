/**
 * stop() racing an acquisition in flight: the elector must not start leading after it was
 * stopped (found when `portico controller` kept running after SIGTERM: the renewal in flight
 * emitted 'started' after 'stopped' and restarted the controller), and must hand the lease back.
 */
import { KubeConfig, CoordinationV1Api } from '@kubernetes/client-node';
import { API_SERVERS, startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, kubeconfigCredentials, LeaderElector } from '../src/index.js';

describe.each(API_SERVERS)('%s', (kind) => {
  let server: TestApiServer;
  let kc: KubeConfig;
  let kube: ApiClient;

  beforeAll(async () => {
    server = await startTestApiServer(kind);
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    kube = new ApiClient(kubeconfigCredentials(server.kubeconfig()));
  });
  afterAll(async () => {
    await kube?.close();
    await server?.close();
  });

  it.each([0, 1, 2, 5, 10, 20])(
    'stopped %i ms into its first acquisition, never leads and leaves the lease free',
    async (delayMs) => {
      const name = `stop-race-${delayMs}`;
      const elector = new LeaderElector(kube, {
        namespace: 'portico-system',
        name,
        identity: 'racer',
        leaseDurationMs: 10_000,
        renewDeadlineMs: 8_000,
        retryPeriodMs: 100,
      });
      const events: string[] = [];
      elector.on('started', () => events.push('started'));
      elector.on('stopped', () => events.push('stopped'));
      elector.on('error', () => events.push('error'));
      elector.start();
      await new Promise((r) => setTimeout(r, delayMs));
      const stoppedAt = events.length;
      await elector.stop();
      // Let any acquisition still in flight finish.
      await new Promise((r) => setTimeout(r, 500));
      expect(events.slice(stoppedAt)).not.toContain('started');
      expect(elector.isLeader).toBe(false);
      const lease = await kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ namespace: 'portico-system', name })
        .catch(() => undefined);
      // Either it never got to create the lease, or it gave it back.
      expect(lease?.spec?.holderIdentity ?? '').toBe('');
    },
  );
});
