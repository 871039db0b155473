/**
 * The HTTP face of the development API server: plain HTTP on loopback, no authentication (any
 * bearer token is accepted), JSON bodies (YAML accepted for apply), the Status error format, and
 * request logging at debug level. `startDevApiServer` wires store, watch hub and registry.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { apiGroup, apiGroupList, apiResourceList, coreVersions, versionInfo } from './discovery.js';
import { ApiError, badRequest, methodNotAllowed, plainNotFound } from './errors.js';
import type { JsonObject } from './json.js';
import { devKubeconfig } from './kubeconfig.js';
import { openApiV3GroupVersion, openApiV3Root } from './openapi.js';
import { Registry, type PatchType, type Scope } from './registry.js';
import { decodeKubernetesProtobuf } from './protobuf.js';
import { apiVersionOf } from './resources.js';
import { route } from './router.js';
import { listJson, objectJson } from './serialize.js';
import type { ServiceNetworkOptions } from './service-registry.js';
import { Store } from './store.js';
import { includeObjectParam, toTable, wantsTable } from './table.js';
import { serveWatch } from './watch-stream.js';
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

const MAX_BODY_BYTES = 3 * 1024 * 1024;

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'BadRequest', 'Request entity too large: limit is 3145728'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function mediaType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

function parseBody(body: Buffer, type: string): unknown {
  if (type === 'application/vnd.kubernetes.protobuf') return decodeKubernetesProtobuf(body);
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    if (type === 'application/json' || type.endsWith('+json')) return JSON.parse(text);
    if (type === 'application/yaml' || type.endsWith('+yaml')) return parseYaml(text);
  } catch (error) {
    throw badRequest(`error decoding request body: ${(error as Error).message}`);
  }
  throw new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
  );
}

function sendJson(response: ServerResponse, code: number, body: unknown): void {
  sendText(response, code, JSON.stringify(body));
}

function sendText(response: ServerResponse, code: number, text: string): void {
  response.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

function booleanParam(params: URLSearchParams, name: string): boolean {
  const v = params.get(name);
  return v === 'true' || v === '1';
}

function integerParam(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid ${name}: ${v}`);
  return Number(v);
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
    const method = request.method ?? 'GET';
    const target = route(url.pathname);
    const readOnly = method === 'GET' || method === 'HEAD';
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
        return sendJson(response, 200, apiGroupList());
      case 'group': {
        const doc = apiGroup(target.group);
        if (!doc) throw plainNotFound();
        return sendJson(response, 200, doc);
      }
      case 'resourceList': {
        const doc = apiResourceList(target.group, target.version);
        if (!doc) throw plainNotFound();
        return sendJson(response, 200, doc);
      }
      case 'openapi': {
        if (target.version !== 'v3') throw plainNotFound();
        const doc = target.path === '' ? openApiV3Root() : openApiV3GroupVersion(target.path);
        if (!doc) throw plainNotFound();
        return sendJson(response, 200, doc);
      }
      case 'resource':
        break;
    }
    if (!readOnly && target.legacyWatch) throw methodNotAllowed();
    // Refused rather than ignored: a dry run that silently wrote would be worse than an error.
    if (!readOnly && params.has('dryRun'))
      throw badRequest('dryRun is not supported by the development API server');
    const scope: Scope = {
      resource: target.resource,
      ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
      ...(target.name !== undefined ? { name: target.name } : {}),
      ...(target.subresource ? { subresource: target.subresource } : {}),
    };
    const selectors = {
      labelSelector: params.get('labelSelector'),
      fieldSelector: params.get('fieldSelector'),
    };
    switch (method) {
      case 'GET':
      case 'HEAD': {
        // Server-side printing for kubectl get: the object's Table, one row per object.
        const table = wantsTable(request.headers.accept);
        const include = includeObjectParam(params.get('includeObject'));
        const tableOf = (objects: JsonObject[], withColumns: boolean): JsonObject =>
          toTable(
            scope.resource,
            objects,
            { resourceVersion: String(store.resourceVersion) },
            include,
            withColumns,
          );
        if (target.legacyWatch || booleanParam(params, 'watch')) {
          const timeoutSeconds = integerParam(params, 'timeoutSeconds');
          serveWatch(
            registry,
            hub,
            scope,
            {
              ...selectors,
              resourceVersion: params.get('resourceVersion'),
              allowWatchBookmarks: booleanParam(params, 'allowWatchBookmarks'),
              sendInitialEvents: booleanParam(params, 'sendInitialEvents'),
              ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
            },
            response,
            table
              ? { ...watchOptions, render: (object, first) => JSON.stringify(tableOf([object], first)) }
              : watchOptions,
          );
          return;
        }
        if (scope.name !== undefined) {
          const object = registry.get(scope);
          return table
            ? sendJson(response, 200, tableOf([object], true))
            : sendText(response, 200, objectJson(object));
        }
        const limit = integerParam(params, 'limit');
        const query = {
          ...selectors,
          ...(limit !== undefined ? { limit } : {}),
          continue: params.get('continue'),
        };
        if (!table) {
          const page = registry.listPage(scope, query);
          const kind = `${scope.resource.kind}List`;
          return sendText(
            response,
            200,
            listJson(kind, apiVersionOf(scope.resource), page.metadata, page.items),
          );
        }
        const page = registry.listPage(scope, query);
        return sendJson(response, 200, toTable(scope.resource, page.items, page.metadata, include));
      }
      case 'POST': {
        if (scope.name !== undefined) throw methodNotAllowed();
        const body = parseBody(await readBody(request), mediaType(request));
        return sendText(response, 201, objectJson(registry.create(scope, body)));
      }
      case 'PUT': {
        if (scope.name === undefined) throw methodNotAllowed();
        const body = parseBody(await readBody(request), mediaType(request));
        // A PUT that created the object (where the real server allows it) answers 201.
        const { object, created } = registry.update(scope, body);
        return sendText(response, created ? 201 : 200, objectJson(object));
      }
      case 'PATCH': {
        if (scope.name === undefined) throw methodNotAllowed();
        const type = PATCH_TYPES[mediaType(request)];
        if (!type) {
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
          );
        }
        const text = await readBody(request);
        const patch =
          type === 'apply' ? parseBody(text, 'application/yaml') : parseBody(text, 'application/json');
        const { object, created } = registry.patch(
          scope,
          type,
          patch,
          params.get('fieldManager') ?? undefined,
        );
        return sendText(response, created ? 201 : 200, objectJson(object));
      }
      case 'DELETE': {
        const text = await readBody(request);
        const options = parseBody(text, 'application/json');
        if (scope.name === undefined)
          return sendJson(response, 200, registry.deleteCollection(scope, selectors));
        return sendText(response, 200, objectJson(registry.delete(scope, options)));
      }
      default:
        throw methodNotAllowed();
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
