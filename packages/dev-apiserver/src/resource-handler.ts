/**
 * The resource endpoints over HTTP: maps method, path and query onto the registry's verbs (get,
 * list, watch, create, update, patch, delete, deletecollection), chooses the response form (JSON,
 * Table for kubectl) and the status code (201 for creations).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, deletedStatus, methodNotAllowed } from './errors.js';
import { booleanParam, integerParam, mediaType, parseBody, readBody, sendJson, sendText } from './http-io.js';
import type { JsonObject } from './json.js';
import type { PatchType, Registry, Scope, WriteOptions } from './registry.js';
import { apiVersionOf, type ResourceInfo } from './resources.js';
import type { Route } from './router.js';
import { customListJson, listJson, objectJson } from './serialize.js';
import { includeObjectParam, toTable, wantsTable } from './table.js';
import { serveWatch, type WatchOptions } from './watch-stream.js';
import type { WatchHub } from './watch-hub.js';

const RETURNS_DELETED = new Set(['Namespace', 'Pod', 'Service']);

/**
 * A stored custom resource as the requested version shows it: conversion strategy None only
 * rewrites apiVersion (copies are kept per stored object, which never changes).
 */
const presented = new WeakMap<JsonObject, Map<string, JsonObject>>();
function present(resource: ResourceInfo, object: JsonObject): JsonObject {
  if (!resource.custom) return object;
  const apiVersion = apiVersionOf(resource);
  if (object.apiVersion === apiVersion) return object;
  let versions = presented.get(object);
  if (!versions) presented.set(object, (versions = new Map()));
  let copy = versions.get(apiVersion);
  if (!copy) versions.set(apiVersion, (copy = { ...object, apiVersion }));
  return copy;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

const OPTIONS_KIND: Record<string, string> = {
  POST: 'CreateOptions',
  PUT: 'UpdateOptions',
  PATCH: 'PatchOptions',
  DELETE: 'DeleteOptions',
};

/** `dryRun` takes `All` only (422 otherwise, naming the verb's options kind). */
function checkDryRun(values: string[], method: string): boolean {
  const wrong = values.filter((v) => v !== 'All');
  if (wrong.length === 0) return true;
  const kind = OPTIONS_KIND[method] ?? 'CreateOptions';
  const message = `Unsupported value: ${JSON.stringify(values)}: supported values: "All"`;
  throw new ApiError(422, 'Invalid', `${kind}.meta.k8s.io "" is invalid: dryRun: ${message}`, {
    group: 'meta.k8s.io',
    kind,
    causes: [{ reason: 'FieldValueNotSupported', message, field: 'dryRun' }],
  });
}

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
  const shown = (object: JsonObject) => present(target.resource, object);
  const method = request.method ?? 'GET';
  const readOnly = method === 'GET' || method === 'HEAD';
  if (!readOnly && target.legacyWatch) throw methodNotAllowed();
  const dryRun = !readOnly && params.has('dryRun') && checkDryRun(params.getAll('dryRun'), method);
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
  const warnings: string[] = [];
  const deprecation = target.resource.custom?.deprecationWarning;
  if (deprecation !== undefined) warnings.push(deprecation);
  const validation = params.get('fieldValidation');
  const write: WriteOptions = {
    ...(params.get('fieldManager') ? { fieldManager: params.get('fieldManager')! } : {}),
    ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
    ...(validation === 'Ignore' || validation === 'Strict' ? { fieldValidation: validation } : {}),
    force: booleanParam(params, 'force'),
    warnings,
    dryRun,
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
          objects.map(shown),
          { resourceVersion: String(store.resourceVersion) },
          include,
          withColumns,
        );
      // `?watch=true` on a named object is a plain GET on the real server; only the legacy
      // /watch/ path watches one object.
      if (target.legacyWatch || (booleanParam(params, 'watch') && scope.name === undefined)) {
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
            : scope.resource.custom
              ? { ...watchOptions, render: (object) => objectJson(shown(object)) }
              : watchOptions,
        );
        return;
      }
      if (scope.name !== undefined) {
        const object = registry.get(scope);
        return table
          ? sendJson(response, 200, tableOf([object], true))
          : sendText(response, 200, objectJson(shown(object)), warnings);
      }
      const limit = integerParam(params, 'limit');
      const query = {
        ...selectors,
        ...(limit !== undefined ? { limit } : {}),
        continue: params.get('continue'),
        resourceVersion: params.get('resourceVersion'),
        resourceVersionMatch: params.get('resourceVersionMatch'),
      };
      const page = registry.listPage(scope, query);
      if (!table) {
        const kind = `${scope.resource.kind}List`;
        // Custom resources are listed as unstructured objects: each item keeps apiVersion and kind.
        const json = scope.resource.custom ? customListJson : listJson;
        // An unstructured list's metadata always has `continue` (empty on the last page).
        const metadata = scope.resource.custom ? { continue: '', ...page.metadata } : page.metadata;
        return sendText(
          response,
          200,
          json(kind, apiVersionOf(scope.resource), metadata, page.items.map(shown)),
          warnings,
        );
      }
      return sendJson(response, 200, toTable(scope.resource, page.items.map(shown), page.metadata, include));
    }
    case 'POST': {
      if (scope.name !== undefined) throw methodNotAllowed();
      const body = parseBody(await readBody(request), mediaType(request));
      const created = registry.create(scope, body, write);
      return sendText(response, 201, objectJson(shown(created)), warnings);
    }
    case 'PUT': {
      if (scope.name === undefined) throw methodNotAllowed();
      const body = parseBody(await readBody(request), mediaType(request));
      // A PUT that created the object (where the real server allows it) answers 201.
      const { object, created } = registry.update(scope, body, write);
      return sendText(response, created ? 201 : 200, objectJson(shown(object)), warnings);
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
      const { object, created } = registry.patch(scope, type, patch, write);
      return sendText(response, created ? 201 : 200, objectJson(shown(object)), warnings);
    }
    case 'DELETE': {
      const text = await readBody(request);
      const options = parseBody(text, 'application/json');
      if (scope.name === undefined)
        return sendJson(response, 200, registry.deleteCollection(scope, selectors, dryRun));
      const deleted = registry.delete(scope, options, dryRun);
      // Namespaces, Pods and Services answer with the deleted object, the others with a Status.
      // Custom resources answer with a Status, whatever their kind is called.
      if (RETURNS_DELETED.has(scope.resource.kind) && !scope.resource.custom)
        return sendText(response, 200, objectJson(deleted));
      const meta = deleted.metadata as JsonObject;
      return sendJson(response, 200, deletedStatus(scope.resource, String(meta.name), meta.uid));
    }
    default:
      throw methodNotAllowed();
  }
}
