/**
 * Per-kind rules applied when objects are created and updated, the counterpart of the real
 * server's registry strategies (PrepareForCreate / PrepareForUpdate, defaulting, validation).
 * Generic metadata and status-subresource handling stay in the registry; what is specific to a
 * kind lives here or in the file this table points to.
 */
import { prepareDataObject } from './data-objects.js';
import { prepareEndpoints } from './endpoints-validation.js';
import { validateEvent } from './event-validation.js';
import { validateNetworking } from './ingress-validation.js';
import { isObject, type JsonObject } from './json.js';
import { validatePod } from './pod-validation.js';
import type { ResourceInfo } from './resources.js';
import type { ServiceRegistry } from './service-registry.js';
import { validateLoadBalancerStatus } from './status-validation.js';

export interface KindStrategy {
  /** Defaults and validates a new object (mutating it); throws ApiError to refuse it. */
  prepareForCreate?(resource: ResourceInfo, object: JsonObject): void;
  /** The same for the replacement of `old` through the main resource. */
  prepareForUpdate?(resource: ResourceInfo, object: JsonObject, old: JsonObject): void;
  /** Validates a write through the `/status` subresource (`object` holds the new status). */
  validateStatus?(resource: ResourceInfo, object: JsonObject): void;
}

export function kindStrategies(services: ServiceRegistry): Record<string, KindStrategy> {
  return {
    Service: {
      prepareForCreate: (_r, service) => {
        service.status = { loadBalancer: {} };
        services.prepareCreate(service);
      },
      prepareForUpdate: (_r, service, old) => services.prepareUpdate(service, old),
      validateStatus: validateLoadBalancerStatus,
    },
    Ingress: {
      prepareForCreate: (resource, ingress) => {
        ingress.status = { loadBalancer: {} };
        validateNetworking(resource, ingress);
      },
      prepareForUpdate: validateNetworking,
      validateStatus: validateLoadBalancerStatus,
    },
    IngressClass: { prepareForCreate: validateNetworking, prepareForUpdate: validateNetworking },
    Pod: {
      prepareForCreate: (resource, pod) => {
        pod.status = { phase: 'Pending' };
        validatePod(resource, pod);
      },
      prepareForUpdate: validatePod,
    },
    Namespace: {
      prepareForCreate: (_r, namespace) => {
        const spec = isObject(namespace.spec) ? namespace.spec : (namespace.spec = {});
        spec.finalizers ??= ['kubernetes'];
        namespace.status = { phase: 'Active' };
      },
    },
    ConfigMap: { prepareForCreate: prepareDataObject, prepareForUpdate: prepareDataObject },
    Secret: {
      prepareForCreate: (resource, secret) => {
        // SetDefaults_Secret.
        if (secret.type === undefined || secret.type === '') secret.type = 'Opaque';
        prepareDataObject(resource, secret);
      },
      prepareForUpdate: prepareDataObject,
    },
    Endpoints: { prepareForCreate: prepareEndpoints, prepareForUpdate: prepareEndpoints },
    Event: { prepareForCreate: validateEvent, prepareForUpdate: validateEvent },
    EndpointSlice: { prepareForCreate: prepareEndpoints, prepareForUpdate: prepareEndpoints },
  };
}
