/**
 * The development API server itself: plain HTTP on loopback, no authentication (any bearer token
 * is accepted), health and discovery endpoints, resource endpoints (resource-handler.ts), errors
 * as Status objects, and request logging at debug level. `startDevApiServer` wires the store,
 * the watch hub and the registry together.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { apiGroup, apiGroupList, apiResourceList, coreVersions, versionInfo } from './discovery.js';
import { ApiError, plainNotFound } from './errors.js';
import { sendJson } from './http-io.js';
import { devKubeconfig } from './kubeconfig.js';
import { openApiV3GroupVersion, openApiV3Root } from './openapi.js';
import { Registry } from './registry.js';
import { handleResource } from './resource-handler.js';
import { route } from './router.js';
import type { ServiceNetworkOptions } from './service-registry.js';
import { Store } from './store.js';
import { WatchHub } from './watch-hub.js';

export interface DevApiServerOptions extends ServiceNetworkOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Listen address; 127.0.0.1 by default. */
  host?: string;
  /** How many change events are kept for watch resumption; older resourceVersions get 410 Gone. */
  historyLimit?: number;
  /** Interval of BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs?: number;
  /** Request log (debug level); silent when absent. */
  logger?: Logger;
}

export interface DevApiServer {
  url: string;
  port: number;
  /** The registry behind the server, for tests that want to inspect allocations. */
  registry: Registry;
  close(): Promise<void>;
  /** A kubeconfig (YAML) for this server, context `portico-dev`. */
  kubeconfig(): string;
}

export async function startDevApiServer(options: DevApiServerOptions = {}): Promise<DevApiServer> {
  const host = options.host ?? '127.0.0.1';
  const hub = new WatchHub(options.historyLimit ?? 100_000);
  const store = new Store(hub);
  const registry = new Registry(store, options);
  registry.bootstrap();
  const logger = options.logger ?? pino({ level: 'silent' });
  const watchOptions = { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 15_000 };
  let address = '';

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const params = url.searchParams;
    const target = route(url.pathname, registry.catalog);
    switch (target.kind) {
      case 'health':
        response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('ok');
        return;
      case 'version':
        return sendJson(response, 200, versionInfo());
      case 'coreVersions':
        return sendJson(response, 200, coreVersions(address));
      case 'groupList':
        return sendJson(response, 200, apiGroupList(registry.catalog));
      case 'group': {
        const doc = apiGroup(registry.catalog, target.group);
        if (!doc) throw plainNotFound();
        return sendJson(response, 200, doc);
      }
      case 'resourceList': {
        const doc = apiResourceList(registry.catalog, target.group, target.version);
        if (!doc) throw plainNotFound();
        return sendJson(response, 200, doc);
      }
      case 'openapi': {
        if (target.version !== 'v3') throw plainNotFound();
        const doc =
          target.path === ''
            ? openApiV3Root(registry.catalog)
            : openApiV3GroupVersion(registry.catalog, target.path);
        if (!doc) throw plainNotFound();
        return sendJson(response, 200, doc);
      }
      case 'resource':
        return handleResource(request, response, target, params, { registry, hub, watchOptions });
    }
  }

  const server = createServer((request, response) => {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      logger.debug(
        {
          method: request.method,
          url: request.url,
          status: response.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    handle(request, response).catch((error: unknown) => {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`);
      if (apiError.code === 500) logger.error({ err: error, url: request.url }, 'request failed');
      if (response.headersSent) {
        response.end();
        return;
      }
      sendJson(response, apiError.code, apiError.toStatus());
    });
  });
  // Watches stay open indefinitely; do not let Node's defaults cut them.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  address = `${urlHost}:${port}`;

  return {
    url,
    port,
    registry,
    kubeconfig: () => devKubeconfig(url),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
