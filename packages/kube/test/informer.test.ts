/**
 * The informer keeps its cache through an API server outage and resumes when it comes back. The
 * outage is a TCP proxy between client and development API server that is torn down (every
 * connection reset) and started again on the same port.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { afterEach, expect, it } from 'vitest';
import { createInformer, runInformer } from '../src/index.js';
import { startDevApiServer } from '@portico/dev-apiserver';

type Dev = Awaited<ReturnType<typeof startDevApiServer>>;
let dev: Dev | undefined;
let proxy: { close(): Promise<void> } | undefined;

afterEach(async () => {
  await proxy?.close();
  await dev?.close();
});

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

it('keeps its cache through an API outage and catches up afterwards', { timeout: 60_000 }, async () => {
  dev = await startDevApiServer({ port: 0 });
  const first = await startProxy(0, dev.port);
  proxy = first;
  const client = new KubeConfig();
  client.loadFromString(dev.kubeconfig().replace(`:${dev.port}`, `:${first.port}`));
  const direct = new KubeConfig();
  direct.loadFromString(dev.kubeconfig());
  const api = direct.makeApiClient(CoreV1Api);
  const create = (name: string) =>
    api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });

  await create('before');
  const informer = createInformer<V1ConfigMap>(client, 'configmaps', { namespace: 'default' });
  const errors: unknown[] = [];
  const running = runInformer(informer, (err) => errors.push(err), 500);
  await running.synced;
  expect(informer.get('before', 'default')).toBeDefined();

  await first.close();
  await create('during');
  await new Promise((r) => setTimeout(r, 1500));
  // The outage was noticed, and the cache still holds what it knew.
  expect(errors.length).toBeGreaterThan(0);
  expect(informer.get('before', 'default')).toBeDefined();
  expect(informer.get('during', 'default')).toBeUndefined();

  proxy = await startProxy(first.port, dev.port);
  await create('after');
  await until(() => informer.get('after', 'default') !== undefined, 'the informer to catch up');
  expect(informer.get('during', 'default')).toBeDefined();
  await running.stop();
});
