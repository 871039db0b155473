/**
 * The thin Kubernetes side of the Gateway API: one informer for every kind the compile step reads,
 * coalesced into one GatewayClusterState callback (../sources.ts). The CRDs may be missing: their
 * informers then retry (and report) until they are installed.
 */
import type { ApiClient } from '@portico/kube';
import { watchKinds, type WatchedState, type WatchOptions } from '../sources.js';
import type { GatewayClusterState } from './compile.js';

export type GatewaySource = WatchedState<GatewayClusterState>;
export type GatewaySourceOptions = WatchOptions<GatewayClusterState>;

export function watchGateways(api: ApiClient, options: GatewaySourceOptions): GatewaySource {
  return watchKinds<GatewayClusterState>(
    api,
    {
      gatewayClasses: 'gatewayclasses',
      gateways: 'gateways',
      httpRoutes: 'httproutes',
      grpcRoutes: 'grpcroutes',
      tlsRoutes: 'tlsroutes',
      referenceGrants: 'referencegrants',
      namespaces: 'namespaces',
      services: 'services',
      endpointSlices: 'endpointslices',
      secrets: 'secrets',
    },
    options,
  );
}
