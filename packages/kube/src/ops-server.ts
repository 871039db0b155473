import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from './node-http.js';
import type { Registry } from 'prom-client';

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Liveness: the process is working (its loops are not stuck). */
  healthy?: () => boolean;
  /** Readiness: the component can do its job (caches synced, config loaded, ...). */
  ready: () => boolean;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus text format), /healthz and /readyz for the kubelet's probes. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
      return;
    }
    const probe = path === '/healthz' || path === '/livez' ? (options.healthy ?? (() => true)) : undefined;
    const check = path === '/readyz' ? options.ready : probe;
    if (!check) {
      res.writeHead(404);
      res.end('not found\n');
      return;
    }
    const ok = check();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ok ? 'ok\n' : 'not ready\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
