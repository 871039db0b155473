/**
 * The lean Kubernetes client (issue 12's client path): one kept-alive pool per API server, plain
 * JSON objects, a reflector that relists after 410 Gone without losing or repeating an event, and
 * every kind of credential — against the real kube-apiserver, and the development API server where
 * it applies.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevApiServer } from '@portico/dev-apiserver';
import { startKubeApiServer, type KubeApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  ApiError,
  fileTokenSource,
  inClusterCredentials,
  kubeconfigCredentials,
  Reflector,
  type ApiServerCredentials,
  type ReflectorEvent,
} from '../src/index.js';

async function eventually<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP relay we can cut and restore: the way to make a watch miss events while the server goes on. */
async function relay(targetPort: number) {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore: () => (open = true),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const configMap = (name: string, value: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data: { value },
});

type Servers = {
  kind: string;
  start: () => Promise<{ url: string; kubeconfig(): string; close(): Promise<void> }>;
};
const servers: Servers[] = [
  { kind: 'development', start: () => startDevApiServer({ port: 0, historyLimit: 20 }) },
  { kind: 'kube-apiserver', start: () => startKubeApiServer({ watchCache: false }) },
];

describe.each(servers)('on the $kind API server', ({ kind, start }) => {
  let server: Awaited<ReturnType<Servers['start']>>;
  let credentials: ApiServerCredentials;
  let client: ApiClient;

  beforeAll(async () => {
    server = await start();
    credentials = kubeconfigCredentials(server.kubeconfig());
    client = new ApiClient(credentials);
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('creates, reads, conflicts and misses with plain objects and ApiErrors carrying the status', async () => {
    const created = await client.request<{ metadata: { resourceVersion: string } }>(
      'POST',
      '/api/v1/namespaces/default/configmaps',
      { body: configMap('crud', 'one') },
    );
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    const read = await client.request<{ data: { value: string } }>(
      'GET',
      '/api/v1/namespaces/default/configmaps/crud',
    );
    expect(read.data.value).toBe('one');
    const stale = {
      ...configMap('crud', 'two'),
      metadata: { ...configMap('crud', 'two').metadata, resourceVersion: '1' },
    };
    const conflict = await client
      .request('PUT', '/api/v1/namespaces/default/configmaps/crud', { body: stale })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ApiError);
    expect((conflict as ApiError).code).toBe(409);
    expect((conflict as ApiError).reason).toBe('Conflict');
    const missing = await client
      .request('GET', '/api/v1/namespaces/default/configmaps/nope')
      .catch((e: unknown) => e);
    expect((missing as ApiError).code).toBe(404);
    const patched = await client.request<{ data: { value: string } }>(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/crud',
      {
        body: { data: { value: 'patched' } },
        contentType: 'application/merge-patch+json',
      },
    );
    expect(patched.data.value).toBe('patched');
  });

  it('sends a burst of 300 requests over a handful of kept-alive connections', async () => {
    const burst = new ApiClient(credentials, { connections: 8 });
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, burst.connectedSockets)), 1);
    try {
      await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          burst.request('GET', '/api/v1/namespaces/default/configmaps', { query: { limit: 1, i } }),
        ),
      );
      most = Math.max(most, burst.connectedSockets);
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(8);
      // Kept alive: still open after the burst, ready for the next call.
      expect(burst.connectedSockets).toBeGreaterThan(0);
    } finally {
      clearInterval(sampler);
      await burst.close();
    }
  });

  it('lists in pages, then watches: every change arrives once, in order, as plain projected objects', async () => {
    for (let i = 0; i < 7; i++)
      await client.request('POST', '/api/v1/namespaces/default/configmaps', {
        body: configMap(`paged-${i}`, `${i}`),
      });
    const events: ReflectorEvent<{ name: string; value: string; metadata: { resourceVersion?: string } }>[] =
      [];
    const reflector = new Reflector(client, {
      path: '/api/v1/namespaces/default/configmaps',
      labelSelector: undefined,
      pageSize: 3,
      project: (o) => {
        const cm = o as { metadata: { name: string; resourceVersion?: string }; data?: { value?: string } };
        return {
          name: cm.metadata.name,
          value: cm.data?.value ?? '',
          metadata: { resourceVersion: cm.metadata.resourceVersion },
        };
      },
      onEvent: (e) => events.push(e),
    });
    reflector.start();
    try {
      await reflector.synced;
      const initial = events.filter((e) => e.object.name.startsWith('paged-'));
      expect(initial.map((e) => `${e.type} ${e.object.name}`)).toEqual(
        Array.from({ length: 7 }, (_, i) => `add paged-${i}`),
      );
      events.length = 0;
      await client.request('PATCH', '/api/v1/namespaces/default/configmaps/paged-1', {
        body: { data: { value: 'changed' } },
        contentType: 'application/merge-patch+json',
      });
      await client.request('DELETE', '/api/v1/namespaces/default/configmaps/paged-2');
      await client.request('POST', '/api/v1/namespaces/default/configmaps', {
        body: configMap('paged-new', 'n'),
      });
      await eventually('three watch events', () => events.length >= 3);
      expect(events.map((e) => `${e.type} ${e.object.name} ${e.object.value}`)).toEqual([
        'update paged-1 changed',
        'delete paged-2 2',
        'add paged-new n',
      ]);
      // Only the projected fields are kept.
      expect(Object.keys(reflector.get('default', 'paged-new')!)).toEqual(['name', 'value', 'metadata']);
    } finally {
      reflector.stop();
    }
  });

  it('after its resourceVersion expired (410 Gone), relists and reports exactly the differences', async () => {
    const url = new URL(server.url);
    const cutable = await relay(Number(url.port));
    const relayed = new ApiClient({ ...credentials, server: `${url.protocol}//127.0.0.1:${cutable.port}` });
    for (const name of ['keep', 'change', 'remove'])
      await client.request('POST', '/api/v1/namespaces/default/configmaps', {
        body: configMap(`gone-${name}`, 'v1'),
      });
    const events: string[] = [];
    const reflector = new Reflector(relayed, {
      path: '/api/v1/namespaces/default/configmaps',
      labelSelector: undefined,
      fieldSelector: undefined,
      project: (o) => o as { metadata: { name: string; resourceVersion?: string }; data?: { value: string } },
      onEvent: (e) => {
        if (e.object.metadata.name.startsWith('gone-'))
          events.push(`${e.type} ${e.object.metadata.name} ${e.object.data?.value}`);
      },
      maxBackoffMs: 200,
    });
    reflector.start();
    try {
      await reflector.synced;
      expect(events.sort()).toEqual(['add gone-change v1', 'add gone-keep v1', 'add gone-remove v1']);
      events.length = 0;
      cutable.cut();
      await client.request('PATCH', '/api/v1/namespaces/default/configmaps/gone-change', {
        body: { data: { value: 'v2' } },
        contentType: 'application/merge-patch+json',
      });
      await client.request('DELETE', '/api/v1/namespaces/default/configmaps/gone-remove');
      await client.request('POST', '/api/v1/namespaces/default/configmaps', {
        body: configMap('gone-added', 'v1'),
      });
      // Push the reflector's resourceVersion out of the server's history.
      if (kind === 'kube-apiserver') {
        await client.request('POST', '/api/v1/namespaces/default/configmaps', {
          body: configMap('compaction-filler', 'x'),
        });
        await (server as KubeApiServer).compact();
      } else {
        // The development server keeps the last 20 changes (historyLimit above).
        for (let i = 0; i < 25; i++)
          await client.request('PATCH', '/api/v1/namespaces/default/configmaps/gone-keep', {
            body: { metadata: { annotations: { n: String(i) } } },
            contentType: 'application/merge-patch+json',
          });
      }
      const listsBefore = reflector.lists;
      cutable.restore();
      await eventually('a relist', () => reflector.lists > listsBefore);
      await eventually('the differences', () => events.length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      const expected = ['add gone-added v1', 'delete gone-remove v1', 'update gone-change v2'];
      if (kind === 'development') expected.push('update gone-keep v1'); // its annotations changed meanwhile
      expect(events.sort()).toEqual(expected.sort());
    } finally {
      reflector.stop();
      await relayed.close();
      await cutable.close();
    }
  });
});

describe('credentials against the real kube-apiserver', () => {
  // The development API server authenticates nobody, so only the real one can refuse a credential.
  let server: KubeApiServer;
  let dir: string;
  const whoCanList = async (credentials: ApiServerCredentials) => {
    const client = new ApiClient(credentials);
    try {
      return await client.request<{ kind: string }>('GET', '/api/v1/namespaces/kube-system/secrets', {
        query: { limit: 1 },
      });
    } finally {
      await client.close();
    }
  };
  const kubeconfigWith = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: server.url,
            'certificate-authority-data': Buffer.from(server.caCert).toString('base64'),
            ...cluster,
          },
        },
      ],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'portico-system' } }],
      'current-context': 'ctx',
    });

  beforeAll(async () => {
    server = await startKubeApiServer();
    dir = mkdtempSync(join(tmpdir(), 'portico-creds-'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a bearer token in the kubeconfig, and the context namespace', async () => {
    const creds = kubeconfigCredentials(kubeconfigWith({ token: server.adminToken }));
    expect(creds.namespace).toBe('portico-system');
    expect((await whoCanList(creds)).kind).toBe('SecretList');
  });

  it('a wrong token is refused with 401', async () => {
    const err = await whoCanList(kubeconfigCredentials(kubeconfigWith({ token: 'wrong' }))).catch(
      (e: unknown) => e,
    );
    expect((err as ApiError).code).toBe(401);
  });

  it('a client certificate from files relative to the kubeconfig', async () => {
    writeFileSync(join(dir, 'client.crt'), server.adminClientCert.cert);
    writeFileSync(join(dir, 'client.key'), server.adminClientCert.key);
    const creds = kubeconfigCredentials(
      kubeconfigWith({ 'client-certificate': 'client.crt', 'client-key': 'client.key' }),
      dir,
    );
    expect((await whoCanList(creds)).kind).toBe('SecretList');
  });

  it('insecure-skip-tls-verify without a CA; and without it, an untrusted server is refused', async () => {
    const insecure = kubeconfigCredentials(
      kubeconfigWith(
        { token: server.adminToken },
        { 'certificate-authority-data': undefined, 'insecure-skip-tls-verify': true },
      ),
    );
    expect((await whoCanList(insecure)).kind).toBe('SecretList');
    const untrusted = kubeconfigCredentials(
      kubeconfigWith({ token: server.adminToken }, { 'certificate-authority-data': undefined }),
    );
    await expect(whoCanList(untrusted)).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('an exec credential plugin, run once for many requests', async () => {
    const plugin = join(dir, 'plugin.sh');
    const runs = join(dir, 'plugin-runs');
    writeFileSync(
      plugin,
      `#!/bin/sh\necho run >> ${runs}\n` +
        `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'"$TOKEN"'"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const creds = kubeconfigCredentials(
      kubeconfigWith({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: './plugin.sh',
          env: [{ name: 'TOKEN', value: server.adminToken }],
        },
      }),
      dir,
    );
    const client = new ApiClient(creds);
    try {
      await Promise.all(Array.from({ length: 10 }, () => client.request('GET', '/api/v1/namespaces')));
    } finally {
      await client.close();
    }
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(runs, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('in a pod: the ServiceAccount token is re-read after it rotates (a 401 triggers the re-read)', async () => {
    const sa = join(dir, 'serviceaccount');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(sa);
    writeFileSync(join(sa, 'ca.crt'), server.caCert);
    writeFileSync(join(sa, 'namespace'), 'portico-system\n');
    writeFileSync(join(sa, 'token'), 'expired-token');
    const creds = inClusterCredentials(
      { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(server.port) },
      sa,
    );
    expect(creds.namespace).toBe('portico-system');
    const client = new ApiClient(creds);
    try {
      expect(
        ((await client.request('GET', '/api/v1/namespaces').catch((e: unknown) => e)) as ApiError).code,
      ).toBe(401);
      // kubelet rotates the token file; the next 401 makes the client read it again.
      writeFileSync(join(sa, 'token'), server.adminToken);
      expect((await client.request<{ kind: string }>('GET', '/api/v1/namespaces')).kind).toBe(
        'NamespaceList',
      );
    } finally {
      await client.close();
    }
  });

  it('a token file that is re-read when older than its maximum age', async () => {
    const file = join(dir, 'token-file');
    writeFileSync(file, 'first');
    const source = fileTokenSource(file, 50);
    expect(await source.token()).toBe('first');
    writeFileSync(file, 'second');
    expect(await source.token()).toBe('first');
    await new Promise((r) => setTimeout(r, 80));
    expect(await source.token()).toBe('second');
  });
});
