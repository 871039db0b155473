// `portico ingress --gateway-address ADDR` (issue 14's test contract): one process serves Ingress
// on its HTTP port and every listener of our Gateways on ADDR at the listener's own port, side by
// side, against the development API server with the upstream Gateway API CRDs installed.
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import { hostEndpointAddress, installGatewayApiCrds, startTestApiServer } from '@portico/dev-kube-apiserver';
import { ApiClient, kubeconfigCredentials } from '@portico/kube';
import { run } from '../src/commands/ingress.js';
import { freePort } from './kit.js';

const dir = mkdtempSync(join(tmpdir(), 'portico-gateway-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const group = 'gateway.networking.k8s.io';

/** The answering pod's name, or our own status code; 0 while nothing listens. */
function getName(port: number, host: string): Promise<string | number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve(res.statusCode === 200 ? (JSON.parse(body) as { name: string }).name : (res.statusCode ?? 0)),
      );
    });
    req.on('error', () => resolve(0));
  });
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('portico ingress --gateway-address', () => {
  it('refuses a gateway address that is not an IP address', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(['--gateway-address', 'gateway.example.com'])).toBe(2);
      expect(error.mock.calls.flat().join('\n')).toContain('--gateway-address: not an IP address');
    } finally {
      error.mockRestore();
    }
  });

  it('serves Ingress and Gateway routes side by side', { timeout: 120_000 }, async () => {
    const api = await startTestApiServer('development');
    const podAddress = hostEndpointAddress();
    const pod = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: `pod for ${req.headers.host}` }));
    });
    await new Promise<void>((r) => pod.listen(0, podAddress, r));
    try {
      const kc = new KubeConfig();
      kc.loadFromString(api.kubeconfig());
      const kube = new ApiClient(kubeconfigCredentials(api.kubeconfig()));
      await installGatewayApiCrds(kube).finally(() => kube.close());
      const podPort = (pod.address() as AddressInfo).port;
      await kc.makeApiClient(CoreV1Api).createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 8080 }] } },
      });
      await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
        namespace: 'default',
        body: {
          metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: podPort }],
          endpoints: [{ addresses: [podAddress], conditions: { ready: true } }],
        },
      });
      const net = kc.makeApiClient(NetworkingV1Api);
      await net.createIngressClass({
        body: { metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } },
      });
      await net.createNamespacedIngress({
        namespace: 'default',
        body: {
          metadata: { name: 'classic' },
          spec: {
            ingressClassName: 'portico',
            rules: [
              {
                host: 'ingress.example.com',
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: { service: { name: 'web', port: { name: 'http' } } },
                    },
                  ],
                },
              },
            ],
          },
        },
      });
      const gatewayPort = await freePort();
      const custom = kc.makeApiClient(CustomObjectsApi);
      await custom.createClusterCustomObject({
        group,
        version: 'v1',
        plural: 'gatewayclasses',
        body: {
          apiVersion: `${group}/v1`,
          kind: 'GatewayClass',
          metadata: { name: 'portico' },
          spec: { controllerName: 'portico.dev/gateway-controller' },
        },
      });
      await custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'gateways',
        body: {
          apiVersion: `${group}/v1`,
          kind: 'Gateway',
          metadata: { name: 'web' },
          spec: {
            gatewayClassName: 'portico',
            listeners: [{ name: 'http', port: gatewayPort, protocol: 'HTTP' }],
          },
        },
      });
      await custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: 'default',
        plural: 'httproutes',
        body: {
          apiVersion: `${group}/v1`,
          kind: 'HTTPRoute',
          metadata: { name: 'app' },
          spec: {
            parentRefs: [{ name: 'web' }],
            hostnames: ['gateway.example.com'],
            rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }],
          },
        },
      });

      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, api.kubeconfig());
      const [httpPort, httpsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
      const exit = run([
        '--kubeconfig',
        kubeconfig,
        '--workers',
        '0',
        '--listen-address',
        '127.0.0.1',
        '--http-port',
        String(httpPort),
        '--https-port',
        String(httpsPort),
        '--metrics-port',
        String(metricsPort),
        '--no-leader-elect',
        '--no-access-log',
        '--shutdown-delay',
        '0',
        '--shutdown-grace',
        '0',
        '--gateway-address',
        '127.0.0.1',
      ]);
      await until(
        'the Gateway route',
        async () => (await getName(gatewayPort, 'gateway.example.com')) === 'pod for gateway.example.com',
      );
      expect(await getName(httpPort, 'ingress.example.com')).toBe('pod for ingress.example.com');
      // Each side serves only its own routes.
      expect(await getName(gatewayPort, 'ingress.example.com')).toBe(404);
      expect(await getName(httpPort, 'gateway.example.com')).toBe(404);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      // The controllers' metrics and the request metrics of both proxies, on the one metrics port.
      expect(metrics).toMatch(/^portico_gateway_httproutes_accepted 1$/m);
      expect(metrics).toMatch(/^portico_ingress_served_ingresses 1$/m);
      expect(metrics).toMatch(
        /^portico_ingress_requests_total\{status="200",ingress="default\/app",service="default\/web:8080"\} 1$/m,
      );
      process.emit('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      pod.closeAllConnections();
      await new Promise((r) => pod.close(r));
      await api.close();
    }
  });
});
