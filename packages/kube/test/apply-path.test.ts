import { describe, expect, it } from 'vitest';
import { collectionPath } from '../src/apply.js';

describe('collectionPath', () => {
  it.each([
    ['v1', 'Service', 'ns', '/api/v1/namespaces/ns/services'],
    ['networking.k8s.io/v1', 'IngressClass', undefined, '/apis/networking.k8s.io/v1/ingressclasses'],
    [
      'networking.k8s.io/v1',
      'NetworkPolicy',
      'ns',
      '/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies',
    ],
    [
      'gateway.networking.k8s.io/v1',
      'Gateway',
      'ns',
      '/apis/gateway.networking.k8s.io/v1/namespaces/ns/gateways',
    ],
    [
      'gateway.networking.k8s.io/v1',
      'GatewayClass',
      undefined,
      '/apis/gateway.networking.k8s.io/v1/gatewayclasses',
    ],
    ['metallb.io/v1beta1', 'IPAddressPool', 'ns', '/apis/metallb.io/v1beta1/namespaces/ns/ipaddresspools'],
  ])('%s %s', (apiVersion, kind, namespace, path) => {
    expect(collectionPath({ apiVersion, kind, metadata: { name: 'x', namespace } })).toBe(path);
  });
});
