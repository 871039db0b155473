/**
 * The defaulting functions the real server runs whenever it decodes an object of a served kind
 * (SetDefaults_* in k8s.io/kubernetes/pkg/apis/<group>/<version>/defaults.go): on a created or
 * replaced object, on a patched one, and on the result of an apply. They run before the field
 * manager, so the fields they set belong to the writer, unlike what registries set later
 * (allocated IPs, status reset). Only the kinds served here; Pods keep the strategy's defaults.
 * The conversion from v1 (Secret stringData into data) runs here too, for the same reason.
 */
import { isObject, type JsonObject } from './json.js';

const objectAt = (parent: JsonObject, key: string): JsonObject => {
  const value = parent[key];
  if (isObject(value)) return value;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
};
const list = (value: unknown): JsonObject[] => (Array.isArray(value) ? value.filter(isObject) : []);

function serviceDefaults(service: JsonObject): void {
  const spec = objectAt(service, 'spec');
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const config = isObject(spec.sessionAffinityConfig) ? spec.sessionAffinityConfig : undefined;
    const clientIP = config && isObject(config.clientIP) ? config.clientIP : undefined;
    if (clientIP?.timeoutSeconds === undefined || clientIP.timeoutSeconds === null) {
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
    }
  }
  spec.type ||= 'ClusterIP';
  for (const port of list(spec.ports)) {
    port.protocol ||= 'TCP';
    if (
      port.targetPort === undefined ||
      port.targetPort === null ||
      port.targetPort === 0 ||
      port.targetPort === ''
    )
      port.targetPort = port.port ?? 0;
  }
  const externalIPs = Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0;
  const externallyAccessible =
    spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && externalIPs);
  if (externallyAccessible && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (
    (spec.internalTrafficPolicy === undefined || spec.internalTrafficPolicy === null) &&
    ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type as string)
  ) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts === undefined || spec.allocateLoadBalancerNodePorts === null)
      spec.allocateLoadBalancerNodePorts = true;
    const status = isObject(service.status) ? service.status : undefined;
    const loadBalancer = status && isObject(status.loadBalancer) ? status.loadBalancer : undefined;
    for (const ingress of list(loadBalancer?.ingress)) {
      if (ingress.ip && (ingress.ipMode === undefined || ingress.ipMode === null)) ingress.ipMode = 'VIP';
    }
  }
}

const DEFAULTS: Record<string, (object: JsonObject) => void> = {
  'v1/Service': serviceDefaults,
  'v1/Secret': (secret) => {
    // The v1 to internal conversion: stringData overwrites data, and is not kept.
    if (isObject(secret.stringData)) {
      const data = isObject(secret.data) ? secret.data : (secret.data = {});
      for (const [key, value] of Object.entries(secret.stringData)) {
        data[key] = Buffer.from(String(value), 'utf8').toString('base64');
      }
    }
    delete secret.stringData;
    secret.type ||= 'Opaque';
  },
  'v1/Namespace': (namespace) => {
    const meta = objectAt(namespace, 'metadata');
    // Not for generateName (no name yet); the namespace strategy labels those later.
    if (typeof meta.name === 'string' && meta.name !== '') {
      objectAt(meta, 'labels')['kubernetes.io/metadata.name'] = meta.name;
    }
    if (isObject(namespace.status)) namespace.status.phase ||= 'Active';
  },
  'v1/Endpoints': (endpoints) => {
    for (const subset of list(endpoints.subsets))
      for (const port of list(subset.ports)) port.protocol ||= 'TCP';
  },
  'v1/Node': (node) => {
    const status = isObject(node.status) ? node.status : undefined;
    if (
      status &&
      (status.allocatable === undefined || status.allocatable === null) &&
      isObject(status.capacity)
    )
      status.allocatable = { ...status.capacity };
  },
  'discovery.k8s.io/v1/EndpointSlice': (slice) => {
    for (const port of list(slice.ports)) {
      if (port.name === undefined || port.name === null) port.name = '';
      if (port.protocol === undefined || port.protocol === null) port.protocol = 'TCP';
    }
  },
  'networking.k8s.io/v1/IngressClass': (ingressClass) => {
    const spec = isObject(ingressClass.spec) ? ingressClass.spec : undefined;
    const parameters = spec && isObject(spec.parameters) ? spec.parameters : undefined;
    if (parameters && (parameters.scope === undefined || parameters.scope === null))
      parameters.scope = 'Cluster';
  },
};

/** Runs the kind's defaulting on OBJECT (mutates it); `gvk` is `group/version/Kind` (`v1/Kind`). */
export function applyDefaults(gvk: string, object: JsonObject): void {
  DEFAULTS[gvk]?.(object);
}
