/**
 * The part of the real server's Pod validation that test fixtures trip over: at least one
 * container, each with a unique DNS-label name and an image, and an immutable spec apart from
 * container images (pods are never edited in place otherwise).
 */
import { invalid, type FieldError } from './errors.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function containerErrors(spec: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0)
    errors.push({ type: 'FieldValueRequired', field: 'spec.containers', detail: '' });
  const names = new Set<unknown>();
  containers.forEach((c, i) => {
    const container = isObject(c) ? c : {};
    const field = `spec.containers[${i}]`;
    if (typeof container.name !== 'string' || !DNS_LABEL.test(container.name) || container.name.length > 63) {
      errors.push({
        type: 'FieldValueInvalid',
        field: `${field}.name`,
        value: container.name ?? '',
        detail: 'must be a DNS label',
      });
    } else if (names.has(container.name)) {
      errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, value: container.name, detail: '' });
    }
    names.add(container.name);
    if (typeof container.image !== 'string' || container.image === '') {
      errors.push({ type: 'FieldValueRequired', field: `${field}.image`, detail: '' });
    }
  });
  return errors;
}

/** The spec without container images, which are the part of a Pod spec an update may change. */
function withoutImages(spec: JsonObject): JsonObject {
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  return { ...spec, containers: containers.map((c) => (isObject(c) ? { ...c, image: undefined } : c)) };
}

export function validatePod(resource: ResourceInfo, pod: JsonObject, old?: JsonObject): void {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const errors = containerErrors(spec);
  if (
    old &&
    errors.length === 0 &&
    isObject(old.spec) &&
    !jsonEqual(withoutImages(spec), withoutImages(old.spec))
  ) {
    errors.push({
      type: 'FieldValueForbidden',
      field: 'spec',
      detail: 'pod updates may not change fields other than `spec.containers[*].image`',
    });
  }
  if (errors.length) throw invalid(resource, String((pod.metadata as JsonObject).name), errors);
}
