/**
 * The verbs (get, list, create, update, patch, delete, deletecollection) over the store, with
 * the semantics of the real server's generic registry: optimistic concurrency on
 * metadata.resourceVersion, status subresources, no-op updates that write nothing, namespace
 * existence on create, and the per-kind rules (Service allocation, Namespace contents).
 */
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  methodNotAllowed,
  notFound,
} from './errors.js';
import { applyJsonPatch } from './json-patch.js';
import { clone, isObject, jsonEqual, type JsonObject } from './json.js';
import { paginate } from './list-paging.js';
import { applyMergePatch } from './merge-patch.js';
import { prepareCreateMeta, prepareUpdateMeta } from './object-meta.js';
import { apiVersionOf, findResource, RESOURCES, storageKeyOf, type ResourceInfo } from './resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { AppliedConfigurations } from './server-side-apply.js';
import { ServiceRegistry, type ServiceNetworkOptions } from './service-registry.js';
import { kindStrategies, type KindStrategy } from './strategies.js';
import type { Store } from './store.js';
import { applyStrategicMergePatch } from './strategic-merge.js';

export interface Scope {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Namespaces that exist from the start and may not be deleted, as in a fresh cluster. */
export const INITIAL_NAMESPACES = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'portico-system',
];
const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

/** Resources whose PUT creates a missing object (AllowCreateOnUpdate in the real strategies). */
const CREATE_ON_UPDATE = new Set(['Endpoints', 'Event', 'Lease', 'EndpointSlice']);

const NAMESPACES = findResource('', 'v1', 'namespaces')!;
const SERVICES = findResource('', 'v1', 'services')!;

function metaOf(object: JsonObject): JsonObject {
  return object.metadata as JsonObject;
}

/** An object without its resourceVersion, to detect updates that change nothing. */
function withoutVersion(object: JsonObject): JsonObject {
  const { resourceVersion: _rv, ...meta } = metaOf(object);
  return { ...object, metadata: meta };
}

/** A compiled filter for list and watch. */
export interface Filter {
  /** The namespace of every match, when the scope or an equality field selector fixes it. */
  namespace?: string;
  /** The name of every match, likewise. */
  name?: string;
  matches(object: JsonObject): boolean;
}

export class Registry {
  readonly services: ServiceRegistry;
  private readonly applied = new AppliedConfigurations();
  private readonly strategies: Record<string, KindStrategy>;

  constructor(
    readonly store: Store,
    network: ServiceNetworkOptions = {},
  ) {
    this.services = new ServiceRegistry(SERVICES, network);
    this.strategies = kindStrategies(this.services);
  }

  /** Creates the namespaces and the `kubernetes` Service a fresh cluster has. */
  bootstrap(): void {
    for (const name of INITIAL_NAMESPACES) {
      this.create({ resource: NAMESPACES }, { metadata: { name } });
    }
    const ip = this.services.reserveFirstAddress();
    this.services.release({ spec: { clusterIPs: [ip] } });
    this.create(
      { resource: SERVICES, namespace: 'default' },
      {
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { clusterIP: ip, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
      },
    );
  }

  private collection(scope: Scope): string {
    return storageKeyOf(scope.resource);
  }

  private requireName(scope: Scope): string {
    if (!scope.name) throw badRequest('resource name may not be empty');
    return scope.name;
  }

  get(scope: Scope): JsonObject {
    const name = this.requireName(scope);
    const object = this.store.get(this.collection(scope), scope.namespace, name);
    if (!object) throw notFound(scope.resource, name);
    return object;
  }

  compileFilter(scope: Scope, query: ListQuery): Filter {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, scope.resource.fieldSelectors);
    const name = scope.name;
    // `metadata.name=x` / `metadata.namespace=y` (what informers on one object send) narrow the
    // lookup below; `matches` still checks every requirement.
    const pinned = (field: string) => fields.find((r) => r.field === field && r.equal)?.value;
    const namespace =
      scope.namespace ?? (scope.resource.namespaced ? pinned('metadata.namespace') : undefined);
    const pinnedName = name ?? pinned('metadata.name');
    return {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(pinnedName !== undefined ? { name: pinnedName } : {}),
      matches: (object) => {
        const meta = metaOf(object);
        if (name !== undefined && meta.name !== name) return false;
        if (scope.namespace !== undefined && meta.namespace !== scope.namespace) return false;
        return (
          matchesLabels(labels, meta.labels as Record<string, string> | undefined) &&
          matchesFields(fields, object)
        );
      },
    };
  }

  /**
   * The stored objects FILTER matches, sorted like the store: a single lookup when the filter
   * fixes the name (and the namespace, for a namespaced resource), else a scan of the collection.
   */
  select(scope: Scope, filter: Filter): JsonObject[] {
    const collection = this.collection(scope);
    if (filter.name !== undefined && (filter.namespace !== undefined || !scope.resource.namespaced)) {
      const object = this.store.get(collection, filter.namespace, filter.name);
      return object && filter.matches(object) ? [object] : [];
    }
    return this.store.list(collection, filter.namespace).filter(filter.matches);
  }

  /** One page of stored objects (with apiVersion/kind) and the list metadata. */
  listPage(scope: Scope, query: ListQuery): { items: JsonObject[]; metadata: JsonObject } {
    const all = this.select(scope, this.compileFilter(scope, query));
    const page = paginate(all, this.store.resourceVersion, query.limit, query.continue ?? undefined);
    const metadata: JsonObject = { resourceVersion: String(page.resourceVersion) };
    if (page.continueToken) {
      metadata.continue = page.continueToken;
      metadata.remainingItemCount = page.remainingItemCount;
    }
    return { items: page.items, metadata };
  }

  private requireNamespace(scope: Scope): void {
    if (!scope.resource.namespaced) return;
    const ns = scope.namespace ?? '';
    if (!this.store.get(storageKeyOf(NAMESPACES), undefined, ns)) throw notFound(NAMESPACES, ns);
  }

  create(scope: Scope, input: unknown): JsonObject {
    if (!isObject(input)) throw badRequest('the request body must be a JSON object');
    const body = clone(input);
    const { resource } = scope;
    if (resource.namespaced && scope.namespace === undefined) throw methodNotAllowed();
    prepareCreateMeta(resource, body, scope.namespace);
    const name = metaOf(body).name as string;
    this.requireNamespace(scope);
    if (this.store.get(this.collection(scope), scope.namespace, name)) throw alreadyExists(resource, name);
    this.strategies[resource.kind]?.prepareForCreate?.(resource, body);
    return this.store.put(this.collection(scope), body);
  }

  update(scope: Scope, input: unknown): { object: JsonObject; created: boolean } {
    if (!isObject(input)) throw badRequest('the request body must be a JSON object');
    const name = this.requireName(scope);
    const old = this.store.get(this.collection(scope), scope.namespace, name);
    if (!old) {
      if (CREATE_ON_UPDATE.has(scope.resource.kind) && !scope.subresource) {
        const body = clone(input);
        if (isObject(body.metadata)) delete body.metadata.resourceVersion;
        return { object: this.create(scope, body), created: true };
      }
      throw notFound(scope.resource, name);
    }
    return { object: this.replace(scope, old, clone(input)), created: false };
  }

  /** The common path of PUT and PATCH once the new object is known. */
  private replace(scope: Scope, old: JsonObject, body: JsonObject): JsonObject {
    const { resource } = scope;
    const name = metaOf(old).name as string;
    const requested = isObject(body.metadata) ? body.metadata.resourceVersion : undefined;
    if (requested !== undefined && requested !== '' && requested !== metaOf(old).resourceVersion) {
      throw conflict(resource, name);
    }
    let next: JsonObject;
    if (scope.subresource === 'status') {
      // /status changes status only; everything else comes from the stored object.
      if (isObject(body.metadata) && body.metadata.name !== undefined && body.metadata.name !== name) {
        throw badRequest(
          `the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${name})`,
        );
      }
      next = { ...old, status: body.status };
      if (body.status === undefined) delete next.status;
      this.strategies[resource.kind]?.validateStatus?.(resource, next);
    } else {
      prepareUpdateMeta(resource, body, old);
      if (resource.statusSubresource) {
        if (old.status === undefined) delete body.status;
        else body.status = old.status;
      }
      this.strategies[resource.kind]?.prepareForUpdate?.(resource, body, old);
      next = body;
    }
    metaOf(next).resourceVersion = metaOf(old).resourceVersion;
    if (jsonEqual(withoutVersion(next), withoutVersion(old))) return old;
    return this.store.put(this.collection(scope), next);
  }

  /** `fieldManager` names the applier for server-side apply (`application/apply-patch+yaml`). */
  patch(
    scope: Scope,
    type: PatchType,
    patch: unknown,
    fieldManager = 'unknown',
  ): { object: JsonObject; created: boolean } {
    const name = this.requireName(scope);
    const old = this.store.get(this.collection(scope), scope.namespace, name);
    const objectKey = `${this.collection(scope)}/${scope.namespace ?? ''}/${name}`;
    if (!old) {
      if (type !== 'apply' || scope.subresource) throw notFound(scope.resource, name);
      if (!isObject(patch)) throw badRequest('apply patch must be an object');
      const body = clone(patch);
      const meta = isObject(body.metadata) ? body.metadata : (body.metadata = {});
      if (meta.name !== undefined && meta.name !== name) {
        throw badRequest(
          `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
        );
      }
      meta.name = name;
      const object = this.create(scope, body);
      this.applied.remember(objectKey, fieldManager, patch);
      return { object, created: true };
    }
    let patched: unknown;
    switch (type) {
      case 'json':
        try {
          patched = applyJsonPatch(old, patch);
        } catch (error) {
          if (error instanceof ApiError) {
            throw new ApiError(
              422,
              'Invalid',
              `the server rejected our request due to an error in our request: ${error.message}`,
            );
          }
          throw error;
        }
        break;
      case 'merge':
        patched = applyMergePatch(old, patch);
        break;
      case 'strategic':
        patched = applyStrategicMergePatch(old, patch, scope.resource.kind);
        break;
      case 'apply': {
        if (!isObject(patch)) throw badRequest('apply patch must be an object');
        const applied = clone(patch);
        if (isObject(applied.metadata)) delete applied.metadata.resourceVersion;
        patched = this.applied.apply(objectKey, fieldManager, old, applied, scope.resource.kind);
        break;
      }
    }
    if (!isObject(patched)) throw badRequest('the patch produced a document that is not an object');
    // A patch may not rename or move the object.
    const meta = isObject(patched.metadata) ? patched.metadata : (patched.metadata = {});
    if (meta.name !== name) {
      throw invalid(scope.resource, name, [
        { type: 'FieldValueInvalid', field: 'metadata.name', value: meta.name, detail: 'field is immutable' },
      ]);
    }
    // Patch results share unpatched parts with the stored object, which must never be mutated.
    const object = this.replace(scope, old, clone(patched));
    if (type === 'apply' && isObject(patch)) this.applied.remember(objectKey, fieldManager, patch);
    return { object, created: false };
  }

  delete(scope: Scope, options: unknown): JsonObject {
    const name = this.requireName(scope);
    const old = this.store.get(this.collection(scope), scope.namespace, name);
    if (!old) throw notFound(scope.resource, name);
    if (isObject(options) && isObject(options.preconditions)) {
      const { uid, resourceVersion } = options.preconditions;
      const meta = metaOf(old);
      if (uid !== undefined && uid !== null && uid !== meta.uid) {
        throw conflict(
          scope.resource,
          name,
          `Precondition failed: UID in precondition: ${String(uid)}, UID in object meta: ${String(meta.uid)}`,
        );
      }
      if (
        resourceVersion !== undefined &&
        resourceVersion !== null &&
        resourceVersion !== meta.resourceVersion
      ) {
        throw conflict(
          scope.resource,
          name,
          `Precondition failed: ResourceVersion in precondition: ${String(resourceVersion)}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`,
        );
      }
    }
    if (scope.resource.kind === 'Namespace') {
      if (UNDELETABLE_NAMESPACES.has(name)) {
        throw new ApiError(
          403,
          'Forbidden',
          `namespaces "${name}" is forbidden: this namespace may not be deleted`,
          {
            name,
            kind: 'namespaces',
          },
        );
      }
      // The real server empties a terminating namespace in the background; here it is immediate.
      for (const resource of RESOURCES) {
        if (!resource.namespaced) continue;
        for (const object of this.store.list(storageKeyOf(resource), name)) {
          this.delete({ resource, namespace: name, name: metaOf(object).name as string }, undefined);
        }
      }
    }
    const removed = this.store.remove(this.collection(scope), scope.namespace, name)!;
    this.applied.forget(`${this.collection(scope)}/${scope.namespace ?? ''}/${name}`);
    if (scope.resource.kind === 'Service') this.services.release(removed);
    return removed;
  }

  deleteCollection(scope: Scope, query: ListQuery): JsonObject {
    const victims = this.select(scope, this.compileFilter(scope, query));
    const items = victims.map((o) => {
      const meta = metaOf(o);
      return this.delete(
        { ...scope, namespace: meta.namespace as string | undefined, name: meta.name as string },
        undefined,
      );
    });
    return {
      kind: `${scope.resource.kind}List`,
      apiVersion: apiVersionOf(scope.resource),
      metadata: { resourceVersion: String(this.store.resourceVersion) },
      items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }
}
