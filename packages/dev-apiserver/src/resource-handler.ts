/**
 * The resource endpoints over HTTP: maps method, path and query onto the registry's verbs (get,
 * list, watch, create, update, patch, delete, deletecollection), chooses the response form (JSON,
 * Table for kubectl) and the status code (201 for creations).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, methodNotAllowed } from './errors.js';
import { booleanParam, integerParam, mediaType, parseBody, readBody, sendJson, sendText } from './http-io.js';
import type { JsonObject } from './json.js';
import type { PatchType, Registry, Scope } from './registry.js';
import { apiVersionOf } from './resources.js';
import type { Route } from './router.js';
import { listJson, objectJson } from './serialize.js';
import { includeObjectParam, toTable, wantsTable } from './table.js';
import { serveWatch, type WatchOptions } from './watch-stream.js';
import type { WatchHub } from './watch-hub.js';

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export interface ResourceContext {
  registry: Registry;
  hub: WatchHub;
  watchOptions: WatchOptions;
}

export async function handleResource(
  request: IncomingMessage,
  response: ServerResponse,
  target: Extract<Route, { kind: 'resource' }>,
  params: URLSearchParams,
  { registry, hub, watchOptions }: ResourceContext,
): Promise<void> {
  const store = registry.store;
  const method = request.method ?? 'GET';
  const readOnly = method === 'GET' || method === 'HEAD';
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
      const page = registry.listPage(scope, query);
      if (!table) {
        const kind = `${scope.resource.kind}List`;
        return sendText(
          response,
          200,
          listJson(kind, apiVersionOf(scope.resource), page.metadata, page.items),
        );
      }
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
      const { object, created } = registry.patch(scope, type, patch, params.get('fieldManager') ?? undefined);
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
