/**
 * The lab's kube-proxy stand-in against the development API server on loopback, no root needed:
 * it forwards a LoadBalancer IP:port to the Service's endpoints, follows EndpointSlice and Service
 * changes through watches, and lists each resource once instead of polling. The Service IP is
 * 127.0.0.2 (local on loopback already), so the test's `route` only records what would be routed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connectKube } from '@portico/kube';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';
import { hostEndpointAddress } from '@portico/dev-kube-apiserver';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabApi, KubeProxyStandIn } from '@portico/lab';
import { eventually } from './harness.js';

const serviceIp = '127.0.0.2';

/** Where the backends ("pods") listen: the API servers refuse loopback EndpointSlice addresses. */
const podIp = hostEndpointAddress();

/** A backend that answers every connection with its name and closes. */
async function backend(name: string): Promise<Server> {
  const server = createServer((socket) => socket.end(name));
  server.listen(0, podIp);
  await once(server, 'listening');
  return server;
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

/** A port free on the Service IP right now. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, serviceIp);
  await once(probe, 'listening');
  const port = portOf(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** What the forwarder at serviceIp:port answers, or undefined when the connection fails. */
function ask(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: serviceIp, port });
    let data = '';
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => resolve(data || undefined));
  });
}

const slice = (targetPort: number) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: 'default', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: targetPort, protocol: 'TCP' }],
  endpoints: [{ addresses: [podIp], nodeName: 'pfix-n1', conditions: { ready: true } }],
});

describe('kube-proxy stand-in', () => {
  const requests: { method: string; url: string }[] = [];
  const routes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'pfix-kube-proxy-'));
  let server: DevApiServer;
  let api: LabApi;
  let proxy: KubeProxyStandIn | undefined;
  let a: Server;
  let b: Server;
  let port: number;

  beforeAll(async () => {
    const sink = new Writable({
      write(line: Buffer, _encoding, done) {
        requests.push(JSON.parse(line.toString()) as { method: string; url: string });
        done();
      },
    });
    server = await startDevApiServer({ logger: pino({ level: 'debug' }, sink) });
    writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
    api = new LabApi(server.url.replace(/\/$/, ''));
    [a, b, port] = await Promise.all([backend('A'), backend('B'), freePort()]);
    await api.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'default', name: 'web' },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Cluster',
        ports: [{ name: 'http', port, targetPort: 8080, protocol: 'TCP' }],
      },
      status: { loadBalancer: { ingress: [{ ip: serviceIp }] } },
    });
    await api.apply(slice(portOf(a)));
  });

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([a, b].map((s) => new Promise((resolve) => s?.close(resolve))));
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Finished list requests (a watch logs only when it ends) of a collection across namespaces. */
  const lists = (path: string) =>
    requests.filter((r) => r.method === 'GET' && r.url.split('?')[0] === path && !r.url.includes('watch='))
      .length;

  it('forwards, follows endpoint and Service changes by watching, and lists only once', async () => {
    const started = Date.now();
    proxy = new KubeProxyStandIn({
      api: connectKube(join(dir, 'kubeconfig')),
      nodeName: 'pfix-n1',
      route: (action, ip) => routes.push(`${action} ${ip}`),
      log: () => {},
    });
    await proxy.start();
    expect(routes).toEqual([`replace ${serviceIp}`]);
    await eventually(
      async () => ((await ask(port)) === 'A' ? true : undefined),
      5_000,
      'backend A to answer',
    );

    await api.apply(slice(portOf(b)));
    await eventually(
      async () => ((await ask(port)) === 'B' ? true : undefined),
      5_000,
      'backend B to answer',
    );

    // Polling every 500 ms would have listed each collection several times by now.
    const elapsed = Date.now() - started;
    if (elapsed < 2_000) await new Promise((r) => setTimeout(r, 2_000 - elapsed));
    expect(lists('/api/v1/services')).toBe(1);
    expect(lists('/apis/discovery.k8s.io/v1/endpointslices')).toBe(1);

    await api.delete('v1', 'Service', 'default', 'web');
    await eventually(() => (routes.includes(`del ${serviceIp}`) ? true : undefined), 5_000, 'the IP to go');
    expect(await ask(port)).toBeUndefined();
  }, 30_000);
});
