/**
 * The Kubernetes objects the lab writes: the Nodes (as a kubelet would register them), the
 * address pools (as metallb.io resources, or as the v0.12 ConfigMap), the demo Services, the ingress's Service, IngressClass and Ingress, and
 * the demo Gateway (GatewayClass, Gateway, HTTPRoute).
 */
import { convertConfig, parseConfig } from '@portico/config';
import type { KubeObject } from './api.js';
import { NODES, PINNED_POOL, POOLS, poolConfig } from './plan.js';

export const DEMO_HOST = 'demo.lab.example';

export function namespaceObject(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function nodeObjects(): KubeObject[] {
  return NODES.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'portico.dev/lab': 'true' } },
    spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
    status: {
      addresses: [
        { type: 'InternalIP', address: n.ipv4 },
        { type: 'InternalIP', address: n.ipv6 },
        { type: 'Hostname', address: n.name },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: new Date().toISOString(),
        },
      ],
    },
  }));
}

export function poolsConfigMap(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config', namespace: 'portico-system' },
    data: { config: poolConfig() },
  };
}

/**
 * The lab's pools and peers as metallb.io resources, as a MetalLB 0.13+ user writes them: the
 * ConfigMap's pools converted, then the pinned pool that only resources can express.
 */
export function poolResources(): KubeObject[] {
  return [...convertedPoolResources(), ...pinnedPoolResources()];
}

/**
 * The ConfigMap's pools and peers as metallb.io resources (IPAddressPools, L2Advertisement,
 * BGPAdvertisement, BGPPeers): converted from its text, so those pools are defined once (plan.ts).
 */
export function convertedPoolResources(): KubeObject[] {
  const parsed = parseConfig(poolConfig());
  if (!parsed.ok) throw new Error(`the lab's pool configuration: ${parsed.errors.join('; ')}`);
  const converted = convertConfig(parsed.config, { namespace: 'portico-system' });
  if (!converted.ok) throw new Error(`the lab's pool configuration: ${converted.errors.join('; ')}`);
  return converted.resources.map((r) => ({ ...r }));
}

/** The pinned pool and its L2Advertisement: one node (by hostname label), one interface. */
export function pinnedPoolResources(): KubeObject[] {
  const namespace = 'portico-system';
  const { name, addresses, node } = PINNED_POOL;
  return [
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name, namespace },
      spec: { addresses, autoAssign: false },
    },
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name, namespace },
      spec: {
        ipAddressPools: [name],
        nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': node.name } }],
        interfaces: [node.link],
      },
    },
  ];
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  pool: string;
  selector: Record<string, string>;
  port: number;
  targetPort: number;
  local?: boolean;
}

export function serviceObject(s: ServiceSpec): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, annotations: { 'portico.dev/address-pool': s.pool } },
    spec: {
      type: 'LoadBalancer',
      ipFamilyPolicy: 'PreferDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
      externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
      selector: s.selector,
      ports: [{ name: 'http', protocol: 'TCP', port: s.port, targetPort: s.targetPort }],
    },
  };
}

/** The demo Services: one per pool, all selecting the demo pods. */
export const DEMO_SERVICES: ServiceSpec[] = [
  {
    namespace: 'default',
    name: 'demo',
    pool: POOLS.layer2.name,
    selector: { app: 'demo' },
    port: 80,
    targetPort: 8080,
  },
  {
    namespace: 'default',
    name: 'demo-bgp',
    pool: POOLS.bgp.name,
    selector: { app: 'demo' },
    port: 80,
    targetPort: 8080,
  },
  {
    namespace: 'default',
    name: 'demo-pinned',
    pool: PINNED_POOL.name,
    selector: { app: 'demo' },
    port: 80,
    targetPort: 8080,
  },
];

export const INGRESS_SERVICE: ServiceSpec = {
  namespace: 'portico-system',
  name: 'ingress',
  pool: POOLS.layer2.name,
  selector: { app: 'portico-ingress' },
  port: 80,
  targetPort: 8080,
};

export function ingressClassObject(): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'portico' },
    spec: { controller: 'portico.dev/ingress' },
  };
}

export function demoIngressObject(): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'demo', namespace: 'default' },
    spec: {
      ingressClassName: 'portico',
      rules: [
        {
          host: DEMO_HOST,
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'demo', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
}

/** The demo Gateway: its address comes from the layer-2 pool, through the Service the ingress keeps. */
export const DEMO_GATEWAY = { namespace: 'default', name: 'demo', pool: POOLS.layer2.name, port: 80 };

export function gatewayObjects(): KubeObject[] {
  const group = 'gateway.networking.k8s.io/v1';
  return [
    {
      apiVersion: group,
      kind: 'GatewayClass',
      metadata: { name: 'portico' },
      spec: { controllerName: 'portico.dev/gateway-controller' },
    },
    {
      apiVersion: group,
      kind: 'Gateway',
      metadata: {
        name: DEMO_GATEWAY.name,
        namespace: DEMO_GATEWAY.namespace,
        annotations: { 'metallb.io/address-pool': DEMO_GATEWAY.pool },
      },
      spec: {
        gatewayClassName: 'portico',
        listeners: [{ name: 'http', port: DEMO_GATEWAY.port, protocol: 'HTTP' }],
      },
    },
    {
      apiVersion: group,
      kind: 'HTTPRoute',
      metadata: { name: 'demo', namespace: DEMO_GATEWAY.namespace },
      spec: {
        parentRefs: [{ name: DEMO_GATEWAY.name }],
        rules: [{ backendRefs: [{ name: 'demo', port: 80 }] }],
      },
    },
  ];
}
