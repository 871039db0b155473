/**
 * Per-kind rules applied when objects are created and updated, the counterpart of the real
 * server's registry strategies (PrepareForCreate / PrepareForUpdate, defaulting, validation).
 * Generic metadata and status-subresource handling stay in the registry; what is specific to a
 * kind lives here or in the file this table points to.
 */
import { prepareDataObject, secretWarnings } from './data-objects.js';
import { endpointSliceWarnings, prepareEndpoints } from './endpoints-validation.js';
import { validateEvent } from './event-validation.js';
import { prepareLease } from './lease-validation.js';
import { validateNetworking } from './ingress-validation.js';
import { isObject, type JsonObject } from './json.js';
import { validatePod } from './pod-validation.js';
import type { ResourceInfo } from './resources.js';
import type { ServiceRegistry } from './service-registry.js';
import { validateLoadBalancerStatus } from './status-validation.js';

/** What a write's strategy needs to know about the request. */
export interface WriteContext {
  /** A dry run: validate and default, allocate nothing. */
  dryRun?: boolean;
}

export interface KindStrategy {
  /** Defaults and validates a new object (mutating it); throws ApiError to refuse it. */
  // Shared validators take an optional OLD third argument, so they are wrapped below to keep
  // CONTEXT from arriving in its place.
  prepareForCreate?(resource: ResourceInfo, object: JsonObject, context?: WriteContext): void;
  /** The same for the replacement of `old` through the main resource. */
  prepareForUpdate?(
    resource: ResourceInfo,
    object: JsonObject,
    old: JsonObject,
    context?: WriteContext,
  ): void;
  /** Validates a write through the `/status` subresource (`object` holds the new status). */
  validateStatus?(resource: ResourceInfo, object: JsonObject, old: JsonObject): void;
  /** Warnings for the client about a valid object being written (WarningsOnCreate/Update). */
  warnings?(object: JsonObject, old?: JsonObject): string[];
}

export function kindStrategies(services: ServiceRegistry): Record<string, KindStrategy> {
  return {
    Service: {
      prepareForCreate: (_r, service, context) => {
        service.status = { loadBalancer: {} };
        services.prepareCreate(service, context?.dryRun);
      },
      prepareForUpdate: (_r, service, old, context) => services.prepareUpdate(service, old, context?.dryRun),
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
    IngressClass: {
      prepareForCreate: (r, o) => validateNetworking(r, o),
      prepareForUpdate: validateNetworking,
    },
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
    ConfigMap: { prepareForCreate: (r, o) => prepareDataObject(r, o), prepareForUpdate: prepareDataObject },
    Secret: {
      prepareForCreate: (r, o) => prepareDataObject(r, o),
      prepareForUpdate: prepareDataObject,
      warnings: secretWarnings,
    },
    Endpoints: { prepareForCreate: (r, o) => prepareEndpoints(r, o), prepareForUpdate: prepareEndpoints },
    Event: { prepareForCreate: (r, o) => validateEvent(r, o), prepareForUpdate: validateEvent },
    Lease: { prepareForCreate: (r, o) => prepareLease(r, o), prepareForUpdate: prepareLease },
    EndpointSlice: {
      prepareForCreate: (r, o) => prepareEndpoints(r, o),
      prepareForUpdate: prepareEndpoints,
      warnings: (slice, old) => (old ? [] : endpointSliceWarnings(slice)),
    },
  };
}
