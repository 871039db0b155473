/** Builders for the Kubernetes objects the decision tests need. */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { type Config, parseConfig } from '@portico/config';

export const CONFIG_YAML = `
peers:
  - peer-address: 192.0.2.1
    peer-asn: 64500
    my-asn: 64500
  - peer-address: 192.0.2.2
    peer-asn: 64501
    my-asn: 64500
    node-selectors:
      - match-labels:
          rack: r1
bgp-communities:
  no-advertise: 65535:65282
address-pools:
  - name: l2
    protocol: layer2
    addresses: [198.51.100.0/26, 2001:db8:1::/120]
  - name: bgp
    protocol: bgp
    addresses: [203.0.113.0/24, 2001:db8:2::/64]
    bgp-advertisements:
      - aggregation-length: 32
        localpref: 200
        communities: [no-advertise, '64500:7']
      - aggregation-length: 24
        aggregation-length-v6: 64
`;

export function config(yaml = CONFIG_YAML): Config {
  const parsed = parseConfig(yaml);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.config;
}

export function service(
  name: string,
  ips: string[],
  opts: { local?: boolean; namespace?: string; class?: string; type?: string } = {},
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: opts.namespace ?? 'default', uid: `uid-${name}` },
    spec: {
      type: opts.type ?? 'LoadBalancer',
      externalTrafficPolicy: opts.local ? 'Local' : 'Cluster',
      ...(opts.class ? { loadBalancerClass: opts.class } : {}),
      ports: [{ port: 80, protocol: 'TCP' }],
    },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
  };
}

export interface Ep {
  node: string;
  ready?: boolean | null;
  terminating?: boolean;
  ip?: string;
}

let counter = 0;

export function slice(svcName: string, endpoints: Ep[], namespace = 'default'): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svcName}-${counter++}`,
      namespace,
      labels: { 'kubernetes.io/service-name': svcName },
    },
    addressType: 'IPv4',
    endpoints: endpoints.map((e, i) => ({
      addresses: [e.ip ?? `10.0.0.${i + 1}`],
      nodeName: e.node,
      targetRef: { kind: 'Pod', name: `${svcName}-pod-${i}`, uid: `${svcName}-pod-${i}-${counter}` },
      conditions: {
        ...(e.ready === null ? {} : { ready: e.ready ?? true }),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
    })),
  };
}

export function node(
  name: string,
  opts: {
    ready?: 'True' | 'False' | 'Unknown';
    networkUnavailable?: boolean;
    labels?: Record<string, string>;
    address?: string;
  } = {},
): V1Node {
  const conditions = [{ type: 'Ready', status: opts.ready ?? 'True' }];
  if (opts.networkUnavailable !== undefined)
    conditions.push({ type: 'NetworkUnavailable', status: opts.networkUnavailable ? 'True' : 'False' });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    status: {
      conditions,
      addresses: opts.address ? [{ type: 'InternalIP', address: opts.address }] : [],
    },
  };
}
