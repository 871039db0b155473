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

/** The column descriptions of the real server's printers (from its Table answers). */
const NAME_DOC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_DOC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';
const COLUMN_DOCS: Record<string, Record<string, string>> = {
  Namespace: {
    Name: NAME_DOC,
    Status: 'The status of the namespace',
    Age: AGE_DOC,
  },
  Service: {
    Name: NAME_DOC,
    Type: 'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
    'Cluster-IP':
      'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
    'External-IP':
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.',
    'Port(s)':
      'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
    Age: AGE_DOC,
    Selector:
      'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/',
  },
  Endpoints: {
    Name: NAME_DOC,
    Endpoints:
      'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
    Age: AGE_DOC,
  },
  ConfigMap: {
    Name: NAME_DOC,
    Data: "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
    Age: AGE_DOC,
  },
  Secret: {
    Name: NAME_DOC,
    Type: 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
    Data: "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
    Age: AGE_DOC,
  },
  Node: {
    Name: NAME_DOC,
    Status: 'The status of the node',
    Roles: 'The roles of the node',
    Age: AGE_DOC,
    Version: 'Kubelet Version reported by the node.',
    'Internal-IP':
      "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
    'External-IP':
      "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
    'OS-Image': 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
    'Kernel-Version': "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    'Container-Runtime':
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
  },
  Pod: {
    Name: NAME_DOC,
    Ready: 'The aggregate readiness state of this pod for accepting traffic.',
    Status: 'The aggregate status of the containers in this pod.',
    Restarts:
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    Age: AGE_DOC,
    IP: 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
    Node: 'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename',
    'Nominated Node':
      'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
    'Readiness Gates':
      'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
  },
  Event: {
    'Last Seen': 'The time at which the most recent occurrence of this event was recorded.',
    Type: 'Type of this event (Normal, Warning), new types could be added in the future',
    Reason:
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    Object: 'The object that this event is about.',
    Subobject:
      'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
    Source: 'The component reporting this event. Should be a short machine understandable string.',
    Message: 'A human-readable description of the status of this operation.',
    'First Seen': 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    Count: 'The number of times this event has occurred.',
    Name: NAME_DOC,
  },
  EndpointSlice: {
    Name: NAME_DOC,
    AddressType:
      'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name. (Deprecated) The EndpointSlice controller only generates, and kube-proxy only processes, slices of addressType "IPv4" and "IPv6". No semantics are defined for the "FQDN" type.',
    Ports:
      'ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. Each slice may include a maximum of 100 ports. Services always have at least 1 port, so EndpointSlices generated by the EndpointSlice controller will likewise always have at least 1 port. EndpointSlices used for other purposes may have an empty ports list.',
    Endpoints:
      'endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.',
    Age: AGE_DOC,
  },
  Ingress: {
    Name: NAME_DOC,
    Class: 'The name of the IngressClass resource that should be used for additional configuration',
    Hosts: 'Hosts that incoming requests are matched against before the ingress rule',
    Address: 'Address is a list containing ingress points for the load-balancer',
    Ports: 'Ports of TLS configurations that open',
    Age: AGE_DOC,
  },
  IngressClass: {
    Name: NAME_DOC,
    Controller: 'Controller that is responsible for handling this class',
    Parameters: 'A reference to a resource with additional parameters',
    Age: AGE_DOC,
  },
  Lease: {
    Name: NAME_DOC,
    Holder:
      'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
    Age: AGE_DOC,
  },
};

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
  ConfigMap: [name, { name: 'Data', type: 'string', cell: (o) => count(o.data) + count(o.binaryData) }, age],
  Secret: [
    name,
    { name: 'Type', type: 'string', cell: (o) => str(o.type, 'Opaque') },
    { name: 'Data', type: 'string', cell: (o) => count(o.data) },
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
    { name: 'Internal-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'ExternalIP') },
    {
      name: 'OS-Image',
      type: 'string',
      priority: 1,
      cell: (o) => str(get(o, 'status.nodeInfo.osImage'), '<unknown>'),
    },
    {
      name: 'Kernel-Version',
      type: 'string',
      priority: 1,
      cell: (o) => {
        const arch = str(get(o, 'status.nodeInfo.architecture'), '');
        return `${str(get(o, 'status.nodeInfo.kernelVersion'), '<unknown>')}${arch ? ` (${arch})` : ''}`;
      },
    },
    {
      name: 'Container-Runtime',
      type: 'string',
      priority: 1,
      cell: (o) => str(get(o, 'status.nodeInfo.containerRuntimeVersion'), '<unknown>'),
    },
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
    {
      ...name,
      cell: (o) => {
        const annotations = get(o, 'metadata.annotations');
        const isDefault =
          isObject(annotations) && annotations['ingressclass.kubernetes.io/is-default-class'] === 'true';
        return `${str(get(o, 'metadata.name'))}${isDefault ? ' (default)' : ''}`;
      },
    },
    { name: 'Controller', type: 'string', cell: (o) => str(get(o, 'spec.controller'), '') },
    {
      name: 'Parameters',
      type: 'string',
      cell: (o) => {
        const p = get(o, 'spec.parameters');
        if (!isObject(p)) return '<none>';
        return `${String(p.kind ?? '')}${typeof p.apiGroup === 'string' ? `.${p.apiGroup}` : ''}/${String(p.name ?? '')}`;
      },
    },
    age,
  ],
  Lease: [name, { name: 'Holder', type: 'string', cell: (o) => str(get(o, 'spec.holderIdentity'), '') }, age],
  Event: [
    { name: 'Last Seen', type: 'string', cell: (o) => eventTimes(o).last },
    { name: 'Type', type: 'string', cell: (o) => str(o.type, '') },
    { name: 'Reason', type: 'string', cell: (o) => str(o.reason, '') },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => {
        const ref = (isObject(o.involvedObject) ? o.involvedObject : o.regarding) as JsonObject | undefined;
        const kind = String(ref?.kind ?? '').toLowerCase();
        return ref?.name ? `${kind}/${String(ref.name)}` : kind;
      },
    },
    {
      name: 'Subobject',
      type: 'string',
      priority: 1,
      cell: (o) => str(get(o, 'involvedObject.fieldPath') ?? get(o, 'regarding.fieldPath'), ''),
    },
    {
      name: 'Source',
      type: 'string',
      priority: 1,
      cell: (o) => {
        const component =
          str(get(o, 'source.component'), '') || str(o.reportingComponent ?? o.reportingController, '');
        const instance = str(get(o, 'source.host'), '') || str(o.reportingInstance, '');
        return instance ? `${component}, ${instance}` : component;
      },
    },
    { name: 'Message', type: 'string', cell: (o) => str(o.message ?? o.note, '').trim() },
    { name: 'First Seen', type: 'string', priority: 1, cell: (o) => eventTimes(o).first },
    {
      name: 'Count',
      type: 'string',
      priority: 1,
      cell: (o) => {
        const series = o.series;
        if (isObject(series)) return Number(series.count ?? 0);
        const count = Number(o.count ?? o.deprecatedCount ?? 0);
        return count === 0 ? 1 : count;
      },
    },
    { ...name, priority: 1 },
  ],
};

/** printEvent's times: first seen (firstTimestamp, else eventTime) and last seen. */
function eventTimes(o: JsonObject): { first: string; last: string } {
  const since = (value: unknown) => {
    const t = typeof value === 'string' ? Date.parse(value) : NaN;
    return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
  };
  const firstStamp = o.firstTimestamp ?? o.deprecatedFirstTimestamp;
  const first = firstStamp ? since(firstStamp) : since(o.eventTime);
  const lastStamp = o.lastTimestamp ?? o.deprecatedLastTimestamp;
  let last = lastStamp ? since(lastStamp) : first;
  if (isObject(o.series)) last = since(o.series.lastObservedTime);
  return { first, last };
}

function nodeAddress(o: JsonObject, type: string): string {
  const found = list(get(o, 'status.addresses')).find((a) => isObject(a) && a.type === type) as
    JsonObject | undefined;
  return found ? String(found.address) : '<none>';
}

function columnsFor(resource: ResourceInfo): Column[] {
  if (resource.custom) return customColumns(resource);
  return COLUMNS[resource.kind] ?? [name, age];
}

/**
 * A CRD's additionalPrinterColumns (Age when it has none), after Name. A column's jsonPath is
 * read as a simple path (`.spec.a.b`, `.spec.list[0].x`); a date column shows an age.
 */
function customColumns(resource: ResourceInfo): Column[] {
  const columns = resource.custom?.printerColumns ?? [];
  if (columns.length === 0) return [name, age];
  return [
    name,
    ...columns.map((c): Column => {
      const steps = c.jsonPath
        .replace(/\[(\d+)\]/g, '.$1')
        .split('.')
        .filter((p) => p !== '');
      const read = (o: JsonObject): unknown =>
        steps.reduce<unknown>(
          (v, step) => (v !== null && typeof v === 'object' ? (v as JsonObject)[step] : undefined),
          o,
        );
      return {
        name: c.name,
        type: c.type === 'integer' ? 'integer' : c.type === 'date' ? 'date' : 'string',
        ...(c.format ? { format: c.format } : {}),
        ...(c.priority ? { priority: c.priority } : {}),
        cell: (o) => {
          const value = read(o);
          if (c.type === 'date' && typeof value === 'string') {
            const at = Date.parse(value);
            return Number.isNaN(at) ? value : humanDuration(Date.now() - at);
          }
          if (value === undefined || value === null) return '';
          return typeof value === 'number' && c.type === 'integer'
            ? value
            : typeof value === 'object'
              ? JSON.stringify(value)
              : String(value);
        },
      };
    }),
  ];
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
          description: COLUMN_DOCS[resource.kind]?.[c.name] ?? c.name,
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
