/** Builders for the Kubernetes objects the compiler reads, kept minimal and explicit. */
import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressBackend,
  V1IngressClass,
  V1IngressRule,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';

export function svcBackend(name: string, port: number | string = 80): V1IngressBackend {
  return { service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export interface PathSpec {
  path?: string;
  type?: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  svc: string;
  port?: number | string;
}

export function rule(host: string | undefined, ...paths: PathSpec[]): V1IngressRule {
  return {
    host,
    http: {
      paths: paths.map((p) => ({
        path: p.path,
        pathType: p.type ?? 'Prefix',
        backend: svcBackend(p.svc, p.port),
      })),
    },
  };
}

export function ingress(
  name: string,
  spec: V1Ingress['spec'],
  opts: { ns?: string; created?: string; annotations?: Record<string, string>; deleting?: boolean } = {},
): V1Ingress {
  return {
    metadata: {
      name,
      namespace: opts.ns ?? 'default',
      creationTimestamp: new Date(opts.created ?? '2024-01-01T00:00:00Z'),
      annotations: opts.annotations,
      deletionTimestamp: opts.deleting ? new Date('2024-06-01T00:00:00Z') : undefined,
    },
    spec: { ingressClassName: 'portico', ...spec },
  };
}

export function ingressClass(
  name: string,
  controller = 'portico.dev/ingress',
  isDefault = false,
): V1IngressClass {
  return {
    metadata: {
      name,
      annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : undefined,
    },
    spec: { controller },
  };
}

/** A Service with one port; `targetName` is the port's name (shared with the EndpointSlice port). */
export function service(name: string, port = 80, portName?: string, ns = 'default'): V1Service {
  return {
    metadata: { name, namespace: ns },
    spec: { ports: [{ port, name: portName, targetPort: 3000 as unknown as never }] },
  };
}

export interface EndpointSpec {
  ip: string;
  ready?: boolean;
  terminating?: boolean;
}

export function slice(
  svc: string,
  targetPort: number,
  endpoints: (string | EndpointSpec)[],
  portName?: string,
  ns = 'default',
  name = `${svc}-abc`,
): V1EndpointSlice {
  return {
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: portName, port: targetPort }],
    endpoints: endpoints.map((e) => {
      const spec = typeof e === 'string' ? { ip: e } : e;
      return {
        addresses: [spec.ip],
        conditions: { ready: spec.ready, terminating: spec.terminating, serving: spec.ready },
      };
    }),
  };
}

export function tlsSecret(name: string, cert: string, key: string, ns = 'default', rv = '1'): V1Secret {
  return {
    metadata: { name, namespace: ns, resourceVersion: rv },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  };
}
