/**
 * Server-side printing (meta.k8s.io/v1 Table), what `kubectl get` asks for with
 * `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`. The columns follow kubectl's built-in
 * printers for the kinds served here; other kinds get Name and Age.
 */
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  cell: (o: JsonObject) => string | number;
}

type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Whether an Accept header asks for a Table (any listed alternative does). */
export function wantsTable(accept: string | undefined): boolean {
  return (
    accept !== undefined &&
    accept.split(',').some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part))
  );
}

/** k8s.io/apimachinery's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

const get = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (isObject(v) ? v[k] : undefined), o);
const str = (v: unknown, fallback = '<none>'): string =>
  v === undefined || v === null || v === '' ? fallback : String(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const count = (v: unknown): number => (isObject(v) ? Object.keys(v).length : 0);

const name: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  cell: (o) => str(get(o, 'metadata.name')),
};
const age: Column = {
  name: 'Age',
  type: 'string',
  cell: (o) => {
    const created = Date.parse(str(get(o, 'metadata.creationTimestamp'), ''));
    return Number.isNaN(created) ? '<unknown>' : humanDuration(Date.now() - created);
  },
};

function servicePorts(o: JsonObject): string {
  const ports = list(get(o, 'spec.ports')).map((p) => {
    const port = p as JsonObject;
    return `${String(port.port)}${port.nodePort ? `:${String(port.nodePort)}` : ''}/${str(port.protocol, 'TCP')}`;
  });
  return ports.length ? ports.join(',') : '<none>';
}

function externalIPs(o: JsonObject): string {
  const type = get(o, 'spec.type');
  const ingress = list(get(o, 'status.loadBalancer.ingress')).map((i) =>
    str((i as JsonObject).ip ?? (i as JsonObject).hostname, ''),
  );
  const external = list(get(o, 'spec.externalIPs')).map(String);
  if (type === 'ExternalName') return str(get(o, 'spec.externalName'));
  if (type === 'LoadBalancer')
    return ingress.length || external.length ? [...ingress, ...external].join(',') : '<pending>';
  return external.length ? external.join(',') : '<none>';
}

function nodeReady(o: JsonObject): string {
  const ready = list(get(o, 'status.conditions')).find((c) => (c as JsonObject).type === 'Ready') as
    JsonObject | undefined;
  const status = ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
  return get(o, 'spec.unschedulable') ? `${status},SchedulingDisabled` : status;
}

const COLUMNS: Record<string, Column[]> = {
  Service: [
    name,
    { name: 'Type', type: 'string', cell: (o) => str(get(o, 'spec.type')) },
    { name: 'Cluster-IP', type: 'string', cell: (o) => str(get(o, 'spec.clusterIP')) },
    { name: 'External-IP', type: 'string', cell: externalIPs },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    age,
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      cell: (o) => {
        const s = get(o, 'spec.selector');
        return isObject(s) && count(s)
          ? Object.entries(s)
              .map(([k, v]) => `${k}=${String(v)}`)
              .join(',')
          : '<none>';
      },
    },
  ],
  ConfigMap: [name, { name: 'Data', type: 'integer', cell: (o) => count(o.data) + count(o.binaryData) }, age],
  Secret: [
    name,
    { name: 'Type', type: 'string', cell: (o) => str(o.type, 'Opaque') },
    { name: 'Data', type: 'integer', cell: (o) => count(o.data) },
    age,
  ],
  Namespace: [
    name,
    { name: 'Status', type: 'string', cell: (o) => str(get(o, 'status.phase'), 'Active') },
    age,
  ],
  Node: [
    name,
    { name: 'Status', type: 'string', cell: nodeReady },
    {
      name: 'Roles',
      type: 'string',
      cell: (o) => {
        const labels = get(o, 'metadata.labels');
        const roles = isObject(labels)
          ? Object.keys(labels)
              .filter((k) => k.startsWith('node-role.kubernetes.io/'))
              .map((k) => k.slice('node-role.kubernetes.io/'.length))
          : [];
        return roles.length ? roles.join(',') : '<none>';
      },
    },
    age,
    { name: 'Version', type: 'string', cell: (o) => str(get(o, 'status.nodeInfo.kubeletVersion'), '') },
  ],
  Pod: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => {
        const statuses = list(get(o, 'status.containerStatuses'));
        const ready = statuses.filter((s) => (s as JsonObject).ready === true).length;
        return `${ready}/${list(get(o, 'spec.containers')).length}`;
      },
    },
    { name: 'Status', type: 'string', cell: (o) => str(get(o, 'status.phase'), 'Unknown') },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        list(get(o, 'status.containerStatuses')).reduce<number>(
          (n, s) => n + Number((s as JsonObject).restartCount ?? 0),
          0,
        ),
    },
    age,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => str(get(o, 'status.podIP')) },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => str(get(o, 'spec.nodeName')) },
  ],
  Endpoints: [
    name,
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) => {
        const out: string[] = [];
        for (const subset of list(o.subsets)) {
          const s = subset as JsonObject;
          for (const a of list(s.addresses)) {
            for (const p of list(s.ports).length ? list(s.ports) : [{}]) {
              const port = (p as JsonObject).port;
              out.push(`${String((a as JsonObject).ip)}${port !== undefined ? `:${String(port)}` : ''}`);
            }
          }
        }
        return out.length ? out.join(',') : '<none>';
      },
    },
    age,
  ],
  EndpointSlice: [
    name,
    { name: 'AddressType', type: 'string', cell: (o) => str(o.addressType) },
    {
      name: 'Ports',
      type: 'string',
      cell: (o) =>
        list(o.ports)
          .map((p) => str((p as JsonObject).port))
          .join(',') || '<unset>',
    },
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) =>
        list(o.endpoints)
          .flatMap((e) => list((e as JsonObject).addresses).map(String))
          .join(',') || '<unset>',
    },
    age,
  ],
  Ingress: [
    name,
    { name: 'Class', type: 'string', cell: (o) => str(get(o, 'spec.ingressClassName')) },
    {
      name: 'Hosts',
      type: 'string',
      cell: (o) =>
        list(get(o, 'spec.rules'))
          .map((r) => str((r as JsonObject).host, '*'))
          .join(',') || '*',
    },
    {
      name: 'Address',
      type: 'string',
      cell: (o) =>
        list(get(o, 'status.loadBalancer.ingress'))
          .map((i) => str((i as JsonObject).ip ?? (i as JsonObject).hostname, ''))
          .join(','),
    },
    { name: 'Ports', type: 'string', cell: (o) => (list(get(o, 'spec.tls')).length ? '80, 443' : '80') },
    age,
  ],
  IngressClass: [
    name,
    { name: 'Controller', type: 'string', cell: (o) => str(get(o, 'spec.controller')) },
    { name: 'Parameters', type: 'string', cell: (o) => str(get(o, 'spec.parameters.name')) },
    age,
  ],
  Lease: [name, { name: 'Holder', type: 'string', cell: (o) => str(get(o, 'spec.holderIdentity'), '') }, age],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o) => {
        const t = Date.parse(str(o.lastTimestamp ?? o.eventTime ?? get(o, 'metadata.creationTimestamp'), ''));
        return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
      },
    },
    { name: 'Type', type: 'string', cell: (o) => str(o.type) },
    { name: 'Reason', type: 'string', cell: (o) => str(o.reason) },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => {
        const ref = (o.involvedObject ?? o.regarding) as JsonObject | undefined;
        return ref ? `${String(ref.kind).toLowerCase()}/${String(ref.name)}` : '<none>';
      },
    },
    { name: 'Message', type: 'string', cell: (o) => str(o.message ?? o.note, '') },
  ],
};

function columnsFor(resource: ResourceInfo): Column[] {
  return COLUMNS[resource.kind] ?? [name, age];
}

function rowObject(object: JsonObject, include: IncludeObject): JsonObject | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

export function includeObjectParam(value: string | null): IncludeObject {
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

/** A Table of `objects`; `withColumns` false leaves out the column definitions (watch events after the first). */
export function toTable(
  resource: ResourceInfo,
  objects: JsonObject[],
  metadata: JsonObject,
  include: IncludeObject,
  withColumns = true,
): JsonObject {
  const columns = columnsFor(resource);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: withColumns
      ? columns.map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? '',
          description: c.name,
          priority: c.priority ?? 0,
        }))
      : [],
    rows: objects.map((o) => {
      const row: JsonObject = { cells: columns.map((c) => c.cell(o)) };
      const embedded = rowObject(o, include);
      if (embedded) row.object = embedded;
      return row;
    }),
  };
}
