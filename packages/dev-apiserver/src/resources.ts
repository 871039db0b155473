/**
 * The resource types the development API server serves, described the way discovery describes
 * them (group, version, plural, kind, scope, verbs, short names). Everything else (routing, storage,
 * discovery documents, error messages) is driven from this table.
 */

export interface ResourceInfo {
  group: string; // '' for the core (legacy) group
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Has a /status subresource: the main resource ignores status, /status ignores everything else. */
  statusSubresource: boolean;
  /**
   * The field selector labels of a kind with its own field label conversion (every accepted
   * label, `field label not supported: x` for others); absent for the default conversion, which
   * accepts metadata.name and metadata.namespace only.
   */
  fieldSelectors?: string[];
  /** Set for a resource a CustomResourceDefinition defines (crd.ts). */
  custom?: CustomResource;
}

/** What a served version of a CustomResourceDefinition adds to its ResourceInfo. */
export interface CustomResource {
  /** The CRD's name (`<plural>.<group>`). */
  crd: string;
  /** The version objects are stored in (every served version reads and writes the same objects). */
  storageVersion: string;
  /** The version's structural schema (`openAPIV3Schema`), undefined when it has none. */
  schema?: JsonSchema;
  /** The version's additionalPrinterColumns, for `kubectl get`. */
  printerColumns: PrinterColumn[];
  /** The warning every request to a deprecated version gets. */
  deprecationWarning?: string;
  /** The storage version's schema, whose defaults apply to every object as stored. */
  storageSchema?: JsonSchema;
}

/** An OpenAPI v3 schema as a CRD writes it; only what validation and defaulting read is typed. */
export interface JsonSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  uniqueItems?: boolean;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  not?: JsonSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: unknown[];
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const CLUSTER_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: readonly ResourceInfo[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
    fieldSelectors: ['status.phase', 'metadata.name'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    statusSubresource: true,
    fieldSelectors: ['metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'endpoints',
    singular: 'endpoints',
    kind: 'Endpoints',
    namespaced: true,
    shortNames: ['ep'],
    statusSubresource: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    statusSubresource: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    namespaced: true,
    statusSubresource: false,
    fieldSelectors: ['type', 'metadata.namespace', 'metadata.name'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    statusSubresource: true,
    fieldSelectors: ['metadata.name', 'spec.unschedulable'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    statusSubresource: true,
    fieldSelectors: [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ],
  },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    statusSubresource: false,
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
      'metadata.namespace',
      'metadata.name',
    ],
  },
  {
    group: 'events.k8s.io',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    // No `ev` short name here: kubectl 1.32 warns on every `kubectl get ev` when two resources share it.
    statusSubresource: false,
    fieldSelectors: [
      'reason',
      'regarding.kind',
      'regarding.namespace',
      'regarding.name',
      'regarding.uid',
      'regarding.apiVersion',
      'regarding.resourceVersion',
      'regarding.fieldPath',
      'reportingController',
      'type',
      'metadata.namespace',
      'metadata.name',
    ],
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    singular: 'endpointslice',
    kind: 'EndpointSlice',
    namespaced: true,
    statusSubresource: false,
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'ingresses',
    singular: 'ingress',
    kind: 'Ingress',
    namespaced: true,
    shortNames: ['ing'],
    statusSubresource: true,
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'ingressclasses',
    singular: 'ingressclass',
    kind: 'IngressClass',
    namespaced: false,
    statusSubresource: false,
  },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    statusSubresource: true,
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    singular: 'lease',
    kind: 'Lease',
    namespaced: true,
    statusSubresource: false,
  },
];

export function verbsOf(resource: ResourceInfo): string[] {
  return resource.namespaced ? ALL_VERBS : CLUSTER_VERBS;
}

export function apiVersionOf(resource: ResourceInfo): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** Where objects of this resource are kept; one key per group+plural. */
export function storageKeyOf(resource: ResourceInfo): string {
  return `${resource.group}/${resource.plural}`;
}

export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/**
 * The resources one server serves: the built-in ones and those its CustomResourceDefinitions
 * define, which come and go as CRDs are written and deleted.
 */
export class ResourceCatalog {
  /** CRD name to the ResourceInfos of its served versions. */
  private readonly custom = new Map<string, ResourceInfo[]>();

  all(): ResourceInfo[] {
    return [...RESOURCES, ...[...this.custom.values()].flat()];
  }

  find(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.all().find((r) => r.group === group && r.version === version && r.plural === plural);
  }

  /** Replaces what the CRD named CRD serves (an empty list: nothing, as after its deletion). */
  define(crd: string, resources: ResourceInfo[]): void {
    if (resources.length === 0) this.custom.delete(crd);
    else this.custom.set(crd, resources);
  }

  /** The served versions of a CRD. */
  definedBy(crd: string): ResourceInfo[] {
    return this.custom.get(crd) ?? [];
  }

  /**
   * The group/version pairs served, in discovery order: the built-in ones, then the CRDs' groups;
   * within a group the versions as the CRD lists them (its first is the preferred version).
   */
  groupVersions(): { group: string; version: string }[] {
    const seen = new Map<string, { group: string; version: string }>();
    for (const r of RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
    const custom = [...this.custom.values()].flat();
    const groups = [...new Set(custom.map((r) => r.group))].filter((g) => !seen.has(`${g}/`));
    for (const group of groups) {
      const versions = [...new Set(custom.filter((r) => r.group === group).map((r) => r.version))];
      for (const version of versions.sort(compareKubeVersions)) {
        const key = `${group}/${version}`;
        if (!seen.has(key)) seen.set(key, { group, version });
      }
    }
    return [...seen.values()];
  }
}

/**
 * Kubernetes' version priority (highest first): GA before beta before alpha, higher numbers
 * first, then anything else alphabetically.
 */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const level = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [level, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [la, ma, na] = rank(a);
  const [lb, mb, nb] = rank(b);
  if (la === 0 && lb === 0) return a < b ? -1 : a > b ? 1 : 0;
  return lb - la || mb - ma || nb - na;
}

/** The group/version pairs of the built-in resources, in discovery order (core first). */
export function groupVersions(): { group: string; version: string }[] {
  return new ResourceCatalog().groupVersions();
}
