/**
 * The informer (list, then watch) against both API servers: the exact add/update/delete sequence a
 * handler sees; its cache through an API outage; and a relist, with no event lost or repeated,
 * when the resourceVersion it would resume from has expired.
 *
 * An outage is a TCP proxy between informer and API server that is torn down (every connection
 * reset) and started again on the same port. Expiry is forced: kube-apiserver serves watches
 * straight from etcd (watch cache off) and etcd is compacted; the development API server keeps a
 * short change history and is pushed past it with writes in another namespace.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { CoreV1Api, KubeConfig, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { startDevApiServer } from '@portico/dev-apiserver';
import { API_SERVERS, type ApiServerKind, startKubeApiServer } from '@portico/dev-kube-apiserver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  createInformer,
  kubeconfigCredentials,
  runInformer,
  type RunningInformer,
} from '../src/index.js';

/** Changes the development API server remembers for watch resumption (kube-apiserver: etcd's). */
const devHistory = 20;

interface Server {
  port: number;
  kubeconfig(): string;
  /** Makes every resourceVersion issued so far too old to resume a watch from (410 Gone). */
  expire(): Promise<void>;
  close(): Promise<void>;
}

async function startServer(kind: ApiServerKind): Promise<Server> {
  if (kind === 'kube-apiserver') {
    const kube = await startKubeApiServer({ watchCache: false });
    return {
      port: kube.port,
      kubeconfig: () => kube.kubeconfig(),
      expire: async () => void (await kube.compact()),
      close: () => kube.close(),
    };
  }
  const dev = await startDevApiServer({ port: 0, historyLimit: devHistory });
  const filler = new KubeConfig();
  filler.loadFromString(dev.kubeconfig());
  const api = filler.makeApiClient(CoreV1Api);
  let n = 0;
  return {
    port: dev.port,
    kubeconfig: () => dev.kubeconfig(),
    // Writes outside the watched namespace push the history past everything issued before.
    expire: async () => {
      for (let i = 0; i < devHistory; i++)
        await api.createNamespacedConfigMap({
          namespace: 'kube-system',
          body: { metadata: { name: `filler-${n++}` } },
        });
    },
    close: () => dev.close(),
  };
}

async function startProxy(port: number, target: number) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(API_SERVERS)('%s', (kind) => {
  let server: Server;
  let api: CoreV1Api;
  let proxy: { port: number; close(): Promise<void> } | undefined;
  let running: RunningInformer | undefined;
  let client: ApiClient | undefined;
  let namespaces = 0;
  let namespace: string;

  beforeAll(async () => {
    server = await startServer(kind);
    const direct = new KubeConfig();
    direct.loadFromString(server.kubeconfig());
    api = direct.makeApiClient(CoreV1Api);
  });
  afterAll(() => server?.close());
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await client?.close();
    client = undefined;
    await proxy?.close();
    proxy = undefined;
  });

  /** Each test watches a namespace of its own (kube-apiserver cannot delete one without its controllers). */
  async function freshNamespace(): Promise<string> {
    namespace = `informer-${namespaces++}`;
    await api.createNamespace({ body: { metadata: { name: namespace } } });
    return namespace;
  }

  const create = (name: string, v = '1') =>
    api.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { v } } });
  const update = async (name: string, v: string) => {
    const cm = await api.readNamespacedConfigMap({ name, namespace });
    await api.replaceNamespacedConfigMap({ name, namespace, body: { ...cm, data: { v } } });
  };
  const remove = (name: string) => api.deleteNamespacedConfigMap({ name, namespace });

  /** Starts an informer on the test's namespace through a proxy (so the test can cut it off). */
  async function watched() {
    proxy = await startProxy(0, server.port);
    client = new ApiClient(
      kubeconfigCredentials(server.kubeconfig().replace(`:${server.port}`, `:${proxy.port}`)),
    );
    const informer = createInformer<V1ConfigMap>(client, 'configmaps', { namespace });
    // What a handler sees, in order: verb, name and the data it carries.
    const seen: string[] = [];
    for (const verb of ['add', 'update', 'delete'] as const)
      informer.on(verb, (cm) => seen.push(`${verb} ${cm.metadata?.name} v${cm.data?.v}`));
    const errors: unknown[] = [];
    running = runInformer(informer, (err) => errors.push(err), 500);
    await running.synced;
    return { informer, seen, errors, proxyPort: proxy.port };
  }

  it('lists, then watches: a handler sees every add, update and delete once, in order', async () => {
    await freshNamespace();
    await create('a');
    await create('b');
    const { informer, seen, errors } = await watched();
    await create('c');
    await update('a', '2');
    await remove('b');
    await until(() => seen.length === 5, 'five events');
    expect(seen).toEqual(['add a v1', 'add b v1', 'add c v1', 'update a v2', 'delete b v1']);
    expect(
      informer
        .list(namespace)
        .map((cm) => cm.metadata?.name)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(errors).toEqual([]);
  });

  it('keeps its cache through an API outage and catches up afterwards', { timeout: 60_000 }, async () => {
    await freshNamespace();
    await create('before');
    const { informer, errors, proxyPort } = await watched();
    expect(informer.get('before', namespace)).toBeDefined();

    await proxy!.close();
    await create('during');
    await new Promise((r) => setTimeout(r, 1500));
    // The outage was noticed, and the cache still holds what it knew.
    expect(errors.length).toBeGreaterThan(0);
    expect(informer.get('before', namespace)).toBeDefined();
    expect(informer.get('during', namespace)).toBeUndefined();

    proxy = await startProxy(proxyPort, server.port);
    await create('after');
    await until(() => informer.get('after', namespace) !== undefined, 'the informer to catch up');
    expect(informer.get('during', namespace)).toBeDefined();
  });

  it(
    'relists when its resourceVersion expired, losing and repeating no event',
    { timeout: 60_000 },
    async () => {
      await freshNamespace();
      for (const name of ['a', 'b', 'c']) await create(name);
      const { informer, seen, errors, proxyPort } = await watched();
      expect(seen).toEqual(['add a v1', 'add b v1', 'add c v1']);

      await proxy!.close();
      await until(() => errors.length > 0, 'the informer to notice the outage');
      const resumeFrom = informer.latestResourceVersion();
      // While it is cut off: one change of each kind, then its resourceVersion expires.
      await update('a', '2');
      await remove('b');
      await create('d');
      await server.expire();
      await expectExpired(resumeFrom);

      proxy = await startProxy(proxyPort, server.port);
      await until(() => informer.get('d', namespace) !== undefined, 'the relist');
      await update('c', '2');
      await until(() => seen.length === 7, 'seven events');
      // The relist reports what changed while it was away (deletions first), then the watch goes on.
      expect(seen).toEqual([
        'add a v1',
        'add b v1',
        'add c v1',
        'delete b v1',
        'update a v2',
        'add d v1',
        'update c v2',
      ]);
      // Nothing more arrives late (a duplicate would).
      await new Promise((r) => setTimeout(r, 500));
      expect(seen).toHaveLength(7);
    },
  );

  /** A watch from RESOURCE_VERSION is refused as too old: the informer cannot resume, it must relist. */
  async function expectExpired(resourceVersion: string): Promise<void> {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    const outcome = await new Promise<number | undefined>((resolve) => {
      let code: number | undefined;
      void new Watch(kc).watch(
        `/api/v1/namespaces/${namespace}/configmaps`,
        { resourceVersion },
        (type, obj: { code?: number }) => {
          if (type === 'ERROR') code = obj.code;
        },
        (err: { statusCode?: number } | null) => resolve(err?.statusCode ?? code),
      );
    });
    expect(outcome).toBe(410);
  }
});
