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
  combineInvalid,
  conflict,
  invalidResourceVersion,
  listOptionsInvalid,
  tooLargeResourceVersion,
  invalid,
  kindConflict,
  methodNotAllowed,
  notFound,
} from './errors.js';
import { applyDefaults } from './defaults.js';
import { FieldSet } from './field-set.js';
import { applyJsonPatch } from './json-patch.js';
import { clone, isObject, jsonEqual, type JsonObject } from './json.js';
import { decodeContinue, encodeContinue, paginate } from './list-paging.js';
import { applyConfiguration, updateManagedFields, type FieldManagerContext } from './managed-fields.js';
import { applyMergePatch } from './merge-patch.js';
import {
  checkTypeMeta,
  createMetaErrors,
  nextGeneration,
  prepareCreateMeta,
  prepareUpdateMeta,
} from './object-meta.js';
import { countRules, applySchemaDefaults, validateAgainstSchema } from './crd-schema.js';
import { prepareCrd, servedResources } from './crd.js';
import { apiVersionOf, findResource, ResourceCatalog, storageKeyOf, type ResourceInfo } from './resources.js';
import { rootType } from './schema.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ServiceRegistry, type ServiceNetworkOptions } from './service-registry.js';
import { kindStrategies, type KindStrategy } from './strategies.js';
import type { Store } from './store.js';
import { applyStrategicMergePatch } from './strategic-merge.js';
import { decode, encode } from './typed.js';

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
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** What a write request says besides its body. */
export interface WriteOptions {
  /** The fieldManager parameter (required by server-side apply). */
  fieldManager?: string;
  /** The request's User-Agent: up to its first `/`, the field manager when there is no parameter. */
  userAgent?: string;
  /** What to do with unknown fields: drop them silently, with a warning (the default), or refuse. */
  fieldValidation?: 'Ignore' | 'Warn' | 'Strict';
  /** Server-side apply takes fields other managers own. */
  force?: boolean;
  /** Collects the warnings of the request (Warning headers). */
  warnings?: string[];
  /** dryRun=All: everything but the write (and the allocations). */
  dryRun?: boolean;
}

/** managerOrUserAgent: the parameter, else the printable User-Agent before its first `/` (128 at most). */
function managerOf(options: WriteOptions): string {
  if (options.fieldManager) return options.fieldManager;
  const agent = (options.userAgent ?? '').split('/')[0]!;
  return [...agent]
    .filter((c) => !/\p{C}/u.test(c))
    .join('')
    .slice(0, 128);
}

function gvkOf(resource: ResourceInfo): string {
  return `${apiVersionOf(resource)}/${resource.kind}`;
}

/** The 400 of a body Go cannot decode into the kind's struct. */
function cannotHandle(resource: ResourceInfo, why: string): ApiError {
  return badRequest(
    `${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: ${why}`,
  );
}

/** Unknown fields: a warning each, or with fieldValidation=Strict a 400 naming them all. */
function reportUnknownFields(resource: ResourceInfo, unknown: string[], options: WriteOptions): void {
  if (unknown.length === 0 || options.fieldValidation === 'Ignore') return;
  const each = unknown.map((f) => `unknown field "${f}"`);
  if (options.fieldValidation === 'Strict')
    throw cannotHandle(resource, `strict decoding error: ${each.join(', ')}`);
  options.warnings?.push(...each);
}

/** An apply configuration must name the URL's kind and apiVersion (versionCheckManager). */
function checkApplyTypeMeta(resource: ResourceInfo, config: JsonObject): void {
  const apiVersion = typeof config.apiVersion === 'string' ? config.apiVersion : '';
  const kind = typeof config.kind === 'string' ? config.kind : '';
  if (apiVersion !== apiVersionOf(resource) || kind !== resource.kind) {
    const slash = apiVersion.indexOf('/');
    const [group, version] =
      slash >= 0 ? [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)] : ['', apiVersion];
    throw badRequest(`invalid object type: ${group}/${version}, Kind=${kind}`);
  }
}

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
const CREATE_ON_UPDATE = new Set(['Endpoints', 'Event', 'Lease']);

const NAMESPACES = findResource('', 'v1', 'namespaces')!;
const SERVICES = findResource('', 'v1', 'services')!;
const INGRESS_CLASSES = findResource('networking.k8s.io', 'v1', 'ingressclasses')!;
const CRDS = findResource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;

/** Validates a custom resource against its version's schema (crd-schema.ts). */
function validateCustom(resource: ResourceInfo, object: JsonObject): void {
  const errors = validateAgainstSchema(object, resource.custom?.schema);
  if (errors.length > 0) throw invalid(resource, String(metaOf(object).name ?? ''), errors);
}

/** The rules the real server checks with CEL and this one does not: said in a warning. */
function celWarnings(resource: ResourceInfo): string[] {
  const rules = countRules(resource.custom?.schema);
  return rules === 0
    ? []
    : [
        `the development API server does not evaluate x-kubernetes-validations (CEL): ${rules} rule(s) of ${resource.custom?.crd ?? resource.plural} were not checked`,
      ];
}

/** Custom resources: schema validation; the CRD's own rules for CustomResourceDefinitions. */
const CUSTOM_STRATEGY: KindStrategy = {
  prepareForCreate: (resource, object) => validateCustom(resource, object),
  prepareForUpdate: (resource, object) => validateCustom(resource, object),
  validateStatus: (resource, object) => validateCustom(resource, object),
  warnings: () => [],
};
const CRD_STRATEGY: KindStrategy = {
  prepareForCreate: (resource, crd) => prepareCrd(resource, crd),
  prepareForUpdate: (resource, crd, old) => prepareCrd(resource, crd, old),
};

function metaOf(object: JsonObject): JsonObject {
  return object.metadata as JsonObject;
}

/**
 * A custom resource's defaults: those of the request's version, then those of the storage version
 * (which the real server applies when it reads the object back; here once, when it is written).
 */
function defaultCustom(resource: ResourceInfo, object: JsonObject): void {
  applySchemaDefaults(object, resource.custom?.schema);
  if (resource.custom?.storageVersion !== resource.version)
    applySchemaDefaults(object, resource.custom?.storageSchema);
}

/** The apiVersion objects are stored with: a custom resource's storage version. */
function storedApiVersion(resource: ResourceInfo): string {
  return resource.custom ? `${resource.group}/${resource.custom.storageVersion}` : apiVersionOf(resource);
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
  /** What this server serves: the built-in resources and those of its CRDs. */
  readonly catalog = new ResourceCatalog();
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
    const asServer = { fieldManager: 'kube-apiserver' };
    for (const name of INITIAL_NAMESPACES) {
      this.create({ resource: NAMESPACES }, { metadata: { name } }, asServer);
    }
    const ip = this.services.reserveFirstAddress();
    this.services.release({ spec: { clusterIPs: [ip] } });
    this.create(
      { resource: SERVICES, namespace: 'default' },
      {
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { clusterIP: ip, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
      },
      asServer,
    );
  }

  /** The per-kind rules of a resource; a CRD's kinds never take a built-in kind's. */
  private strategyFor(resource: ResourceInfo): KindStrategy | undefined {
    if (resource.custom) return CUSTOM_STRATEGY;
    if (resource === CRDS) return CRD_STRATEGY;
    return this.strategies[resource.kind];
  }

  /** After a CRD is written: its served versions as the catalog holds them. */
  private defineCrd(crd: JsonObject): void {
    this.catalog.define(metaOf(crd).name as string, servedResources(crd));
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

  /**
   * One page of stored objects and the list metadata. The state is the current one, or with
   * `resourceVersion` and `resourceVersionMatch=Exact` (and on the pages after the first, whose
   * continue token holds the first page's revision) the state at that revision, rebuilt from the
   * change history: 410 Expired once the history no longer reaches back there.
   */
  listPage(scope: Scope, query: ListQuery): { items: JsonObject[]; metadata: JsonObject } {
    const filter = this.compileFilter(scope, query);
    const current = this.store.resourceVersion;
    const token = query.continue ? decodeContinue(query.continue) : undefined;
    const requested = query.resourceVersion ?? '';
    const match = query.resourceVersionMatch ?? '';
    if (match && requested === '') {
      throw listOptionsInvalid(
        'resourceVersionMatch',
        'FieldValueForbidden',
        'resourceVersionMatch is forbidden unless resourceVersion is provided',
      );
    }
    if (match && match !== 'Exact' && match !== 'NotOlderThan') {
      throw listOptionsInvalid(
        'resourceVersionMatch',
        'FieldValueNotSupported',
        `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
      );
    }
    if (requested !== '' && !/^\d+$/.test(requested)) {
      throw badRequest(`invalid resource version: ${invalidResourceVersion(requested).message}`);
    }
    if (requested !== '' && requested !== '0' && Number(requested) > current) {
      throw tooLargeResourceVersion(Number(requested), current);
    }
    let revision = current;
    let objects: JsonObject[];
    const at = token
      ? token.rv === -1
        ? undefined
        : token.rv
      : match === 'Exact' && requested !== '0'
        ? Number(requested)
        : undefined;
    if (at !== undefined && at !== current) {
      const snapshot = this.store.snapshot(this.collection(scope), at);
      if (!snapshot && token) {
        // The real server trades the token for one that continues in the current state.
        const error = new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
        error.listMeta = { continue: encodeContinue({ rv: -1, start: token.start }) };
        throw error;
      }
      if (!snapshot)
        throw new ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.');
      revision = at;
      objects = snapshot.filter(filter.matches);
    } else {
      objects = this.select(scope, filter);
    }
    const page = paginate(objects, revision, query.limit, query.continue ?? undefined);
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

  /**
   * A request body as the real server decodes it: apiVersion and kind checked against the URL,
   * unknown fields dropped (warned about, or refused with fieldValidation=Strict), nulls gone,
   * then the kind's defaulting.
   */
  private decodeBody(resource: ResourceInfo, input: unknown, options: WriteOptions): JsonObject {
    if (!isObject(input)) throw badRequest('the request body must be a JSON object');
    checkTypeMeta(resource, input);
    const { value, unknown, error } = decode(input, rootType(resource));
    if (error) throw cannotHandle(resource, error);
    reportUnknownFields(resource, unknown, options);
    value.apiVersion = storedApiVersion(resource);
    value.kind = resource.kind;
    if (resource.custom) defaultCustom(resource, value);
    else applyDefaults(gvkOf(resource), value);
    return value;
  }

  /** The strategies reset status through the main resource and spec through /status. */
  private fieldManagerContext(scope: Scope): FieldManagerContext {
    const subresource = scope.subresource;
    const reset = subresource === 'status' ? 'spec' : scope.resource.statusSubresource ? 'status' : undefined;
    return {
      type: rootType(scope.resource),
      apiVersion: apiVersionOf(scope.resource),
      ...(subresource ? { subresource } : {}),
      ...(reset ? { reset: FieldSet.of([`f:${reset}`]) } : {}),
    };
  }

  create(scope: Scope, input: unknown, options: WriteOptions = {}): JsonObject {
    const { resource } = scope;
    if (resource.namespaced && scope.namespace === undefined) throw methodNotAllowed();
    const body = this.decodeBody(resource, input, options);
    updateManagedFields({}, body, managerOf(options), this.fieldManagerContext(scope));
    return this.createDecoded(scope, body, options);
  }

  /**
   * The admission plugins a bare kube-apiserver runs on creation that change objects:
   * DefaultIngressClass (an Ingress without a class gets the newest default IngressClass) and
   * TaintNodesByCondition (a new Node is tainted not-ready). They run after the field manager,
   * so nobody owns what they add.
   */
  private admit(resource: ResourceInfo, body: JsonObject): void {
    if (resource.custom) return;
    if (resource.kind === 'Ingress') {
      const spec = isObject(body.spec) ? body.spec : (body.spec = {});
      const annotations = metaOf(body).annotations;
      if (spec.ingressClassName !== undefined) return;
      if (isObject(annotations) && annotations['kubernetes.io/ingress.class'] !== undefined) return;
      const defaults = this.store
        .list(storageKeyOf(INGRESS_CLASSES))
        .filter(
          (c) =>
            (metaOf(c).annotations as JsonObject | undefined)?.[
              'ingressclass.kubernetes.io/is-default-class'
            ] === 'true',
        )
        .sort((a, b) => {
          const ta = String(metaOf(a).creationTimestamp);
          const tb = String(metaOf(b).creationTimestamp);
          return ta === tb
            ? (metaOf(a).name as string).localeCompare(metaOf(b).name as string)
            : ta < tb
              ? 1
              : -1;
        });
      if (defaults[0]) spec.ingressClassName = metaOf(defaults[0]).name;
    } else if (resource.kind === 'Node') {
      const spec = isObject(body.spec) ? body.spec : (body.spec = {});
      const taints = Array.isArray(spec.taints) ? spec.taints : (spec.taints = []);
      const notReady = (t: unknown) =>
        isObject(t) && t.key === 'node.kubernetes.io/not-ready' && t.effect === 'NoSchedule';
      if (!taints.some(notReady)) taints.push({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
    }
  }

  /** Stores a new object that went through decoding and the field manager. */
  private createDecoded(scope: Scope, body: JsonObject, options: WriteOptions): JsonObject {
    const { resource } = scope;
    this.requireNamespace(scope);
    this.admit(resource, body);
    prepareCreateMeta(resource, body, scope.namespace);
    const name = typeof metaOf(body).name === 'string' ? (metaOf(body).name as string) : '';
    // The metadata errors come first in the same 422 as the kind's own (ValidateObjectMeta
    // opens every kind's validation).
    const metaErrors = createMetaErrors(resource, metaOf(body));
    try {
      this.strategyFor(resource)?.prepareForCreate?.(resource, body, { dryRun: options.dryRun === true });
    } catch (error) {
      if (metaErrors.length && error instanceof ApiError)
        throw combineInvalid(resource, name, metaErrors, error);
      throw error;
    }
    const undoAllocations = () => {
      if (resource.kind === 'Service' && !options.dryRun) this.services.release(body);
    };
    if (metaErrors.length) {
      undoAllocations();
      throw invalid(resource, name, metaErrors);
    }
    if (this.store.get(this.collection(scope), scope.namespace, name)) {
      undoAllocations();
      throw alreadyExists(resource, name);
    }
    options.warnings?.push(...(this.strategyFor(resource)?.warnings?.(body) ?? []));
    if (resource.custom) options.warnings?.push(...celWarnings(resource));
    if (options.dryRun) {
      // What would have been stored, without a resourceVersion (it was never written).
      const encoded = encode(body, rootType(resource)) as JsonObject;
      delete metaOf(encoded).resourceVersion;
      return encoded;
    }
    const stored = this.store.put(this.collection(scope), encode(body, rootType(resource)) as JsonObject);
    if (resource === CRDS) this.defineCrd(stored);
    return stored;
  }

  update(scope: Scope, input: unknown, options: WriteOptions = {}): { object: JsonObject; created: boolean } {
    const name = this.requireName(scope);
    const body = this.decodeBody(scope.resource, input, options);
    const meta = metaOf(body);
    if (meta.name !== undefined && meta.name !== '' && meta.name !== name) {
      throw badRequest(
        `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
      );
    }
    const old = this.store.get(this.collection(scope), scope.namespace, name);
    if (!old) {
      if (CREATE_ON_UPDATE.has(scope.resource.kind) && !scope.resource.custom && !scope.subresource) {
        delete meta.resourceVersion;
        meta.name = name;
        updateManagedFields({}, body, managerOf(options), this.fieldManagerContext(scope));
        return { object: this.createDecoded(scope, body, options), created: true };
      }
      throw notFound(scope.resource, name);
    }
    return { object: this.replace(scope, old, body, managerOf(options), options), created: false };
  }

  /**
   * The common path of PUT and PATCH once the new object is decoded: the resourceVersion
   * precondition, the field manager (unless an apply already did its part: MANAGER undefined),
   * the strategy (status kept by the main resource, spec by /status), then the write, skipped
   * when nothing changed.
   */
  private replace(
    scope: Scope,
    old: JsonObject,
    body: JsonObject,
    manager: string | undefined,
    options: WriteOptions,
  ): JsonObject {
    const { resource } = scope;
    const name = metaOf(old).name as string;
    const requested = metaOf(body).resourceVersion;
    if (requested !== undefined && requested !== '' && requested !== metaOf(old).resourceVersion) {
      throw conflict(resource, name);
    }
    if (manager !== undefined) updateManagedFields(old, body, manager, this.fieldManagerContext(scope));
    prepareUpdateMeta(resource, body, old);
    const strategy = this.strategyFor(resource);
    if (scope.subresource === 'status') {
      // A status write keeps the spec; its metadata changes stay, as on the real server.
      if (old.spec === undefined) delete body.spec;
      else body.spec = old.spec;
      strategy?.validateStatus?.(resource, body, old);
    } else {
      if (resource.statusSubresource) {
        if (old.status === undefined) delete body.status;
        else body.status = old.status;
      }
      strategy?.prepareForUpdate?.(resource, body, old, { dryRun: options.dryRun === true });
      options.warnings?.push(...(strategy?.warnings?.(body, old) ?? []));
      if (resource.custom) options.warnings?.push(...celWarnings(resource));
    }
    const next = encode(body, rootType(resource)) as JsonObject;
    metaOf(next).generation = nextGeneration(resource, next, old);
    if (metaOf(next).generation === undefined) delete metaOf(next).generation;
    metaOf(next).resourceVersion = metaOf(old).resourceVersion;
    if (jsonEqual(next, old)) return old;
    // A dry run answers what would have been written, at the old resourceVersion.
    if (options.dryRun) return next;
    const stored = this.store.put(this.collection(scope), next);
    if (resource === CRDS) this.defineCrd(stored);
    return stored;
  }

  patch(
    scope: Scope,
    type: PatchType,
    patch: unknown,
    options: WriteOptions = {},
  ): { object: JsonObject; created: boolean } {
    const name = this.requireName(scope);
    const old = this.store.get(this.collection(scope), scope.namespace, name);
    if (type === 'apply') return this.apply(scope, name, old, patch, options);
    if (!old) throw notFound(scope.resource, name);
    let patched: unknown;
    switch (type) {
      case 'json':
        try {
          patched = applyJsonPatch(old, patch);
        } catch (error) {
          // Like the real server (NewGenericServerResponse), the reason itself is not given.
          if (error instanceof ApiError) {
            throw new ApiError(
              422,
              'Invalid',
              'the server rejected our request due to an error in our request',
              {},
            );
          }
          throw error;
        }
        break;
      case 'merge':
        patched = applyMergePatch(old, patch);
        break;
      case 'strategic':
        if (scope.resource.custom) {
          // As on the real server: custom resources have no patch strategies to merge by.
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
          );
        }
        patched = applyStrategicMergePatch(old, patch, rootType(scope.resource));
        break;
    }
    if (!isObject(patched)) throw badRequest('the patch produced a document that is not an object');
    const body = this.decodeBody(scope.resource, patched, options);
    // A patch may not rename the object.
    if (metaOf(body).name !== name) {
      throw invalid(scope.resource, name, [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.name',
          value: metaOf(body).name,
          detail: 'field is immutable',
        },
      ]);
    }
    return { object: this.replace(scope, old, body, managerOf(options), options), created: false };
  }

  /** Server-side apply: the field manager merges and owns; a missing object is created. */
  private apply(
    scope: Scope,
    name: string,
    old: JsonObject | undefined,
    patch: unknown,
    options: WriteOptions,
  ): { object: JsonObject; created: boolean } {
    if (!isObject(patch)) throw badRequest('apply patch must be an object');
    if (!old && scope.subresource) throw notFound(scope.resource, name);
    if (!options.fieldManager) {
      throw new ApiError(
        422,
        'Invalid',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        {
          group: 'meta.k8s.io',
          kind: 'PatchOptions',
          causes: [
            {
              reason: 'FieldValueRequired',
              message: 'Required value: is required for apply patch',
              field: 'fieldManager',
            },
          ],
        },
      );
    }
    const config = clone(patch);
    checkApplyTypeMeta(scope.resource, config);
    const meta = isObject(config.metadata) ? config.metadata : undefined;
    if (meta && meta.managedFields !== undefined && meta.managedFields !== null) {
      throw badRequest('metadata.managedFields must be nil');
    }
    if (meta?.name !== undefined && meta.name !== name) {
      throw badRequest(
        `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
      );
    }
    const { unknown } = decode(config, rootType(scope.resource));
    reportUnknownFields(scope.resource, unknown, options);
    const ctx = this.fieldManagerContext(scope);
    const result = applyConfiguration(old ?? {}, config, options.fieldManager, options.force === true, ctx);
    const { value: body } = decode(result.object, rootType(scope.resource));
    if (scope.resource.custom) {
      body.apiVersion = storedApiVersion(scope.resource);
      defaultCustom(scope.resource, body);
    } else applyDefaults(gvkOf(scope.resource), body);
    if (!old) {
      metaOf(body).name = name;
      return { object: this.createDecoded(scope, body, options), created: true };
    }
    return { object: this.replace(scope, old, body, undefined, options), created: false };
  }

  delete(scope: Scope, options: unknown, dryRun = false): JsonObject {
    const name = this.requireName(scope);
    const old = this.store.get(this.collection(scope), scope.namespace, name);
    if (!old) throw notFound(scope.resource, name);
    if (isObject(options) && isObject(options.preconditions)) {
      const { uid, resourceVersion } = options.preconditions;
      const meta = metaOf(old);
      // rest.BeforeDelete names the kind, not the resource, in these conflicts.
      if (uid !== undefined && uid !== null && uid !== meta.uid) {
        throw kindConflict(
          scope.resource,
          name,
          `the UID in the precondition (${String(uid)}) does not match the UID in record (${String(meta.uid)}). The object might have been deleted and then recreated`,
        );
      }
      if (
        resourceVersion !== undefined &&
        resourceVersion !== null &&
        resourceVersion !== meta.resourceVersion
      ) {
        throw kindConflict(
          scope.resource,
          name,
          `the ResourceVersion in the precondition (${String(resourceVersion)}) does not match the ResourceVersion in record (${String(meta.resourceVersion)}). The object might have been modified`,
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
      if (dryRun) return old;
      // The real server empties a terminating namespace in the background; here it is immediate.
      for (const resource of this.catalog.all()) {
        if (!resource.namespaced) continue;
        for (const object of this.store.list(storageKeyOf(resource), name)) {
          this.delete({ resource, namespace: name, name: metaOf(object).name as string }, undefined);
        }
      }
    }
    if (dryRun) return old;
    const removed = this.store.remove(this.collection(scope), scope.namespace, name)!;
    if (scope.resource.kind === 'Service' && !scope.resource.custom) this.services.release(removed);
    if (scope.resource === CRDS) this.removeCrd(removed);
    return removed;
  }

  /**
   * A deleted CRD: its objects go (the real server deletes them before the CRD disappears; here at
   * once), then its resources stop being served.
   */
  private removeCrd(crd: JsonObject): void {
    const name = metaOf(crd).name as string;
    const served = this.catalog.definedBy(name);
    const resource = served[0];
    if (resource) {
      for (const object of this.store.list(storageKeyOf(resource))) {
        const meta = metaOf(object);
        this.store.remove(storageKeyOf(resource), meta.namespace as string | undefined, meta.name as string);
      }
    }
    this.catalog.define(name, []);
  }

  /** Deletes what the selectors match; the answer lists the objects as they were listed. */
  deleteCollection(scope: Scope, query: ListQuery, dryRun = false): JsonObject {
    const victims = this.select(scope, this.compileFilter(scope, query));
    const listedAt = String(this.store.resourceVersion);
    for (const o of victims) {
      const meta = metaOf(o);
      this.delete(
        { ...scope, namespace: meta.namespace as string | undefined, name: meta.name as string },
        undefined,
        dryRun,
      );
    }
    return {
      kind: `${scope.resource.kind}List`,
      apiVersion: apiVersionOf(scope.resource),
      metadata: { resourceVersion: listedAt },
      items: victims.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
  }
}
